"""The emulated OpenShift layer against the real local control plane: CRD schemas enforced by the
real kube-apiserver, and the operator emulator (localcluster/emulator.py) behaving as MCO/HCO do.

Uses the session `cluster` fixture (tests/integration/conftest.py); every test that changes state
starts from openshift.reset(), and the module leaves the cluster reset to its own release.
"""

import json
import time
from pathlib import Path

import pytest
from localcluster import apiobjects
from localcluster import mco
from localcluster import openshift
from localcluster import releases
from localcluster.apiobjects import MCFG
from localcluster.kubeapi import ApiError, Kube, path


GiB_KB = 1024 * 1024
HC_V1BETA1 = path("hco.kubevirt.io/v1beta1", "hyperconvergeds", "kubevirt-hyperconverged", "openshift-cnv")
HC_V1 = path("hco.kubevirt.io/v1", "hyperconvergeds", "kubevirt-hyperconverged", "openshift-cnv")
KUBEVIRT = path("kubevirt.io/v1", "kubevirts", "kubevirt-kubevirt-hyperconverged", "openshift-cnv")
WORKER_SELECTOR = {"matchLabels": {"pools.operator.machineconfiguration.openshift.io/worker": ""}}


class OpenShift:
    """The cluster as these tests see it: API access (admin), the run dir, reset, waits."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.release = cluster.release          # the cluster's own release, restored at the end
        self.kubeconfig = str(cluster.kubeconfig)
        self.run_dir = Path(cluster.run_dir)
        self.kube = Kube(self.kubeconfig)

    def reset(self, release=None):
        self.cluster.reset(release or self.release)   # localcluster.reset -> openshift.reset

    def counters(self):
        return json.loads((self.run_dir / "emulator" / "counters.json").read_text())

    def alerts(self):
        return json.loads((self.run_dir / "emulator" / "alerts.json").read_text())["firing"]

    def meminfo(self, node):
        text = (self.run_dir / "nodes" / node / "proc" / "meminfo").read_text()
        return {k: int(v.split()[0]) for k, v in (line.split(":") for line in text.splitlines())}

    def pool(self, name="worker"):
        return self.kube.get(path(MCFG, "machineconfigpools", name))

    def conditions(self, name="worker"):
        return {c["type"]: c for c in self.pool(name)["status"].get("conditions", [])}

    def pool_nodes(self, pool="worker"):
        pools = self.kube.list(path(MCFG, "machineconfigpools"))
        return sorted(n["metadata"]["name"] for n in self.kube.list(path("v1", "nodes"))
                      if mco.pool_for_node(n["metadata"]["labels"], pools) == pool)

    def wait(self, predicate, timeout=60, what="condition"):
        return self.kube.wait(predicate, timeout, interval=0.2, what=what)

    def wait_rolled_out(self, pool="worker", previous=None, timeout=90):
        """The correct rollout wait (openshift-apis.md §2): retargeted, then Updated for that target."""
        def done():
            p = self.pool(pool)
            target, status = p["spec"]["configuration"]["name"], p["status"]
            conds = {c["type"]: c["status"] for c in status.get("conditions", [])}
            return (target != previous and conds.get("Updated") == "True" and conds.get("Degraded") == "False"
                    and status["configuration"]["name"] == target and status["observedGeneration"] == p["metadata"]["generation"]
                    and status["updatedMachineCount"] == status["machineCount"]) and p
        return self.wait(done, timeout, what=f"pool {pool} to roll out")

    def create_mc(self, name, files=(), units=(), role="worker", version="3.4.0"):
        config = {"ignition": {"version": version}}
        if files:
            config["storage"] = {"files": [{"path": p, "mode": 0o644, "overwrite": True,
                                            "contents": {"source": apiobjects.data_url(t)}} for p, t in files]}
        if units:
            config["systemd"] = {"units": [{"name": n, "enabled": True, "contents": c} for n, c in units]}
        return self.kube.create(path(MCFG, "machineconfigs"), {
            "apiVersion": MCFG, "kind": "MachineConfig",
            "metadata": {"name": name, "labels": {mco.ROLE_LABEL: role}}, "spec": {"config": config}})

    def create_kc(self, name, kubelet_config, selector=None):
        return self.kube.create(path(MCFG, "kubeletconfigs"), {
            "apiVersion": MCFG, "kind": "KubeletConfig", "metadata": {"name": name},
            "spec": {"machineConfigPoolSelector": selector or WORKER_SELECTOR, "kubeletConfig": kubelet_config}})

    def rendered(self, pool="worker"):
        return {m["metadata"]["name"] for m in self.kube.list(path(MCFG, "machineconfigs"))
                if m["metadata"]["name"].startswith(f"rendered-{pool}-")}

    def rejected(self, collection, body):
        try:
            self.kube.create(collection, body)
        except ApiError as e:
            return e.status == 422 and str(e)
        self.kube.delete(f"{collection}/{body['metadata']['name']}")
        return False


@pytest.fixture(scope="module")
def oc(cluster):
    if cluster.topology != "ha":
        pytest.skip("these scenarios assume the ha topology (4 workers, 3 masters)")
    oc = OpenShift(cluster)
    yield oc
    oc.reset()


@pytest.fixture
def fresh(oc):
    """Seeded state at the cluster's own release."""
    oc.reset()
    return oc


