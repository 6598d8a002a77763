"""OpenShift on top of the local Kubernetes control plane: the API (CRDs: upstream copies in
crds/upstream/, the project's own in crds/ where none exists), the objects a fresh OpenShift +
OpenShift Virtualization cluster has (seeds), and the moves tests need between scenarios.

    install(kubeconfig, run_dir, release, topology)   CRDs + seed objects, settled
    reset(kubeconfig, run_dir, release=None)          back to the seeded state, without a restart
    upgrade(kubeconfig, release)                      a minor upgrade; the collection's objects stay

The behaviour behind the objects (MCO, HCO, node state) is emulator.py's; where a seed is what an
operator would produce (rendered configs, pool status, KubeVirt), it is produced by the same
emulator code, so seeds and later behaviour cannot disagree.

CLI (for debugging): python localcluster/openshift.py install|reset|upgrade --kubeconfig K
--run-dir D [--release 4.20] [--topology ha]
"""

import argparse
import contextlib
import copy
import hashlib
import os
import shutil
import time
import uuid
from pathlib import Path

import yaml

try:  # imported as localcluster.openshift or run/imported from localcluster/
    from . import releases
    from .apiobjects import MCFG, atomic_write, data_url, dig, now, selector_matches
    from .emulator import Emulator, MCO_RELEASE_ANNOTATION
    from .hco import HCO_LABELS, HCO_NAME, HCO_NAMESPACE, KUBEVIRT_NAME, hco_wasp_objects
    from .mco import CONTROLLER_VERSION, GENERATED_BY, ROLE_LABEL, ensure_rendered
    from .nodes import NodeDisk, node_mem_total_kb
    from .kubeapi import ApiError, Kube, path
except ImportError:
    import releases
    from apiobjects import MCFG, atomic_write, data_url, dig, now, selector_matches
    from emulator import Emulator, MCO_RELEASE_ANNOTATION
    from hco import HCO_LABELS, HCO_NAME, HCO_NAMESPACE, KUBEVIRT_NAME, hco_wasp_objects
    from mco import CONTROLLER_VERSION, GENERATED_BY, ROLE_LABEL, ensure_rendered
    from nodes import NodeDisk, node_mem_total_kb
    from kubeapi import ApiError, Kube, path

CRD_DIR = Path(__file__).resolve().parent / "crds"
# Upstream CRDs (copies with their sources in upstream/SOURCES.md) are installed instead of the
# project's own of the same name; the project's own (crds/*.yaml) only where no copy exists.
UPSTREAM_CRD_DIR = CRD_DIR / "upstream"
HCO_CRD_1_18 = UPSTREAM_CRD_DIR / "variants" / "hyperconvergeds.hco.kubevirt.io.release-1.18.yaml"
HCO_CRD_MAIN = UPSTREAM_CRD_DIR / "variants" / "hyperconvergeds.hco.kubevirt.io.main-v1-storage.yaml"
MCO_CRDS = ("machineconfigs", "machineconfigpools", "kubeletconfigs", "containerruntimeconfigs")
HCO_CRD = "hyperconvergeds.hco.kubevirt.io"
NAMESPACES = {  # name -> labels, as on OpenShift
    "openshift-cnv": {"openshift.io/cluster-monitoring": "true"},
    "openshift-monitoring": {"openshift.io/cluster-monitoring": "true"},
    "openshift-machine-config-operator": {"openshift.io/cluster-monitoring": "true"},
    "vms": {},
}
SEED_MCS = ("00-master", "00-worker")
SEED_SCCS = ("privileged",)
BUILTIN_CLUSTER_ROLES = ("cluster-admin", "admin", "edit", "view")
CONTROL_PLANE_TOPOLOGY = {"ha": "HighlyAvailable", "compact": "HighlyAvailable", "sno": "SingleReplica", "hcp": "External"}
TOPOLOGY_FILE = "openshift-topology"  # <run>/openshift-topology: what install() was given


# =============================================================================================
# install
# =============================================================================================

def install(kubeconfig, run_dir, release=releases.DEFAULT, topology="ha"):
    kube, rel, run_dir = Kube(kubeconfig), releases.get(release), Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / TOPOLOGY_FILE).write_text(topology + "\n")
    apply_crds(kube, rel, topology)
    for name, labels in NAMESPACES.items():
        kube.apply(path("v1", "namespaces"), {"apiVersion": "v1", "kind": "Namespace",
                                              "metadata": {"name": name, "labels": labels}})
    seed_cluster_version(kube, rel)
    seed_infrastructure(kube, topology)
    seed_scc(kube)
    if topology != "hcp":
        seed_pools(kube)
    seed_virtualization(kube, rel)
    seed_vm_pods(kube)
    settle(kube, run_dir, topology)


