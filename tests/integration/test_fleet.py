"""playbooks/fleet.yml on a fleet of three "clusters", run as AAP runs a job (ansible-runner):

- cluster-a: the session's local cluster (fixture ``cluster``), reached with a ServiceAccount
  bearer token and the API server's CA file (host variables k8s_auth_host, k8s_auth_api_key,
  k8s_auth_ca_cert);
- cluster-b: a second local cluster (fixture ``second_cluster``), reached with its kubeconfig
  (k8s_auth_kubeconfig);
- dead: an API URL on a closed local port.

The dead cluster fails, the two others converge anyway (failures are isolated), the summary lists
all three, the run ends failed (the dead cluster's failure is reported, not hidden), and no
token reaches the job events or artifacts. Each cluster runs site.yml's procedure, run lock
included: a cluster whose lock another run holds fails alone, unwritten.
"""

import os
import subprocess
from pathlib import Path

import kubernetes
import pytest
import yaml

from aaplib import (aap_environment, bearer_token_credential, delete_bearer_token_identity, failure_text,
                    files_containing, private_data_dir, run_job, stats_event)
from clusterlib import ANSIBLE_PLAYBOOK, closed_port, localcluster
from test_site import LOCK_LEASE, LOCK_NAMESPACE, ROOT, TASK_ERROR, hold_run_lock, is_lock_write

DEAD_TOKEN = "dead-cluster-token-must-not-leak-0123456789"


@pytest.fixture(autouse=True)
def aap_like_environment(monkeypatch):
    aap_environment(monkeypatch)


@pytest.fixture(scope="module")
def fleet(cluster, second_cluster, tmp_path_factory):
    cluster.reset()
    second_cluster.reset()
    credential = bearer_token_credential(cluster)
    files = tmp_path_factory.mktemp("fleet-inventory")
    (files / "cluster-a-ca.crt").write_text(credential["ssl_ca_cert"])
    inventory = {"clusters": {"hosts": {
        "cluster-a": {"k8s_auth_host": credential["host"], "k8s_auth_api_key": credential["bearer_token"],
                      "k8s_auth_ca_cert": str(files / "cluster-a-ca.crt")},
        "cluster-b": {"k8s_auth_kubeconfig": str(second_cluster.kubeconfig)},
        "dead": {"k8s_auth_host": f"https://127.0.0.1:{closed_port()}", "k8s_auth_api_key": DEAD_TOKEN,
                 "k8s_auth_verify_ssl": False},
    }}}
    yield {"inventory": yaml.safe_dump(inventory), "token": credential["bearer_token"]}
    cluster.reset()
    second_cluster.reset()
    delete_bearer_token_identity(cluster)


def test_second_cluster_runs_alongside_on_other_ports(cluster, second_cluster):
    """The harness: a second cluster (the fleet's cluster-b) on its own ports and run dir."""
    assert cluster.run_dir != second_cluster.run_dir
    assert not set(cluster.ports.values()) & set(second_cluster.ports.values())
    for c in (cluster, second_cluster):
        api = c.api_client()
        version = kubernetes.client.VersionApi(api).get_code()
        assert version.git_version == "v1.36.3"
        nodes = kubernetes.client.CoreV1Api(api).list_node().items
        assert {n.metadata.name for n in nodes} == set(c.nodes)
        api.close()
    assert localcluster.status(cluster.name)["healthy"] and localcluster.status(second_cluster.name)["healthy"]


def hco_overcommit(c):
    custom = kubernetes.client.CustomObjectsApi(c.api_client())
    hco = custom.get_namespaced_custom_object("hco.kubevirt.io", "v1beta1", "openshift-cnv", "hyperconvergeds",
                                              "kubevirt-hyperconverged")
    return hco["spec"].get("higherWorkloadDensity", {}).get("memoryOvercommitPercentage", 100)


def test_fleet_isolates_a_failing_cluster(cluster, second_cluster, fleet, tmp_path):
    pdd = private_data_dir(tmp_path, {"overcommit": 150, "state": "present"}, inventory=fleet["inventory"])
    # the inventory is YAML: give it its extension so the yaml inventory plugin takes it
    os.rename(pdd / "inventory" / "hosts", pdd / "inventory" / "hosts.yml")
    runner = run_job(pdd, "playbooks/fleet.yml")

    stats = stats_event(runner)
    # The run fails because one cluster failed - and only that one.
    assert runner.status == "failed", failure_text(runner)
    assert set(stats["failures"]) == {"dead"}, failure_text(runner)
    assert stats["dark"] == {}

    results = stats["artifact_data"]["density_fleet"]
    assert set(results) == {"cluster-a", "cluster-b", "dead"}
    assert results["cluster-a"]["status"] == "ok", results
    assert results["cluster-b"]["status"] == "ok", results
    assert results["dead"]["status"] == "failed"
    assert results["dead"]["task"].startswith("preflight |")
    assert "Connection refused" in results["dead"]["reason"] or "connect" in results["dead"]["reason"].lower()
    reports = stats["artifact_data"]["density_report"]
    assert set(reports) == {"cluster-a", "cluster-b"}
    for name in ("cluster-a", "cluster-b"):
        assert reports[name]["overcommit"] == 150 and reports[name]["problems"] == [], reports[name]

    # The summary names every cluster with its result.
    summary = [e for e in runner.events if e.get("event") == "runner_on_ok"
               and e["event_data"].get("task") == "Fleet | Summary of every cluster"]
    assert len(summary) == 1
    lines = summary[0]["event_data"]["res"]["msg"]
    assert [line.split(":")[0] for line in lines] == ["cluster-a", "cluster-b", "dead"]
    assert lines[0].startswith("cluster-a: ok") and lines[1].startswith("cluster-b: ok")
    assert lines[2].startswith("dead: failed - preflight |")

    # Both live clusters converged, each through its own credentials.
    assert hco_overcommit(cluster) == 150
    assert hco_overcommit(second_cluster) == 150

    # No token in any event or artifact (ansible-runner's own `command` record aside: the tokens
    # are inventory variables here, not environment, so not even there).
    for token in (fleet["token"], DEAD_TOKEN):
        for event in runner.events:
            assert token not in repr(event), event.get("event")
        assert files_containing(runner.config.artifact_dir, token) == []
        assert files_containing(pdd / "project", token) == []
    # The per-cluster kubeconfig files written from the tokens are gone.
    leftovers = [e for e in runner.events if e.get("event") == "runner_on_ok"
                 and e["event_data"].get("task") == "Fleet | Make a private directory for this cluster's kubeconfig"]
    for event in leftovers:
        assert not os.path.exists(event["event_data"]["res"]["path"])


