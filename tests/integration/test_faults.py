"""Faults injected mid-run against the local cluster: the run stops with a message that says
what to look at, the pool is not left paused, nothing is half-merged, and a rerun converges.

(The pool turning Degraded during the rollout is in test_site.py.)
"""

import json
import threading
import time

from clusterlib import wait_for
import test_site
from test_site import (MCFG, PREVIOUS_ANNOTATION, create_user_kubeletconfig, custom_api, get_pool, kubeletconfigs,
                       settled, site)

site_cluster = test_site.site_cluster  # the fixture: the session cluster in its seeded state


def _patch_kubeletconfig_when_the_pool_pauses(cluster, name, patch, done, stop):
    """Another writer: as soon as the run pauses the pool (after it read the KubeletConfig, before
    it writes it), change the KubeletConfig. Polls (a watch stream was cut by the API server's
    connection handling under load); the run's next write is a new module process, seconds later."""
    while not stop.is_set():
        if get_pool(cluster)["spec"].get("paused"):
            custom_api(cluster).patch_cluster_custom_object(MCFG, "v1", "kubeletconfigs", name, patch)
            done.set()
            return
        time.sleep(0.05)


def test_kubeletconfig_changed_between_read_and_write(site_cluster, tmp_path):
    """Another writer changes the user's KubeletConfig after the run read it: the merge is refused
    by the API server (resourceVersion precondition) instead of writing keys computed from the old
    content; the run names the conflict, unpauses the pool, and the KubeletConfig holds only the
    other writer's change. A rerun merges into the new content."""
    cluster = site_cluster
    create_user_kubeletconfig(cluster, {"maxPods": 300, "failSwapOn": True})

    changed, stop = threading.Event(), threading.Event()
    writer = threading.Thread(target=_patch_kubeletconfig_when_the_pool_pauses, daemon=True,
                              args=(cluster, "user-tuning", {"spec": {"kubeletConfig": {"maxPods": 250}}}, changed, stop))
    writer.start()
    try:
        run = site(cluster, "overcommit=150", "verify_report_dir=%s" % (tmp_path / "r"))
    finally:
        stop.set()
        writer.join(timeout=30)
    assert changed.is_set(), "the other writer never saw the pool paused: %r" % run

    assert run.rc != 0, run
    assert "conflict" in run.output and "KubeletConfig" in run.output and "user-tuning" in run.output, run
    assert "(the pool is unpaused now)" in run.output, run
    assert not get_pool(cluster)["spec"].get("paused"), "the pool must not stay paused"
    kc = kubeletconfigs(cluster)[0]
    assert kc["spec"]["kubeletConfig"] == {"maxPods": 250, "failSwapOn": True}, "nothing of ours merged"
    assert PREVIOUS_ANNOTATION not in (kc["metadata"].get("annotations") or {})

    wait_for(lambda: settled(cluster), timeout=180, what="the pool to settle")
    rerun = site(cluster, "overcommit=150", "verify_report_dir=%s" % (tmp_path / "r"))
    assert rerun.rc == 0, rerun
    kc = kubeletconfigs(cluster)[0]
    assert kc["spec"]["kubeletConfig"]["maxPods"] == 250
    assert kc["spec"]["kubeletConfig"]["failSwapOn"] is False
    assert json.loads(kc["metadata"]["annotations"][PREVIOUS_ANNOTATION])["failSwapOn"] is True
    assert json.loads((tmp_path / "r" / "density-report.json").read_text())["ok"]


NEVER_READY_IMAGE = "never-ready.fault.localcluster.invalid/wasp-agent:fault"  # localcluster/kwok/stages.yaml


def test_wasp_agent_rollout_never_ready(site_cluster, tmp_path):
    """The wasp-agent pods never start (the harness's kwok holds pods of a fault image Pending):
    the run stops at the rollout wait naming the DaemonSet, the ready count and what to look at,
    before the pool is touched; a rerun with a working image converges."""
    cluster = site_cluster
    rendered = get_pool(cluster)["spec"]["configuration"]["name"]
    run = site(cluster, "overcommit=150", "wasp_agent_image=%s" % NEVER_READY_IMAGE,
               "wasp_agent_wait_timeout=10", "wasp_agent_wait_poll_interval=1")
    assert run.rc != 0, run
    assert "wasp-agent DaemonSet wasp/wasp-agent is not ready after 10 s: 0 of 4 pods ready" in run.output, run
    assert "get pods -l name=wasp" in run.output, run
    swap_or_hco = ("machineconfigpools", "machineconfigs", "kubeletconfigs", "hyperconvergeds")
    assert not [e for e in run.writes if e["objectRef"].get("resource") in swap_or_hco], run
    pool = get_pool(cluster)
    assert not pool["spec"].get("paused") and pool["spec"]["configuration"]["name"] == rendered

    rerun = site(cluster, "overcommit=150", "verify_report_dir=%s" % (tmp_path / "r"))
    assert rerun.rc == 0, rerun
    assert settled(cluster)
    assert json.loads((tmp_path / "r" / "density-report.json").read_text())["ok"]
