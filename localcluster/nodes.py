"""The emulated nodes: what a machine-config-daemon's reboot leaves on a node's disk (files, units,
the swap file, /proc/meminfo), whether its kubelet starts, and the kubelet's view of wasp-agent pods."""

import base64
import gzip
import json
import logging
import re
import shlex
import time
import urllib.parse
from pathlib import Path

import yaml

try:  # imported as localcluster.nodes (tests) or run as a script from localcluster/
    from . import releases
    from .apiobjects import atomic_write, dig, now, quantity_bytes
    from .kubeapi import ApiError, path
except ImportError:
    import releases
    from apiobjects import atomic_write, dig, now, quantity_bytes
    from kubeapi import ApiError, path

log = logging.getLogger("emulator")

SWAP_ENV_FILE = "/etc/ocpv-density/swap.env"           # docs/development.md "Swap MachineConfig shape"
CONTRACT_SWAP_FILE = "/var/ocpswap.file"                # the script's default OCPV_SWAP_FILE
LEGACY_SWAP_FILE = "/var/tmp/swapfile"                  # earlier releases and the 4.16-4.21 docs
KUBELET_CONF = "/etc/kubernetes/kubelet.conf"
KUBELET_CONF_DIR = "/etc/openshift/kubelet.conf.d"


def decode_file_contents(file_entry):
    """Bytes of an Ignition storage.files entry (data: URL, base64 or percent-encoded, gzip)."""
    source = dig(file_entry, "contents", "source", default="") or ""
    if not source.startswith("data:"):
        return b""  # remote sources are not fetched by the emulated nodes
    header, data = (source[5:].split(",", 1) + [""])[:2]
    raw = base64.b64decode(data) if header.endswith(";base64") else urllib.parse.unquote_to_bytes(data)
    if dig(file_entry, "contents", "compression") == "gzip":
        raw = gzip.decompress(raw)
    return raw


def config_files(config):
    """{path: text} of the files an Ignition config writes."""
    return {f["path"]: decode_file_contents(f).decode(errors="replace")
            for f in dig(config, "storage", "files", default=[]) or []}


def enabled_units(config):
    """{name: contents} of the systemd units the config enables (and does not mask)."""
    return {u["name"]: u.get("contents") or "" for u in dig(config, "systemd", "units", default=[]) or []
            if u.get("enabled") and not u.get("mask")}


def parse_env(text):
    """KEY=value lines (shell-style quoting allowed) -> dict."""
    env = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key.strip().removeprefix("export ").strip()] = " ".join(shlex.split(value)) if value.strip() else ""
    return env


def unit_environment(unit_text):
    """Environment= assignments of a unit -> dict."""
    env = {}
    for line in unit_text.splitlines():
        if line.strip().startswith("Environment="):
            for item in shlex.split(line.strip()[len("Environment="):]):
                key, value = (item.split("=", 1) + [""])[:2]
                env[key] = value
    return env


_FALLOCATE = re.compile(r"fallocate\s+-l\s+(\S+?)M?\s+(\S+)")
_DD = re.compile(r"\bdd\b[^\n;&|]*")


def fixed_swap_unit(unit_text):
    """(size MiB, path) of a unit that provisions a swap file the documented way, else None:
    `fallocate -l <n>M <path>` or `dd if=/dev/zero of=<path> bs=1M count=<n>`, where <n> may be
    ${SWAP_SIZE_MB} from an Environment= line."""
    env = unit_environment(unit_text)

    def number(word):
        word = re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), ""), word)
        return int(word) if word.isdigit() else None

    m = _FALLOCATE.search(unit_text)
    if m and "mkswap" in unit_text:
        size = number(m.group(1))
        return (size, m.group(2).strip("\"'")) if size else None
    for dd in _DD.findall(unit_text):
        args = dict(a.split("=", 1) for a in dd.split() if "=" in a)
        if args.get("bs") in ("1M", "1MiB") and "mkswap" in unit_text and number(args.get("count", "")):
            return number(args["count"]), args.get("of", "").strip("\"'")
    return None


