"""The autopilot era: virt-platform-autopilot manages swap, HCO deploys no wasp-agent.

Upstream: HCO PR #4528 (CNV-95803, merged 2026-08-25 on main, cherry-picked to release-1.19 as
#4535) drops HCO's wasp-agent handlers because the autopilot is on by default; on release-1.18
(4.22) HCO already skips its agent when the HyperConverged carries platform.kubevirt.io/autopilot
"true" or "swap-enable" (controllers/handlers/wasp-agent/daemonset.go, de5270c09). The autopilot's
MachineConfig 90-worker-swap-online (openshift-virtualization/virt-platform-autopilot
assets/active/machine-config/01-swap-enable.yaml.tpl) writes
/etc/openshift/kubelet.conf.d/90-swap.conf (LimitedSwap) and only swapons what exists: the
partition labelled OCPSWAP, or the file /var/tmp/ocpswap.file (ocpswap-file-enable.service).

The MCO merges MachineConfigs sorted by name, a later one replacing a file of the same path
(openshift/machine-config-operator release-4.22 9027c94cd, pkg/controller/common/helpers.go
MergeMachineConfigs): the emulator records such a conflict in emulator/conflicts.json.
"""

import json
from pathlib import Path

import pytest
from clusterlib import keep_clusters, start_cluster, wait_for
from test_site import MCFG, apps_api, custom_api, describe_writes, get_pool, machineconfig, settled, site
from localcluster import cluster as localcluster


NAME = "autopilot"
DROPIN = "/etc/openshift/kubelet.conf.d/90-swap.conf"
HC = ("hco.kubevirt.io", "v1", "openshift-cnv", "hyperconvergeds", "kubevirt-hyperconverged")


@pytest.fixture(scope="module")
def apc():
    c = start_cluster(NAME, release="4.22")
    try:
        yield c
    finally:
        if not keep_clusters():
            localcluster.down(NAME, quiet=True)


def fresh_autopilot(c, value="true"):
    c.reset(release="4.22")
    wait_for(lambda: settled(c), timeout=120, what="the worker pool to settle after reset")
    custom_api(c).patch_namespaced_custom_object(*HC, {"metadata": {"annotations": {"platform.kubevirt.io/autopilot": value}}})
    wait_for(lambda: machineconfig(c, "90-worker-swap-online") is not None, timeout=60,
             what="the emulated autopilot's MachineConfig")
    wait_for(lambda: "90-worker-swap-online" in [s["name"] for s in get_pool(c)["spec"]["configuration"].get("source", [])]
             and settled(c), timeout=120, what="the worker pool to roll out the autopilot's MachineConfig")
    return c


def conflicts(c):
    try:
        return json.loads((Path(c.run_dir) / "emulator" / "conflicts.json").read_text())
    except (OSError, ValueError):
        return {}


def test_the_emulated_autopilot_writes_its_swap_machineconfig(apc):
    c = fresh_autopilot(apc)
    mc = machineconfig(c, "90-worker-swap-online")
    assert mc["metadata"]["labels"]["platform.kubevirt.io/managed-by"] == "virt-platform-autopilot"
    dropin = (Path(c.node_dir("worker-0")) / "root" / DROPIN.lstrip("/")).read_text()
    assert "swapBehavior: LimitedSwap" in dropin
    unit = (Path(c.node_dir("worker-0")) / "root" / "etc/systemd/system/ocpswap-file-enable.service").read_text()
    assert "/var/tmp/ocpswap.file" in unit
    assert conflicts(c) == {}


def test_site_neither_waits_for_an_hco_agent_nor_writes_a_second_dropin(apc, tmp_path):
    c = fresh_autopilot(apc)
    run = site(c, "overcommit=150", "wasp_agent_wait_timeout=20", "wasp_agent_wait_poll_interval=1",
               "verify_report_dir=%s" % (tmp_path / "reports"))
    assert run.rc != 0, run
    assert "virt-platform-autopilot" in run.output and "90-worker-swap-online" in run.output, run
    assert run.writes == [], describe_writes(run.writes)
    assert machineconfig(c, "90-worker-swap") is None
    assert [ds.metadata.namespace for ds in apps_api(c).list_daemon_set_for_all_namespaces(
        field_selector="metadata.name=wasp-agent").items] == []
    assert conflicts(c) == {}


def test_native_is_refused_next_to_the_autopilot(apc, tmp_path):
    c = fresh_autopilot(apc, "swap-enable")
    run = site(c, "overcommit=150", "density_profile=native", "verify_report_dir=%s" % (tmp_path / "reports"))
    assert run.rc != 0, run
    assert "90-worker-swap-online" in run.output and DROPIN in run.output, run
    assert run.writes == [], describe_writes(run.writes)


def test_mco_emulation_shows_two_machineconfigs_writing_one_path(apc):
    c = fresh_autopilot(apc)
    body = {"apiVersion": f"{MCFG}/v1", "kind": "MachineConfig",
            "metadata": {"name": "90-worker-swap", "labels": {"machineconfiguration.openshift.io/role": "worker"}},
            "spec": {"config": {"ignition": {"version": "3.5.0"}, "storage": {"files": [
                {"path": DROPIN, "mode": 420, "overwrite": True,
                 "contents": {"source": "data:,failSwapOn%3A%20false%0A"}}]}}}}
    custom_api(c).create_cluster_custom_object(MCFG, "v1", "machineconfigs", body)
    try:
        wait_for(lambda: conflicts(c).get("worker"), timeout=60, what="the emulator to record the conflict")
        assert conflicts(c)["worker"] == [{"path": DROPIN, "winner": "90-worker-swap-online",
                                           "overridden": ["90-worker-swap"]}]
        wait_for(lambda: settled(c), timeout=120, what="the rollout of both")
        dropin = (Path(c.node_dir("worker-0")) / "root" / DROPIN.lstrip("/")).read_text()
        assert "LimitedSwap" in dropin, "later name wins: 90-worker-swap-online > 90-worker-swap"
    finally:
        custom_api(c).delete_cluster_custom_object(MCFG, "v1", "machineconfigs", "90-worker-swap")


