"""Integration tests of the site playbook (roles preflight, namespace, wasp_agent, swap, alerts,
hco, verify) against the local emulated OpenShift 4.16 cluster (localcluster/).

Each test runs the real ``ansible-playbook playbooks/site.yml`` (the collection from this
checkout, kubernetes.core from the venv) as a user would, and checks the cluster through the API,
the apiserver audit log (write requests by ``ocpv-admin``) and the emulator's reboot counters.
Every test starts from ``cluster.reset()`` (seeded state).
"""

import datetime
import json
import re
import subprocess
from pathlib import Path

import pytest
from clusterlib import ANSIBLE_PLAYBOOK, closed_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
MCFG = "machineconfiguration.openshift.io"
DEGRADE_ANNOTATION = "localcluster.ocpv.io/degrade"
PREVIOUS_ANNOTATION = "density.ocpv.io/previous-kubelet-config"
WORKERS = ["worker-0", "worker-1", "worker-2", "worker-3"]
PLAYBOOK_TIMEOUT = 1500
SWAP_KEYS = {"failSwapOn": False, "evictionSoft": {"memory.available": "1Gi"},
             "evictionSoftGracePeriod": {"memory.available": "10s"}}
RECAP = re.compile(r"^localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
TASK_ERROR = re.compile(r"^\[ERROR\]: Task failed: (?:Action failed: )?(.*)$", re.M)  # group 1: the message


# ---------------------------------------------------------------------------------------------
# helpers

LOCK_LEASE = "ocpv-density-run"  # site.yml's run lock (plugins/modules/run_lock.py)
LOCK_NAMESPACE = "openshift-cnv"  # the HyperConverged's namespace holds it


def is_lock_write(event):
    return event["objectRef"].get("resource") == "leases" and event["objectRef"].get("name") == LOCK_LEASE


def hold_run_lock(cluster, holder):
    """The run lock as a run elsewhere holds it: taken now, for an hour. Returns the time taken."""
    import kubernetes
    now = datetime.datetime.now(datetime.timezone.utc)
    kubernetes.client.CoordinationV1Api(cluster.api_client()).create_namespaced_lease(LOCK_NAMESPACE, {
        "metadata": {"name": LOCK_LEASE},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": 3600, "acquireTime": now, "renewTime": now}})
    return now


class Run:
    """One site.yml run: rc, output, recap counts, and its write requests (audit log) - `writes` the
    cluster configuration, `lock_writes` the run lock's Lease (taken and released by every run that
    is not in check mode, even when nothing else changes)."""

    def __init__(self, proc, writes):
        self.rc = proc.returncode
        self.output = proc.stdout + proc.stderr
        self.writes = [e for e in writes if not is_lock_write(e)]
        self.lock_writes = [e for e in writes if is_lock_write(e)]
        self.all_writes = writes  # check mode: not even the lock
        match = RECAP.search(proc.stdout)
        self.changed = int(match.group(2)) if match else None
        self.failed = int(match.group(4)) if match else None

    def __repr__(self):
        # The failed task first (pytest shortens long messages), then the end of the output.
        fatal = self.output.find("fatal:")
        around = self.output[max(0, fatal - 1500):fatal + 2500] if fatal >= 0 else ""
        return "rc=%s changed=%s writes=%s\n%s\n...\n%s" % (
            self.rc, self.changed, describe_writes(self.writes), around, self.output[-3000:])


def site_command(cluster, *extra_vars, check=False, diff=False, env=None, options=()):
    """(argv, environment) of ansible-playbook playbooks/site.yml -e ... against the cluster;
    `options`: more ansible-playbook arguments (--tags swap)."""
    cmd = [ANSIBLE_PLAYBOOK, "playbooks/site.yml"]
    if not any(var.startswith("swap_wait_poll_interval=") for var in extra_vars):
        # mcp_wait polls in-process, so a short interval costs no CPU; the default 10 s would
        # leave every rollout wait idle for seconds after the emulated pool is done
        extra_vars = ("swap_wait_poll_interval=2",) + extra_vars
    for var in extra_vars:
        cmd += ["-e", var]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    cmd += list(options)
    return cmd, cluster.playbook_env(**(env or {}))


def site(cluster, *extra_vars, check=False, diff=False, env=None, options=()):
    """ansible-playbook playbooks/site.yml -e ... against the cluster; returns a Run with the write
    requests (audit log, user ocpv-admin) it made. `env` overrides the environment (another
    user's KUBECONFIG, for example)."""
    cmd, run_env = site_command(cluster, *extra_vars, check=check, diff=diff, env=env, options=options)
    marker = cluster.audit_marker()
    proc = subprocess.run(cmd, cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=PLAYBOOK_TIMEOUT,
                          check=False)
    return Run(proc, cluster.write_events(marker))


def describe_writes(events):
    return ["%s %s/%s %s" % (e["verb"], e["objectRef"].get("resource"), e["objectRef"].get("subresource") or "",
                             e["objectRef"].get("name")) for e in events]


def custom_api(cluster):
    import kubernetes
    return kubernetes.client.CustomObjectsApi(cluster.api_client())


def core_api(cluster):
    import kubernetes
    return kubernetes.client.CoreV1Api(cluster.api_client())


def apps_api(cluster):
    import kubernetes
    return kubernetes.client.AppsV1Api(cluster.api_client())


def get_pool(cluster, name="worker"):
    return custom_api(cluster).get_cluster_custom_object(MCFG, "v1", "machineconfigpools", name)


def patch_pool(cluster, name, patch):
    return custom_api(cluster).patch_cluster_custom_object(MCFG, "v1", "machineconfigpools", name, patch)


def kubeletconfigs(cluster):
    return custom_api(cluster).list_cluster_custom_object(MCFG, "v1", "kubeletconfigs")["items"]


def machineconfig(cluster, name):
    import kubernetes
    try:
        return custom_api(cluster).get_cluster_custom_object(MCFG, "v1", "machineconfigs", name)
    except kubernetes.client.exceptions.ApiException as exc:
        if exc.status == 404:
            return None
        raise


def hco_overcommit(cluster):
    hc = custom_api(cluster).get_namespaced_custom_object("hco.kubevirt.io", "v1beta1", "openshift-cnv",
                                                          "hyperconvergeds", "kubevirt-hyperconverged")
    return (hc["spec"].get("higherWorkloadDensity") or {}).get("memoryOvercommitPercentage")


def counters(cluster):
    return json.loads((Path(cluster.run_dir) / "emulator" / "counters.json").read_text())


def settled(cluster, name="worker"):
    pool = get_pool(cluster, name)
    status = pool.get("status") or {}
    conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
    return (conditions.get("Updated") == "True" and not pool["spec"].get("paused")
            and (status.get("configuration") or {}).get("name") == pool["spec"]["configuration"]["name"])


def create_user_kubeletconfig(cluster, kubelet_config, name="user-tuning"):
    """A user's own KubeletConfig for the worker pool, rolled out (as before a first run)."""
    kc = {"apiVersion": f"{MCFG}/v1", "kind": "KubeletConfig", "metadata": {"name": name},
          "spec": {"machineConfigPoolSelector": {"matchLabels": {f"pools.operator.{MCFG}/worker": ""}},
                   "kubeletConfig": kubelet_config}}
    rendered = get_pool(cluster)["spec"]["configuration"]["name"]
    custom_api(cluster).create_cluster_custom_object(MCFG, "v1", "kubeletconfigs", kc)
    wait_for(lambda: get_pool(cluster)["spec"]["configuration"]["name"] != rendered and settled(cluster),
             timeout=180, what="the user KubeletConfig to render and roll out")
    return kc


@pytest.fixture
def site_cluster(cluster):
    """The session cluster in its seeded state (before and after the test)."""
    cluster.reset()
    wait_for(lambda: settled(cluster), timeout=120, what="the worker pool to settle after reset")
    yield cluster
    try:
        patch_pool(cluster, "worker", {"metadata": {"annotations": {DEGRADE_ANNOTATION: None}}, "spec": {"paused": False}})
    finally:
        cluster.reset()


# ---------------------------------------------------------------------------------------------
# tests

def test_check_converge_idempotent(site_cluster, tmp_path):
    """--check --diff on a fresh cluster writes nothing; one run converges with one reboot per
    worker and verifies; the report lists every node with its swap; a rerun changes nothing and
    writes nothing; --check on the converged cluster reports no change."""
    cluster = site_cluster
    report_dir = tmp_path / "reports"

    check = site(cluster, "overcommit=150", "verify_report_dir=%s" % report_dir, check=True, diff=True)
    assert check.rc == 0, check
    assert check.writes == [] and check.lock_writes == [], describe_writes(check.writes + check.lock_writes)
    assert check.changed and check.changed > 0, check
    for shown in ("kind: MachineConfig", "90-worker-swap", "kind: KubeletConfig", "failSwapOn: false",
                  "kind: DaemonSet", "memoryOvercommitPercentage: 150", "kind: AlertingRule"):
        assert shown in check.output, "check --diff does not show %r\n%s" % (shown, check)
    # the MachineConfig's files are shown decoded, the script as the text a reviewer reads
    assert re.search(r"MachineConfig 90-worker-swap file /\S+ \(decoded\)", check.output), check
    assert "#!/" in check.output, check
    # check mode writes its plan as the report is written (local files), and no report
    assert sorted(p.name for p in report_dir.iterdir()) == ["density-plan.json", "density-plan.md"]
    plan = json.loads((report_dir / "density-plan.json").read_text())
    actions = {(o["kind"], o["name"]): o["action"] for o in plan["objects"]}
    assert actions[("MachineConfig", "90-worker-swap")] == "create" and plan["rollouts"] == ["worker"], plan
    assert "Rollouts: pool worker" in (report_dir / "density-plan.md").read_text()
    for path in report_dir.iterdir():
        path.unlink()
    assert counters(cluster)["reboots"] == {}

    run = site(cluster, "overcommit=150", "verify_report_dir=%s" % report_dir)
    assert run.rc == 0, run
    assert run.changed > 0
    assert counters(cluster)["reboots"] == {w: 1 for w in WORKERS}, "each worker reboots exactly once"
    assert counters(cluster)["rollouts"].get("worker") == 1
    assert settled(cluster)

    report = json.loads((report_dir / "density-report.json").read_text())
    assert report["ok"] and report["problems"] == []
    assert [n["name"] for n in report["nodes"]] == WORKERS
    for row in report["nodes"]:
        assert row["swap_mib"] == row["swap_planned_mib"] == row["memory_mib"] // 2, row
        assert row["schedulable_vm_memory_mib"] == row["allocatable_memory_mib"] * 150 // 100
    assert report["totals"]["swap_mib"] == sum(n["swap_mib"] for n in report["nodes"])
    assert report["hco"]["memoryOvercommitPercentage"] == 150 == report["hco"]["kubevirt_memoryOvercommit"]
    assert report["wasp_agent"]["ready"] == len(WORKERS)
    markdown = (report_dir / "density-report.md").read_text()
    for worker in WORKERS:
        assert "| %s |" % worker in markdown
    assert "set_stats density_report" in run.output  # the report also goes to AAP as a stat
    assert len(kubeletconfigs(cluster)) == 1
    ds = apps_api(cluster).read_namespaced_daemon_set("wasp-agent", "wasp")
    assert ds.status.number_ready == ds.status.desired_number_scheduled == len(WORKERS)

    again = site(cluster, "overcommit=150", "verify_report_dir=%s" % report_dir)
    assert again.rc == 0, again
    assert again.changed == 0, again
    assert again.writes == [], describe_writes(again.writes)
    # all a no-op run writes is its run lock: taken, then released (one conditional delete)
    assert [e["verb"] for e in again.lock_writes] == ["create", "delete"], describe_writes(again.lock_writes)
    assert counters(cluster)["reboots"] == {w: 1 for w in WORKERS}

    check_again = site(cluster, "overcommit=150", "verify_report_dir=%s" % (tmp_path / "plan"), check=True, diff=True)
    assert check_again.rc == 0, check_again
    assert check_again.changed == 0, check_again
    assert check_again.writes == [] and check_again.lock_writes == []
    plan = json.loads((tmp_path / "plan" / "density-plan.json").read_text())
    assert plan["rollouts"] == [] and set(plan["counts"]) == {"keep"}, plan


def test_user_kubeletconfig_is_merged_then_restored(site_cluster, tmp_path):
    """The user's KubeletConfig keeps its keys and gets the swap keys merged in (no second
    KubeletConfig); state=absent restores exactly what it had."""
    cluster = site_cluster
    user_kc = create_user_kubeletconfig(cluster, {"maxPods": 300, "failSwapOn": True,
                                                  "evictionSoft": {"nodefs.available": "15%"},
                                                  "evictionSoftGracePeriod": {"nodefs.available": "1m"}})
    reboots_before = counters(cluster)["reboots"]

    run = site(cluster, "overcommit=200", "verify_report_dir=%s" % (tmp_path / "r"))
    assert run.rc == 0, run
    kcs = kubeletconfigs(cluster)
    assert [kc["metadata"]["name"] for kc in kcs] == ["user-tuning"], "no second KubeletConfig"
    spec = kcs[0]["spec"]["kubeletConfig"]
    assert spec["maxPods"] == 300
    assert spec["failSwapOn"] is False
    assert spec["evictionSoft"] == {"nodefs.available": "15%", "memory.available": "1Gi"}
    assert spec["evictionSoftGracePeriod"] == {"nodefs.available": "1m", "memory.available": "10s"}
    recorded = json.loads(kcs[0]["metadata"]["annotations"][PREVIOUS_ANNOTATION])
    assert recorded == {"failSwapOn": True, "evictionSoft": {"memory.available": None},
                        "evictionSoftGracePeriod": {"memory.available": None}}
    after = counters(cluster)["reboots"]
    assert {w: after.get(w, 0) - reboots_before.get(w, 0) for w in WORKERS} == {w: 1 for w in WORKERS}

    again = site(cluster, "overcommit=200", "verify_report_dir=%s" % (tmp_path / "r"))
    assert again.rc == 0 and again.changed == 0 and again.writes == [], again
    assert json.loads(kubeletconfigs(cluster)[0]["metadata"]["annotations"][PREVIOUS_ANNOTATION]) == recorded

    absent = site(cluster, "state=absent")
    assert absent.rc == 0, absent
    kcs = kubeletconfigs(cluster)
    assert [kc["metadata"]["name"] for kc in kcs] == ["user-tuning"]
    assert kcs[0]["spec"]["kubeletConfig"] == user_kc["spec"]["kubeletConfig"]
    assert PREVIOUS_ANNOTATION not in (kcs[0]["metadata"].get("annotations") or {})
    assert machineconfig(cluster, "90-worker-swap") is None
    assert hco_overcommit(cluster) == 100
    assert "wasp" not in [ns.metadata.name for ns in core_api(cluster).list_namespace().items]
    assert settled(cluster)

    absent_again = site(cluster, "state=absent")
    assert absent_again.rc == 0 and absent_again.changed == 0 and absent_again.writes == [], absent_again


def assert_no_secrets(cluster, output):
    """No credential of the run's identity in its output: the client key (base64 body lines) nor any
    bearer token."""
    key = (Path(cluster.run_dir) / "pki" / "admin.key").read_text()
    body = [line for line in key.splitlines() if line and not line.startswith("-----")]
    assert "PRIVATE KEY" not in output and not [line for line in body if line in output], "client key in the output"
    assert "Bearer " not in output and "authorization:" not in output.lower(), "a token in the output"


def test_failure_during_rollout_leaves_the_pool_unpaused(site_cluster, tmp_path):
    """A pool that degrades during the rollout fails the run with a clear message and is not left
    paused; once the fault is gone, a rerun converges."""
    cluster = site_cluster
    patch_pool(cluster, "worker", {"metadata": {"annotations": {DEGRADE_ANNOTATION: "true"}}})

    run = site(cluster, "overcommit=150", "verify_report_dir=%s" % (tmp_path / "r"))
    assert run.rc != 0, run
    assert re.search(r"[Dd]egraded", run.output), run
    assert "worker" in run.output
    assert_no_secrets(cluster, run.output)
    pool = get_pool(cluster)
    assert not pool["spec"].get("paused"), "the pool must not stay paused after a failure"
    pauses = [e for e in run.writes if e["objectRef"].get("resource") == "machineconfigpools"]
    assert len(pauses) == 2, describe_writes(pauses)  # paused once, unpaused once

    patch_pool(cluster, "worker", {"metadata": {"annotations": {DEGRADE_ANNOTATION: None}}})
    wait_for(lambda: not any(c["type"] == "Degraded" and c["status"] == "True"
                             for c in (get_pool(cluster).get("status") or {}).get("conditions") or []),
             timeout=60, what="the fault to clear")
    rerun = site(cluster, "overcommit=150", "verify_report_dir=%s" % (tmp_path / "r"))
    assert rerun.rc == 0, rerun
    assert settled(cluster)
    assert json.loads((tmp_path / "r" / "density-report.json").read_text())["ok"]


def case(case_id, extra_vars, variable, accepted=None, overcommit=True):
    """One bad-input case: extra vars (key=value, or a JSON object for typed values), the variable
    the message must name and, when given, what it must say is accepted."""
    extra = (["overcommit=150"] if overcommit else []) + list(extra_vars)
    return pytest.param(extra, variable, accepted, id=case_id)


# Every public variable of site.yml and of every role's argument spec: wrong type, out of range,
# empty, unknown (typo) and injection-looking values. Each is one ansible-playbook run that must
# stop in preflight's input checks; the pure checks behind them have their full matrix in
# tests/unit/test_inputs.py.
BAD_INPUT = [
    # site inputs (overcommit, state, swap_pool, wasp_agent_image, density_profile, namespace_rbac_mode)
    case("missing", [], "overcommit", "101 to 1000", overcommit=False),
    case("not-a-number", ["overcommit=abc"], "overcommit", overcommit=False),
    case("fraction", ["overcommit=150.5"], "overcommit", overcommit=False),
    case("boolean", ['{"overcommit": true}'], "overcommit", "101 to 1000", overcommit=False),
    case("100", ["overcommit=100"], "overcommit", "101 to 1000", overcommit=False),
    case("absurd", ["overcommit=100000"], "overcommit", "101 to 1000", overcommit=False),
    case("state", ["state=enabled"], "state"),
    case("unknown-pool", ["swap_pool=nosuchpool"], "swap_pool", "nosuchpool"),
    case("bad-pool-name", ["swap_pool=Worker_Pool"], "swap_pool"),
    case("bad-image", ['{"wasp_agent_image": "not an image!"}'], "wasp_agent_image"),
    case("bad-image-case", ["wasp_agent_image=Quay.io/UPPER/wasp:v1"], "wasp_agent_image"),
    case("unknown-profile", ["density_profile=tp-4.15"], "density_profile", "tp-4.16"),
    case("rbac-mode", ["namespace_rbac_mode=admin"], "namespace_rbac_mode"),
    case("empty-report-dir", ["verify_report_dir="], "verify_report_dir", "non-empty"),
    # wrong types (the roles' argument specs, checked up front)
    case("type-int", ["hco_wait_timeout=abc"], "hco_wait_timeout", "must be a whole number, got \"abc\""),
    case("type-bool", ["wasp_agent_wait=maybe"], "wasp_agent_wait", "must be true or false"),
    case("type-dict", ['{"swap_kubelet_config": "failSwapOn: false"}'], "swap_kubelet_config", "must be a mapping"),
    # out of range
    case("timeout-0", ["wasp_agent_wait_timeout=0"], "wasp_agent_wait_timeout", "from 1"),
    case("poll-above-default-timeout", ["wasp_agent_wait_poll_interval=601"], "wasp_agent_wait_poll_interval",
         "wasp_agent_wait_timeout (600)"),
    case("poll-above-given-timeout", ["hco_wait_timeout=30", "hco_wait_poll_interval=31"], "hco_wait_poll_interval",
         "from 1 to hco_wait_timeout (30)"),
    case("poll-0", ["swap_wait_poll_interval=0"], "swap_wait_poll_interval", "from 1 to swap_wait_timeout"),
    case("swap-overcommit", ["swap_overcommit=50"], "swap_overcommit", "from 101 to 1000"),
    # empty where a value is needed
    case("empty-service-account", ["namespace_service_account="], "namespace_service_account", "DNS-1123"),
    # shapes
    case("relative-hook-path", ["wasp_agent_hook_script_path=usr/local/bin/hook.sh"], "wasp_agent_hook_script_path",
         "absolute path"),
    case("ignition-version", ["swap_ignition_version=3.4"], "swap_ignition_version", "3.4.0"),
    case("machineconfig-name", ["swap_machineconfig_name=90_worker_swap"], "swap_machineconfig_name", "DNS-1123"),
    case("extra-files-shape", ['{"swap_extra_files": [{"path": "/etc/x.conf", "mode": 420}]}'], "swap_extra_files",
         "{path: an absolute path"),
    case("rule-set", ["alerts_rule_set=NodeSwap"], "alerts_rule_set", "NodeSwapping"),
    case("runbook-url", ["alerts_runbook_url=javascript:alert(1)"], "alerts_runbook_url", "http(s) URL"),
    case("profile-row", ["wasp_agent_profile=tp-4.99"], "wasp_agent_profile", "tp-4.16"),
    # injection-looking values (YAML, Jinja, shell metacharacters)
    case("inject-namespace-yaml", ['{"namespace_name": "wasp\\nkind: Secret"}'], "namespace_name", "DNS-1123 label"),
    case("inject-image-shell", ["wasp_agent_image=x; rm -rf /"], "wasp_agent_image"),
    case("inject-pool-jinja", ['{"swap_pool": "{{ lookup(\'env\', \'HOME\') }}"}'], "swap_pool"),
    case("inject-swap-file-shell", ["swap_file=/var/tmp/$(reboot)"], "swap_file", "shell metacharacters"),
    case("inject-node-selector", ['{"wasp_agent_node_selector": {"kubernetes.io/os": "linux; reboot"}}'],
         "wasp_agent_node_selector", "label keys"),
    case("node-selector-not-text", ['{"wasp_agent_node_selector": {"cnv": true}}'], "wasp_agent_node_selector",
         "not a text"),
    case("inject-pod-selector", ["verify_pod_selector=name=wasp;id"], "verify_pod_selector", "label selector"),
    # unknown variables (typos)
    case("typo-role-variable", ["hco_wait_timout=5"], "hco_wait_timout", "did you mean hco_wait_timeout"),
    case("typo-overcommit", ["overcomit=150"], "overcomit", "did you mean overcommit", overcommit=False),
    case("typo-state", ["stae=absent"], "stae", "did you mean state"),
    case("typo-namespace", ["namespace_nmae=density"], "namespace_nmae", "did you mean namespace_name"),
    # careless and hostile input (issue 21): each would have reached the cluster before
    case("typo-render-dir", ["render_dri=out"], "render_dri", "did you mean render_dir"),
    case("render-only-size", ["swap_size_mib=4096"], "swap_size_mib", "only for render_dir"),
    case("hco-above-swap", ["hco_overcommit=300"], "hco_overcommit", "hco_overcommit_decoupled"),
    case("swap-file-passwd", ["swap_file=/etc/passwd"], "swap_file", "under /var"),
]


@pytest.mark.parametrize("extra_vars,variable,accepted", BAD_INPUT)
def test_bad_input_is_refused_before_any_write(cluster, extra_vars, variable, accepted):
    run = site(cluster, *extra_vars)
    assert run.rc != 0, run
    assert variable in run.output, run
    if accepted:
        assert accepted in run.output, run
    assert run.writes == [] and run.lock_writes == [], describe_writes(run.writes + run.lock_writes)
    assert "Traceback" not in run.output, run
    # The message is the task's error, not buried under a dump of the argument spec.
    error = TASK_ERROR.search(run.output)
    assert error and variable in error.group(1) + run.output[error.end():error.end() + 400], run


def test_a_csv_image_with_a_trailing_newline_is_refused_before_any_write(site_cluster):
    """Issue 21 item 7: the wasp-agent image read from the cluster (the CSV's relatedImages) is
    judged by the image grammar in preflight, before the first write. Seen to fail before the fix:
    the wasp_agent role refused it only after the namespace role had written the Namespace and
    the RBAC objects."""
    api = custom_api(site_cluster)
    group, version, plural = "operators.coreos.com", "v1alpha1", "clusterserviceversions"
    csvs = api.list_namespaced_custom_object(group, version, LOCK_NAMESPACE, plural)["items"]
    csv = next(c for c in csvs if c["metadata"]["name"].startswith("kubevirt-hyperconverged"))
    # the 4.16 CSV names no wasp-agent image (its docs used a fixed tag): one as later CSVs name it
    images = [i for i in csv["spec"].get("relatedImages") or [] if "wasp-agent" not in i.get("name", "")]
    images.append({"name": "wasp-agent", "image": "registry.redhat.io/container-native-virtualization/"
                                                  "wasp-agent-rhel9@sha256:" + "a" * 64 + "\n"})
    api.patch_namespaced_custom_object(group, version, LOCK_NAMESPACE, plural, csv["metadata"]["name"],
                                       {"spec": {"relatedImages": images}})
    run = site(site_cluster, "overcommit=150")
    assert run.rc != 0, run
    assert "wasp_agent_image must be an image reference" in run.output and "CSV" in run.output, run
    assert run.writes == [] and run.lock_writes == [], describe_writes(run.writes + run.lock_writes)


# The run's first request (preflight's read of the Infrastructure) tells a wrong KUBECONFIG from a
# cluster that is down, in the collection's words: case -> (the message's start, what it says to check).
FIRST_REQUEST = "while reading the Infrastructure, the first request of the run (nothing was changed)."
FIRST_REQUEST_FAILURES = {
    "nothing-listens": ("Cannot reach the Kubernetes API server at 127.0.0.1:{port} (Connection refused) "
                        + FIRST_REQUEST, "KUBECONFIG / K8S_AUTH_HOST"),
    "ca-not-given": ("The Kubernetes API server at 127.0.0.1:{port} is not trusted (certificate verify failed: "
                     "unable to get local issuer certificate) " + FIRST_REQUEST, "certificate authority"),
    "unknown-token": ("The Kubernetes API server refused the credentials (401 Unauthorized) " + FIRST_REQUEST,
                      "Log in again"),
    "no-permissions": ("Forbidden (403) " + FIRST_REQUEST[:-1] + ": infrastructures.config.openshift.io "
                       "\"cluster\" is forbidden: User \"system:serviceaccount:ocpv-test-first-request:nobody\"",
                       "ClusterRole ocpv-density-automation"),
}


@pytest.mark.parametrize("case", sorted(FIRST_REQUEST_FAILURES))
def test_the_first_request_says_what_to_check(cluster, tmp_path, case):
    """A wrong KUBECONFIG (nothing listens, CA not given, a token the API server does not know, a
    user without permissions) stops the run at its first request with what to check, and no
    credential in the output."""
    import kubernetes
    import yaml
    expected, what_to_check = FIRST_REQUEST_FAILURES[case]
    admin = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    server = admin["clusters"][0]["cluster"]
    token, namespace = "ocpv-test-%s-token-value" % case, "ocpv-test-first-request"
    core = core_api(cluster)
    if case == "nothing-listens":
        port = closed_port()
        server = {"server": "https://127.0.0.1:%d" % port, "insecure-skip-tls-verify": True}
    else:
        port = cluster.ports["kube-apiserver"]
    if case == "ca-not-given":
        server = {"server": server["server"]}
    if case == "no-permissions":  # a ServiceAccount bound to nothing
        core.create_namespace({"metadata": {"name": namespace}})
        core.create_namespaced_service_account(namespace, {"metadata": {"name": "nobody"}})
        token = core.create_namespaced_service_account_token(
            "nobody", namespace, {"spec": {"expirationSeconds": 600}}).status.token
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "clusters": [{"name": "c", "cluster": server}],
        "users": [{"name": "u", "user": {"token": token}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}], "current-context": "x"}))
    marker = cluster.audit_marker()
    try:
        run = site(cluster, "overcommit=150", env={"KUBECONFIG": str(kubeconfig), "K8S_AUTH_KUBECONFIG": str(kubeconfig)})
    finally:
        if case == "no-permissions":
            try:
                core.delete_namespace(namespace)
            except kubernetes.client.exceptions.ApiException:
                pass
    assert run.rc != 0, run
    errors = TASK_ERROR.findall(run.output)
    assert errors and errors[-1].startswith(expected.format(port=port)) and what_to_check in errors[-1], run
    assert token not in run.output, "the token in the output"
    assert_no_secrets(cluster, run.output)
    if case == "no-permissions":
        requests = cluster.audit_events(marker, user="system:serviceaccount:%s:nobody" % namespace)
        resources = [(e["verb"], e["objectRef"].get("resource")) for e in requests if "objectRef" in e]
        assert resources == [("get", "infrastructures")], requests  # the first request, and nothing after it


