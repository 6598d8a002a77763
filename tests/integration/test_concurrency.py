"""Two runs against one cluster at once, and the run lock that keeps them apart (site.yml takes a
Lease in the HyperConverged's namespace after preflight, releases it at the end, failed or not).

The emulated MCO's counters tell how often each node rebooted; the audit log tells what was written.
"""

import datetime
import json
import subprocess

import kubernetes
from clusterlib import wait_for
import test_site
from test_site import (LOCK_LEASE, LOCK_NAMESPACE, ROOT, PLAYBOOK_TIMEOUT, WORKERS, Run, counters, describe_writes,
                       hco_overcommit, hold_run_lock, settled, site, site_command)

site_cluster = test_site.site_cluster  # the fixture: the session cluster in its seeded state


def coordination(cluster):
    return kubernetes.client.CoordinationV1Api(cluster.api_client())


def lock_lease(cluster):
    try:
        return coordination(cluster).read_namespaced_lease(LOCK_LEASE, LOCK_NAMESPACE)
    except kubernetes.client.exceptions.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def test_two_runs_at_once_one_wins_one_stops_clearly(site_cluster, tmp_path):
    """Two runs started together with different overcommit values (two AAP jobs, a person and a
    schedule): exactly one takes the lock and converges, the other stops before its first write
    naming the holder and the way out. The cluster ends in the winner's state with one reboot per
    node, the lock is gone, and a rerun with the winner's values changes nothing."""
    cluster = site_cluster
    marker = cluster.audit_marker()
    procs = {}
    for overcommit in (150, 200):
        cmd, env = site_command(cluster, "overcommit=%d" % overcommit,
                                "verify_report_dir=%s" % (tmp_path / str(overcommit)))
        procs[overcommit] = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                             stderr=subprocess.PIPE, text=True)
    runs = {}
    for overcommit, proc in procs.items():
        out, err = proc.communicate(timeout=PLAYBOOK_TIMEOUT)
        runs[overcommit] = Run(subprocess.CompletedProcess(proc.args, proc.returncode, out, err), [])
    writes = cluster.write_events(marker)

    winners = [o for o, r in runs.items() if r.rc == 0]
    assert len(winners) == 1, runs
    winner, loser = winners[0], ({150, 200} - set(winners)).pop()
    lost = runs[loser]
    assert "Another run of ocpv.density is working on this cluster" in lost.output, lost
    assert "oc delete lease -n openshift-cnv ocpv-density-run" in lost.output, lost
    assert lost.failed == 1 and "Take the run lock" in lost.output, lost
    # the loser's only write can be its lost bid for the lock: a create answered 409
    lock_creates = [e for e in writes if e["objectRef"].get("resource") == "leases" and e["verb"] == "create"]
    assert len(lock_creates) in (1, 2), describe_writes(lock_creates)
    assert [e["responseStatus"]["code"] for e in lock_creates].count(201) == 1, lock_creates

    assert counters(cluster)["reboots"] == {w: 1 for w in WORKERS}, "one reboot per node"
    assert settled(cluster)
    assert hco_overcommit(cluster) == winner
    report = json.loads((tmp_path / str(winner) / "density-report.json").read_text())
    assert report["ok"] and report["hco"]["memoryOvercommitPercentage"] == winner
    assert lock_lease(cluster) is None, "the lock is released"

    again = site(cluster, "overcommit=%d" % winner)
    assert again.rc == 0 and again.changed == 0 and again.writes == [], again


def test_a_held_lock_stops_a_run_and_a_stale_one_is_taken_over(site_cluster):
    """A lock held by a run on another machine: this run (and its --check) stops after preflight
    with the holder's name and writes nothing. A lock whose time is up (its run was killed) is
    taken over, and released at the end."""
    cluster = site_cluster
    now = hold_run_lock(cluster, "alice@bastion/0badc0de")

    for check in (False, True):
        run = site(cluster, "state=absent", check=check)
        assert run.rc != 0, run
        assert "held by alice@bastion/0badc0de" in run.output, run
        assert run.writes == [] and run.lock_writes == [], describe_writes(run.writes + run.lock_writes)
    assert lock_lease(cluster).spec.holder_identity == "alice@bastion/0badc0de"

    stale = now - datetime.timedelta(hours=2)
    coordination(cluster).patch_namespaced_lease(LOCK_LEASE, LOCK_NAMESPACE, {"spec": {"renewTime": stale, "acquireTime": stale}})
    run = site(cluster, "state=absent")
    assert run.rc == 0, run
    assert [e["verb"] for e in run.lock_writes] == ["update", "delete"], describe_writes(run.lock_writes)
    wait_for(lambda: lock_lease(cluster) is None, timeout=10, what="the lock to be released")
