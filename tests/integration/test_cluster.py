"""The local cluster itself (localcluster/cluster.py): nodes, scheduling, DaemonSets, pod deletion,
exec through kwok with FSROOT, audit log, parallel clusters, teardown and start-up faults."""

import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import kubernetes
import pytest
from clusterlib import ROOT, localcluster, start_cluster, wait_for
from kubernetes.stream import stream
from localcluster import topology as topo


CLI = [sys.executable, str(ROOT / "localcluster" / "cluster.py")]


@pytest.fixture
def core(cluster):
    api = cluster.api_client()
    yield kubernetes.client.CoreV1Api(api)
    api.close()


@pytest.fixture
def namespace(core):
    name = f"lc-test-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": name}})
    yield name
    core.delete_namespace(name)  # the namespace controller + kwok's pod-delete stage finish it


def _exec(core, pod, namespace, command):
    return stream(core.connect_get_namespaced_pod_exec, pod, namespace, command=command,
                  stderr=True, stdin=False, stdout=True, tty=False)


def _pids(run_dir):
    return {f.stem: int(f.read_text().split()[0]) for f in (Path(run_dir) / "pids").glob("*.pid")}


def _processes_naming(path):
    """PIDs of live processes whose command line mentions `path`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and localcluster.pid_alive(int(entry.name)):
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if f"{path}/" in cmd:
                found.append(int(entry.name))
    return found


# =============================================================================================
# the shared cluster
# =============================================================================================

def test_nodes_ready_with_openshift_labels_and_capacity(cluster, core):
    expected = {n.name: n for n in topo.nodes(cluster.topology)}
    nodes = {n.metadata.name: n for n in core.list_node().items}
    assert set(nodes) == set(expected)
    for name, node in nodes.items():
        spec = expected[name]
        conditions = {c.type: c.status for c in node.status.conditions}
        assert conditions["Ready"] == "True", name
        taints = {(t.key, t.effect) for t in node.spec.taints or []}
        assert ("node.kubernetes.io/not-ready", "NoSchedule") not in taints, name
        assert (("node-role.kubernetes.io/master", "NoSchedule") in taints) == bool(spec.taints), name
        for key, value in spec.labels.items():
            assert node.metadata.labels.get(key) == value, (name, key)
        for key, value in spec.resources().items():
            assert node.status.capacity[key] == value and node.status.allocatable[key] == value, (name, key)
        meminfo = dict(line.split(":", 1) for line in (cluster.node_dir(name) / "proc" / "meminfo").read_text().splitlines())
        assert meminfo["MemTotal"].split() == [str(spec.memory_bytes // 1024), "kB"], name
        assert {"MemFree", "MemAvailable", "SwapTotal", "SwapFree"} <= set(meminfo), name


def test_apiserver_serves_admission_policies_and_runs_privileged_admission(cluster):
    api = cluster.api_client()
    vap = kubernetes.client.AdmissionregistrationV1Api(api)
    assert vap.list_validating_admission_policy().items is not None
    log = (cluster.run_dir / "logs" / "kube-apiserver.log").read_text()
    assert "ValidatingAdmissionPolicy" in log.split("validating admission controller(s)", 1)[1].splitlines()[0]
    api.close()


def test_up_again_is_a_no_op(cluster):
    before = _pids(cluster.run_dir)
    info = localcluster.up(cluster.name, quiet=True)
    assert not info.started
    assert info.kubeconfig == cluster.kubeconfig and _pids(cluster.run_dir) == before


def test_status_reports_rss_per_component(cluster):
    out = subprocess.run([*CLI, "status", "--name", cluster.name], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    for component in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"):
        assert component in out.stdout
    assert "MiB" in out.stdout and "total" in out.stdout
    st = localcluster.status(cluster.name)
    assert st["healthy"] and all(c["alive"] and c["rss"] > 0 for c in st["components"].values())


def test_privileged_daemonset_rolls_out_on_every_worker_and_deletes_cleanly(cluster, core, namespace):
    api = cluster.api_client()
    apps = kubernetes.client.AppsV1Api(api)
    ds = {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "probe", "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": {"app": "probe"}},
            "template": {
                "metadata": {"labels": {"app": "probe"}},
                "spec": {
                    "hostPID": True,
                    "terminationGracePeriodSeconds": 5,
                    "containers": [{"name": "probe", "image": "registry.example/probe:1",
                                    "securityContext": {"privileged": True},
                                    "volumeMounts": [{"name": "host", "mountPath": "/host"}]}],
                    "volumes": [{"name": "host", "hostPath": {"path": "/"}}],
                },
            },
        },
    }
    apps.create_namespaced_daemon_set(namespace, ds)
    workers = sorted(topo.schedulable_workers(cluster.topology))

    def rolled_out():
        d = apps.read_namespaced_daemon_set("probe", namespace)
        s = d.status
        return (s.observed_generation == d.metadata.generation and s.desired_number_scheduled == len(workers)
                and s.updated_number_scheduled == s.number_ready == s.number_available == len(workers))

    wait_for(rolled_out, 90, what="the DaemonSet rollout")
    pods = core.list_namespaced_pod(namespace, label_selector="app=probe").items
    assert sorted(p.spec.node_name for p in pods) == workers  # one per schedulable worker, none on masters
    assert all(p.status.phase == "Running" for p in pods)

    apps.delete_namespaced_daemon_set("probe", namespace)
    wait_for(lambda: not core.list_namespaced_pod(namespace, label_selector="app=probe").items, 60,
             what="the DaemonSet's pods to be deleted (kwok pod-delete stage)")
    api.close()


def test_a_running_pod_marked_not_ready_reports_ready_again(cluster, core, namespace):
    """kube-controller-manager marks the pods of an unreachable node Ready=False (the API server or
    kwok away longer than the node monitor grace period); a kubelet reports them Ready again once
    it is back, and so does kwok's pod-ready-again stage (localcluster/kwok/stages.yaml)."""
    core.create_namespaced_pod(namespace, {
        "metadata": {"name": "probe"},
        "spec": {"nodeName": "worker-0", "containers": [{"name": "probe", "image": "registry.example/probe:1"}]}})

    def ready():
        pod = core.read_namespaced_pod("probe", namespace)
        return pod.status.phase == "Running" and any(
            c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])

    wait_for(ready, 60, what="the pod to run and be ready")
    # what the node lifecycle controller writes (MarkPodsNotReady)
    core.patch_namespaced_pod_status("probe", namespace, {"status": {"conditions": [
        {"type": "Ready", "status": "False", "reason": "NodeNotReady"}]}})
    assert not ready()
    wait_for(ready, 60, what="kwok to report the running pod ready again")


