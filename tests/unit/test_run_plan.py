# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""plugins/plugin_utils/run_plan.py: the plan a check-mode run writes - per object create /
change / delete / keep, and the pools that roll out."""

from ansible_collections.ocpv.density.plugins.plugin_utils.run_plan import entry, markdown, record, rollouts, summary

MC = {"kind": "MachineConfig", "metadata": {"name": "90-worker-swap",
                                            "labels": {"machineconfiguration.openshift.io/role": "worker"}}}
KC = {"kind": "KubeletConfig", "metadata": {"name": "ocpv-density-worker"},
      "spec": {"machineConfigPoolSelector": {"matchLabels": {"pools.operator.machineconfiguration.openshift.io/worker": ""}}}}


def result(kind, name, method, changed, obj=None, namespace=""):
    return {"identity": {"kind": kind, "name": name, "namespace": namespace}, "method": method,
            "changed": changed, "result": obj or {}}


def test_entries_name_the_action():
    assert entry(result("MachineConfig", "90-worker-swap", "create", True, MC))["action"] == "create"
    assert entry(result("MachineConfig", "90-worker-swap", "patch", True, MC))["action"] == "change"
    assert entry(result("MachineConfig", "90-worker-swap", "apply", False, MC))["action"] == "keep"
    gone = entry(result("KubeletConfig", "ocpv-density-worker", "delete", True), definition=KC)
    assert gone["action"] == "delete" and gone["pools"] == ["worker"], "the pool of a deleted object comes from the task"


def test_a_machineconfig_or_kubeletconfig_that_changes_rolls_its_pool_out_once():
    plan = record([], entry(result("KubeletConfig", "ocpv-density-worker", "create", True, KC)))
    plan = record(plan, entry(result("MachineConfig", "90-worker-swap", "create", True, MC)))
    plan = record(plan, entry(result("DaemonSet", "wasp-agent", "create", True, {"kind": "DaemonSet"}, "wasp")))
    assert rollouts(plan) == ["worker"]
    kept = [dict(e, action="keep") for e in plan]
    assert rollouts(kept) == []
    other = record(kept, entry(result("DaemonSet", "wasp-agent", "patch", True, {"kind": "DaemonSet"}, "wasp")))
    assert rollouts(other) == [], "a DaemonSet change drains no node"


def test_a_second_call_for_one_object_merges():
    first = entry(result("HyperConverged", "kubevirt-hyperconverged", "create", True, namespace="openshift-cnv"))
    plan = record([], first)
    plan = record(plan, entry(result("HyperConverged", "kubevirt-hyperconverged", "patch", True, namespace="openshift-cnv")))
    assert [e["action"] for e in plan] == ["create"]
    plan = record(plan, entry(result("HyperConverged", "kubevirt-hyperconverged", "patch", False, namespace="openshift-cnv")))
    assert [e["action"] for e in plan] == ["create"]
    kept = record([], dict(first, action="keep"))
    assert [e["action"] for e in record(kept, dict(first, action="change"))] == ["change"]


def test_summary_and_markdown():
    plan = record([], entry(result("MachineConfig", "90-worker-swap", "create", True, MC)))
    plan = record(plan, entry(result("Namespace", "wasp", "apply", False, {"kind": "Namespace"})))
    data = summary(plan)
    assert data["counts"] == {"create": 1, "keep": 1} and data["rollouts"] == ["worker"]
    text = markdown(plan)
    assert "| create | MachineConfig | - | 90-worker-swap |" in text and "Rollouts: pool worker" in text
    assert "Rollouts: none" in markdown([])