# --- CRDs: the real apiserver enforces the schemas ----------------------------------------------

def test_crds_reject_invalid_fields_and_prune_unknown(fresh):
    oc = fresh
    pools = path(MCFG, "machineconfigpools")
    assert "spec.paused" in oc.rejected(pools, {"apiVersion": MCFG, "kind": "MachineConfigPool",
                                                "metadata": {"name": "bad"}, "spec": {"paused": "yes"}})
    hcos = path("hco.kubevirt.io/v1beta1", "hyperconvergeds", namespace="openshift-cnv")
    for bad in (0, "150"):
        body = {"apiVersion": "hco.kubevirt.io/v1beta1", "kind": "HyperConverged", "metadata": {"name": "kubevirt-hyperconverged"},
                "spec": {"higherWorkloadDensity": {"memoryOvercommitPercentage": bad}}}
        oc.kube.delete(HC_V1BETA1)
        assert "memoryOvercommitPercentage" in oc.rejected(hcos, body)
    rules = path("monitoring.openshift.io/v1", "alertingrules", namespace="openshift-monitoring")
    assert "rules" in oc.rejected(rules, {"apiVersion": "monitoring.openshift.io/v1", "kind": "AlertingRule",
                                          "metadata": {"name": "bad"}, "spec": {"groups": [{"name": "g", "rules": []}]}})
    sccs = path("security.openshift.io/v1", "securitycontextconstraints")
    assert "allowHostPID: Required value" in oc.rejected(sccs, {"apiVersion": "security.openshift.io/v1",
                                                                "kind": "SecurityContextConstraints", "metadata": {"name": "bad"}})
    # unknown fields are pruned, not stored
    created = oc.kube.create(pools, {"apiVersion": MCFG, "kind": "MachineConfigPool", "metadata": {"name": "pruned"},
                                     "spec": {"paused": True, "bogus": 1, "maxUnavailable": "50%"}})
    assert created["spec"] == {"paused": True, "maxUnavailable": "50%"}


def test_release_minimum_of_overcommit(oc):
    """memoryOvercommitPercentage: minimum 1 on HCO <= 1.14 (4.16-4.18), 10 from 1.15 (4.19)."""
    oc.reset("4.19")
    oc.kube.delete(HC_V1BETA1)
    hcos = path("hco.kubevirt.io/v1beta1", "hyperconvergeds", namespace="openshift-cnv")
    assert oc.rejected(hcos, {"apiVersion": "hco.kubevirt.io/v1beta1", "kind": "HyperConverged",
                              "metadata": {"name": "kubevirt-hyperconverged"},
                              "spec": {"higherWorkloadDensity": {"memoryOvercommitPercentage": 5}}})


# --- MCO -----------------------------------------------------------------------------------------

def test_machineconfig_change_gives_one_rendered_config_and_one_reboot_per_node(fresh):
    oc = fresh
    before_target, before_rendered = oc.pool()["spec"]["configuration"]["name"], oc.rendered()
    oc.create_mc("50-worker-test", files=[("/etc/ocpv-density-test/hello", "hello\n")])
    pool = oc.wait_rolled_out(previous=before_target)
    assert oc.rendered() - before_rendered == {pool["spec"]["configuration"]["name"]}
    assert [s["name"] for s in pool["spec"]["configuration"]["source"]] == ["00-worker", "50-worker-test"]
    workers = oc.pool_nodes("worker")
    counters = oc.counters()
    assert counters["reboots"] == {n: 1 for n in workers}          # masters untouched
    assert counters["rollouts"] == {"worker": 1}
    assert counters["max_updating"]["worker"] == 1                 # maxUnavailable 1
    for node in workers:
        assert (oc.run_dir / "nodes" / node / "root/etc/ocpv-density-test/hello").read_text() == "hello\n"
        annotations = oc.kube.get(path("v1", "nodes", node))["metadata"]["annotations"]
        assert annotations[mco.CURRENT_CONFIG] == annotations[mco.DESIRED_CONFIG] == pool["spec"]["configuration"]["name"]
        assert annotations[mco.NODE_STATE] == "Done"