def test_exec_reads_the_node_file_through_fsroot(cluster, core, namespace, tmp_path):
    node = "worker-3" if "worker-3" in cluster.nodes else topo.schedulable_workers(cluster.topology)[-1]
    pod = core.create_namespaced_pod(namespace, {
        "metadata": {"name": "reader"},
        "spec": {"nodeName": node, "containers": [{"name": "agent", "image": "registry.example/agent:1"}]}})
    wait_for(lambda: core.read_namespaced_pod("reader", namespace).status.phase == "Running", 60, what="pod Running")
    api = cluster.api_client()
    command = ["sh", "-c", 'grep SwapTotal "${FSROOT:-/host}/proc/meminfo"']

    # the emulated node's own file, as cluster.up() wrote it
    localcluster.set_node_exec_env(api, pod, cluster.node_dir(node))
    want = next(line for line in (cluster.node_dir(node) / "proc" / "meminfo").read_text().splitlines()
                if line.startswith("SwapTotal:"))

    def read():
        try:
            return _exec(core, "reader", namespace, command).strip()
        except Exception:  # noqa: BLE001 - kwok sees the Exec object a moment after it is created
            return None

    assert wait_for(lambda: read() == want and read(), 30, what="exec to read the node's meminfo") == want

    # and a node directory with other content: the exec really follows FSROOT
    other = tmp_path / "node"
    (other / "proc").mkdir(parents=True)
    (other / "proc" / "meminfo").write_text("MemTotal: 1024 kB\nSwapTotal:     4242 kB\n")
    pod2 = core.create_namespaced_pod(namespace, {
        "metadata": {"name": "reader2"},
        "spec": {"nodeName": node, "containers": [{"name": "agent", "image": "registry.example/agent:1"}]}})
    wait_for(lambda: core.read_namespaced_pod("reader2", namespace).status.phase == "Running", 60, what="pod Running")
    exec_obj = localcluster.set_node_exec_env(api, pod2, other)
    assert exec_obj["metadata"]["ownerReferences"][0]["uid"] == pod2.metadata.uid

    def read2():
        try:
            return _exec(core, "reader2", namespace, command).strip()
        except Exception:  # noqa: BLE001
            return None

    assert wait_for(read2, 30, what="exec in reader2") == "SwapTotal:     4242 kB"
    api.close()