def crd_files():
    """name -> file of every CRD the harness installs (HyperConverged: its v1beta1-storage file;
    hco_crd() picks the release's variant): upstream copies first, the project's own for the
    rest."""
    files = {}
    for file in sorted(CRD_DIR.glob("*.yaml")) + sorted(UPSTREAM_CRD_DIR.glob("*.yaml")):
        files[file.name[:-len(".yaml")]] = file  # an upstream copy replaces an own file
    return files


def load_crd(file):
    """One CRD file (the upstream ones are up to 0.7 MB: libyaml's loader when there is one)."""
    return yaml.load(file.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def crd_bodies(rel, topology):
    """The CRDs for this release and topology (HCP has no MCO, so no MCO CRDs)."""
    bodies = []
    for name, file in sorted(crd_files().items()):
        if topology == "hcp" and name.split(".")[0] in MCO_CRDS:
            continue
        if name == HCO_CRD:
            continue
        bodies.append(load_crd(file))
    return bodies + [hco_crd(rel)]


def hco_crd_file(rel):
    """The upstream HyperConverged CRD of this release's HCO: release-1.17 (v1beta1 only) up to
    HCO 1.17, release-1.18 (v1 served, v1beta1 storage) for 1.18, main (HCO 1.20: v1 storage)
    after that (upstream/SOURCES.md)."""
    if rel.hco <= (1, 17):
        return crd_files()[HCO_CRD]
    return HCO_CRD_1_18 if rel.hco == (1, 18) else HCO_CRD_MAIN


def hco_crd(rel):
    """The HyperConverged CRD as this release's HCO ships it, with the harness changes
    upstream/SOURCES.md lists: the release's overcommit minimum, and only the release's API
    version (releases.hco_api_version) served. The storage version is upstream's
    (releases.hco_storage_version: v1beta1 up to HCO 1.18 although 1.18 serves v1). The real CRD
    serves the others through HCO's conversion webhook, which a bare API server lacks; so where
    the stored version is not the served one (4.22), the stored version's spec keeps unknown
    fields, as HCO's lossless conversion would, instead of pruning the v1 fields (overcommit
    included) to the v1beta1 schema."""
    crd = load_crd(hco_crd_file(rel))
    for version in crd["spec"]["versions"]:
        version["served"] = version["name"] == rel.hco_api_version
        version["storage"] = version["name"] == rel.hco_storage_version
        if version["storage"] and not version["served"]:
            dig(version, "schema", "openAPIV3Schema", "properties", "spec")["x-kubernetes-preserve-unknown-fields"] = True
        spec = dig(version, "schema", "openAPIV3Schema", "properties", "spec", "properties") or {}
        for density in (dig(spec, "higherWorkloadDensity"),
                        dig(spec, "virtualization", "properties", "higherWorkloadDensity")):
            if density:
                density["properties"]["memoryOvercommitPercentage"]["minimum"] = rel.overcommit_minimum
    return crd


def apply_crds(kube, rel, topology):
    crds = crd_bodies(rel, topology)
    for crd in crds:
        kube.apply(path("apiextensions.k8s.io/v1", "customresourcedefinitions"), crd)
    for crd in crds:
        wait_established(kube, crd["metadata"]["name"])


def wait_established(kube, name, timeout=60):
    def established():
        crd = kube.get(path("apiextensions.k8s.io/v1", "customresourcedefinitions", name))
        return any(c["type"] == "Established" and c["status"] == "True" for c in (dig(crd, "status", "conditions") or []))
    kube.wait(established, timeout, what=f"CRD {name} Established")


def _fake_digest(text):
    return hashlib.sha256(text.encode()).hexdigest()


def seed_cluster_version(kube, rel, previous_status=None):
    """ClusterVersion `version` at rel, its history Completed (previous history kept on upgrade)."""
    cv_path = path("config.openshift.io/v1", "clusterversions", "version")
    cv = kube.get(cv_path, default=None)
    if cv is None:
        cv = kube.create(path("config.openshift.io/v1", "clusterversions"), {
            "apiVersion": "config.openshift.io/v1", "kind": "ClusterVersion", "metadata": {"name": "version"},
            "spec": {"clusterID": str(uuid.uuid4()), "channel": f"stable-{rel.name}"}})
    else:
        cv = kube.merge_patch(cv_path, {"spec": {"channel": f"stable-{rel.name}"},
                                        "metadata": {"annotations": {MCO_RELEASE_ANNOTATION: None}}})
    stamp = now()
    image = f"quay.io/openshift-release-dev/ocp-release@sha256:{_fake_digest(rel.ocp_version)}"
    history = [{"state": "Completed", "version": rel.ocp_version, "image": image, "verified": False,
                "startedTime": stamp, "completionTime": stamp}]
    if previous_status:
        history += previous_status.get("history") or []
    status = {
        "desired": {"version": rel.ocp_version, "image": image, "channels": [f"stable-{rel.name}"]},
        "history": history, "observedGeneration": cv["metadata"]["generation"],
        "versionHash": _fake_digest(image)[:12], "availableUpdates": None,
        "conditions": [
            {"type": "Available", "status": "True", "lastTransitionTime": stamp,
             "message": f"Done applying {rel.ocp_version}"},
            {"type": "Failing", "status": "False", "lastTransitionTime": stamp},
            {"type": "Progressing", "status": "False", "lastTransitionTime": stamp,
             "message": f"Cluster version is {rel.ocp_version}"},
        ],
    }
    kube.replace_status(cv_path, status)  # availableUpdates: null must be written, not dropped


def seed_infrastructure(kube, topology):
    infra_path = path("config.openshift.io/v1", "infrastructures", "cluster")
    if kube.get(infra_path, default=None) is None:
        kube.create(path("config.openshift.io/v1", "infrastructures"), {
            "apiVersion": "config.openshift.io/v1", "kind": "Infrastructure", "metadata": {"name": "cluster"},
            "spec": {"platformSpec": {"type": "None"}}})
    kube.merge_patch(infra_path + "/status", {"status": {
        "controlPlaneTopology": CONTROL_PLANE_TOPOLOGY[topology],
        "infrastructureTopology": "SingleReplica" if topology == "sno" else "HighlyAvailable",
        "infrastructureName": "ocpv-local",
        "platform": "None", "platformStatus": {"type": "None"},
        "apiServerURL": kube.api.configuration.host,
        "apiServerInternalURI": kube.api.configuration.host,
        "etcdDiscoveryDomain": "",
    }})


def privileged_scc():
    """SCC `privileged` as OpenShift ships it (cluster-kube-apiserver-operator bindata)."""
    return {
        "apiVersion": "security.openshift.io/v1", "kind": "SecurityContextConstraints",
        "metadata": {"name": "privileged", "annotations": {
            "kubernetes.io/description": "privileged allows access to all privileged and host features and the "
                                         "ability to run as any user, any group, any fsGroup, and with any SELinux "
                                         "context.  WARNING: this is the most relaxed SCC and should be used only "
                                         "for cluster administration. Grant with caution.",
            "release.openshift.io/create-only": "true"}},
        "allowHostDirVolumePlugin": True, "allowHostIPC": True, "allowHostNetwork": True, "allowHostPID": True,
        "allowHostPorts": True, "allowPrivilegeEscalation": True, "allowPrivilegedContainer": True,
        "allowedCapabilities": ["*"], "allowedUnsafeSysctls": ["*"], "defaultAddCapabilities": None,
        "fsGroup": {"type": "RunAsAny"},
        "groups": ["system:cluster-admins", "system:nodes", "system:masters"],
        "priority": None, "readOnlyRootFilesystem": False, "requiredDropCapabilities": None,
        "runAsUser": {"type": "RunAsAny"}, "seLinuxContext": {"type": "RunAsAny"}, "seccompProfiles": ["*"],
        "supplementalGroups": {"type": "RunAsAny"},
        "users": ["system:admin", "system:serviceaccount:openshift-infra:build-controller"],
        "volumes": ["*"],
    }


def seed_scc(kube):
    kube.apply(path("security.openshift.io/v1", "securitycontextconstraints"), privileged_scc())
    kube.apply(path("rbac.authorization.k8s.io/v1", "clusterroles"), {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "system:openshift:scc:privileged"},
        "rules": [{"apiGroups": ["security.openshift.io"], "resources": ["securitycontextconstraints"],
                   "resourceNames": ["privileged"], "verbs": ["use"]}]})


