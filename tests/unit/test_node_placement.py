"""plugins/plugin_utils/node_placement.py: where HCO's wasp-agent (which follows the
HyperConverged's spec.infra.nodePlacement) can run."""

import pytest

from ansible_collections.ocpv.density.plugins.plugin_utils import node_placement as np


def node(name, labels=None, taints=None):
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": taints or []}}


WORKER = node("worker-0", {"node-role.kubernetes.io/worker": "", "kubernetes.io/hostname": "worker-0"})
INFRA = node("infra-0", {"node-role.kubernetes.io/infra": ""})


def test_no_placement_runs_everywhere_untainted():
    assert np.excluded_nodes({}, [WORKER, INFRA]) == []
    assert np.excluded_nodes(None, [WORKER]) == []


def test_infra_node_selector_keeps_the_agent_off_the_workers():
    placement = {"nodeSelector": {"node-role.kubernetes.io/infra": ""}}
    assert np.excluded_nodes(placement, [WORKER, INFRA]) == [
        {"node": "worker-0", "reason": "nodeSelector node-role.kubernetes.io/infra= does not match"}]


@pytest.mark.parametrize("expr, excluded", [
    ({"key": "node-role.kubernetes.io/worker", "operator": "Exists"}, False),
    ({"key": "node-role.kubernetes.io/worker", "operator": "DoesNotExist"}, True),
    ({"key": "kubernetes.io/hostname", "operator": "In", "values": ["worker-1"]}, True),
    ({"key": "kubernetes.io/hostname", "operator": "NotIn", "values": ["worker-1"]}, False),
])
def test_required_node_affinity(expr, excluded):
    placement = {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [expr]}]}}}}
    assert bool(np.excluded_nodes(placement, [WORKER])) is excluded


def test_preferred_affinity_never_excludes():
    placement = {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 1, "preference": {"matchExpressions": [{"key": "x", "operator": "Exists"}]}}]}}}
    assert np.excluded_nodes(placement, [WORKER]) == []


def test_taints_need_tolerations():
    tainted = node("worker-1", {"node-role.kubernetes.io/worker": ""},
                   [{"key": "dedicated", "value": "vms", "effect": "NoSchedule"}])
    assert np.excluded_nodes({}, [tainted])[0]["reason"] == "taint dedicated=vms:NoSchedule is not tolerated"
    assert np.excluded_nodes({"tolerations": [{"key": "dedicated", "operator": "Exists"}]}, [tainted]) == []
    assert np.excluded_nodes({"tolerations": [{"key": "dedicated", "value": "other"}]}, [tainted])
    assert np.excluded_nodes({"tolerations": [{"operator": "Exists"}]}, [tainted]) == []
    prefer = node("w", {}, [{"key": "a", "effect": "PreferNoSchedule"}])
    assert np.excluded_nodes({}, [prefer]) == []
    # the DaemonSet controller's own tolerations: a cordoned node still runs DaemonSet pods
    cordoned = node("w", {}, [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}])
    assert np.excluded_nodes({}, [cordoned]) == []


def test_malformed_input_is_named():
    with pytest.raises(np.PlacementError, match="nodePlacement.nodeSelector"):
        np.excluded_nodes({"nodeSelector": ["x"]}, [WORKER])
    with pytest.raises(np.PlacementError, match="operator"):
        np.why_not({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "a", "operator": "Near"}]}]}}}}, WORKER)
    with pytest.raises(np.PlacementError, match="nodes must be a list"):
        np.excluded_nodes({}, "worker-0")
