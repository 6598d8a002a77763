"""The HyperConverged API version on a release whose HCO serves v1 but stores v1beta1.

HCO release-1.18 (OpenShift Virtualization 4.22) serves v1 and keeps v1beta1 as the storage
version (kubevirt/hyperconverged-cluster-operator release-1.18 de5270c09,
api/v1beta1/hyperconverged_types.go `+kubebuilder:storageversion`, deploy/crds/hco00.crd.yaml);
v1 becomes the storage version in release-1.19 (485f93528, "Make the v1 API version the stored
one (#4254)"). The collection must choose the version to talk to from what the CRD serves, never
from which one it stores. One local cluster (``hcostore``) at 4.22.
"""

import subprocess

import pytest
from clusterlib import keep_clusters, start_cluster, wait_for
from test_site import ANSIBLE_PLAYBOOK, PLAYBOOK_TIMEOUT, ROOT, custom_api, describe_writes, settled, site
from localcluster import cluster as localcluster


NAME = "hcostore"
HC = ("hco.kubevirt.io", "v1", "openshift-cnv", "hyperconvergeds", "kubevirt-hyperconverged")


@pytest.fixture(scope="module")
def c422():
    c = start_cluster(NAME, release="4.22")
    try:
        c.reset(release="4.22")
        wait_for(lambda: settled(c), timeout=120, what="the worker pool to settle after reset")
        yield c
    finally:
        if not keep_clusters():
            localcluster.down(NAME, quiet=True)


def hco_crd(c):
    import kubernetes
    return kubernetes.client.ApiextensionsV1Api(c.api_client()).read_custom_resource_definition(
        "hyperconvergeds.hco.kubevirt.io")


def kubevirt_overcommit(c):
    kv = custom_api(c).get_namespaced_custom_object("kubevirt.io", "v1", "openshift-cnv", "kubevirts",
                                                    "kubevirt-kubevirt-hyperconverged")
    return kv["spec"].get("configuration", {}).get("developerConfiguration", {}).get("memoryOvercommit")


def test_4_22_serves_v1_and_stores_v1beta1(c422):
    crd = hco_crd(c422)
    flags = {v.name: {"served": bool(v.served), "storage": bool(v.storage)} for v in crd.spec.versions}
    assert flags["v1"] == {"served": True, "storage": False}, "HCO 1.18 serves v1 and does not store it"
    assert flags["v1beta1"]["storage"] is True, "HCO 1.18 stores v1beta1 (%s)" % flags
    assert crd.status.stored_versions == ["v1beta1"]


def test_hco_role_on_its_own_uses_the_served_version(c422, tmp_path):
    import yaml
    playbook = tmp_path / "hco.yml"

    def run(value):
        playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "connection": "local", "gather_facts": False,
                                             "roles": [{"role": "ocpv.density.hco",
                                                        "vars": {"hco_overcommit": value, "hco_wait_poll_interval": 1}}]}]))
        return subprocess.run([ANSIBLE_PLAYBOOK, str(playbook)], cwd=ROOT, env=c422.playbook_env(),
                              capture_output=True, text=True, timeout=PLAYBOOK_TIMEOUT, check=False)

    try:
        proc = run(150)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        hc = custom_api(c422).get_namespaced_custom_object(*HC)
        assert hc["spec"]["virtualization"]["higherWorkloadDensity"]["memoryOvercommitPercentage"] == 150
        assert kubevirt_overcommit(c422) == 150
    finally:
        run(100)


def test_site_check_mode_reads_the_served_version(c422, tmp_path):
    run = site(c422, "overcommit=150", "verify_report_dir=%s" % (tmp_path / "reports"), check=True)
    assert run.rc == 0, run
    assert "openshift-cnv/kubevirt-hyperconverged (v1)" in run.output, run
    assert run.all_writes == [], describe_writes(run.all_writes)
