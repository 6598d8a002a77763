"""Soak: 20 consecutive site.yml runs against one cluster, alternating state=present (with a
different overcommit each time) and state=absent. After every run the cluster is in that run's
expected state; at the end nothing of ours is left and every object the harness seeded is back as
it was (no leaked objects, no leftover lock).

Part of `make integration` (CI); `make soak` runs it alone (~15 minutes, a site run ~45 s). The
conftest schedules it among the first files so it does not become the suite's tail.
"""

import json

import kubernetes
import test_site
from localcluster.kubeapi import Kube, path
from test_site import (MCFG, WORKERS, apps_api, counters, custom_api, hco_overcommit, kubeletconfigs, machineconfig,
                       settled, site)

site_cluster = test_site.site_cluster  # the fixture: the session cluster in its seeded state
FAST = ["swap_wait_poll_interval=1", "wasp_agent_wait_poll_interval=1", "hco_wait_poll_interval=1"]
OVERCOMMITS = [150, 200, 120, 175, 110, 190, 130, 160, 140, 180]  # one per present run (<= 200: the emulated disks)

# What the soak compares before and after: every object of these kinds, by name (the MCO's
# rendered-* configs excepted: the MCO makes one per rollout and keeps them, as on a real cluster).
KINDS = [
    ("v1", "namespaces", None), ("v1", "serviceaccounts", None), ("v1", "configmaps", None),
    ("apps/v1", "daemonsets", None),
    ("rbac.authorization.k8s.io/v1", "clusterroles", None),
    ("rbac.authorization.k8s.io/v1", "clusterrolebindings", None),
    ("rbac.authorization.k8s.io/v1", "rolebindings", None),
    ("coordination.k8s.io/v1", "leases", "openshift-cnv"),
    (MCFG + "/v1", "machineconfigs", None), (MCFG + "/v1", "kubeletconfigs", None),
    ("monitoring.openshift.io/v1", "alertingrules", None),
    ("monitoring.coreos.com/v1", "prometheusrules", None),
]


def listed(cluster, **query):
    """{kind: the objects of that kind} for every kind the soak compares (query: e.g. labelSelector)."""
    kube = Kube(cluster.kubeconfig)
    return {plural: kube.list(path(group_version, plural, namespace=namespace), **query)
            for group_version, plural, namespace in KINDS}


def inventory(cluster):
    """{kind: sorted names (namespace/name)} of everything the soak compares."""
    result = {}
    for plural, items in listed(cluster).items():
        names = ["%s/%s" % (i["metadata"].get("namespace", ""), i["metadata"]["name"]) for i in items]
        result[plural] = sorted(n for n in names if not n.split("/")[1].startswith("rendered-"))
    return result


def ours(cluster):
    """Objects labelled as ours, by kind (empty after state=absent)."""
    return {plural: [i["metadata"]["name"] for i in items]
            for plural, items in listed(cluster, labelSelector="app.kubernetes.io/managed-by=ocpv.density").items()
            if items}


def test_twenty_runs_present_absent_end_where_they_started(site_cluster, tmp_path):
    cluster = site_cluster
    before = inventory(cluster)
    hco_before = hco_overcommit(cluster)
    rollouts = counters(cluster)["rollouts"].get("worker", 0)

    for i in range(20):
        overcommit = OVERCOMMITS[i // 2]
        if i % 2 == 0:
            report_dir = tmp_path / ("run%02d" % i)
            run = site(cluster, "overcommit=%d" % overcommit, "verify_report_dir=%s" % report_dir, *FAST)
            assert run.rc == 0, (i, run)
            report = json.loads((report_dir / "density-report.json").read_text())
            assert report["ok"], (i, report["problems"])
            assert hco_overcommit(cluster) == overcommit == report["hco"]["kubevirt_memoryOvercommit"], i
            for row in report["nodes"]:
                expected = row["memory_mib"] * (overcommit - 100) / 100
                assert row["swap_mib"] == row["swap_planned_mib"] and abs(row["swap_mib"] - expected) <= 1, (i, row)
            assert len(kubeletconfigs(cluster)) == 1 and machineconfig(cluster, "90-worker-swap"), i
            ds = apps_api(cluster).read_namespaced_daemon_set("wasp-agent", "wasp")
            assert ds.status.number_ready == len(WORKERS), i
        else:
            run = site(cluster, "state=absent", *FAST)
            assert run.rc == 0, (i, run)
            assert ours(cluster) == {}, (i, ours(cluster))
            assert hco_overcommit(cluster) in (None, 100), i
        assert run.lock_writes and run.lock_writes[-1]["verb"] == "delete", (i, run.lock_writes)
        assert settled(cluster), i

    assert inventory(cluster) == before, "objects leaked or lost"
    assert hco_overcommit(cluster) == hco_before or hco_overcommit(cluster) in (None, 100)
    assert counters(cluster)["rollouts"].get("worker", 0) == rollouts + 20, "one rollout per run"
    pool = custom_api(cluster).get_cluster_custom_object(MCFG, "v1", "machineconfigpools", "worker")
    assert not pool["spec"].get("paused")
    try:
        kubernetes.client.CoreV1Api(cluster.api_client()).read_namespace("wasp")
        raise AssertionError("namespace wasp left behind")
    except kubernetes.client.exceptions.ApiException as exc:
        assert exc.status == 404