def test_tags_select_whole_roles(site_cluster):
    """--tags / --skip-tags select roles; preflight and the run lock always run; a tag no step has
    is refused before any write; a selection never pauses the pool unless the swap step runs
    whole (pause, apply, unpause) and a full run afterwards converges in one rollout."""
    cluster = site_cluster
    typo = site(cluster, "overcommit=150", options=("--tags", "alert"))
    assert typo.rc != 0 and "--tags alert: no step has that tag; the tags are namespace, wasp_agent" in typo.output, typo
    assert typo.writes == [] and typo.lock_writes == [], describe_writes(typo.writes + typo.lock_writes)

    only_namespace = site(cluster, "overcommit=150", options=("--tags", "namespace"))
    assert only_namespace.rc == 0, only_namespace
    written = {e["objectRef"].get("resource") for e in only_namespace.writes}
    assert written and written <= {"namespaces", "serviceaccounts", "clusterroles", "clusterrolebindings",
                                   "roles", "rolebindings"}, describe_writes(only_namespace.writes)
    assert [e["verb"] for e in only_namespace.lock_writes] == ["create", "delete"], "the run lock always runs"
    assert counters(cluster).get("rollouts", {}).get("worker") is None and settled(cluster)

    no_hco = site(cluster, "overcommit=150", options=("--skip-tags", "hco,verify"))
    assert no_hco.rc == 0, no_hco
    assert not [e for e in no_hco.writes if e["objectRef"].get("resource") == "hyperconvergeds"], describe_writes(no_hco.writes)
    assert counters(cluster)["rollouts"].get("worker") == 1 and settled(cluster), "the swap step ran whole"

    rest = site(cluster, "overcommit=150")
    assert rest.rc == 0, rest
    assert "hyperconvergeds" in {e["objectRef"].get("resource") for e in rest.writes}, describe_writes(rest.writes)
    assert counters(cluster)["rollouts"].get("worker") == 1, "the full run after the tagged ones needs no second rollout"
    again = site(cluster, "overcommit=150")
    assert again.rc == 0 and again.writes == [], describe_writes(again.writes)


