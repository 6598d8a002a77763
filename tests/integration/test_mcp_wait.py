"""Integration tests of ocpv.density.mcp_wait against the local emulated cluster (localcluster/).

Each test runs a real ``ansible-playbook`` (the collection from this checkout, kubernetes.core
from the venv) against the cluster; the operator emulator renders MachineConfigs and rolls the
pools out node by node, as the Machine Config Operator does. Every test starts and ends with
``cluster.reset()`` (seeded state: no test MachineConfigs, pools unpaused, no fault annotation).
"""

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml
from clusterlib import ANSIBLE_PLAYBOOK, wait_for
from localcluster import openshift as harness  # held_emulator

ROOT = Path(__file__).resolve().parents[2]

MCFG = "machineconfiguration.openshift.io"
DEGRADE_ANNOTATION = "localcluster.ocpv.io/degrade"
WORKERS = ["worker-0", "worker-1", "worker-2", "worker-3"]
PLAYBOOK_TIMEOUT = 600


# ---------------------------------------------------------------------------------------------
# helpers


def custom_api(cluster):
    import kubernetes
    return kubernetes.client.CustomObjectsApi(cluster.api_client())


def get_pool(cluster, name="worker"):
    return custom_api(cluster).get_cluster_custom_object(MCFG, "v1", "machineconfigpools", name)


def patch_pool(cluster, name, patch):
    return custom_api(cluster).patch_cluster_custom_object(MCFG, "v1", "machineconfigpools", name, patch)


def condition(pool, type_):
    for c in (pool.get("status") or {}).get("conditions") or []:
        if c["type"] == type_:
            return c["status"]
    return None


def machine_config(name, role, content="hello"):
    return {
        "apiVersion": f"{MCFG}/v1",
        "kind": "MachineConfig",
        "metadata": {"name": name, "labels": {f"{MCFG}/role": role}},
        "spec": {"config": {
            "ignition": {"version": "3.2.0"},
            "storage": {"files": [{"path": f"/etc/ocpv-density-test/{name}", "mode": 420,
                                   "contents": {"source": "data:," + content}}]},
        }},
    }


def create_mc(cluster, body):
    custom_api(cluster).create_cluster_custom_object(MCFG, "v1", "machineconfigs", body)


def counters(cluster):
    return json.loads((Path(cluster.run_dir) / "emulator" / "counters.json").read_text())


def settled(cluster, name="worker"):
    pool = get_pool(cluster, name)
    status = pool.get("status") or {}
    return (condition(pool, "Updated") == "True"
            and status.get("observedGeneration") == pool["metadata"]["generation"]
            and (status.get("configuration") or {}).get("name") == pool["spec"]["configuration"]["name"])


def wait_task(name="worker", register="rollout", **options):
    task = {"name": f"Wait for pool {name}", "ocpv.density.mcp_wait": dict(name=name, **options),
            "register": register, "ignore_errors": True}
    return task


def save_task(path, *registered):
    content = "{{ {%s} | to_json }}" % ", ".join(f"'{r}': {r}" for r in registered)
    return {"name": "Save results", "ansible.builtin.copy": {"content": content, "dest": str(path), "mode": "0600"},
            "check_mode": False}


def write_playbook(tmp_path, tasks, name="playbook.yml"):
    path = tmp_path / name
    play = {"name": "mcp_wait integration", "hosts": "localhost", "gather_facts": False, "tasks": tasks}
    path.write_text(yaml.safe_dump([play], sort_keys=False))
    return path


def playbook_command(playbook, check=False):
    return [ANSIBLE_PLAYBOOK, str(playbook)] + (["--check"] if check else [])


def run_playbook(cluster, tmp_path, tasks, check=False, **env):
    playbook = write_playbook(tmp_path, tasks)
    proc = subprocess.run(playbook_command(playbook, check), cwd=ROOT, env=cluster.playbook_env(**env),
                          capture_output=True, text=True, timeout=PLAYBOOK_TIMEOUT, check=False)
    return proc


def results(path):
    return json.loads(Path(path).read_text())