def test_paused_pool_waits_then_rolls_out(fresh):
    oc = fresh
    before = oc.pool()["spec"]["configuration"]["name"]
    oc.kube.merge_patch(path(MCFG, "machineconfigpools", "worker"), {"spec": {"paused": True}})
    oc.create_mc("50-worker-test", files=[("/etc/test", "x")])
    oc.wait(lambda: oc.pool()["spec"]["configuration"]["name"] != before, what="the render controller to retarget")
    updating = oc.wait(lambda: oc.conditions()["Updating"] if oc.conditions()["Updated"]["status"] == "False" else None)
    assert updating["status"] == "False" and updating["message"].startswith("Pool is paused")
    time.sleep(2)
    assert oc.counters()["reboots"] == {}
    assert oc.pool()["status"]["configuration"]["name"] == before
    oc.kube.merge_patch(path(MCFG, "machineconfigpools", "worker"), {"spec": {"paused": False}})
    oc.wait_rolled_out(previous=before)
    assert oc.counters()["reboots"] == {n: 1 for n in oc.pool_nodes("worker")}


def test_max_unavailable_is_honoured(fresh):
    oc = fresh
    oc.kube.merge_patch(path(MCFG, "machineconfigpools", "worker"), {"spec": {"maxUnavailable": 2}})
    before = oc.pool()["spec"]["configuration"]["name"]
    oc.create_mc("50-worker-test", files=[("/etc/test", "x")])
    seen = 0
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:  # sample the nodes as an observer would
        nodes = oc.kube.list(path("v1", "nodes"))
        seen = max(seen, sum(1 for n in nodes if (n["metadata"].get("annotations") or {}).get(mco.NODE_STATE) == "Working"))
        c = oc.conditions()
        if c["Updated"]["status"] == "True" and oc.pool()["status"]["configuration"]["name"] != before:
            break
        time.sleep(0.1)
    assert 1 <= seen <= 2
    assert oc.counters()["max_updating"]["worker"] == 2


def test_degraded_injection_and_recovery(fresh):
    oc = fresh
    oc.kube.merge_patch(path(MCFG, "machineconfigpools", "worker"),
                        {"metadata": {"annotations": {mco.DEGRADE_ANNOTATION: "true"}}})
    before = oc.pool()["spec"]["configuration"]["name"]
    oc.create_mc("50-worker-test", files=[("/etc/test", "x")])
    degraded = oc.wait(lambda: oc.conditions()["Degraded"]["status"] == "True" and oc.pool(), what="Degraded")
    conditions = {c["type"]: c for c in degraded["status"]["conditions"]}
    assert conditions["NodeDegraded"]["status"] == "True"
    assert " is reporting: " in conditions["NodeDegraded"]["message"]
    assert degraded["status"]["degradedMachineCount"] == 1
    time.sleep(1.5)  # it stopped: one node updated, one degraded, the rest untouched
    assert sum(oc.counters()["reboots"].values()) == 1
    oc.kube.merge_patch(path(MCFG, "machineconfigpools", "worker"),
                        {"metadata": {"annotations": {mco.DEGRADE_ANNOTATION: None}}})
    oc.wait_rolled_out(previous=before)
    assert oc.counters()["reboots"] == {n: 1 for n in oc.pool_nodes("worker")}


def test_invalid_ignition_is_render_degraded_and_not_rolled_out(fresh):
    oc = fresh
    before = oc.pool()["spec"]["configuration"]["name"]
    oc.create_mc("50-worker-too-new", version="3.5.0")   # 4.16 parses up to 3.4.0
    oc.wait(lambda: oc.conditions()["RenderDegraded"]["status"] == "True", what="RenderDegraded")
    assert oc.conditions()["Degraded"]["status"] == "True"
    assert oc.pool()["spec"]["configuration"]["name"] == before
    oc.kube.delete(path(MCFG, "machineconfigs", "50-worker-too-new"))
    oc.wait(lambda: oc.conditions()["Degraded"]["status"] == "False", what="recovery")
    assert oc.counters()["reboots"] == {}


def test_ignition_library_errors_degrade_the_pool_with_its_message(fresh):
    """A MachineConfig whose version the emulator accepts but whose content Ignition's own
    validator (github.com/coreos/ignition/v2 v2.20.0, localcluster/ignition-validate) refuses:
    MCO's render controller (openshift/machine-config-operator release-4.21 db84d8368,
    pkg/controller/render/render_controller.go syncFailingStatus + common/helpers.go
    ValidateIgnition) sets RenderDegraded with "Failed to render configuration for pool worker:
    invalid ignition V3 config found: ..." and renders nothing. Seen to fail on the emulator's
    own version-only ignition_error(): the relative path rolled out."""
    oc = fresh
    before = oc.pool()["spec"]["configuration"]["name"]
    oc.create_mc("50-worker-relative", files=[("etc/relative", "x")])
    oc.wait(lambda: oc.conditions()["RenderDegraded"]["status"] == "True", what="RenderDegraded")
    message = oc.conditions()["RenderDegraded"]["message"]
    assert message.startswith("Failed to render configuration for pool worker: "), message
    assert "path not absolute" in message, message
    assert oc.conditions()["Degraded"]["message"] == message
    assert oc.pool()["spec"]["configuration"]["name"] == before
    oc.kube.delete(path(MCFG, "machineconfigs", "50-worker-relative"))
    oc.wait(lambda: oc.conditions()["Degraded"]["status"] == "False", what="recovery")
    assert oc.counters()["reboots"] == {}


