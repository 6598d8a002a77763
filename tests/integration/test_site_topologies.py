"""The site playbook on other topologies of the local cluster: hosted control plane (refused),
Single Node OpenShift (refused unless swap_pool=master), compact (the master pool, end to end),
and a cluster without OpenShift Virtualization (refused). Each topology is its own short-lived
cluster (``roles-<topology>``), stopped at the end of the module unless OCPV_KEEP_CLUSTER=1.
"""

import json
import sys
from pathlib import Path

import pytest
from clusterlib import keep_clusters, start_cluster
from test_site import describe_writes, site

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "localcluster"))

import cluster as localcluster  # noqa: E402


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


def test_compact_cluster_uses_the_master_pool(compact_cluster, tmp_path):
    compact_cluster.reset()
    run = site(compact_cluster, "overcommit=150", "verify_report_dir=%s" % tmp_path)
    assert run.rc == 0, run
    assert "Compact cluster: the control-plane nodes also carry the worker role" in " ".join(run.output.split()), run
    report = json.loads((tmp_path / "density-report.json").read_text())
    assert report["ok"] and report["pool"] == "master", report
    assert sorted(n["name"] for n in report["nodes"]) == ["master-0", "master-1", "master-2"]
    reboots = json.loads((Path(compact_cluster.run_dir) / "emulator" / "counters.json").read_text())["reboots"]
    assert reboots == {"master-0": 1, "master-1": 1, "master-2": 1}, reboots

    again = site(compact_cluster, "overcommit=150", "verify_report_dir=%s" % tmp_path)
    assert again.rc == 0 and again.changed == 0 and again.writes == [], again


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