def _condition_path(unit_text):
    """ConditionPathExists= of a unit as (negated, path), or None."""
    m = re.search(r"^ConditionPathExists=(!?)(\S+)", unit_text, re.M)
    return (m.group(1) == "!", m.group(2)) if m else None


def boot_swap(config, mem_total_kb, existing_swapfile_mib):
    """Swap after a node boots into `config`: returns (active swap MiB, swap file MiB or None).

    Two shapes are understood, both as a real node would execute them:
    - the collection's contract (docs/development.md "Swap MachineConfig shape"): swap.env with
      OCPV_SWAP_OVERCOMMIT_PERCENT=P and swap-provision.service enabled -> the script sizes the
      file from MemTotal, (re)creates it if missing or of another size, and swapons it each boot;
    - the documented fixed-size units (SWAP_SIZE_MB / fallocate / dd): the provisioning unit runs
      unless its ConditionPathExists=!<file> finds the file already there, and only units that run
      swapon activate swap - so the two-unit MC of the 4.17-4.19 docs loses swap on the second
      boot unless a swap-enable unit exists (as the 4.21 docs added).
    """
    files, units = config_files(config), enabled_units(config)
    env_text = files.get(SWAP_ENV_FILE)
    if env_text is not None and "swap-provision.service" in units:
        env = parse_env(env_text)
        if env.get("OCPV_SWAP_SIZE_MIB"):  # fixed size (swap_size_mib, rendered offline)
            size = int(env["OCPV_SWAP_SIZE_MIB"])
        else:
            percent = int(env.get("OCPV_SWAP_OVERCOMMIT_PERCENT", "100"))
            size = mem_total_kb * (percent - 100) // 100 // 1024
        return (size, size) if size > 0 else (0, None)  # the script removes the file at <= 100 %

    swap, swapfile = 0, existing_swapfile_mib
    for name in sorted(units):
        text = units[name]
        provision = fixed_swap_unit(text)
        cond = _condition_path(text)
        if provision:
            size = provision[0]
            if cond and cond[0] and swapfile is not None:
                continue  # ConditionPathExists=!file: skipped, the file is already there
            swapfile = size
            if "swapon" in text:
                swap = size
        elif "swapon" in text and swapfile is not None:
            if cond and (cond[0] == (swapfile is not None)):
                continue
            swap = swapfile
    return swap, swapfile


def kubelet_reads_dropins(release, pool):
    """Whether the pool's kubelet.service runs with --config-dir=/etc/openshift/kubelet.conf.d.
    MCO templates/<role>/01-<role>-kubelet/_base/units/kubelet.service.yaml: the worker unit (also
    used by custom pools) has it from release-4.21 (fc21115e5), the master and arbiter units only
    from release-4.23 (36c7cead4)."""
    if pool in ("master", "arbiter"):
        return release.minor >= (4, 23)
    return release.minor >= (4, 21)


def contract_swap_file(config):
    """The swap file path of the collection's contract (OCPV_SWAP_FILE in swap.env, the script's
    default otherwise), or None when the config does not follow the contract."""
    files, units = config_files(config), enabled_units(config)
    if files.get(SWAP_ENV_FILE) is None or "swap-provision.service" not in units:
        return None
    return parse_env(files[SWAP_ENV_FILE]).get("OCPV_SWAP_FILE") or CONTRACT_SWAP_FILE


def provisioning_unit(config):
    """Name of the unit that creates the swap file (contract or documented shape), or None."""
    units = enabled_units(config)
    if contract_swap_file(config) is not None:
        return "swap-provision.service"
    return next((name for name in sorted(units) if fixed_swap_unit(units[name])), None)