def test_site_says_when_hco_deploys_no_agent_and_the_autopilot_is_opted_out(apc, tmp_path):
    """The HyperConverged opts in to the autopilot but opts its swap MachineConfig out: HCO deploys
    no wasp-agent and no 90-worker-swap-online exists. The 4.22 profile (dropin-4.21, HCO's agent)
    is refused before any write instead of waiting for an agent that never comes. Seen to fail
    before the refusal: the run waited out wasp_agent_wait_timeout after its first writes."""
    c = apc
    c.reset(release="4.22")
    wait_for(lambda: settled(c), timeout=120, what="the worker pool to settle after reset")
    custom_api(c).patch_namespaced_custom_object(*HC, {"metadata": {"annotations": {
        "platform.kubevirt.io/autopilot": "true",
        "platform.kubevirt.io/disabled-resources": "- kind: MachineConfig\n  name: 90-worker-swap-online\n"}}})
    run = site(c, "overcommit=150", "wasp_agent_wait_timeout=20", "wasp_agent_wait_poll_interval=1",
               "verify_report_dir=%s" % (tmp_path / "reports"))
    assert run.rc != 0, run
    assert "deploys no wasp-agent on this cluster" in run.output and "Profile dropin-4.21" in run.output, run
    assert run.writes == [], describe_writes(run.writes)
    assert machineconfig(c, "90-worker-swap-online") is None


# --- 4.23: HCO 1.19 has no wasp-agent handlers (#4535), the autopilot is on by default ------------

def wasp_daemonset_namespaces(c):
    return [ds.metadata.namespace for ds in apps_api(c).list_daemon_set_for_all_namespaces(
        field_selector="metadata.name=wasp-agent").items]


def set_overcommit(c, value):
    custom_api(c).patch_namespaced_custom_object(*HC, {"spec": {"virtualization": {"higherWorkloadDensity": {
        "memoryOvercommitPercentage": value}}}})


def test_on_4_23_the_autopilot_needs_no_opt_in_and_hco_deploys_no_agent(apc):
    """HCO #4528 / #4535: "Auto-pilot is now enabled by default, and is responsible for WASP";
    the autopilot (cdf87d5) stops only for platform.kubevirt.io/autopilot "false". Seen to fail
    before the harness change: the emulated 4.23 wrote no 90-worker-swap-online without the
    annotation and ran HCO's wasp-agent at overcommit 150."""
    c = apc
    c.reset(release="4.23")
    wait_for(lambda: machineconfig(c, "90-worker-swap-online") is not None, timeout=60,
             what="the autopilot's MachineConfig without any annotation")
    set_overcommit(c, 150)
    wait_for(lambda: settled(c), timeout=120, what="the worker pool to roll the autopilot's MachineConfig out")
    assert wasp_daemonset_namespaces(c) == []
    csv = custom_api(c).get_namespaced_custom_object("operators.coreos.com", "v1alpha1", "openshift-cnv",
                                                     "clusterserviceversions", "kubevirt-hyperconverged-operator.v4.23.0")
    assert not [i for i in csv["spec"]["relatedImages"] if "wasp-agent" in i["name"]], "#4538: no wasp image"
    custom_api(c).patch_namespaced_custom_object(*HC, {"metadata": {"annotations": {"platform.kubevirt.io/autopilot": "false"}}})
    wait_for(lambda: machineconfig(c, "90-worker-swap-online") is None, timeout=60,
             what="the autopilot to take its MachineConfig back on \"false\"")
    assert wasp_daemonset_namespaces(c) == []


def test_on_4_23_without_the_autopilot_site_refuses_to_wait_for_hcos_agent(apc, tmp_path):
    """4.23 with the autopilot opted out: the profile by version (dropin-4.21) hands the agent to
    HCO, which has none. Refused before any write; native converges without any agent. Seen to
    fail before: the run wrote its MachineConfig and waited out wasp_agent_wait_timeout."""
    c = apc
    c.reset(release="4.23")
    custom_api(c).patch_namespaced_custom_object(*HC, {"metadata": {"annotations": {"platform.kubevirt.io/autopilot": "false"}}})
    wait_for(lambda: machineconfig(c, "90-worker-swap-online") is None and settled(c), timeout=120,
             what="no autopilot MachineConfig and a settled pool")
    run = site(c, "overcommit=150", "wasp_agent_wait_timeout=20", "wasp_agent_wait_poll_interval=1",
               "verify_report_dir=%s" % (tmp_path / "reports"))
    text = " ".join(run.output.split())
    assert run.rc != 0, run
    assert "deploys no wasp-agent: HCO 1.19 and later has none" in text and "Profile dropin-4.21" in text, run
    assert run.writes == [], describe_writes(run.writes)

    native = site(c, "overcommit=150", "density_profile=native", "verify_report_dir=%s" % (tmp_path / "native"))
    assert native.rc == 0, native
    assert "UNSUPPORTED: the native profile" in " ".join(native.output.split()), native
    dropin = (Path(c.node_dir("worker-0")) / "root" / DROPIN.lstrip("/")).read_text()
    assert "swapBehavior: LimitedSwap" in dropin
    assert wasp_daemonset_namespaces(c) == [] and conflicts(c) == {}
