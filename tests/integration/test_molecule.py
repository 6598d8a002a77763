"""Molecule scenarios (molecule/default, molecule/reuse) against the local emulated cluster.

``molecule test -s <scenario>`` runs syntax, converge, idempotence (a second converge must report
no change) and verify; the scenarios find the cluster through OCPV_CLUSTER_NAME (their
molecule.yml points KUBECONFIG at .localcluster/<name>/kubeconfig). The cluster is reset to its
seeded state before and after each scenario.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from clusterlib import wait_for

ROOT = Path(__file__).resolve().parents[2]
MCFG = "machineconfiguration.openshift.io"
TIMEOUT = 2400


def pool_settled(cluster, name="worker"):
    import kubernetes
    pool = kubernetes.client.CustomObjectsApi(cluster.api_client()).get_cluster_custom_object(
        MCFG, "v1", "machineconfigpools", name)
    status = pool.get("status") or {}
    updated = any(c["type"] == "Updated" and c["status"] == "True" for c in status.get("conditions") or [])
    return updated and (status.get("configuration") or {}).get("name") == pool["spec"]["configuration"]["name"]


@pytest.fixture
def fresh_cluster(cluster):
    # The scenarios' verify.yml asserts the tp-4.16 objects (image tag, KubeletConfig keys).
    cluster.reset("4.16")
    wait_for(lambda: pool_settled(cluster), timeout=120, what="the worker pool to settle after reset")
    yield cluster
    cluster.reset()


@pytest.mark.parametrize("scenario", ["default", "reuse"])
def test_molecule_scenario(fresh_cluster, scenario):
    # molecule.yml finds the kubeconfig at .localcluster/<OCPV_CLUSTER_NAME>/kubeconfig
    assert os.path.samefile(fresh_cluster.kubeconfig, ROOT / ".localcluster" / fresh_cluster.name / "kubeconfig"), (
        "molecule.yml expects the cluster under .localcluster/<name>/ (unset OCPV_LOCALCLUSTER_DIR)")
    bin_dir = str(Path(sys.executable).parent)
    env = fresh_cluster.env(OCPV_CLUSTER_NAME=fresh_cluster.name, PATH=bin_dir + os.pathsep + os.environ["PATH"],
                            ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                            NO_COLOR="1")
    proc = subprocess.run([os.path.join(bin_dir, "molecule"), "test", "-s", scenario], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-8000:]
    assert "idempotence: Executed: Successful" in output, output[-4000:]
    assert "Another version of" not in output, "molecule ran a copy of the collection, not the checkout"