def kubelet_dependency_error(config, failed_unit):
    """Why the kubelet does not start because `failed_unit` failed, or None. A unit that
    kubelet-dependencies.target (or kubelet.service) *requires* (RequiredBy= in [Install]) fails
    the target and the kubelet is never started; one it only wants (WantedBy=) does not
    (systemd.unit(5) Requires= vs Wants=; openshift/openshift-docs 1fe4a88
    modules/virt-enabling-higher-vm-workload-density.adoc)."""
    if not failed_unit:
        return None
    text = enabled_units(config).get(failed_unit, "")
    for line in text.splitlines():
        key, _sep, value = line.strip().partition("=")
        if key == "RequiredBy" and {"kubelet-dependencies.target", "kubelet.service"} & set(value.split()):
            return (f"Dependency failed for Kubernetes Kubelet: {failed_unit} failed (its swap file does not fit "
                    f"the disk) and is required by {value.strip()}")
    return None


def kubelet_swap_error(config, release, pool):
    """Why the kubelet would refuse to start with swap on, or None. The kubelet's failSwapOn
    defaults to true; MCO's template sets it false for workers from 4.21 (masters keep true); a
    KubeletConfig's generated kubelet.conf or, where the kubelet reads them
    (kubelet_reads_dropins), a drop-in in /etc/openshift/kubelet.conf.d can set it."""
    fail_swap_on = not (release.minor >= (4, 21) and pool not in ("master", "arbiter"))
    files = config_files(config)
    if KUBELET_CONF in files:
        fail_swap_on = (yaml.safe_load(files[KUBELET_CONF]) or {}).get("failSwapOn", fail_swap_on)
    if kubelet_reads_dropins(release, pool):
        for p in sorted(p for p in files if p.startswith(KUBELET_CONF_DIR + "/") and p.endswith(".conf")):
            fail_swap_on = (yaml.safe_load(files[p]) or {}).get("failSwapOn", fail_swap_on)
    if fail_swap_on:
        return "failed to run Kubelet: running with swap on is not supported, please disable swap or set --fail-swap-on flag to false"
    return None


def kubelet_down_conditions(conditions):
    """A node's conditions once its kubelet stopped posting status: what the node lifecycle
    controller writes (pkg/controller/nodelifecycle: every condition Unknown, NodeStatusUnknown,
    "Kubelet stopped posting node status."), Ready included even if it was missing."""
    stamp = now()
    down = [{**c, "status": "Unknown", "reason": "NodeStatusUnknown", "message": "Kubelet stopped posting node status.",
             "lastTransitionTime": stamp, "lastHeartbeatTime": c.get("lastHeartbeatTime") or stamp}
            for c in conditions or []]
    if not any(c.get("type") == "Ready" for c in down):
        down.append({"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
                     "message": "Kubelet stopped posting node status.", "lastTransitionTime": stamp, "lastHeartbeatTime": stamp})
    return down


def meminfo(mem_total_kb, swap_kb):
    free = mem_total_kb * 9 // 10
    return (f"MemTotal:       {mem_total_kb:>10} kB\n"
            f"MemFree:        {free:>10} kB\n"
            f"MemAvailable:   {free:>10} kB\n"
            f"SwapCached:     {0:>10} kB\n"
            f"SwapTotal:      {swap_kb:>10} kB\n"
            f"SwapFree:       {swap_kb:>10} kB\n")


# --- wasp-agent: what each agent version asks of the API server ----------------------------
# (verb, resource) in the core API group the agent needs to run. Upstream, per version:
# - v1.0 (4.16 Technology Preview; tag v1.0 c6071e0 contrib/agent.sh): a bash script that tunes
#   cgroups and copies the OCI hook; it makes no API request at all.
# - v1.1 (4.17-4.19; tag v1.1 03ca680 / branch release-4.19 da5404d): pkg/informers/informers.go
#   lists and watches pods and nodes, pkg/wasp/application.go waits for both caches before the
#   limited-swap manager and eviction controller start, pkg/taints/taints.go patches the node
#   (waspEvictionTaint), pkg/wasp/pod-evictor deletes pods; the ClusterRole it ships
#   (pkg/wasp/resources/operator/operator.go) is nodes watch/list/update/patch + pods
#   delete/watch/list, which is what is required here.
# - v1.2 (4.20+; release-4.20 / main ff5e210): only the pod informer (pods list/watch), as HCO's
#   ClusterRole wasp-cluster grants (HCO release-1.16 controllers/handlers/wasp-agent/rbac.go).
# A real v1.1 agent without nodes list/watch does not exit: it waits forever for its node cache
# and never limits swap. The emulator makes that silent failure visible the way a broken agent
# shows up, the container waiting in CrashLoopBackOff and not ready, so a rollout wait stops.
WASP_AGENT_NEEDS = {
    "v1.0": (),
    "v1.1": (("list", "nodes"), ("watch", "nodes"), ("update", "nodes"), ("patch", "nodes"),
             ("list", "pods"), ("watch", "pods"), ("delete", "pods")),
    "v1.2": (("list", "pods"), ("watch", "pods")),
}
CRASH_LOOP = "CrashLoopBackOff"
_IMAGE_TAG_MINOR = re.compile(r":v(\d+)\.(\d+)$")


