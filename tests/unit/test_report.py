# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""plugin_utils/report.py and the density_report filter: the verify role's report, judged from
reads without a cluster. Each problem with the words the user reads."""

import copy
import re

import pytest
from jinja2 import Environment
from jinja2.filters import do_truncate

from ansible.errors import AnsibleFilterError
from ansible_collections.ocpv.density.plugins.filter import report as report_filter
from ansible_collections.ocpv.density.plugins.plugin_utils import report

WORKERS = ["worker-0", "worker-1"]
SETTINGS = dict(overcommit=150, pool="worker", agent=True, namespace="wasp", daemonset="wasp-agent",
                swap_machineconfig="90-worker-swap", hco_name="kubevirt-hyperconverged",
                hco_namespace="openshift-cnv", hco_api_version="v1beta1",
                cluster={"ocp_version": "4.17.3", "profile": {"name": "manual-4.17"}, "topology": "standard"})


def node(name, allocatable="15Gi"):
    return {"metadata": {"name": name}, "status": {"allocatable": {"memory": allocatable}}}


def pod(name, node_name):
    return {"metadata": {"name": name}, "spec": {"nodeName": node_name}}


def vm_pod(name, requests, limits, vm="rhel9"):
    return {"metadata": {"name": name, "namespace": "vms", "labels": {"vm.kubevirt.io/name": vm}},
            "spec": {"nodeName": "worker-0",
                     "containers": [{"name": "compute", "resources": {"requests": requests, "limits": limits}}]}}


def reads(**changes):
    base = {
        "nodes": [node(n) for n in WORKERS],
        "pools": [{"metadata": {"name": "worker"},
                   "status": {"configuration": {"source": [{"name": "00-worker"}, {"name": "90-worker-swap"}]},
                              "conditions": [{"type": "Updated", "status": "True"}]}}],
        "plan": [{"name": n, "memory_mib": 16384, "swap_mib": 8192} for n in WORKERS],
        "daemonset": {"status": {"desiredNumberScheduled": 2, "numberReady": 2, "updatedNumberScheduled": 2}},
        "agent_pods": [pod("wasp-agent-a", "worker-0"), pod("wasp-agent-b", "worker-1")],
        "meminfo": [{"pod": p, "rc": 0, "stdout": "MemTotal: 16777216 kB\nSwapTotal:  8388608 kB\n"}
                    for p in ("wasp-agent-a", "wasp-agent-b")],
        "hco": {"spec": {"higherWorkloadDensity": {"memoryOvercommitPercentage": 150}}},
        "kubevirt": {"spec": {"configuration": {"developerConfiguration": {"memoryOvercommit": 150}}}},
        "vm_pods": [],
    }
    base.update(changes)
    return base


def build(settings=None, **changes):
    return report.density_report(reads(**changes), dict(SETTINGS, **(settings or {})), "2026-12-06T00:00:00Z")


def test_a_healthy_pool_verifies_with_rows_and_totals():
    got = build()
    assert got["ok"] and got["problems"] == []
    assert got["cluster"] == {"ocp_version": "4.17.3", "profile": "manual-4.17", "topology": "standard"}
    assert [row["name"] for row in got["nodes"]] == WORKERS
    row = got["nodes"][0]
    assert row == dict(name="worker-0", memory_mib=16384, swap_planned_mib=8192, swap_mib=8192,
                       allocatable_memory_mib=15360, schedulable_vm_memory_mib=23040,
                       wasp_agent_pod="wasp-agent-a", ok=True, problem=None)
    assert got["totals"] == dict(nodes=2, memory_mib=32768, swap_mib=16384, allocatable_memory_mib=30720,
                                 schedulable_vm_memory_mib=46080)
    assert got["hco"] == {"name": "openshift-cnv/kubevirt-hyperconverged", "api_version": "v1beta1",
                          "memoryOvercommitPercentage": 150, "kubevirt_memoryOvercommit": 150}
    assert got["wasp_agent"] == {"daemonset": "wasp/wasp-agent", "desired": 2, "updated": 2, "ready": 2}


def test_node_problems_in_the_users_words():
    meminfo = [{"pod": "wasp-agent-a", "rc": 0, "stdout": "SwapTotal: 4194304 kB"},
               {"pod": "wasp-agent-b", "rc": 0, "stdout": "MemTotal: 1 kB"}]
    got = build(meminfo=meminfo)
    assert got["problems"] == ["node worker-0: swap 4096 MiB, planned 8192 MiB",
                               "node worker-1: no SwapTotal in /proc/meminfo"]
    assert got["nodes"][1]["swap_mib"] is None and got["totals"]["swap_mib"] == 4096


def test_a_missing_agent_pod_and_a_failed_read():
    long_reason = "connection reset " * 20
    got = build(agent_pods=[pod("wasp-agent-a", "worker-0")],
                meminfo=[{"pod": "wasp-agent-a", "failed": True, "rc": 1, "msg": long_reason}],
                daemonset={"status": {"desiredNumberScheduled": 2, "numberReady": 1, "updatedNumberScheduled": 2}})
    assert got["problems"][0] == "DaemonSet wasp-agent: desired 2, updated 2, ready 1, pool nodes 2"
    assert got["problems"][1] == ("node worker-0: cannot read /proc/meminfo in pod wasp-agent-a: "
                                  + do_truncate(Environment(), long_reason, 200))
    assert got["problems"][2] == "node worker-1: no running wasp-agent pod on the node"


@pytest.mark.parametrize("text", ["short", "x" * 205, "x" * 206, "word " * 60, "a" * 300])
def test_truncate_is_jinjas(text):
    # the template this replaced cut the reason with Jinja's truncate(200)
    assert report._truncate(text) == do_truncate(Environment(), text, 200)


def test_exec_reason_falls_back_to_stderr_then_a_default():
    assert "pod p: denied" in report._exec_problem({"rc": 126, "stderr": "denied"}, "p")
    assert report._exec_problem({"return_code": 1}, "p").endswith("exec failed")
    assert report._exec_problem({"rc": 0}, "p") is None


def test_no_daemonset_and_no_nodes():
    got = build(daemonset=None, nodes=[])
    assert got["problems"] == ["DaemonSet wasp/wasp-agent does not exist", "pool worker has no nodes"]


def test_without_an_agent_the_pool_must_run_the_swap_machineconfig():
    # native swap (4.21+) or the autopilot: no wasp-agent, so no per-node reads to judge
    assert build(settings={"agent": False}, agent_pods=[], meminfo=[])["problems"] == []
    pools = copy.deepcopy(reads()["pools"])
    pools[0]["status"]["configuration"]["source"] = [{"name": "00-worker"}]
    assert build(settings={"agent": False}, pools=pools)["problems"] == [
        "pool worker has not rolled out a configuration with the swap MachineConfig"]
    pools[0]["status"]["configuration"]["source"].append({"name": "90-worker-swap"})
    pools[0]["status"]["conditions"] = [{"type": "Updated", "status": "False"}]
    assert build(settings={"agent": False}, pools=pools)["problems"] != []


def test_hco_and_kubevirt_disagreeing_with_the_overcommit():
    got = build(hco={"spec": {"virtualization": {"higherWorkloadDensity": {"memoryOvercommitPercentage": 150}}}},
                kubevirt={"spec": {}})
    # read at v1beta1, the v1 path does not count: HCO's default 100
    assert got["problems"] == ["HyperConverged memoryOvercommitPercentage is 100, expected 150",
                               "KubeVirt memoryOvercommit is None, expected 150"]
    assert build(hco=None)["problems"] == ["HyperConverged openshift-cnv/kubevirt-hyperconverged not found"]


def test_vms_that_cannot_swap_are_named():
    burstable = vm_pod("virt-launcher-a", {"memory": "1Gi"}, {"memory": "2Gi"}, vm="web")
    guaranteed = vm_pod("virt-launcher-b", {"memory": "2Gi", "cpu": "1"}, {"memory": "2Gi", "cpu": "1"}, vm="db")
    got = build(vm_pods=[burstable, guaranteed])
    assert got["vms"]["running"] == 2 and got["vms"]["swap_eligible"] == 1
    assert got["vms"]["not_swap_eligible"] == [dict(namespace="vms", vm="db", pod="virt-launcher-b", node="worker-0",
                                                    qos_class="Guaranteed", label="vms/db (Guaranteed)")]
    assert got["ok"]  # a VM that cannot swap is a warning, not a problem


def test_swap_total_mib():
    assert report.swap_total_mib("SwapTotal:       2048 kB") == 2
    assert report.swap_total_mib("SwapTotal: 0 kB") == 0
    assert report.swap_total_mib("") is None and report.swap_total_mib(None) is None


def test_filter_checks_its_inputs_and_stamps_the_time():
    got = report_filter.density_report(reads(), dict(SETTINGS, agent="True"))
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", got["generated_at"]) and got["ok"]
    with pytest.raises(AnsibleFilterError, match="settings lack hco_api_version"):
        report_filter.density_report(reads(), dict((k, v) for k, v in SETTINGS.items() if k != "hco_api_version"))
    with pytest.raises(AnsibleFilterError, match="expects two mappings"):
        report_filter.density_report([], SETTINGS)
