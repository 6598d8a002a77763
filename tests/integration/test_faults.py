"""Faults injected mid-run against the local cluster: the run stops with a message that says
what to look at, the pool is not left paused, nothing is half-merged, and a rerun converges.

(The pool turning Degraded during the rollout is in test_site.py.)
"""

import json
import os
import signal
import threading
import time
from pathlib import Path

import kubernetes
import pytest
from clusterlib import localcluster, wait_for
import test_site
from test_site import (MCFG, PREVIOUS_ANNOTATION, assert_no_secrets, create_user_kubeletconfig, custom_api, get_pool,
                       hco_overcommit, kubeletconfigs, machineconfig, settled, site)

site_cluster = test_site.site_cluster  # the fixture: the session cluster in its seeded state


def site_with_fault_when_the_pool_pauses(cluster, fault, *extra_vars):
    """Run site.yml while a thread polls the pool and calls fault() once, as soon as the run has
    paused it: after the run's reads, before its writes (each write is a new module process, seconds
    later). Polls: a watch stream was cut by the API server's connection handling under load.
    Returns (run, whether fault() ran)."""
    happened, stop = threading.Event(), threading.Event()

    def watch():
        while not stop.is_set():
            try:
                paused = get_pool(cluster)["spec"].get("paused")
            except Exception:  # noqa: BLE001 - the fault may be the API server itself; poll again
                paused = False
            if paused:
                fault()
                happened.set()
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        run = site(cluster, *extra_vars)
    finally:
        stop.set()
        thread.join(timeout=180)
    return run, happened.is_set()


def test_kubeletconfig_changed_between_read_and_write(site_cluster, tmp_path):
    """Another writer changes the user's KubeletConfig after the run read it: the merge is refused
    by the API server (resourceVersion precondition) instead of writing keys computed from the old
    content; the run names the conflict, unpauses the pool, and the KubeletConfig holds only the
    other writer's change. A rerun merges into the new content."""
    cluster = site_cluster
    create_user_kubeletconfig(cluster, {"maxPods": 300, "failSwapOn": True})

    def other_writer():
        custom_api(cluster).patch_cluster_custom_object(MCFG, "v1", "kubeletconfigs", "user-tuning",
                                                        {"spec": {"kubeletConfig": {"maxPods": 250}}})

    run, changed = site_with_fault_when_the_pool_pauses(cluster, other_writer, "overcommit=150",
                                                        "verify_report_dir=%s" % (tmp_path / "r"))
    assert changed, "the other writer never saw the pool paused: %r" % run

    assert run.rc != 0, run
    assert "conflict" in run.output and "KubeletConfig" in run.output and "user-tuning" in run.output, run
    assert "(the pool is unpaused now)" in run.output, run
    assert_no_secrets(cluster, run.output)
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
    assert_no_secrets(cluster, run.output)
    swap_or_hco = ("machineconfigpools", "machineconfigs", "kubeletconfigs", "hyperconvergeds")
    assert not [e for e in run.writes if e["objectRef"].get("resource") in swap_or_hco], run
    pool = get_pool(cluster)
    assert not pool["spec"].get("paused") and pool["spec"]["configuration"]["name"] == rendered

    rerun = site(cluster, "overcommit=150", "verify_report_dir=%s" % (tmp_path / "r"))
    assert rerun.rc == 0, rerun
    assert settled(cluster)
    assert json.loads((tmp_path / "r" / "density-report.json").read_text())["ok"]