def wasp_agent_version(image, release_minor, csv_images=None):
    """The wasp-agent version an image runs: a documented tag (:v4.16, :v4.17), else the release
    whose CSV ships that image (`csv_images`: {image: (4, minor)}), else the cluster's release."""
    match = _IMAGE_TAG_MINOR.search(image or "")
    minor = (int(match.group(1)), int(match.group(2))) if match else (csv_images or {}).get(image, release_minor)
    if minor < (4, 17):
        return "v1.0"
    return "v1.1" if minor < (4, 20) else "v1.2"


def service_account_user(namespace, name):
    """The user and groups the API server authenticates a ServiceAccount token as."""
    return (f"system:serviceaccount:{namespace}:{name}",
            ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"))


def pod_crash_looping(pod):
    statuses = dig(pod, "status", "containerStatuses", default=[]) or []
    return any(dig(c, "state", "waiting", "reason") == CRASH_LOOP for c in statuses)


def agent_pod_status(pod, missing, version):
    """The pod status a kubelet reports for the agent: running and ready, or (rights missing)
    its container restarting in CrashLoopBackOff, not ready."""
    stamp = now()
    ready = "False" if missing else "True"
    conditions = [dict(c, status=ready, lastTransitionTime=stamp) if c.get("type") in ("Ready", "ContainersReady") else c
                  for c in dig(pod, "status", "conditions", default=[]) or []]
    old = {c.get("name"): c for c in dig(pod, "status", "containerStatuses", default=[]) or []}
    statuses = []
    for container in pod["spec"]["containers"]:
        restarts = dig(old.get(container["name"]), "restartCount", default=0) or 0
        entry = {"name": container["name"], "image": container["image"], "ready": not missing, "started": not missing}
        if missing:
            why = (f"wasp-agent {version} cannot start: its ServiceAccount may not "
                   + ", ".join(f"{verb} {resource}" for verb, resource in missing) + " (SubjectAccessReview)")
            entry.update(restartCount=restarts + 1, state={"waiting": {"reason": CRASH_LOOP, "message": why}},
                         lastState={"terminated": {"exitCode": 1, "reason": "Error", "message": why,
                                                   "startedAt": stamp, "finishedAt": stamp}})
        else:
            entry.update(restartCount=restarts, state={"running": {"startedAt": stamp}})
        statuses.append(entry)
    return {"conditions": conditions, "containerStatuses": statuses}


# =============================================================================================
# Node state on disk: <run>/nodes/<node>/
# =============================================================================================

class NodeDisk:
    """The emulated node's filesystem: proc/meminfo, root/<path> for files its config wrote,
    a small marker standing for the swap file at its path (root/var/ocpswap.file for the
    contract, root/var/tmp/swapfile for the documented units; it survives reboots)."""

    def __init__(self, run_dir, node):
        self.dir = Path(run_dir) / "nodes" / node
        self.root = self.dir / "root"
        self.manifest = self.dir / "config-files.json"   # paths the current config wrote

    def swapfile_mib(self, swap_path="/var/tmp/swapfile"):
        marker = self.root / swap_path.lstrip("/")
        try:
            return int(marker.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def write_meminfo(self, mem_total_kb, swap_mib):
        (self.dir / "proc").mkdir(parents=True, exist_ok=True)
        atomic_write(self.dir / "proc" / "meminfo", meminfo(mem_total_kb, swap_mib * 1024))

    def has_meminfo(self):
        return (self.dir / "proc" / "meminfo").exists()

    def boot(self, config, mem_total_kb, disk_free_mib=None):
        """Write what `config` puts on disk (removing what the previous config wrote and this one
        does not, as the machine-config-daemon does), then bring up swap. Returns swap MiB.
        A swap file that must be (re)created and is larger than `disk_free_mib` is not created:
        the node has no swap, and a documented provisioning unit fails (`self.failed_unit`; the
        collection's script exits 0 instead)."""
        self.failed_unit = None
        written = []
        for p, entry in ((f["path"], f) for f in dig(config, "storage", "files", default=[]) or []):
            target = self.root / p.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(decode_file_contents(entry))
            target.chmod((entry.get("mode") or 0o644) & 0o777)
            written.append(p)
        for unit in dig(config, "systemd", "units", default=[]) or []:
            unit_dir = f"/etc/systemd/system/{unit['name']}"
            if unit.get("contents") is not None:
                self._write(unit_dir, unit["contents"])
                written.append(unit_dir)
            for dropin in unit.get("dropins") or []:
                p = f"{unit_dir}.d/{dropin['name']}"
                self._write(p, dropin.get("contents") or "")
                written.append(p)
        try:
            previous = json.loads(self.manifest.read_text())
        except (OSError, ValueError):
            previous = []
        for p in set(previous) - set(written):
            (self.root / p.lstrip("/")).unlink(missing_ok=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self.manifest, json.dumps(sorted(written)))

        contract_file = contract_swap_file(config)
        swap_path = contract_file or LEGACY_SWAP_FILE
        if contract_file is not None and contract_file != LEGACY_SWAP_FILE:
            # The script turns off and removes an old /var/tmp/swapfile first (same boot).
            (self.root / LEGACY_SWAP_FILE.lstrip("/")).unlink(missing_ok=True)
        existing = self.swapfile_mib(swap_path)
        swap_mib, swapfile_mib = boot_swap(config, mem_total_kb, existing)
        if swapfile_mib is not None and swapfile_mib != existing and disk_free_mib is not None \
                and swapfile_mib > disk_free_mib:
            # the contract's script exits 0 with swap off (issue 21); a documented unit fails
            self.failed_unit = None if contract_file is not None else provisioning_unit(config)
            swap_mib, swapfile_mib = 0, None        # no partial file is left behind
        if swapfile_mib is None:
            (self.root / swap_path.lstrip("/")).unlink(missing_ok=True)
        else:
            self._write(swap_path, f"{swapfile_mib} MiB swap file (emulated marker)\n")
        self.write_meminfo(mem_total_kb, swap_mib)
        return swap_mib

    def _write(self, p, text):
        target = self.root / p.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def node_mem_total_kb(node):
    return quantity_bytes(dig(node, "status", "capacity", "memory", default="0")) // 1024


class NodeAgents:
    """The kubelet's side of the wasp-agent pods (mixin of emulator.Emulator)."""

    # --- kwok exec for wasp-agent pods ---------------------------------------------------------
    def sync_wasp_execs(self, wasp_daemonsets):
        """Every pod of a DaemonSet named wasp-agent gets a kwok Exec (named after the pod) whose
        local exec runs with FSROOT=<run>/nodes/<node>: the verify role's
        `cat ${FSROOT:-/host}/proc/meminfo` then reads the emulated node."""
        namespaces = {ds["metadata"]["namespace"] for ds in wasp_daemonsets}
        seen = set()
        for ns in sorted(namespaces):
            for pod in self.kube.list(path("v1", "pods", namespace=ns)):
                owners = pod["metadata"].get("ownerReferences") or []
                node = dig(pod, "spec", "nodeName")
                if not node or not any(o.get("kind") == "DaemonSet" and o.get("name") == "wasp-agent" for o in owners):
                    continue
                key = (ns, pod["metadata"]["name"])
                seen.add(key)
                if key not in self.execs:
                    self._create_exec(pod, node)
        self.execs &= seen  # the Execs of deleted pods go with them (owner reference)

    # --- wasp-agent pods: running, or crash-looping for want of API rights -----------------------
    def sync_wasp_agent_health(self, release, wasp_daemonsets):
        """A running pod of a DaemonSet named wasp-agent is ready only while its ServiceAccount
        holds what its agent version needs (WASP_AGENT_NEEDS), judged by the API server's
        authorizer (SubjectAccessReview as that ServiceAccount); otherwise its container is
        reported waiting in CrashLoopBackOff, not ready. Rights come back -> ready again."""
        csv_images = None
        for ds in wasp_daemonsets:
            ns = ds["metadata"]["namespace"]
            pod_spec = dig(ds, "spec", "template", "spec", default={}) or {}
            sa = pod_spec.get("serviceAccountName") or pod_spec.get("serviceAccount") or "default"
            for pod in self.kube.list(path("v1", "pods", namespace=ns)):
                owners = pod["metadata"].get("ownerReferences") or []
                if (not any(o.get("kind") == "DaemonSet" and o.get("uid") == ds["metadata"]["uid"] for o in owners)
                        or pod["metadata"].get("deletionTimestamp") or dig(pod, "status", "phase") != "Running"):
                    continue
                if csv_images is None:
                    csv_images = {r.wasp_agent_image: r.minor for r in map(releases.get, releases.SUPPORTED) if r.wasp_agent_image}
                version = wasp_agent_version(pod["spec"]["containers"][0].get("image"), release.minor, csv_images)
                missing = self._missing_rights(ns, sa, version)
                if bool(missing) != pod_crash_looping(pod):
                    self.kube.merge_patch(path("v1", "pods", pod["metadata"]["name"], ns, subresource="status"),
                                          {"status": agent_pod_status(pod, missing, version)})
                    log.info("wasp-agent pod %s/%s %s", ns, pod["metadata"]["name"],
                             "crash-looping: lacks " + ", ".join(" ".join(m) for m in missing) if missing else "running")

    def _missing_rights(self, ns, sa, version):
        """The (verb, resource) of WASP_AGENT_NEEDS[version] the ServiceAccount lacks; asked again
        after 2 s while something is missing, after 5 s otherwise (a few reviews, not one a cycle)."""
        key = (ns, sa, version)
        expiry, missing = self.rights.get(key, (0, None))
        if time.monotonic() < expiry:
            return missing
        user, groups = service_account_user(ns, sa)
        missing = [need for need in WASP_AGENT_NEEDS[version] if not self.kube.allowed(user, groups, *need)]
        self.rights[key] = (time.monotonic() + (2 if missing else 5), missing)
        return missing

    def _create_exec(self, pod, node):
        node_dir = str((self.run_dir / "nodes" / node).resolve())
        (self.run_dir / "nodes" / node).mkdir(parents=True, exist_ok=True)
        body = {
            "apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Exec",
            "metadata": {"name": pod["metadata"]["name"], "namespace": pod["metadata"]["namespace"],
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": pod["metadata"]["name"],
                                              "uid": pod["metadata"]["uid"]}]},
            "spec": {"execs": [{"local": {"workDir": node_dir, "envs": [{"name": "FSROOT", "value": node_dir}]}}]},
        }
        try:
            self.kube.create(path("kwok.x-k8s.io/v1alpha1", "execs", namespace=pod["metadata"]["namespace"]), body)
        except ApiError as e:
            if e.status == 404:
                if not self.exec_crd_missing_logged:
                    log.warning("kwok Exec CRD not installed: wasp-agent exec will not see FSROOT")
                    self.exec_crd_missing_logged = True
                return
            if e.status != 409:
                raise
        self.execs.add((pod["metadata"]["namespace"], pod["metadata"]["name"]))