def test_kubeletconfig_becomes_generated_machineconfig(fresh):
    oc = fresh
    before = oc.pool()["spec"]["configuration"]["name"]
    oc.create_kc("set-swap", {"failSwapOn": False})
    oc.wait_rolled_out(previous=before)
    kc = oc.kube.get(path(MCFG, "kubeletconfigs", "set-swap"))
    assert kc["status"]["conditions"][-1]["type"] == "Success"
    assert kc["metadata"]["finalizers"] == ["99-worker-generated-kubelet"]
    mc = oc.kube.get(path(MCFG, "machineconfigs", "99-worker-generated-kubelet"))
    assert mc["metadata"]["ownerReferences"][0]["kind"] == "KubeletConfig"
    conf = json.loads((oc.run_dir / "nodes" / oc.pool_nodes()[0] / "root/etc/kubernetes/kubelet.conf").read_text())
    assert conf["failSwapOn"] is False


def test_kubeletconfig_matching_no_pool_fails(fresh):
    fresh.create_kc("nowhere", {"maxPods": 300}, selector={"matchLabels": {"no": "pool"}})
    cond = fresh.wait(lambda: (fresh.kube.get(path(MCFG, "kubeletconfigs", "nowhere")).get("status") or {}).get("conditions"))[-1]
    assert cond["type"] == "Failure" and "could not find any MachineConfigPool" in cond["message"]


def test_kubeletconfig_with_failswapon_fails_on_421(oc):
    oc.reset("4.21")
    oc.create_kc("swap", {"failSwapOn": False})
    cond = oc.wait(lambda: (oc.kube.get(path(MCFG, "kubeletconfigs", "swap")).get("status") or {}).get("conditions"))[-1]
    assert cond == {**cond, "type": "Failure", "status": "False",
                    "message": "Error: KubeletConfiguration: failSwapOn is not allowed to be set, but contains: false"}
    assert oc.kube.get(path(MCFG, "machineconfigs", "99-worker-generated-kubelet"), default=None) is None


# --- node state: swap --------------------------------------------------------------------------

SWAP_SCRIPT_UNIT = ("[Unit]\nConditionFirstBoot=no\n[Service]\nType=oneshot\nRemainAfterExit=yes\n"
                    "ExecStart=/usr/local/sbin/ocpv-density-swap.sh\n[Install]\nRequiredBy=kubelet-dependencies.target\n")


def test_swap_appears_in_meminfo_and_in_wasp_agent_exec(fresh):
    """The contract of docs/development.md "Swap MachineConfig shape", rolled out in one cycle
    (paused pool, KubeletConfig + MachineConfig, unpause), read back the way verify reads it."""
    oc = fresh
    before = oc.pool()["spec"]["configuration"]["name"]
    oc.kube.merge_patch(path(MCFG, "machineconfigpools", "worker"), {"spec": {"paused": True}})
    oc.create_kc("swap", {"failSwapOn": False})
    oc.create_mc("90-worker-swap", files=[("/etc/ocpv-density/swap.env", "OCPV_SWAP_OVERCOMMIT_PERCENT=150\n")],
                 units=[("swap-provision.service", SWAP_SCRIPT_UNIT)])
    oc.kube.merge_patch(path(MCFG, "machineconfigpools", "worker"), {"spec": {"paused": False}})
    oc.wait_rolled_out(previous=before)
    assert oc.counters()["reboots"] == {n: 1 for n in oc.pool_nodes("worker")}   # one cycle, not two
    for node in oc.pool_nodes("worker"):
        info = oc.meminfo(node)
        assert info["SwapTotal"] == info["MemTotal"] // 2 // 1024 * 1024
    assert oc.meminfo("worker-0")["SwapTotal"] == 8 * GiB_KB        # 16 GiB at 150 %
    assert oc.meminfo("master-0")["SwapTotal"] == 0

    # A wasp-agent DaemonSet's pods exec against their node's files (FSROOT).
    oc.kube.create(path("v1", "namespaces"), {"metadata": {"name": "wasp"}})
    oc.wait(lambda: oc.kube.get(path("v1", "serviceaccounts", "default", "wasp"), default=None))
    oc.kube.create(path("apps/v1", "daemonsets", namespace="wasp"), {
        "metadata": {"name": "wasp-agent"},
        "spec": {"selector": {"matchLabels": {"name": "wasp"}},
                 "template": {"metadata": {"labels": {"name": "wasp"}},
                              "spec": {"containers": [{"name": "wasp-agent", "image": "registry.invalid/wasp-agent:test"}]}}}})

    def pod_on_worker0():
        for pod in oc.kube.list(path("v1", "pods", namespace="wasp")):
            if pod["spec"].get("nodeName") == "worker-0" and pod.get("status", {}).get("phase") == "Running" and \
                    oc.kube.get(path("kwok.x-k8s.io/v1alpha1", "execs", pod["metadata"]["name"], "wasp"), default=None):
                return pod["metadata"]["name"]
    pod = oc.wait(pod_on_worker0, what="a running wasp-agent pod on worker-0 with its kwok Exec")
    from kubernetes import client, stream
    api = client.CoreV1Api(oc.cluster.api_client())
    out = oc.wait(lambda: stream.stream(
        api.connect_get_namespaced_pod_exec, pod, "wasp", container="wasp-agent",
        command=["sh", "-c", 'grep -E "^(MemTotal|SwapTotal):" "${FSROOT:-/host}/proc/meminfo"'],
        stderr=True, stdin=False, stdout=True, tty=False), timeout=30, what="exec to answer")
    assert f"SwapTotal:      {8 * GiB_KB:>10} kB" in out