def base_machine_config(role):
    """00-<role>: stands in for MCO's 00-/01- template configs (Ignition 3.4.0)."""
    return {"apiVersion": MCFG, "kind": "MachineConfig",
            "metadata": {"name": f"00-{role}", "labels": {ROLE_LABEL: role},
                         "annotations": {GENERATED_BY: CONTROLLER_VERSION}},
            "spec": {"config": {"ignition": {"version": "3.4.0"},
                                "storage": {"files": [{"path": "/etc/mco/local.env", "mode": 0o644, "overwrite": True,
                                                       "contents": {"source": data_url(f"MCO_ROLE={role}\n")}}]}}}}


def seed_pool(role):
    """Pools `master`/`worker` exactly as MCO creates them (manifests/<role>.machineconfigpool.yaml)."""
    return {"apiVersion": MCFG, "kind": "MachineConfigPool",
            "metadata": {"name": role, "labels": {f"pools.operator.machineconfiguration.openshift.io/{role}": "",
                                                  **({"operator.machineconfiguration.openshift.io/required-for-upgrade": ""}
                                                     if role == "master" else {})}},
            "spec": {"machineConfigSelector": {"matchLabels": {ROLE_LABEL: role}},
                     "nodeSelector": {"matchLabels": {f"node-role.kubernetes.io/{role}": ""}},
                     "maxUnavailable": 1, "paused": False}}