def test_audit_log_records_the_admin_user(cluster, core, namespace):
    marker = cluster.audit_marker()
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "audit-probe"}, "data": {"a": "b"}})
    core.read_namespaced_config_map("audit-probe", namespace)
    events = wait_for(lambda: cluster.write_events(marker), 10, what="audit events of ocpv-admin")
    create = [e for e in events if e["verb"] == "create" and e["objectRef"].get("resource") == "configmaps"]
    assert create and create[0]["objectRef"]["name"] == "audit-probe"
    assert create[0]["stage"] == "ResponseComplete" and create[0]["level"] == "Metadata"
    assert "requestObject" not in create[0]  # Metadata level: no bodies
    gets = cluster.audit_events(marker, verbs=("get",))
    assert any(e["objectRef"].get("name") == "audit-probe" for e in gets)
    # other identities are told apart
    everyone = cluster.audit_events(marker, user=None)
    assert {e["user"]["username"] for e in everyone} >= {"ocpv-admin"}
    assert all(e["stage"] == "ResponseComplete" for e in everyone)
    if localcluster.status(cluster.name)["components"].get("emulator"):
        emu = wait_for(lambda: cluster.audit_events(marker, user="system:ocpv-emulator", settle=0), 10,
                       what="requests of the emulator")
        assert emu


# =============================================================================================
# lifecycle: crash recovery, teardown, faults (throwaway clusters)
# =============================================================================================

def test_crash_restart_and_teardown_leave_no_process(tmp_path):
    name = "teardown-check"
    localcluster.down(name, quiet=True)
    first = start_cluster(name, topology="sno")
    run = first.run_dir
    pids_first = _pids(run)
    assert set(pids_first) >= {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

    assert "emulator" in pids_first or not (ROOT / "localcluster" / "openshift.py").exists()

    # a crash: the apiserver dies; `up` notices, kills the leftovers (emulator included) and starts
    # afresh (Kubernetes only this time, to keep the suite short)
    os.kill(pids_first["kube-apiserver"], signal.SIGKILL)
    wait_for(lambda: not localcluster.pid_alive(pids_first["kube-apiserver"]), 10, what="apiserver to die")
    assert localcluster.info(name) is None
    second = localcluster.up(name, openshift=False, quiet=True)
    assert second.started
    pids_second = _pids(run)
    assert not any(localcluster.pid_alive(p) for p in pids_first.values())
    assert not set(pids_first.values()) & set(pids_second.values())

    assert localcluster.down(name, quiet=True)
    assert not run.exists()
    alive = [p for p in pids_second.values() if localcluster.pid_alive(p)]
    assert not alive, f"processes left behind: {alive}"
    assert not _processes_naming(run)


def _run_cli(*args, env_extra, timeout=300):
    env = dict(os.environ, **env_extra)
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False)


def test_port_in_use_fails_naming_the_component_and_its_log():
    name = "fault-port"
    localcluster.down(name, quiet=True)
    # the apiserver's port is taken: etcd, already started, must be stopped again
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        out = _run_cli("up", "--name", name, "--no-openshift",
                       env_extra={"OCPV_LOCALCLUSTER_PORTS": f"kube-apiserver={port}"})
    run = localcluster.run_dir(name)
    try:
        log = run / "logs" / "kube-apiserver.log"
        assert out.returncode != 0
        assert "kube-apiserver" in out.stderr and str(log) in out.stderr, out.stderr
        assert "address already in use" in log.read_text()
        pids = _pids(run)
        assert {"etcd", "kube-apiserver"} <= set(pids)
        assert not [p for p in pids.values() if localcluster.pid_alive(p)]  # what was started is gone
        assert not _processes_naming(run)
    finally:
        localcluster.down(name, quiet=True)
    assert not run.exists()


def test_missing_binary_fails_naming_the_component_and_its_log(tmp_path):
    name = "fault-binary"
    localcluster.down(name, quiet=True)
    real = localcluster.bin_dir()
    partial = tmp_path / "bin"
    partial.mkdir()
    for binary in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"):
        (partial / binary).symlink_to(real / binary)  # no kwok
    out = _run_cli("up", "--name", name, env_extra={"OCPV_LOCALCLUSTER_BIN_DIR": str(partial)}, timeout=60)
    run = localcluster.run_dir(name)
    try:
        assert out.returncode != 0
        log = run / "logs" / "kwok.log"
        assert "kwok" in out.stderr and str(partial / "kwok") in out.stderr and str(log) in out.stderr, out.stderr
        assert "not found" in log.read_text()
        assert not _pids(run)  # checked before anything started
        assert not _processes_naming(run)
    finally:
        localcluster.down(name, quiet=True)