def assert_progress_displayed(stdout, rollout):
    assert rollout["progress_log"], rollout
    for line in rollout["progress_log"]:
        assert "[localhost] mcp_wait " + line in stdout, f"progress line not shown live: {line!r}\n{stdout}"


@pytest.fixture
def mcp_cluster(cluster):
    """The session cluster, reset to its seeded state before and after the test."""
    cluster.reset()
    wait_for(lambda: settled(cluster), timeout=120, what="the worker pool to settle after reset")
    yield cluster
    try:
        patch_pool(cluster, "worker", {"metadata": {"annotations": {DEGRADE_ANNOTATION: None}}, "spec": {"paused": False}})
    finally:
        cluster.reset()


# ---------------------------------------------------------------------------------------------
# tests


def test_waits_past_the_stale_updated_condition(mcp_cluster, tmp_path):
    """The classic trap: with the MachineConfig written but not yet rendered, the pool still says
    Updated=True. mcp_wait must keep waiting until the new rendered config is on every worker."""
    cluster = mcp_cluster
    before = get_pool(cluster)
    previous = before["spec"]["configuration"]["name"]
    assert condition(before, "Updated") == "True"
    reboots_before = counters(cluster)["reboots"]
    out = tmp_path / "results.json"
    playbook = write_playbook(tmp_path, [
        wait_task(previous_configuration=previous, poll_interval=1, timeout=300),
        {"name": "Read the pool after the wait", "kubernetes.core.k8s_info": {
            "api_version": f"{MCFG}/v1", "kind": "MachineConfigPool", "name": "worker"}, "register": "after"},
        save_task(out, "rollout", "after"),
    ])
    with harness.held_emulator(cluster.run_dir):
        # The render controller is stopped: the pool keeps Updated=True on the old config.
        create_mc(cluster, machine_config("50-worker-mcp-wait-test", "worker"))
        proc = subprocess.Popen(playbook_command(playbook), cwd=ROOT, env=cluster.playbook_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
        reader.start()
        first = wait_for(lambda: next((line for line in lines if line.startswith("[localhost] mcp_wait [")), None),
                         timeout=120, what="mcp_wait's first progress line")
        assert "waiting for a new rendered config" in first, first
        time.sleep(3)  # several polls of the stale pool
        stale = get_pool(cluster)
        assert stale["spec"]["configuration"]["name"] == previous
        assert condition(stale, "Updated") == "True"
        assert proc.poll() is None, "mcp_wait returned while the pool still targeted the old config:\n" + "".join(lines)
    proc.wait(timeout=PLAYBOOK_TIMEOUT)
    reader.join(timeout=30)
    stdout = "".join(lines)
    assert proc.returncode == 0, stdout
    data = results(out)
    rollout, after = data["rollout"], data["after"]["resources"][0]
    assert not rollout.get("failed"), rollout
    assert rollout["changed"] is False
    assert rollout["phase"] == "done"
    new = rollout["configuration"]
    assert new != previous and new.startswith("rendered-worker-")
    # What the plugin saw when it returned: everything on the new config.
    status = rollout["pool"]
    assert status["configuration"]["name"] == new
    assert status["machineCount"] == status["updatedMachineCount"] == status["readyMachineCount"] == len(WORKERS)
    assert status["unavailableMachineCount"] == status["degradedMachineCount"] == 0
    assert {c["type"]: c["status"] for c in status["conditions"]}["Updated"] == "True"
    # An independent read right after agrees, and every worker rebooted once into it.
    assert after["status"]["configuration"]["name"] == after["spec"]["configuration"]["name"] == new
    reboots = counters(cluster)["reboots"]
    assert all(reboots.get(n, 0) == reboots_before.get(n, 0) + 1 for n in WORKERS), reboots
    # Progress: first the wait for the render, last the finished rollout, all shown live.
    log = rollout["progress_log"]
    assert "waiting for a new rendered config" in log[0], log
    assert log[-1].endswith("worker: 4/4 updated, 0 unavailable, 0 degraded (%s)" % new), log
    assert len(log) >= 3, log
    assert_progress_displayed(stdout, rollout)


def test_degraded_pool_fails_fast_then_recovers(mcp_cluster, tmp_path):
    cluster = mcp_cluster
    previous = get_pool(cluster)["spec"]["configuration"]["name"]
    patch_pool(cluster, "worker", {"metadata": {"annotations": {DEGRADE_ANNOTATION: "true"}}})
    out = tmp_path / "degraded.json"
    proc = run_playbook(cluster, tmp_path, [
        {"name": "Create a MachineConfig", "kubernetes.core.k8s": {"definition": machine_config("50-worker-mcp-wait-degrade", "worker")}},
        wait_task(previous_configuration=previous, poll_interval=1, timeout=300),
        save_task(out, "rollout"),
    ])
    assert proc.returncode == 0, proc.stdout + proc.stderr  # ignore_errors: the failure is in the result
    rollout = results(out)["rollout"]
    assert rollout["failed"] is True
    assert rollout["phase"] == "degraded"
    assert rollout["elapsed"] < 60, rollout  # fail fast, not at the 300 s timeout
    assert rollout["msg"].startswith("MachineConfigPool worker is degraded: NodeDegraded=True"), rollout["msg"]
    assert "localcluster fault injection" in rollout["msg"]
    assert rollout["degraded_nodes"] and all(n in WORKERS for n in rollout["degraded_nodes"]), rollout
    assert "degraded nodes: " + ", ".join(rollout["degraded_nodes"]) in rollout["msg"]
    assert "fatal: [localhost]" in proc.stdout and "is degraded" in proc.stdout
    assert_progress_displayed(proc.stdout, rollout)

    # Clean up the way a user would: drop the fault and the MachineConfig, wait for the pool again.
    degraded_target = rollout["configuration"]
    patch_pool(cluster, "worker", {"metadata": {"annotations": {DEGRADE_ANNOTATION: None}}})
    out = tmp_path / "recovered.json"
    proc = run_playbook(cluster, tmp_path, [
        {"name": "Delete the MachineConfig", "kubernetes.core.k8s": {
            "state": "absent", "api_version": f"{MCFG}/v1", "kind": "MachineConfig", "name": "50-worker-mcp-wait-degrade"}},
        wait_task(previous_configuration=degraded_target, poll_interval=1, timeout=300),
        save_task(out, "rollout"),
    ])
    rollout = results(out)["rollout"]
    assert not rollout.get("failed"), rollout
    assert rollout["configuration"] == previous  # same MachineConfigs again -> the same rendered config
    assert rollout["pool"]["updatedMachineCount"] == len(WORKERS)


def test_paused_pool_fails_with_clear_message(mcp_cluster, tmp_path):
    cluster = mcp_cluster
    previous = get_pool(cluster)["spec"]["configuration"]["name"]
    patch_pool(cluster, "worker", {"spec": {"paused": True}})
    out = tmp_path / "paused.json"
    run_playbook(cluster, tmp_path, [
        {"name": "Create a MachineConfig", "kubernetes.core.k8s": {"definition": machine_config("50-worker-mcp-wait-paused", "worker")}},
        wait_task(previous_configuration=previous, poll_interval=1, timeout=120),
        save_task(out, "rollout"),
    ])
    rollout = results(out)["rollout"]
    assert rollout["failed"] is True
    assert rollout["phase"] == "paused"
    assert rollout["msg"].startswith("pool worker is paused; unpause it"), rollout["msg"]
    assert rollout["configuration"] != previous  # MCO renders for paused pools too
    assert counters(cluster)["reboots"].get("worker-0", 0) == 0


def test_render_timeout_when_no_pool_is_selected(mcp_cluster, tmp_path):
    cluster = mcp_cluster
    previous = get_pool(cluster)["spec"]["configuration"]["name"]
    out = tmp_path / "render.json"
    run_playbook(cluster, tmp_path, [
        # Role label of a pool that does not exist: nothing renders for the worker pool.
        {"name": "Create a MachineConfig for no pool", "kubernetes.core.k8s": {
            "definition": machine_config("50-nopool-mcp-wait", "no-such-pool")}},
        wait_task(previous_configuration=previous, poll_interval=1, render_timeout=5, timeout=120),
        save_task(out, "rollout"),
    ])
    rollout = results(out)["rollout"]
    assert rollout["failed"] is True
    assert rollout["phase"] == "waiting-for-render"
    assert f"still targets {previous} after 5s" in rollout["msg"], rollout["msg"]
    assert rollout["elapsed"] < 30


def test_zero_machine_pool_is_done_once_rendered(mcp_cluster, tmp_path):
    """Like the worker pool of a compact/SNO cluster: MCO still renders, nothing to roll out."""
    cluster = mcp_cluster
    name = "mcpwait-empty"
    custom_api(cluster).create_cluster_custom_object(MCFG, "v1", "machineconfigpools", {
        "apiVersion": f"{MCFG}/v1", "kind": "MachineConfigPool",
        "metadata": {"name": name},
        "spec": {
            "machineConfigSelector": {"matchExpressions": [
                {"key": f"{MCFG}/role", "operator": "In", "values": ["worker", name]}]},
            "nodeSelector": {"matchLabels": {f"node-role.kubernetes.io/{name}": ""}},
        },
    })
    wait_for(lambda: settled(cluster, name), timeout=60, what=f"pool {name} to render and settle")
    previous = get_pool(cluster, name)["spec"]["configuration"]["name"]
    out = tmp_path / "empty.json"
    proc = run_playbook(cluster, tmp_path, [
        {"name": "Create a MachineConfig", "kubernetes.core.k8s": {"definition": machine_config("50-empty-mcp-wait", name)}},
        wait_task(name=name, previous_configuration=previous, poll_interval=1, timeout=120),
        save_task(out, "rollout"),
    ])
    rollout = results(out)["rollout"]
    assert not rollout.get("failed"), rollout
    assert rollout["configuration"] != previous
    assert rollout["pool"]["machineCount"] == 0
    assert "warnings" not in rollout
    assert_progress_displayed(proc.stdout, rollout)


def test_missing_pool_is_reported_clearly(mcp_cluster, tmp_path):
    out = tmp_path / "missing.json"
    run_playbook(mcp_cluster, tmp_path, [wait_task(name="no-such-pool", timeout=60), save_task(out, "rollout")])
    rollout = results(out)["rollout"]
    assert rollout["failed"] is True
    assert rollout["msg"] == ("MachineConfigPool no-such-pool not found (is this an OpenShift cluster with the Machine "
                              "Config Operator? HCP clusters have none)")
    assert rollout["elapsed"] < 5


def test_connection_settings_like_kubernetes_core(mcp_cluster, tmp_path):
    """The kubeconfig option, then the task's environment (K8S_AUTH_*), reach the client; the
    process environment points nowhere useful."""
    cluster = mcp_cluster
    out = tmp_path / "auth.json"
    env_task = wait_task(register="from_env", timeout=60)
    env_task["environment"] = {"K8S_AUTH_KUBECONFIG": str(cluster.kubeconfig)}
    proc = run_playbook(cluster, tmp_path, [
        wait_task(register="from_option", kubeconfig=str(cluster.kubeconfig), timeout=60),
        env_task,
        wait_task(register="unreachable", timeout=60),
        save_task(out, "from_option", "from_env", "unreachable"),
    ], KUBECONFIG=str(tmp_path / "missing-kubeconfig"), K8S_AUTH_KUBECONFIG=str(tmp_path / "missing-kubeconfig"))
    data = results(out)
    assert data["from_option"]["phase"] == "done", data["from_option"]
    assert data["from_env"]["phase"] == "done", data["from_env"]
    assert data["unreachable"]["failed"] is True
    assert data["unreachable"]["msg"].startswith("could not connect to the Kubernetes API"), data["unreachable"]["msg"]
    assert "[localhost] mcp_wait [0:00] worker: 4/4 updated" in proc.stdout


def test_check_mode_reads_nothing(mcp_cluster, tmp_path):
    cluster = mcp_cluster
    marker = cluster.audit_marker()
    out = tmp_path / "check.json"
    proc = run_playbook(cluster, tmp_path, [wait_task(previous_configuration="rendered-worker-x", timeout=60), save_task(out, "rollout")],
                        check=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rollout = results(out)["rollout"]
    assert rollout["skipped"] is True and rollout["changed"] is False
    assert cluster.audit_events(marker, user="ocpv-admin") == []