def seed_pools(kube):
    for role in ("master", "worker"):
        kube.apply(path(MCFG, "machineconfigs"), base_machine_config(role))
    for role in ("master", "worker"):
        body = seed_pool(role)
        current = kube.get(path(MCFG, "machineconfigpools", role), default=None)
        if current is None:
            kube.create(path(MCFG, "machineconfigpools"), body)
            continue
        # Whole-object replace (a test's extra labels, annotations or selector keys go), keeping
        # spec.configuration: the emulator's render controller owns it.
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        if dig(current, "spec", "configuration"):
            body["spec"]["configuration"] = current["spec"]["configuration"]
        kube.replace(path(MCFG, "machineconfigpools", role), body)


def seed_csv(kube, rel, replaces=None):
    related = [(f"container-native-virtualization-{n}-rhel9", f"registry.redhat.io/container-native-virtualization/{n}-rhel9"
                f"@sha256:{_fake_digest(n + rel.cnv_version)}")
               for n in ("virt-operator", "virt-launcher", "virt-handler", "hyperconverged-cluster")]
    if rel.wasp_agent_image:
        related.append(("container-native-virtualization-wasp-agent-rhel9", rel.wasp_agent_image))
    body = {"apiVersion": "operators.coreos.com/v1alpha1", "kind": "ClusterServiceVersion",
            "metadata": {"name": rel.csv_name, "namespace": HCO_NAMESPACE,
                         "labels": {"operators.coreos.com/kubevirt-hyperconverged.openshift-cnv": ""}},
            "spec": {"displayName": "OpenShift Virtualization", "version": rel.cnv_version,
                     "install": {"strategy": "deployment"},
                     "relatedImages": [{"name": n, "image": i} for n, i in related],
                     **({"replaces": replaces} if replaces else {})}}
    kube.apply(path("operators.coreos.com/v1alpha1", "clusterserviceversions", namespace=HCO_NAMESPACE), body)
    kube.merge_patch(path("operators.coreos.com/v1alpha1", "clusterserviceversions", rel.csv_name, HCO_NAMESPACE) + "/status",
                     {"status": {"phase": "Succeeded", "reason": "InstallSucceeded"}})


def seed_hyperconverged(kube, rel):
    """HyperConverged `kubevirt-hyperconverged` as created at install (defaults fill the rest)."""
    kube.apply(path(f"hco.kubevirt.io/{rel.hco_api_version}", "hyperconvergeds", namespace=HCO_NAMESPACE), {
        "apiVersion": f"hco.kubevirt.io/{rel.hco_api_version}", "kind": "HyperConverged",
        "metadata": {"name": HCO_NAME, "namespace": HCO_NAMESPACE}, "spec": {}})


def seed_virtualization(kube, rel):
    seed_csv(kube, rel)
    seed_hyperconverged(kube, rel)
    kube.apply(path("kubevirt.io/v1", "kubevirts", namespace=HCO_NAMESPACE), {
        "apiVersion": "kubevirt.io/v1", "kind": "KubeVirt",
        "metadata": {"name": KUBEVIRT_NAME, "namespace": HCO_NAMESPACE, "labels": dict(HCO_LABELS)},
        "spec": {"configuration": {"developerConfiguration": {"memoryOvercommit": 100}}}})
    kube.merge_patch(path("kubevirt.io/v1", "kubevirts", KUBEVIRT_NAME, HCO_NAMESPACE) + "/status",
                     {"status": {"phase": "Deployed", "observedKubeVirtVersion": f"v1.{rel.hco[1] - 10}.0"}})


# Running VMs for the verify role to classify: virt-launcher pods as KubeVirt renders them.
VMS = (  # name, memory request, memory limit (Guaranteed = requests == limits for cpu and memory)
    ("rhel9-web-01", "2318Mi", None),
    ("fedora-db-02", "4414Mi", None),
    ("rhel9-dedicated-03", "4Gi", "4Gi"),
)


def vm_pod(vm, memory, limit):
    uid = str(uuid.uuid5(uuid.NAMESPACE_DNS, vm))
    resources = {"requests": {"cpu": "100m", "memory": memory}}
    if limit:
        resources = {"requests": {"cpu": "2", "memory": limit}, "limits": {"cpu": "2", "memory": limit}}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"virt-launcher-{vm}-{uid[:5]}", "namespace": "vms",
                         "labels": {"kubevirt.io": "virt-launcher", "kubevirt.io/created-by": uid,
                                    "vm.kubevirt.io/name": vm, "vmi.kubevirt.io/id": vm},
                         "annotations": {"kubevirt.io/domain": vm, "kubectl.kubernetes.io/default-container": "compute"}},
            "spec": {"containers": [{"name": "compute", "resources": resources,
                                     "image": f"registry.redhat.io/container-native-virtualization/virt-launcher-rhel9"
                                              f"@sha256:{_fake_digest('virt-launcher')}"}],
                     "terminationGracePeriodSeconds": 30}}


