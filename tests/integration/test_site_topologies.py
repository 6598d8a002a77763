"""The site playbook on other topologies of the local cluster: hosted control plane (refused),
Single Node OpenShift (refused unless swap_pool=master), compact (the master pool, end to end),
and a cluster without OpenShift Virtualization (refused). Each topology is its own short-lived
cluster (``roles-<topology>``), stopped at the end of the module unless OCPV_KEEP_CLUSTER=1.
"""

import json
from pathlib import Path

import pytest
from clusterlib import keep_clusters, start_cluster, wait_for
from test_site import describe_writes, machineconfig, settled, site
from localcluster import cluster as localcluster

ROOT = Path(__file__).resolve().parents[2]


def topology_cluster(topology):
    name = "roles-" + topology
    c = start_cluster(name, topology=topology)
    try:
        yield c
    finally:
        if not keep_clusters():
            localcluster.down(name, quiet=True)


@pytest.fixture(scope="module")
def hcp_cluster():
    yield from topology_cluster("hcp")


@pytest.fixture(scope="module")
def sno_cluster():
    yield from topology_cluster("sno")


@pytest.fixture(scope="module")
def compact_cluster():
    yield from topology_cluster("compact")


def test_hosted_control_plane_is_refused(hcp_cluster):
    run = site(hcp_cluster, "overcommit=150")
    assert run.rc != 0, run
    assert "hosted control plane" in run.output and "External" in run.output, run
    assert run.writes == [], describe_writes(run.writes)


def test_single_node_needs_the_master_pool_explicitly(sno_cluster):
    run = site(sno_cluster, "overcommit=150")
    assert run.rc != 0, run
    assert "Single Node OpenShift" in run.output and "swap_pool=master" in run.output, run
    assert run.writes == []

    check = site(sno_cluster, "overcommit=150", "swap_pool=master", check=True, diff=True)
    assert check.rc == 0, check
    assert check.all_writes == [], describe_writes(check.all_writes)
    assert "pool master: 1 node(s)" in check.output, check
    assert "90-master-swap" in check.output, check


def reboots_of(cluster):
    return json.loads((Path(cluster.run_dir) / "emulator" / "counters.json").read_text())["reboots"]


def not_ready_nodes(cluster):
    import kubernetes
    nodes = kubernetes.client.CoreV1Api(cluster.api_client()).list_node().items
    return sorted(n.metadata.name for n in nodes
                  if not any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or []))


# 4.16-4.20: failSwapOn: false reaches the master kubelet through the pool's KubeletConfig.
@pytest.mark.parametrize("release", ["4.16", "4.20"])
def test_compact_cluster_uses_the_master_pool(compact_cluster, tmp_path, release):
    compact_cluster.reset(release)
    run = site(compact_cluster, "overcommit=150", "verify_report_dir=%s" % tmp_path)
    assert run.rc == 0, run
    assert "Compact cluster: the control-plane nodes also carry the worker role" in " ".join(run.output.split()), run
    report = json.loads((tmp_path / "density-report.json").read_text())
    assert report["ok"] and report["pool"] == "master", report
    assert sorted(n["name"] for n in report["nodes"]) == ["master-0", "master-1", "master-2"]
    reboots = reboots_of(compact_cluster)
    assert reboots == {"master-0": 1, "master-1": 1, "master-2": 1}, reboots

    again = site(compact_cluster, "overcommit=150", "verify_report_dir=%s" % tmp_path)
    assert again.rc == 0 and again.changed == 0 and again.writes == [], again
    assert not_ready_nodes(compact_cluster) == []