def test_no_cluster_to_work_on_is_said_before_anything_runs(cluster, tmp_path):
    """No kubeconfig anywhere and no K8S_AUTH_HOST: one sentence saying how to point the run at a
    cluster, after the input checks and before the first request (none reaches the API server)."""
    marker = cluster.audit_marker()
    run = site(cluster, "overcommit=150", env={"KUBECONFIG": "", "K8S_AUTH_KUBECONFIG": "", "HOME": str(tmp_path)})
    assert run.rc != 0, run
    errors = TASK_ERROR.findall(run.output)
    assert errors and errors[-1].startswith("No cluster to work on: no kubeconfig at %s" % (tmp_path / ".kube" / "config")), run
    assert "-e kubeconfig=PATH" in errors[-1], run
    assert "Read the cluster and judge it" not in run.output, "the first request was tried although the run had no cluster"
    assert cluster.audit_events(marker, user="ocpv-admin") == []


def test_kubeconfig_and_context_choose_the_cluster(cluster, tmp_path):
    """-e kubeconfig=FILE -e context=NAME reach every module of the run (module_defaults on
    group/ocpv.density.k8s): with a kubeconfig whose current context points at a closed port, the
    run works on the cluster the named context points at, and fails without the context."""
    import yaml
    admin = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    dead = {"server": "https://127.0.0.1:%d" % closed_port(), "insecure-skip-tls-verify": True}
    admin["clusters"].append({"name": "dead", "cluster": dead})
    admin["contexts"].append({"name": "dead", "context": {"cluster": "dead", "user": admin["users"][0]["name"]}})
    live = admin["current-context"]
    admin["current-context"] = "dead"
    kubeconfig = tmp_path / "two-clusters"
    kubeconfig.write_text(yaml.safe_dump(admin))
    env = {"KUBECONFIG": "", "K8S_AUTH_KUBECONFIG": "", "HOME": str(tmp_path)}

    wrong = site(cluster, "overcommit=150", "kubeconfig=%s" % kubeconfig, check=True, env=env)
    assert wrong.rc != 0 and "Cannot reach the Kubernetes API server at %s" % dead["server"][8:] in wrong.output, wrong

    right = site(cluster, "overcommit=150", "kubeconfig=%s" % kubeconfig, "context=%s" % live, check=True, env=env)
    assert right.rc == 0, right
    assert right.writes == [] and right.lock_writes == [], describe_writes(right.writes + right.lock_writes)