def _crash_looping(pod):
    return any((c.get("state") or {}).get("waiting", {}).get("reason") == "CrashLoopBackOff"
               for c in (pod.get("status") or {}).get("containerStatuses") or [])


def _agent_daemonset(image, sa="wasp"):
    return {"metadata": {"name": "wasp-agent"},
            "spec": {"selector": {"matchLabels": {"name": "wasp"}},
                     "template": {"metadata": {"labels": {"name": "wasp"}},
                                  "spec": {"serviceAccountName": sa, "nodeSelector": {"node-role.kubernetes.io/worker": ""},
                                           "containers": [{"name": "wasp-agent", "image": image}]}}}}


def test_wasp_agent_without_the_rights_of_its_version_crash_loops(oc):
    """The 4.17-4.19 agent (v1.1) lists/watches/patches nodes and deletes pods: a ServiceAccount
    that may only read pods leaves its pods crash-looping and the rollout unfinished (the
    authorizer is asked, as that ServiceAccount); the upstream ClusterRole makes them ready."""
    oc.reset("4.17")
    workers = len(oc.pool_nodes("worker"))
    ds_path = path("apps/v1", "daemonsets", "wasp-agent", "wasp")
    rbac = "rbac.authorization.k8s.io/v1"
    oc.kube.create(path("v1", "namespaces"), {"metadata": {"name": "wasp"}})
    oc.kube.create(path("v1", "serviceaccounts", namespace="wasp"), {"metadata": {"name": "wasp"}})
    oc.kube.create(path(rbac, "clusterroles"), {"metadata": {"name": "test-wasp-agent"},
                   "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]})
    oc.kube.create(path(rbac, "clusterrolebindings"), {
        "metadata": {"name": "test-wasp-agent"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "test-wasp-agent"},
        "subjects": [{"kind": "ServiceAccount", "name": "wasp", "namespace": "wasp"}]})
    try:
        oc.kube.create(path("apps/v1", "daemonsets", namespace="wasp"), _agent_daemonset(releases.get("4.17").wasp_agent_image))

        def crash_looping():
            pods = oc.kube.list(path("v1", "pods", namespace="wasp"))
            return len(pods) == workers and all(_crash_looping(p) for p in pods) and pods
        pods = oc.wait(crash_looping, timeout=60, what="every agent pod to crash-loop")
        waiting = pods[0]["status"]["containerStatuses"][0]["state"]["waiting"]
        assert waiting["reason"] == "CrashLoopBackOff" and "list nodes" in waiting["message"], waiting
        time.sleep(4)  # longer than kwok's pod-ready-again delay: it must not report them ready
        status = oc.kube.get(ds_path)["status"]
        assert status.get("numberReady", 0) == 0 and status["desiredNumberScheduled"] == workers, status

        # the upstream v1.1 ClusterRole (pkg/wasp/resources/operator/operator.go)
        oc.kube.merge_patch(path(rbac, "clusterroles", "test-wasp-agent"), {"rules": [
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["watch", "list", "update", "patch"]},
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete", "watch", "list"]}]})
        oc.wait(lambda: oc.kube.get(ds_path)["status"].get("numberReady") == workers, timeout=60,
                what="the agent pods to run once the ServiceAccount holds the rights")
    finally:
        oc.kube.delete(path(rbac, "clusterrolebindings", "test-wasp-agent"))
        oc.kube.delete(path(rbac, "clusterroles", "test-wasp-agent"))
        oc.reset()


def test_wasp_agent_v10_needs_no_api_rights(oc):
    """The 4.16 agent (v1.0, a bash script) makes no API request: no RBAC, still ready."""
    oc.reset("4.16")
    workers = len(oc.pool_nodes("worker"))
    oc.kube.create(path("v1", "namespaces"), {"metadata": {"name": "wasp"}})
    oc.kube.create(path("v1", "serviceaccounts", namespace="wasp"), {"metadata": {"name": "wasp"}})
    oc.kube.create(path("apps/v1", "daemonsets", namespace="wasp"),
                   _agent_daemonset("registry.redhat.io/container-native-virtualization/wasp-agent-rhel9:v4.16"))
    oc.wait(lambda: oc.kube.get(path("apps/v1", "daemonsets", "wasp-agent", "wasp"))["status"].get("numberReady") == workers,
            timeout=60, what="the v1.0 agent pods to run")
    time.sleep(2)
    assert not any(_crash_looping(p) for p in oc.kube.list(path("v1", "pods", namespace="wasp")))


def test_rules_in_an_unlabelled_namespace_never_load(fresh):
    """A PrometheusRule in a user namespace is read by the platform Prometheus only once the
    namespace carries openshift.io/cluster-monitoring=true; openshift-monitoring has it."""
    oc = fresh

    def rules():
        doc = json.loads((oc.run_dir / "emulator" / "alerts.json").read_text())
        return ({(r["namespace"], r["name"]) for r in doc.get("loaded", [])},
                {(r["namespace"], r["name"]) for r in doc.get("ignored", [])})
    rule = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "spec": {"groups": [{"name": "g", "rules": [{"alert": "NodeHighSwapActivity", "expr": "vector(1)"}]}]}}
    oc.kube.create(path("v1", "namespaces"), {"metadata": {"name": "wasp"}})
    oc.kube.create(path("monitoring.coreos.com/v1", "prometheusrules", namespace="wasp"),
                   dict(rule, metadata={"name": "wasp-rules"}))
    oc.kube.create(path("monitoring.coreos.com/v1", "prometheusrules", namespace="openshift-monitoring"),
                   dict(rule, metadata={"name": "platform-rules"}))
    oc.wait(lambda: rules() == ({("openshift-monitoring", "platform-rules")}, {("wasp", "wasp-rules")}),
            what="the rule in wasp to be ignored and the platform one loaded")
    oc.kube.merge_patch(path("v1", "namespaces", "wasp"), {"metadata": {"labels": {"openshift.io/cluster-monitoring": "true"}}})
    oc.wait(lambda: rules()[0] == {("openshift-monitoring", "platform-rules"), ("wasp", "wasp-rules")},
            what="the rule in the labelled namespace to load")
    oc.kube.delete(path("monitoring.coreos.com/v1", "prometheusrules", "platform-rules", "openshift-monitoring"))


def test_swap_without_failswapon_leaves_the_kubelet_down(fresh):
    """<= 4.20 the kubelet refuses to start with swap on unless failSwapOn is false: the first node
    never comes back and the rollout stalls (why the KubeletConfig must come with the swap MC)."""
    oc = fresh
    oc.create_mc("90-worker-swap", files=[("/etc/ocpv-density/swap.env", "OCPV_SWAP_OVERCOMMIT_PERCENT=150\n")],
                 units=[("swap-provision.service", SWAP_SCRIPT_UNIT)])

    def stuck():
        return [n for n in oc.kube.list(path("v1", "nodes"))
                if mco.KUBELET_ANNOTATION in (n["metadata"].get("annotations") or {})]
    nodes = oc.wait(stuck, what="a node whose kubelet did not come back")
    assert len(nodes) == 1 and nodes[0]["metadata"]["annotations"][mco.NODE_STATE] == "Working"
    time.sleep(1.5)
    assert sum(oc.counters()["reboots"].values()) == 1
    assert oc.conditions()["Updated"]["status"] == "False"
    assert oc.pool()["status"]["unavailableMachineCount"] == 1

    # The node is NotReady (nothing posts its status), and stays so until it boots without swap.
    def ready(name):
        conditions = oc.kube.get(path("v1", "nodes", name))["status"].get("conditions") or []
        return next((c["status"] for c in conditions if c["type"] == "Ready"), None)
    name = nodes[0]["metadata"]["name"]
    oc.wait(lambda: ready(name) == "Unknown", what=f"{name} NotReady")
    time.sleep(1.5)
    assert ready(name) == "Unknown"
    oc.kube.delete(path(MCFG, "machineconfigs", "90-worker-swap"))
    oc.wait(lambda: ready(name) == "True", timeout=60, what=f"{name} Ready again without swap")


# --- HCO ---------------------------------------------------------------------------------------

def test_hco_propagates_overcommit_to_kubevirt(fresh):
    oc = fresh
    oc.kube.merge_patch(HC_V1BETA1, {"spec": {"higherWorkloadDensity": {"memoryOvercommitPercentage": 150}}})
    oc.wait(lambda: oc.kube.get(KUBEVIRT)["spec"]["configuration"]["developerConfiguration"]["memoryOvercommit"] == 150)
    # HCO owns KubeVirt: a direct edit is reverted
    oc.kube.merge_patch(KUBEVIRT, {"spec": {"configuration": {"developerConfiguration": {"memoryOvercommit": 200}}}})
    oc.wait(lambda: oc.kube.get(KUBEVIRT)["spec"]["configuration"]["developerConfiguration"]["memoryOvercommit"] == 150)
    assert oc.kube.get(path("apps/v1", "daemonsets", "wasp-agent", "openshift-cnv"), default=None) is None  # 4.16: no HCO wasp
    conds = {c["type"]: c["status"] for c in oc.kube.get(HC_V1BETA1)["status"]["conditions"]}
    assert conds["Available"] == "True" and conds["Degraded"] == "False"


def test_hco_420_deploys_and_removes_its_wasp_agent(oc):
    oc.reset("4.20")
    ds_path = path("apps/v1", "daemonsets", "wasp-agent", "openshift-cnv")
    oc.kube.merge_patch(HC_V1BETA1, {"spec": {"higherWorkloadDensity": {"memoryOvercommitPercentage": 150}}})
    ds = oc.wait(lambda: oc.kube.get(ds_path, default=None), what="HCO's wasp-agent DaemonSet")
    csv = oc.kube.get(path("operators.coreos.com/v1alpha1", "clusterserviceversions",
                           "kubevirt-hyperconverged-operator.v4.20.2", "openshift-cnv"))
    wasp_image = next(i["image"] for i in csv["spec"]["relatedImages"] if "wasp-agent" in i["name"])
    pod_spec = ds["spec"]["template"]["spec"]
    assert ds["metadata"]["labels"]["app"] == "kubevirt-hyperconverged"
    assert ds["spec"]["selector"] == {"matchLabels": {"name": "wasp-agent"}}
    assert pod_spec["containers"][0]["image"] == wasp_image
    assert pod_spec["hostPID"] and pod_spec["containers"][0]["securityContext"]["privileged"]
    assert {"name": "host", "mountPath": "/host"} in pod_spec["containers"][0]["volumeMounts"]
    for obj in (path("v1", "serviceaccounts", "wasp", "openshift-cnv"),
                path("security.openshift.io/v1", "securitycontextconstraints", "wasp"),
                path("rbac.authorization.k8s.io/v1", "clusterroles", "wasp-cluster"),
                path("rbac.authorization.k8s.io/v1", "clusterrolebindings", "wasp-cluster")):
        assert oc.kube.get(obj)["metadata"]["labels"]["app"] == "kubevirt-hyperconverged", obj
    oc.wait(lambda: oc.kube.get(ds_path)["status"].get("numberReady") == len(oc.pool_nodes("worker")),
            what="the DaemonSet to run on the workers")
    assert oc.alerts() == []

    # A manual wasp-agent next to HCO's fires DuplicateWaspAgentDSDetected.
    oc.kube.create(path("v1", "namespaces"), {"metadata": {"name": "wasp"}})
    oc.kube.create(path("apps/v1", "daemonsets", namespace="wasp"), {
        "metadata": {"name": "wasp-agent"},
        "spec": {"selector": {"matchLabels": {"name": "wasp"}},
                 "template": {"metadata": {"labels": {"name": "wasp"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}})
    oc.wait(lambda: oc.alerts() == ["DuplicateWaspAgentDSDetected"], what="the duplicate alert")

    oc.kube.merge_patch(HC_V1BETA1, {"spec": {"higherWorkloadDensity": {"memoryOvercommitPercentage": 100}}})
    oc.wait(lambda: oc.kube.get(ds_path, default=None) is None, what="HCO's wasp-agent to go")
    assert oc.kube.get(path("security.openshift.io/v1", "securitycontextconstraints", "wasp"), default=None) is None
    oc.wait(lambda: oc.alerts() == [], what="the alert to clear")


def test_upgrade_421_to_422_moves_the_overcommit_to_v1(oc):
    oc.reset("4.21")
    oc.kube.merge_patch(HC_V1BETA1, {"spec": {"higherWorkloadDensity": {"memoryOvercommitPercentage": 150}}})
    oc.create_mc("50-worker-test", files=[("/etc/test", "x")])   # the collection's objects stay
    oc.wait_rolled_out(previous=None)
    openshift.upgrade(oc.kubeconfig, "4.22", str(oc.run_dir))
    hc = oc.kube.get(HC_V1)
    assert hc["spec"]["virtualization"]["higherWorkloadDensity"]["memoryOvercommitPercentage"] == 150
    with pytest.raises(ApiError) as e:
        oc.kube.get(HC_V1BETA1)        # not served without HCO's conversion webhook
    assert e.value.status == 404
    cv = oc.kube.get(path("config.openshift.io/v1", "clusterversions", "version"))
    assert [h["version"] for h in cv["status"]["history"]][:2] == ["4.22.0", "4.21.1"]
    csvs = oc.kube.list(path("operators.coreos.com/v1alpha1", "clusterserviceversions", namespace="openshift-cnv"))
    csvs = [c["metadata"]["name"] for c in csvs]
    assert csvs == ["kubevirt-hyperconverged-operator.v4.22.0"]
    assert oc.kube.get(path(MCFG, "machineconfigs", "50-worker-test"))
    oc.wait(lambda: oc.kube.get(KUBEVIRT)["spec"]["configuration"]["developerConfiguration"]["memoryOvercommit"] == 150)
    # the emulated HCO now reads the v1 path
    oc.kube.merge_patch(HC_V1, {"spec": {"virtualization": {"higherWorkloadDensity": {"memoryOvercommitPercentage": 180}}}})
    oc.wait(lambda: oc.kube.get(KUBEVIRT)["spec"]["configuration"]["developerConfiguration"]["memoryOvercommit"] == 180)


# --- reset ---------------------------------------------------------------------------------------

def test_reset_restores_the_seeds(oc):
    oc.reset()
    seeded = {"rendered": oc.rendered(), "target": oc.pool()["spec"]["configuration"]["name"]}
    # dirty everything the collection touches
    oc.kube.merge_patch(path(MCFG, "machineconfigpools", "worker"),
                        {"spec": {"paused": True, "maxUnavailable": 3}, "metadata": {"annotations": {mco.DEGRADE_ANNOTATION: "true"}}})
    oc.create_mc("90-worker-swap", files=[("/etc/ocpv-density/swap.env", "OCPV_SWAP_OVERCOMMIT_PERCENT=150\n")],
                 units=[("swap-provision.service", SWAP_SCRIPT_UNIT)])
    oc.create_kc("swap", {"failSwapOn": False})
    oc.kube.merge_patch(HC_V1BETA1, {"spec": {"higherWorkloadDensity": {"memoryOvercommitPercentage": 150}}})
    oc.kube.create(path("v1", "namespaces"), {"metadata": {"name": "wasp"}})
    oc.kube.create(path("monitoring.openshift.io/v1", "alertingrules", namespace="openshift-monitoring"), {
        "apiVersion": "monitoring.openshift.io/v1", "kind": "AlertingRule", "metadata": {"name": "wasp-alerts"},
        "spec": {"groups": [{"name": "wasp.rules", "rules": [{"alert": "NodeSwapping", "expr": "vector(1)"}]}]}})
    oc.kube.merge_patch(path(MCFG, "machineconfigpools", "worker"), {"spec": {"paused": False}})
    oc.wait(lambda: sum(oc.counters()["reboots"].values()) >= 1, what="a reboot")

    oc.reset()
    pool = oc.pool()
    assert pool["spec"]["configuration"]["name"] == pool["status"]["configuration"]["name"] == seeded["target"]
    assert pool["spec"]["paused"] is False and pool["spec"]["maxUnavailable"] == 1
    assert not (pool["metadata"].get("annotations") or {})
    assert oc.rendered() == seeded["rendered"]
    assert {m["metadata"]["name"] for m in oc.kube.list(path(MCFG, "machineconfigs"))} == \
        {"00-master", "00-worker"} | oc.rendered() | oc.rendered("master")
    assert oc.kube.list(path(MCFG, "kubeletconfigs")) == []
    assert oc.kube.get(path("v1", "namespaces", "wasp"), default=None) is None
    assert oc.kube.list(path("monitoring.openshift.io/v1", "alertingrules")) == []
    assert oc.kube.get(HC_V1BETA1)["spec"]["higherWorkloadDensity"]["memoryOvercommitPercentage"] == 100
    assert oc.kube.get(KUBEVIRT)["spec"]["configuration"]["developerConfiguration"]["memoryOvercommit"] == 100
    assert oc.counters() == {"reboots": {}, "rollouts": {}, "max_updating": {}}
    for node in oc.kube.list(path("v1", "nodes")):
        name = node["metadata"]["name"]
        assert oc.meminfo(name)["SwapTotal"] == 0
        assert not node["spec"].get("unschedulable")
        assert node["metadata"]["annotations"].get(mco.NODE_STATE) == "Done"
    time.sleep(1.5)
    assert oc.counters()["reboots"] == {}   # reset does not reboot anything
    running = [p for p in oc.kube.list(path("v1", "pods", namespace="vms")) if p["status"].get("phase") == "Running"]
    assert len(running) == len(openshift.VMS)