@pytest.mark.parametrize("release", ["4.21", "4.22"])
def test_compact_cluster_is_refused_while_the_master_kubelet_ignores_the_dropin(compact_cluster, release):
    """MCO release-4.21/4.22: only the worker kubelet.service gets --config-dir; the master
    template keeps failSwapOn: true and the MCO refuses failSwapOn in a KubeletConfig, so swap on
    the master pool stops every control-plane kubelet. Refused before any write, naming 4.23."""
    compact_cluster.reset(release)
    # swap_wait_timeout: a collection without the refusal stalls on the first master (NotReady).
    run = site(compact_cluster, "overcommit=150", "swap_wait_timeout=90")
    text = " ".join(run.output.split())
    assert run.rc != 0, run
    assert "swap_pool=master" in text and "4.23" in text and "--config-dir" in text, run
    assert run.writes == [] and run.lock_writes == [], describe_writes(run.all_writes)
    assert reboots_of(compact_cluster) == {} and not_ready_nodes(compact_cluster) == []

    check = site(compact_cluster, "overcommit=150", "swap_pool=master", check=True)
    assert check.rc != 0 and "4.23" in " ".join(check.output.split()), check


def test_compact_cluster_on_4_23_gets_swap_through_the_dropin_only_with_native(compact_cluster, tmp_path):
    """MCO release-4.23 adds --config-dir to the master kubelet (36c7cead4), but HCO 1.19 deploys
    no wasp-agent (HCO #4528 / #4535) and virt-platform-autopilot, on by default, writes its swap
    MachineConfig for the worker role only. Before the harness followed #4535 this test expected
    dropin-4.21 to converge with HCO's agent, which a real 4.23 never runs. Now: with the
    autopilot on, the autopilot row is chosen and refused (not implemented) before any write;
    with it off ("false"), dropin-4.21 is refused (it would wait for HCO's agent); native, the
    explicit choice, puts LimitedSwap on the masters: one reboot each, every node Ready."""
    import kubernetes
    c = compact_cluster
    c.reset("4.23")
    wait_for(lambda: machineconfig(c, "90-worker-swap-online") is not None, timeout=60,
             what="the autopilot's MachineConfig")
    run = site(c, "overcommit=150")
    assert run.rc != 0 and "Profile autopilot" in " ".join(run.output.split()), run
    assert run.writes == [] and run.lock_writes == [], describe_writes(run.all_writes)

    kubernetes.client.CustomObjectsApi(c.api_client()).patch_namespaced_custom_object(
        "hco.kubevirt.io", "v1", "openshift-cnv", "hyperconvergeds", "kubevirt-hyperconverged",
        {"metadata": {"annotations": {"platform.kubevirt.io/autopilot": "false"}}})
    wait_for(lambda: machineconfig(c, "90-worker-swap-online") is None, timeout=60,
             what="the autopilot to take its MachineConfig back")
    wait_for(lambda: settled(c, "worker") and settled(c, "master"), timeout=120, what="the pools to settle")
    refused = site(c, "overcommit=150", "wasp_agent_wait_timeout=20")
    assert refused.rc != 0 and "deploys no wasp-agent" in " ".join(refused.output.split()), refused
    assert refused.writes == [], describe_writes(refused.writes)

    run = site(c, "overcommit=150", "density_profile=native", "verify_report_dir=%s" % tmp_path)
    assert run.rc == 0, run
    report = json.loads((tmp_path / "density-report.json").read_text())
    assert report["ok"] and report["pool"] == "master", report
    assert reboots_of(c) == {"master-0": 1, "master-1": 1, "master-2": 1}
    assert not_ready_nodes(c) == []


def test_cluster_without_openshift_virtualization_is_refused(sno_cluster):
    import kubernetes
    api = kubernetes.client.ApiextensionsV1Api(sno_cluster.api_client())
    api.delete_custom_resource_definition("hyperconvergeds.hco.kubevirt.io")
    try:
        run = site(sno_cluster, "overcommit=150", "swap_pool=master")
        assert run.rc != 0, run
        assert "OpenShift Virtualization is not installed" in run.output, run
        assert run.writes == [], describe_writes(run.writes)
    finally:
        sno_cluster.reset()