def test_a_cluster_whose_run_lock_is_held_fails_alone(cluster, second_cluster, fleet, tmp_path):
    """state=absent on the fleet while another run holds cluster-b's lock: cluster-b fails naming
    the holder and gets no write; cluster-a is undone under its own lock, taken and released."""
    b_before = hco_overcommit(second_cluster)
    hold_run_lock(second_cluster, "alice@bastion/0badc0de")
    marker_a, marker_b = cluster.audit_marker(), second_cluster.audit_marker()
    try:
        pdd = private_data_dir(tmp_path, {"state": "absent"}, inventory=fleet["inventory"])
        os.rename(pdd / "inventory" / "hosts", pdd / "inventory" / "hosts.yml")
        runner = run_job(pdd, "playbooks/fleet.yml")
        # cluster-b is reached with its kubeconfig (user ocpv-admin); the test's own delete follows
        b_writes = second_cluster.write_events(marker_b)
    finally:
        kubernetes.client.CoordinationV1Api(second_cluster.api_client()).delete_namespaced_lease(LOCK_LEASE,
                                                                                                 LOCK_NAMESPACE)

    stats = stats_event(runner)
    assert set(stats["failures"]) == {"dead", "cluster-b"}, failure_text(runner)
    results = stats["artifact_data"]["density_fleet"]
    assert results["cluster-a"]["status"] == "ok", results
    assert results["cluster-b"]["task"] == "site_procedure | Take the run lock (a second run at the same time stops here)"
    assert "held by alice@bastion/0badc0de" in results["cluster-b"]["reason"], results["cluster-b"]
    assert b_writes == [], [(e["verb"], e["objectRef"]) for e in b_writes]
    assert hco_overcommit(second_cluster) == b_before

    a_lock = [e["verb"] for e in cluster.write_events(marker_a, user=None) if is_lock_write(e)]
    assert a_lock == ["create", "delete"], a_lock
    assert hco_overcommit(cluster) in (None, 100)


def test_kubeconfig_and_context_of_the_run_reach_a_host_without_its_own(cluster, tmp_path):
    """-e kubeconfig=FILE -e context=NAME, as README and the no-cluster message say, for a fleet
    host that sets no k8s_auth_* of its own: the named context's cluster is used (check mode,
    nothing written). Seen to fail before fleet_kubeconfig fell back to `kubeconfig`: "No cluster
    to work on" although the file was given."""
    admin = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    dead = {"server": "https://127.0.0.1:%d" % closed_port(), "insecure-skip-tls-verify": True}
    admin["clusters"].append({"name": "dead", "cluster": dead})
    admin["contexts"].append({"name": "dead", "context": {"cluster": "dead", "user": admin["users"][0]["name"]}})
    live, admin["current-context"] = admin["current-context"], "dead"
    kubeconfig = tmp_path / "two-clusters"
    kubeconfig.write_text(yaml.safe_dump(admin))
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"clusters": {"hosts": {"only": {}}}}))
    env = cluster.playbook_env(KUBECONFIG="", K8S_AUTH_KUBECONFIG="", HOME=str(tmp_path))

    def fleet(*extra):
        cmd = [ANSIBLE_PLAYBOOK, "-i", str(inventory), "playbooks/fleet.yml", "--check",
               "-e", "overcommit=150", "-e", "kubeconfig=%s" % kubeconfig]
        for var in extra:
            cmd += ["-e", var]
        return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)

    marker = cluster.audit_marker()
    right = fleet("context=%s" % live)
    output = right.stdout + right.stderr
    assert right.returncode == 0, TASK_ERROR.findall(output) or output[-3000:]
    assert "No cluster to work on" not in output
    assert cluster.write_events(marker) == []

    wrong = fleet()
    output = wrong.stdout + wrong.stderr
    assert wrong.returncode != 0
    assert "No cluster to work on" not in output and dead["server"][8:] in output, output[-3000:]