def test_apiserver_killed_while_the_pool_is_paused(site_cluster, tmp_path):
    """The worst moment for the API server to die: the pool is paused and nothing is written yet.
    The run's next write cannot reach the API server: the run stops naming it, keeps retrying the
    unpause until the restarted API server answers (a pool must never stay paused), and says so;
    no KubeletConfig or MachineConfig of ours exists (nothing half-applied); a rerun converges."""
    cluster = site_cluster
    rendered = get_pool(cluster)["spec"]["configuration"]["name"]
    events = []

    def kill_and_restart_the_apiserver():
        """SIGKILL the kube-apiserver by its PID, keep it down 8 s, start it again (same command
        line; etcd keeps the state)."""
        pid = int((Path(cluster.run_dir) / "pids" / "kube-apiserver.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        events.append(("killed", pid))
        time.sleep(8)
        events.append(("restarted", localcluster.restart_component(cluster.name, "kube-apiserver")))

    run = site_with_fault_when_the_pool_pauses(cluster, kill_and_restart_the_apiserver, "overcommit=150",
                                               "verify_report_dir=%s" % (tmp_path / "r"))[0]
    assert [e[0] for e in events] == ["killed", "restarted"], (events, run)
    assert localcluster.pid_alive(events[1][1])

    assert run.rc != 0, run
    assert "Cannot reach the Kubernetes API server at 127.0.0.1:%s" % cluster.ports["kube-apiserver"] in run.output, run
    assert "Applying swap to pool worker failed" in run.output and "(the pool is unpaused now)" in run.output, run
    assert_no_secrets(cluster, run.output)
    pool = get_pool(cluster)
    assert not pool["spec"].get("paused"), "the pool must not stay paused"
    assert pool["spec"]["configuration"]["name"] == rendered, "nothing reached the pool"
    assert kubeletconfigs(cluster) == [] and machineconfig(cluster, "90-worker-swap") is None, "nothing half-applied"

    rerun = site(cluster, "overcommit=150", "verify_report_dir=%s" % (tmp_path / "r"))
    assert rerun.rc == 0, rerun
    assert settled(cluster) and machineconfig(cluster, "90-worker-swap") is not None
    assert json.loads((tmp_path / "r" / "density-report.json").read_text())["ok"]


HCO_FAULT_POLICY = "fault-hco-webhook-refuses"  # harness: stands in for HCO's validating webhook


def _hco_webhook_refuses(cluster, message):
    """The emulated HCO admission webhook turns down every change of the HyperConverged by the
    automation user. A ValidatingAdmissionPolicy stands in for HCO's webhook (no webhook server
    here); the API server answers the patch with a denial as it would for the webhook."""
    admission = kubernetes.client.AdmissionregistrationV1Api(cluster.api_client())
    admission.create_validating_admission_policy({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": HCO_FAULT_POLICY},
        "spec": {"failurePolicy": "Fail",
                 "matchConstraints": {"resourceRules": [{"apiGroups": ["hco.kubevirt.io"], "apiVersions": ["*"],
                                                         "operations": ["UPDATE"], "resources": ["hyperconvergeds"]}]},
                 "matchConditions": [{"name": "automation-user",
                                      "expression": "request.userInfo.username == 'ocpv-admin'"}],
                 "validations": [{"expression": "false", "message": message}]}})
    admission.create_validating_admission_policy_binding({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": HCO_FAULT_POLICY},
        "spec": {"policyName": HCO_FAULT_POLICY, "validationActions": ["Deny"]}})
    wait_for(lambda: not _hco_patch_allowed(cluster), timeout=60, what="the emulated HCO webhook to refuse")


def _hco_webhook_accepts(cluster):
    admission = kubernetes.client.AdmissionregistrationV1Api(cluster.api_client())
    for delete in (admission.delete_validating_admission_policy_binding, admission.delete_validating_admission_policy):
        try:
            delete(HCO_FAULT_POLICY)
        except kubernetes.client.exceptions.ApiException as exc:
            if exc.status != 404:
                raise
    wait_for(lambda: _hco_patch_allowed(cluster), timeout=60, what="the emulated HCO webhook to accept again")


def _hco_patch_allowed(cluster):
    try:
        custom_api(cluster).patch_namespaced_custom_object(
            "hco.kubevirt.io", "v1beta1", "openshift-cnv", "hyperconvergeds", "kubevirt-hyperconverged",
            {"metadata": {"labels": {"fault-probe": "x"}}}, dry_run="All")
        return True
    except kubernetes.client.exceptions.ApiException as exc:
        if exc.status in (400, 403, 422):
            return False
        raise


@pytest.fixture
def hco_refusing(site_cluster):
    yield site_cluster
    _hco_webhook_accepts(site_cluster)


def test_hco_refuses_the_overcommit_patch(hco_refusing, tmp_path):
    """HCO's admission webhook turns the patch down: the run stops at the hco step with the
    webhook's own words, what is in place and where to look; the pool was unpaused long before
    (one rollout, settled), HCO keeps its old value; once HCO accepts, a rerun converges with no
    further reboot."""
    cluster = hco_refusing
    _hco_webhook_refuses(cluster, "HCO is upgrading (emulated webhook); try again later")
    run = site(cluster, "overcommit=150", "verify_report_dir=%s" % (tmp_path / "r"))
    assert run.rc != 0, run
    assert "HyperConverged openshift-cnv/kubevirt-hyperconverged did not take memoryOvercommitPercentage 150" in run.output, run
    assert "HCO is upgrading (emulated webhook); try again later" in run.output, run
    assert "oc get hyperconverged -n openshift-cnv kubevirt-hyperconverged" in run.output, run
    assert_no_secrets(cluster, run.output)
    assert settled(cluster) and not get_pool(cluster)["spec"].get("paused")
    assert hco_overcommit(cluster) in (None, 100)
    rendered = get_pool(cluster)["spec"]["configuration"]["name"]

    _hco_webhook_accepts(cluster)
    rerun = site(cluster, "overcommit=150", "verify_report_dir=%s" % (tmp_path / "r"))
    assert rerun.rc == 0, rerun
    assert hco_overcommit(cluster) == 150
    assert get_pool(cluster)["spec"]["configuration"]["name"] == rendered, "the rerun needed no second rollout"
    assert json.loads((tmp_path / "r" / "density-report.json").read_text())["ok"]