def seed_vm_pods(kube, timeout=120):
    kube.wait(lambda: kube.get(path("v1", "serviceaccounts", "default", "vms"), default=None), timeout,
              what="ServiceAccount vms/default")
    names = []
    for vm in VMS:
        pod = vm_pod(*vm)
        names.append(pod["metadata"]["name"])
        try:
            kube.create(path("v1", "pods", namespace="vms"), pod)
        except ApiError as e:
            if e.status != 409:
                raise

    def running():
        pods = {p["metadata"]["name"]: p for p in kube.list(path("v1", "pods", namespace="vms"))}
        return all(dig(pods.get(n), "status", "phase") == "Running" for n in names)
    kube.wait(running, timeout, what="the virt-launcher pods in ns vms to run")


# =============================================================================================
# settle: let the emulator (running, or run here) bring the seeds to their steady state
# =============================================================================================

def emulator_pid(run_dir):
    try:
        pid = int((Path(run_dir) / "emulator" / "ready").read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def settled(kube, topology):
    if topology != "hcp":
        for pool in kube.list(path(MCFG, "machineconfigpools")):
            conds = {c["type"]: c["status"] for c in dig(pool, "status", "conditions", default=[])}
            if conds.get("Updated") != "True" or dig(pool, "status", "observedGeneration") != pool["metadata"]["generation"]:
                return False
    return True


def settle(kube, run_dir, topology, timeout=120):
    """Wait for the running emulator to settle, or run its cycles here if none runs."""
    if emulator_pid(run_dir):
        kube.wait(lambda: settled(kube, topology), timeout, what="the emulator to settle")
        return
    emu = Emulator(kube, run_dir, topology, reboot_seconds=0)
    deadline = time.monotonic() + timeout
    while True:
        emu.cycle()
        if settled(kube, topology):
            return
        if time.monotonic() > deadline:
            raise TimeoutError("the emulator did not settle the seeded cluster")
        time.sleep(0.1)


class held_emulator:
    """Pause the running emulator (if any) while the cluster is changed under it."""

    def __init__(self, run_dir):
        self.state_dir = Path(run_dir) / "emulator"

    def __enter__(self):
        self.active = emulator_pid(self.state_dir.parent) is not None
        if self.active:
            (self.state_dir / "hold").write_text("")
            deadline = time.monotonic() + 30
            while not (self.state_dir / "held").exists():
                if time.monotonic() > deadline:
                    raise TimeoutError("the emulator did not pause")
                time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        (self.state_dir / "hold").unlink(missing_ok=True)
        if self.active:
            deadline = time.monotonic() + 30
            while (self.state_dir / "held").exists() and time.monotonic() < deadline:
                time.sleep(0.05)


# =============================================================================================
# reset
# =============================================================================================

def _topology(run_dir):
    try:
        return (Path(run_dir) / TOPOLOGY_FILE).read_text().strip()
    except OSError:
        return "ha"


def current_release(kube):
    cv = kube.get(path("config.openshift.io/v1", "clusterversions", "version"))
    return releases.from_cluster_version(cv["status"]["desired"]["version"])


def reset(kubeconfig, run_dir, release=None):
    """Back to the seeded state for `release` (default: the current one), in place: the
    collection's objects removed, HCO back to 100 %, pools unpaused and settled on their seed
    rendered configs, nodes without swap, counters zeroed."""
    kube, run_dir = Kube(kubeconfig), Path(run_dir)
    topology = _topology(run_dir)
    rel = releases.get(release) if release else current_release(kube)
    with held_emulator(run_dir):
        _remove_collection_objects(kube)
        if topology != "hcp":
            _reset_machine_config(kube)
        _reset_virtualization(kube, rel)
        seed_cluster_version(kube, rel)
        seed_infrastructure(kube, topology)
        seed_scc(kube)
        if topology != "hcp":
            _reset_nodes(kube, run_dir)
        state = run_dir / "emulator"
        state.mkdir(parents=True, exist_ok=True)
        atomic_write(state / "counters.json", '{"reboots": {}, "rollouts": {}, "max_updating": {}}')
        atomic_write(state / "alerts.json", '{"firing": [], "active_since": {}}')
    seed_vm_pods(kube)
    settle(kube, run_dir, topology)


def _remove_collection_objects(kube):
    """What the collection (or a test) may have created outside the seeds."""
    kube.delete(path("v1", "namespaces", "wasp"))
    for group_version, plural in (("monitoring.openshift.io/v1", "alertingrules"), ("monitoring.coreos.com/v1", "prometheusrules")):
        for obj in kube.list(path(group_version, plural)):
            kube.delete(path(group_version, plural, obj["metadata"]["name"], obj["metadata"]["namespace"]))
    for scc in kube.list(path("security.openshift.io/v1", "securitycontextconstraints")):
        if scc["metadata"]["name"] not in SEED_SCCS:
            kube.delete(path("security.openshift.io/v1", "securitycontextconstraints", scc["metadata"]["name"]))
    for crb in kube.list(path("rbac.authorization.k8s.io/v1", "clusterrolebindings")):
        if any(s.get("namespace") == "wasp" for s in crb.get("subjects") or []):
            kube.delete(path("rbac.authorization.k8s.io/v1", "clusterrolebindings", crb["metadata"]["name"]))
            role = crb["roleRef"]["name"]
            if not role.startswith("system:") and role not in BUILTIN_CLUSTER_ROLES:
                kube.delete(path("rbac.authorization.k8s.io/v1", "clusterroles", role))
    kube.wait(lambda: kube.get(path("v1", "namespaces", "wasp"), default=None) is None, 120,
              what="namespace wasp to be deleted")


def _reset_machine_config(kube):
    for kc in kube.list(path(MCFG, "kubeletconfigs")):
        kc_path = path(MCFG, "kubeletconfigs", kc["metadata"]["name"])
        kube.merge_patch(kc_path, {"metadata": {"finalizers": None}})
        kube.delete(kc_path)
    for crc in kube.list(path(MCFG, "containerruntimeconfigs")):
        kube.delete(path(MCFG, "containerruntimeconfigs", crc["metadata"]["name"]))
    for pool in kube.list(path(MCFG, "machineconfigpools")):
        if pool["metadata"]["name"] not in ("master", "worker"):
            kube.delete(path(MCFG, "machineconfigpools", pool["metadata"]["name"]))
    for mc in kube.list(path(MCFG, "machineconfigs")):
        if mc["metadata"]["name"] not in SEED_MCS:
            kube.delete(path(MCFG, "machineconfigs", mc["metadata"]["name"]))
    seed_pools(kube)
    # Retarget the pools on their seed rendered configs and mark them settled there.
    mcs = [base_machine_config(role) for role in ("master", "worker")]
    for pool in kube.list(path(MCFG, "machineconfigpools")):
        selected = [mc for mc in mcs if selector_matches(pool["spec"]["machineConfigSelector"], mc["metadata"]["labels"])]
        ensure_rendered(kube, pool, selected)
        pool = kube.get(path(MCFG, "machineconfigpools", pool["metadata"]["name"]))
        kube.merge_patch(path(MCFG, "machineconfigpools", pool["metadata"]["name"], subresource="status"),
                         {"status": {"configuration": pool["spec"]["configuration"], "conditions": [],
                                     "observedGeneration": pool["metadata"]["generation"]}})


def _reset_nodes(kube, run_dir):
    """Nodes on their pool's seed config, uncordoned, their disks (swap file, files) wiped; the
    emulator then re-adopts them without a reboot."""
    for node in kube.list(path("v1", "nodes")):
        name = node["metadata"]["name"]
        shutil.rmtree(Path(run_dir) / "nodes" / name, ignore_errors=True)
        annotations = {k: None for k in (node["metadata"].get("annotations") or {})
                       if k.startswith("machineconfiguration.openshift.io/") or k.startswith("localcluster.ocpv.io/")}
        kube.merge_patch(path("v1", "nodes", name), {"metadata": {"annotations": annotations or None},
                                                     "spec": {"unschedulable": None}})
        NodeDisk(run_dir, name).write_meminfo(node_mem_total_kb(node), 0)


def _reset_virtualization(kube, rel):
    """HCO back to its install state for `rel` (CRD variant included), KubeVirt at 100, no
    HCO wasp-agent, one CSV."""
    for collection, body in hco_wasp_objects():
        kube.delete(f"{collection}/{body['metadata']['name']}")
    kube.delete(path("apps/v1", "daemonsets", "wasp-agent", HCO_NAMESPACE))
    crd = kube.get(path("apiextensions.k8s.io/v1", "customresourcedefinitions", HCO_CRD), default=None)
    wanted = hco_crd(rel)
    if crd is None or [v["name"] for v in crd["spec"]["versions"] if v["served"]] != \
            [v["name"] for v in wanted["spec"]["versions"] if v["served"]]:
        # A different variant: recreate the object under the new CRD (nothing to convert at reset).
        for hc_version in ("v1", "v1beta1"):  # 404 (gone, or version not served) is fine
            kube.delete(path(f"hco.kubevirt.io/{hc_version}", "hyperconvergeds", HCO_NAME, HCO_NAMESPACE))
    _replace_hco_crd(kube, wanted)  # also when only the overcommit minimum differs
    for csv in kube.list(path("operators.coreos.com/v1alpha1", "clusterserviceversions", namespace=HCO_NAMESPACE)):
        if csv["metadata"]["name"] != rel.csv_name:
            kube.delete(path("operators.coreos.com/v1alpha1", "clusterserviceversions", csv["metadata"]["name"], HCO_NAMESPACE))
    seed_virtualization(kube, rel)  # whole-object replace: spec {} again, annotations gone


def _replace_hco_crd(kube, wanted):
    """Swap the HyperConverged CRD variant; storedVersions must only name versions the new CRD
    keeps, so drop the others first (the caller made sure no object is stored in them)."""
    crd_path = path("apiextensions.k8s.io/v1", "customresourcedefinitions", HCO_CRD)
    crd = kube.get(crd_path, default=None)
    if crd is not None:
        keep = {v["name"] for v in wanted["spec"]["versions"]}
        stored = [v for v in dig(crd, "status", "storedVersions", default=[]) if v in keep]
        if stored != dig(crd, "status", "storedVersions", default=[]):
            kube.merge_patch(crd_path + "/status", {"status": {"storedVersions": stored or
                                                               [v["name"] for v in wanted["spec"]["versions"] if v["storage"]]}})
    kube.apply(path("apiextensions.k8s.io/v1", "customresourcedefinitions"), wanted)
    wait_established(kube, HCO_CRD)
    # The version clients use is the newest served one, not the storage version (4.22 stores
    # v1beta1 and serves only v1 here, see hco_crd()).
    version = next(v["name"] for v in wanted["spec"]["versions"] if v["served"])

    def served():
        try:
            return kube.list(path(f"hco.kubevirt.io/{version}", "hyperconvergeds")) is not None
        except ApiError:
            return False
    kube.wait(served, 30, what=f"hyperconvergeds.hco.kubevirt.io/{version} to be served")


# =============================================================================================
# upgrade
# =============================================================================================

UPGRADE_PHASES = ("start", "control-plane", "finish")


def upgrade(kubeconfig, release, run_dir=None, phase=None):
    """A minor upgrade as the cluster would see it: ClusterVersion history, the new CSV replacing
    the old one, the new HyperConverged CRD variant with the overcommit carried over (what HCO's
    conversion webhook would show). MachineConfigs, pools, the collection's objects stay; the
    OS update rollout an upgrade also brings is not emulated. What the new release's MCO does
    re-generate is: the MachineConfig of a KubeletConfig carries the MCO's Ignition version (3.4.0
    up to 4.18, 3.5.0 from 4.19), so e.g. 4.16 -> 4.20 with a KubeletConfig rolls the pool out
    (one reboot per node, as the real upgrade's rollout would). Like a real upgrade, this returns
    once that rollout is done (pools Updated). run_dir (optional) pauses the emulator meanwhile
    and enables that wait.

    phase (optional) splits the upgrade the way a cluster goes through it, for tests of what
    happens mid-upgrade (upgrade_phase below): "start", "control-plane", then "finish"; None
    does all at once (the finish part alone, as before)."""
    if phase is not None:
        return upgrade_phase(kubeconfig, release, run_dir, phase)
    kube = Kube(kubeconfig)
    old, new = current_release(kube), releases.get(release)
    if new.minor < old.minor:
        raise ValueError(f"cannot upgrade from {old.name} down to {new.name}; use reset(release=...)")
    _finish_upgrade(kube, old, new, run_dir)


def upgrade_phase(kubeconfig, release, run_dir, phase):
    """One phase of a minor upgrade (ClusterVersion fields: openshift/api config/v1, history newest
    first, Partial while under way):
    - start: ClusterVersion desired = the new release, a Partial history entry on top of the
      Completed old one, Progressing True "Working towards ..."; the emulated MCO stays the old
      release's (annotation localcluster.ocpv.io/mco-release on the ClusterVersion), the emulated
      HCO that of the installed CSV (OLM upgrades OpenShift Virtualization later);
    - control-plane: the MCO becomes the new release's (it renders and validates KubeletConfigs as
      the new MCO does), then the master pool updates its OS (00-master gets the new release's osImageURL:
      one reboot per master, a rendered config annotated with the new release-image-version as
      MCO's render controller does); returns once the pools are Updated. The worker pools' OS
      update is not emulated (as in upgrade());
    - finish: what upgrade() does (CSV, HyperConverged CRD variant), the history entry Completed."""
    if phase not in UPGRADE_PHASES:
        raise ValueError(f"unknown upgrade phase {phase!r}; choose one of {', '.join(UPGRADE_PHASES)}")
    kube = Kube(kubeconfig)
    new = releases.get(release)
    cv_path = path("config.openshift.io/v1", "clusterversions", "version")
    cv = kube.get(cv_path)
    history = dig(cv, "status", "history", default=[]) or []
    completed = next(h["version"] for h in history if h.get("state") == "Completed")
    old = releases.from_cluster_version(completed)
    if new.minor <= old.minor:
        raise ValueError(f"cannot upgrade from {old.name} to {new.name}")
    if phase == "start":
        with held_emulator(run_dir) if run_dir else contextlib.nullcontext():
            stamp = now()
            image = f"quay.io/openshift-release-dev/ocp-release@sha256:{_fake_digest(new.ocp_version)}"
            status = copy.deepcopy(cv["status"])
            status["desired"] = {"version": new.ocp_version, "image": image, "channels": [f"stable-{new.name}"]}
            status["history"] = [{"state": "Partial", "version": new.ocp_version, "image": image, "verified": False,
                                  "startedTime": stamp, "completionTime": None}] + \
                [h for h in history if h.get("version") != new.ocp_version]
            status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != "Progressing"] + [
                {"type": "Progressing", "status": "True", "lastTransitionTime": stamp,
                 "message": f"Working towards {new.ocp_version}: 512 of 901 done (56% complete)"}]
            kube.replace_status(cv_path, status)
            kube.merge_patch(cv_path, {"metadata": {"annotations": {MCO_RELEASE_ANNOTATION: old.ocp_version}}})
        return
    if phase == "control-plane":
        # The CVO reaches the machine-config operator: the new MCO renders, then the masters update.
        kube.merge_patch(cv_path, {"metadata": {"annotations": {MCO_RELEASE_ANNOTATION: None}}})
        kube.merge_patch(path(MCFG, "machineconfigs", "00-master"), {"spec": {
            "osImageURL": f"quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:{_fake_digest('rhcos-' + new.ocp_version)}"}})
        if run_dir and emulator_pid(run_dir):
            topology = _topology(run_dir)
            kube.wait(lambda: not settled(kube, topology), 30, what="the master pool to start updating")
            settle(kube, run_dir, topology, timeout=300)
        return
    cv_old_status = dict(cv["status"], history=[h for h in history if h.get("state") == "Completed"])
    _finish_upgrade(kube, old, new, run_dir, cv_status=cv_old_status)


