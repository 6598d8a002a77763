# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Filters in plugins/filter/objects.py: selectors, MCO pool placement, merge patches, quantities."""

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.ocpv.density.plugins.filter import objects as f

WORKER_POOL = {"metadata": {"name": "worker", "labels": {"pools.operator.machineconfiguration.openshift.io/worker": ""}},
               "spec": {"nodeSelector": {"matchLabels": {"node-role.kubernetes.io/worker": ""}}}}
MASTER_POOL = {"metadata": {"name": "master"},
               "spec": {"nodeSelector": {"matchLabels": {"node-role.kubernetes.io/master": ""}}}}
CNV_POOL = {"metadata": {"name": "worker-cnv"},
            "spec": {"nodeSelector": {"matchLabels": {"node-role.kubernetes.io/worker-cnv": ""}}}}
GPU_POOL = {"metadata": {"name": "worker-gpu"},
            "spec": {"nodeSelector": {"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}}}


def node(name, *roles, **labels):
    lab = {"node-role.kubernetes.io/" + r: "" for r in roles}
    lab.update(labels)
    return {"metadata": {"name": name, "labels": lab}}


class TestLabelSelectorMatch:
    def test_match_labels(self):
        assert f.label_selector_match({"matchLabels": {"a": "1", "b": ""}}, {"a": "1", "b": "", "c": "x"})
        assert not f.label_selector_match({"matchLabels": {"a": "1"}}, {"a": "2"})
        assert not f.label_selector_match({"matchLabels": {"a": "1"}}, {})

    def test_empty_and_missing_select_nothing_like_the_mco(self):
        assert not f.label_selector_match(None, {"a": "1"})
        assert not f.label_selector_match({}, {"a": "1"})
        assert not f.label_selector_match({"matchLabels": {}}, {"a": "1"})
        assert f.label_selector_match({}, {"a": "1"}, empty_matches=True)

    @pytest.mark.parametrize("op,values,labels,expected", [
        ("In", ["x", "y"], {"k": "y"}, True),
        ("In", ["x"], {"k": "y"}, False),
        ("In", ["x"], {}, False),
        ("NotIn", ["x"], {"k": "y"}, True),
        ("NotIn", ["x"], {"k": "x"}, False),
        ("NotIn", ["x"], {}, True),
        ("Exists", None, {"k": ""}, True),
        ("Exists", None, {}, False),
        ("DoesNotExist", None, {}, True),
        ("DoesNotExist", None, {"k": "v"}, False),
    ])
    def test_expressions(self, op, values, labels, expected):
        expr = {"key": "k", "operator": op}
        if values is not None:
            expr["values"] = values
        assert f.label_selector_match({"matchExpressions": [expr]}, labels) is expected

    def test_malformed(self):
        with pytest.raises(AnsibleFilterError):
            f.label_selector_match({"matchExpressions": [{"key": "k", "operator": "Near"}]}, {})
        with pytest.raises(AnsibleFilterError):
            f.label_selector_match({"matchExpressions": [{"operator": "In"}]}, {})
        with pytest.raises(AnsibleFilterError):
            f.label_selector_match("worker", {})


class TestMcpNodes:
    def test_workers_and_masters(self):
        nodes = [node("m0", "master", "control-plane"), node("w0", "worker"), node("w1", "worker")]
        pools = [WORKER_POOL, MASTER_POOL]
        assert [n["metadata"]["name"] for n in f.mcp_nodes(nodes, pools, "worker")] == ["w0", "w1"]
        assert [n["metadata"]["name"] for n in f.mcp_nodes(nodes, pools, "master")] == ["m0"]

    def test_compact_masters_with_worker_role_stay_in_master(self):
        nodes = [node("m%d" % i, "master", "control-plane", "worker") for i in range(3)]
        pools = [WORKER_POOL, MASTER_POOL]
        assert f.mcp_nodes(nodes, pools, "worker") == []
        assert len(f.mcp_nodes(nodes, pools, "master")) == 3

    def test_custom_pool_wins_over_worker(self):
        nodes = [node("w0", "worker"), node("c0", "worker", "worker-cnv")]
        pools = [WORKER_POOL, MASTER_POOL, CNV_POOL]
        assert [n["metadata"]["name"] for n in f.mcp_nodes(nodes, pools, "worker")] == ["w0"]
        assert [n["metadata"]["name"] for n in f.mcp_nodes(nodes, pools, "worker-cnv")] == ["c0"]

    def test_two_custom_pools_means_no_pool(self):
        nodes = [node("x", "worker", "worker-cnv", gpu="a100")]
        pools = [WORKER_POOL, CNV_POOL, GPU_POOL]
        for name in ("worker", "worker-cnv", "worker-gpu"):
            assert f.mcp_nodes(nodes, pools, name) == []

    def test_malformed(self):
        with pytest.raises(AnsibleFilterError):
            f.mcp_nodes("nodes", [], "worker")
        with pytest.raises(AnsibleFilterError):
            f.mcp_nodes(["n"], [WORKER_POOL], "worker")


class TestMergePatches:
    KC = {"maxPods": 500, "evictionSoft": {"nodefs.available": "10%"},
          "evictionSoftGracePeriod": {"nodefs.available": "1m"}}
    SWAP = {"failSwapOn": False, "evictionSoft": {"memory.available": "1Gi"},
            "evictionSoftGracePeriod": {"memory.available": "10s"}}

    def test_patch_only_what_differs(self):
        assert f.merge_patch_for(self.KC, self.SWAP) == self.SWAP
        merged = f.merge_patch_apply(self.KC, self.SWAP)
        assert merged["maxPods"] == 500
        assert merged["evictionSoft"] == {"nodefs.available": "10%", "memory.available": "1Gi"}
        assert f.merge_patch_for(merged, self.SWAP) == {}

    def test_false_is_a_value(self):
        assert f.merge_patch_for({"failSwapOn": True}, {"failSwapOn": False}) == {"failSwapOn": False}
        assert f.merge_patch_for({"failSwapOn": False}, {"failSwapOn": False}) == {}

    def test_lists_compare_whole(self):
        assert f.merge_patch_for({"a": [1, 2]}, {"a": [1, 2]}) == {}
        assert f.merge_patch_for({"a": [1, 2, 3]}, {"a": [1, 2]}) == {"a": [1, 2]}

    def test_undo_restores_exactly(self):
        undo = f.merge_patch_undo(self.KC, self.SWAP)
        assert undo == {"failSwapOn": None, "evictionSoft": {"memory.available": None},
                        "evictionSoftGracePeriod": {"memory.available": None}}
        assert f.merge_patch_apply(f.merge_patch_apply(self.KC, self.SWAP), undo) == self.KC

    def test_undo_of_missing_parent_removes_it(self):
        undo = f.merge_patch_undo({"maxPods": 1}, self.SWAP)
        assert undo == {"failSwapOn": None, "evictionSoft": None, "evictionSoftGracePeriod": None}
        assert f.merge_patch_apply(f.merge_patch_apply({"maxPods": 1}, self.SWAP), undo) == {"maxPods": 1}

    def test_undo_keeps_previous_values(self):
        current = {"failSwapOn": True, "evictionSoft": {"memory.available": "500Mi"}}
        undo = f.merge_patch_undo(current, self.SWAP)
        assert undo["failSwapOn"] is True
        assert undo["evictionSoft"] == {"memory.available": "500Mi"}
        assert undo["evictionSoftGracePeriod"] is None
        assert f.merge_patch_apply(f.merge_patch_apply(current, self.SWAP), undo) == current

    def test_none_current(self):
        assert f.merge_patch_for(None, {"a": 1}) == {"a": 1}
        with pytest.raises(AnsibleFilterError):
            f.merge_patch_for({}, ["a"])


def test_quantity_mib():
    assert f.quantity_mib("16318412Ki") == 15935
    assert f.quantity_mib("16Gi") == 16384
    assert f.quantity_mib("1536Ki") == 1
    with pytest.raises(AnsibleFilterError):
        f.quantity_mib("sixteen")


def test_filter_module_lists_every_filter():
    assert set(f.FilterModule().filters()) == {
        "label_selector_match", "merge_patch_for", "merge_patch_undo", "merge_patch_apply", "mcp_nodes", "quantity_mib",
        "placement_excluded", "hco_api_version", "pool_kubeletconfigs", "own_kubeletconfig",
        "hco_overcommit", "hco_overcommit_patch", "hco_overcommit_path", "hco_api_version_problem"}


def test_hco_filters_wrap_module_utils_and_name_themselves_on_errors():
    assert f.hco_overcommit({"spec": {"higherWorkloadDensity": {"memoryOvercommitPercentage": 150}}}, "v1beta1") == 150
    assert f.hco_overcommit_path("v1") == "spec.virtualization.higherWorkloadDensity.memoryOvercommitPercentage"
    assert f.hco_overcommit_patch("v1beta1", 120)["spec"]["higherWorkloadDensity"] == {"memoryOvercommitPercentage": 120}
    assert f.hco_api_version_problem("v2").startswith("OpenShift Virtualization is not installed")
    for call in (lambda: f.hco_overcommit({}, "v2"), lambda: f.hco_overcommit_patch("v2", 1),
                 lambda: f.hco_overcommit_path("v2")):
        with pytest.raises(AnsibleFilterError, match="^hco_overcommit"):
            call()


def test_pool_kubeletconfigs_selects_by_the_pools_labels():
    kcs = [{"metadata": {"name": "custom-config"},
            "spec": {"machineConfigPoolSelector": {"matchLabels": {"custom-kubelet": "enabled"}}}},
           {"metadata": {"name": "ours"}, "spec": {"machineConfigPoolSelector": {"matchLabels": WORKER_POOL["metadata"]["labels"]}}}]
    assert [kc["metadata"]["name"] for kc in f.pool_kubeletconfigs(kcs, WORKER_POOL["metadata"]["labels"])] == ["ours"]
    assert f.pool_kubeletconfigs(kcs, {"custom-kubelet": "enabled"}) == kcs[:1]
    with pytest.raises(AnsibleFilterError, match="pool_kubeletconfigs: kubeletconfigs must be a list"):
        f.pool_kubeletconfigs({"metadata": {}}, {})


def test_own_kubeletconfig_selects_the_pool_by_its_standard_label():
    kc = f.own_kubeletconfig("worker-cnv", "ocpv-density-worker-cnv", {"failSwapOn": False})
    assert kc["metadata"] == {"name": "ocpv-density-worker-cnv", "labels": {"app.kubernetes.io/managed-by": "ocpv.density"}}
    assert kc["spec"] == {"machineConfigPoolSelector": {"matchLabels": {
        "pools.operator.machineconfiguration.openshift.io/worker-cnv": ""}}, "kubeletConfig": {"failSwapOn": False}}
    with pytest.raises(AnsibleFilterError, match="own_kubeletconfig: expects"):
        f.own_kubeletconfig("worker", "x", ["failSwapOn"])


def test_placement_excluded_filter_names_nodes_and_wraps_errors():
    nodes = [{"metadata": {"name": "worker-0", "labels": {"node-role.kubernetes.io/worker": ""}}}]
    assert f.placement_excluded(nodes, {"nodeSelector": {"node-role.kubernetes.io/infra": ""}})[0]["node"] == "worker-0"
    assert f.placement_excluded(nodes, {}) == []
    with pytest.raises(AnsibleFilterError, match="placement_excluded: nodes must be a list"):
        f.placement_excluded("worker-0", {})