# Each role used on its own (a playbook of the user's, role variables as role vars): the role
# checks its own variables' shape and range before its first request (site.yml's preflight does
# it for every role). Types are Ansible's argument_specs check, also before any task.
ROLE_ALONE_BAD_INPUT = [  # (role, its vars, the variable the message must name, what it accepts)
    ("namespace", {"namespace_name": "Bad_NS"}, "namespace_name", "DNS-1123 label"),
    ("wasp_agent", {"wasp_agent_wait_timeout": 0}, "wasp_agent_wait_timeout", "whole number of seconds"),
    ("swap", {"state": "absent", "swap_wait_timeout": 60, "swap_wait_poll_interval": 120}, "swap_wait_poll_interval",
     "swap_wait_timeout (60)"),
    ("swap", {"swap_overcommit": 150, "swap_file": "var/swapfile; reboot"}, "swap_file", "absolute path"),
    ("alerts", {"alerts_runbook_url": "javascript:alert(1)"}, "alerts_runbook_url", "URL"),
    ("hco", {"hco_overcommit": 5000}, "hco_overcommit", "1000"),
    ("verify", {"verify_pod_selector": "name=wasp;id"}, "verify_pod_selector", "label selector"),
]


@pytest.mark.parametrize("role,role_vars,variable,accepted", ROLE_ALONE_BAD_INPUT,
                         ids=["%s-%s" % (case[0], case[2]) for case in ROLE_ALONE_BAD_INPUT])
def test_a_role_on_its_own_refuses_bad_input_before_any_request(cluster, tmp_path, role, role_vars, variable,
                                                                accepted):
    import yaml
    playbook = tmp_path / "reuse.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "connection": "local", "gather_facts": False,
                                         "roles": [{"role": "ocpv.density." + role, "vars": role_vars}]}]))
    marker = cluster.audit_marker()
    proc = subprocess.run([ANSIBLE_PLAYBOOK, str(playbook)], cwd=ROOT, env=cluster.playbook_env(), capture_output=True,
                          text=True, timeout=PLAYBOOK_TIMEOUT, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    error = TASK_ERROR.search(output)
    assert error and variable in error.group(1) and accepted in error.group(1), output
    requests = cluster.audit_events(marker)  # any verb: not even a read before the check
    assert requests == [], describe_writes(requests)