def _finish_upgrade(kube, old, new, run_dir, cv_status=None):
    with held_emulator(run_dir) if run_dir else contextlib.nullcontext():
        if new.hco_api_version != old.hco_api_version:
            old_path = path(f"hco.kubevirt.io/{old.hco_api_version}", "hyperconvergeds", HCO_NAME, HCO_NAMESPACE)
            hc = kube.get(old_path, default=None)
            overcommit = dig(hc, *old.overcommit_path)
            _replace_hco_crd(kube, hco_crd(new))
            if hc is not None:
                # HCO's conversion webhook would rewrite the whole spec into the new version's
                # shape; without it the stored v1beta1 spec (e.g. featureGates as an object, an
                # array in upstream's v1) fails the v1 schema on every write. The harness
                # replaces the spec: the new version's defaults plus the overcommit, the only
                # field the collection sets.
                new_path = path(f"hco.kubevirt.io/{new.hco_api_version}", "hyperconvergeds", HCO_NAME, HCO_NAMESPACE)
                current = kube.get(new_path)
                spec = {}
                if overcommit is not None:
                    cursor = spec
                    for key in new.overcommit_path[1:-1]:
                        cursor = cursor.setdefault(key, {})
                    cursor[new.overcommit_path[-1]] = overcommit
                kube.replace(new_path, {"apiVersion": f"hco.kubevirt.io/{new.hco_api_version}", "kind": "HyperConverged",
                                        "metadata": current["metadata"], "spec": spec})
        elif new.overcommit_minimum != old.overcommit_minimum:
            kube.apply(path("apiextensions.k8s.io/v1", "customresourcedefinitions"), hco_crd(new))
        seed_csv(kube, new, replaces=old.csv_name)
        if new.csv_name != old.csv_name:
            kube.delete(path("operators.coreos.com/v1alpha1", "clusterserviceversions", old.csv_name, HCO_NAMESPACE))
        cv = kube.get(path("config.openshift.io/v1", "clusterversions", "version"))
        seed_cluster_version(kube, new, previous_status=cv_status or cv.get("status"))
    if run_dir and emulator_pid(run_dir):
        settle(kube, run_dir, _topology(run_dir), timeout=300)


def main(argv=None):
    p = argparse.ArgumentParser(description="Install/reset/upgrade the emulated OpenShift layer.")
    p.add_argument("action", choices=["install", "reset", "upgrade"])
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--run-dir")
    p.add_argument("--release")
    p.add_argument("--topology", default="ha", choices=sorted(CONTROL_PLANE_TOPOLOGY))
    args = p.parse_args(argv)
    if args.action == "install":
        install(args.kubeconfig, args.run_dir, args.release or releases.DEFAULT, args.topology)
    elif args.action == "reset":
        reset(args.kubeconfig, args.run_dir, args.release)
    else:
        upgrade(args.kubeconfig, args.release, args.run_dir)


if __name__ == "__main__":
    main()
