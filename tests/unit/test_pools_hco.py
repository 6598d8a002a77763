# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""module_utils/pools.py (which KubeletConfigs select a pool) and module_utils/hco.py (the
HyperConverged overcommit path per API version); the selector rules themselves are tested
through the filters in test_objects_filters.py."""

import pytest

from ansible_collections.ocpv.density.plugins.module_utils import hco, pools

WORKER_LABELS = {"pools.operator.machineconfiguration.openshift.io/worker": ""}


def kc(name, selector):
    return {"metadata": {"name": name}, "spec": {"machineConfigPoolSelector": selector}}


class TestKubeletConfigsForPool:
    def test_keeps_the_selecting_ones_in_order(self):
        kcs = [kc("b", {"matchLabels": WORKER_LABELS}),
               kc("other", {"matchLabels": {"pools.operator.machineconfiguration.openshift.io/master": ""}}),
               kc("a", {"matchExpressions": [{"key": "pools.operator.machineconfiguration.openshift.io/worker",
                                              "operator": "Exists"}]})]
        assert [k["metadata"]["name"] for k in pools.kubeletconfigs_for_pool(kcs, WORKER_LABELS)] == ["b", "a"]

    def test_nil_or_empty_selector_selects_nothing(self):
        # MCO: "a nil or empty selector should match nothing, not everything".
        kcs = [kc("nil", None), kc("empty", {}), {"metadata": {"name": "nospec"}}]
        assert pools.kubeletconfigs_for_pool(kcs, WORKER_LABELS) == []

    def test_pool_without_labels_is_selected_by_none(self):
        assert pools.kubeletconfigs_for_pool([kc("w", {"matchLabels": WORKER_LABELS})], None) == []

    def test_not_a_list_is_refused(self):
        with pytest.raises(pools.SelectorError):
            pools.kubeletconfigs_for_pool({"items": []}, WORKER_LABELS)


class TestHcoOvercommit:
    def test_reads_v1beta1_and_v1_paths(self):
        assert hco.hco_overcommit({"spec": {"higherWorkloadDensity": {"memoryOvercommitPercentage": 150}}},
                                  "v1beta1") == 150
        assert hco.hco_overcommit({"spec": {"virtualization": {"higherWorkloadDensity":
                                                               {"memoryOvercommitPercentage": 180}}}}, "v1") == 180

    def test_the_other_versions_path_is_not_read(self):
        v1beta1_shape = {"spec": {"higherWorkloadDensity": {"memoryOvercommitPercentage": 150}}}
        assert hco.hco_overcommit(v1beta1_shape, "v1") == 100

    @pytest.mark.parametrize("obj", [{}, None, {"spec": None}, {"spec": {"higherWorkloadDensity": {}}}])
    def test_absent_is_100(self, obj):
        assert hco.hco_overcommit(obj, "v1beta1") == 100

    def test_patch_per_version(self):
        assert hco.hco_overcommit_patch("v1beta1", 150) == {
            "spec": {"higherWorkloadDensity": {"memoryOvercommitPercentage": 150}}}
        assert hco.hco_overcommit_patch("v1", None) == {
            "spec": {"virtualization": {"higherWorkloadDensity": {"memoryOvercommitPercentage": None}}}}

    def test_whole_partial_object_with_a_name(self):
        assert hco.hco_overcommit_patch("v1", 150, name="kubevirt-hyperconverged", namespace="openshift-cnv") == {
            "apiVersion": "hco.kubevirt.io/v1", "kind": "HyperConverged",
            "metadata": {"name": "kubevirt-hyperconverged", "namespace": "openshift-cnv"},
            "spec": {"virtualization": {"higherWorkloadDensity": {"memoryOvercommitPercentage": 150}}}}

    def test_api_version_problem(self):
        assert hco.api_version_problem("v1") == "" and hco.api_version_problem("v1beta1") == ""
        assert hco.api_version_problem("") == (
            "OpenShift Virtualization is not installed (no HyperConverged CRD), or its API version '' is "
            "unknown; known: v1beta1, v1.")

    def test_unknown_version_names_the_known_ones(self):
        with pytest.raises(ValueError, match="v1alpha1.*known: v1, v1beta1"):
            hco.overcommit_path("v1alpha1")
