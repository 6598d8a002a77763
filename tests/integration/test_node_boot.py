"""What the swap MachineConfig does to a node's boot (issue 14 fact 5), with the site playbook
against the local cluster: a node whose disk cannot hold the swap file still starts and joins
(the provision unit is only wanted by kubelet-dependencies.target, openshift/openshift-docs
1fe4a88 modules/virt-enabling-higher-vm-workload-density.adoc) and verify reports it; the swap
file moves from /var/tmp to /var/ocpswap.file, an old one going in the same single rollout.

The emulated node (localcluster/emulator.py NodeDisk.boot) reads its free disk from the test-only
node annotation localcluster.ocpv.io/disk-free-mib; a provisioning unit whose file does not fit
fails, and a failed unit that kubelet-dependencies.target *requires* keeps the kubelet down.
"""

import base64
from pathlib import Path

from clusterlib import wait_for
import test_site
from test_site import MCFG, WORKERS, counters, custom_api, get_pool, settled, site

site_cluster = test_site.site_cluster  # the fixture: the session cluster in its seeded state

DISK_FREE = "localcluster.ocpv.io/disk-free-mib"
KUBELET_ANNOTATION = "localcluster.ocpv.io/kubelet"
NEW_FILE = "var/ocpswap.file"
OLD_FILE = "var/tmp/swapfile"


def node_root(cluster, node):
    return Path(cluster.run_dir) / "nodes" / node / "root"


def swap_total_kb(cluster, node):
    text = (Path(cluster.run_dir) / "nodes" / node / "proc" / "meminfo").read_text()
    return int(next(line.split()[1] for line in text.splitlines() if line.startswith("SwapTotal:")))


def annotate_node(cluster, node, annotations):
    import kubernetes
    kubernetes.client.CoreV1Api(cluster.api_client()).patch_node(node, {"metadata": {"annotations": annotations}})


def mc_units(cluster, name="90-worker-swap"):
    mc = custom_api(cluster).get_cluster_custom_object(MCFG, "v1", "machineconfigs", name)
    return {u["name"]: u["contents"] for u in mc["spec"]["config"]["systemd"]["units"]}


def mc_files(cluster, name="90-worker-swap"):
    mc = custom_api(cluster).get_cluster_custom_object(MCFG, "v1", "machineconfigs", name)
    return {f["path"]: base64.b64decode(f["contents"]["source"].split(",", 1)[1]).decode()
            for f in mc["spec"]["config"]["storage"]["files"]}


def test_a_node_whose_disk_cannot_hold_the_swap_file_still_joins(site_cluster):
    """worker-1's disk has 1 GiB free, its swap would be several GiB. Failed before the fix: the
    units were RequiredBy=kubelet-dependencies.target, so worker-1's kubelet did not come back,
    the rollout stalled and the run timed out waiting for the pool."""
    cluster = site_cluster
    annotate_node(cluster, "worker-1", {DISK_FREE: "1024"})
    run = site(cluster, "overcommit=150", "swap_wait_timeout=120")
    pool = get_pool(cluster)
    assert settled(cluster), run
    import kubernetes
    nodes = {n.metadata.name: n for n in kubernetes.client.CoreV1Api(cluster.api_client()).list_node().items}
    assert KUBELET_ANNOTATION not in (nodes["worker-1"].metadata.annotations or {}), run
    assert nodes["worker-1"].metadata.annotations[f"{MCFG}/currentConfig"] == pool["spec"]["configuration"]["name"]
    assert counters(cluster)["reboots"] == {w: 1 for w in WORKERS}
    assert swap_total_kb(cluster, "worker-1") == 0
    assert not (node_root(cluster, "worker-1") / NEW_FILE).exists()
    for worker in set(WORKERS) - {"worker-1"}:
        assert swap_total_kb(cluster, worker) > 0, worker
    # verify says which node has no swap (and so the run fails there, after the rollout).
    assert run.rc != 0, run
    assert "node worker-1: swap 0 MiB, planned" in run.output, run
    units = mc_units(cluster)
    for name in ("swap-provision.service", "cgroup-system-slice-config.service"):
        assert "WantedBy=kubelet-dependencies.target" in units[name] and "RequiredBy=" not in units[name], name


def test_the_swap_file_moves_out_of_var_tmp_in_one_rollout(site_cluster):
    """Every worker carries a /var/tmp/swapfile from an earlier procedure. One rollout, one reboot
    per node: the MachineConfig names /var/ocpswap.file, the old file is gone, swap is on.
    Failed before the fix: swap.env said OCPV_SWAP_FILE=/var/tmp/swapfile."""
    cluster = site_cluster
    for worker in WORKERS:
        old = node_root(cluster, worker) / OLD_FILE
        old.parent.mkdir(parents=True, exist_ok=True)
        old.write_text("5000 MiB swap file (emulated marker)\n")
    run = site(cluster, "overcommit=150")
    assert run.rc == 0, run
    assert "OCPV_SWAP_FILE=/var/ocpswap.file" in mc_files(cluster)["/etc/ocpv-density/swap.env"]
    assert counters(cluster)["reboots"] == {w: 1 for w in WORKERS}
    for worker in WORKERS:
        assert not (node_root(cluster, worker) / OLD_FILE).exists(), worker
        assert (node_root(cluster, worker) / NEW_FILE).exists(), worker
        assert swap_total_kb(cluster, worker) > 0, worker
    wait_for(lambda: settled(cluster), timeout=60, what="the pool to stay settled")
