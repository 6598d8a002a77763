"""The local emulated OpenShift cluster: lifecycle (up, down, status, reset).

A real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
built by localcluster/build.sh) on 127.0.0.1 with kwok as the kubelets of emulated nodes, then the
OpenShift layer (openshift.install: CRDs + seed objects) and the operator emulator (emulator.py).
No containers; every component is a local process in its own process group.

    python localcluster/cluster.py up     [--name default] [--release 4.16] [--topology ha|compact|sno|hcp]
    python localcluster/cluster.py down   [--name default]
    python localcluster/cluster.py status [--name default]
    python localcluster/cluster.py reset  [--name default] [--release 4.20]

Importable: up(name, release, topology) -> ClusterInfo, down(name), status(name), info(name),
reset(name, release), set_node_exec_env(api_client, pod, node_dir), restart_component(name,
component) (start a component that died, or that a fault test killed, with its command line).

Run directory: <repo>/.localcluster/<name>/ (env OCPV_LOCALCLUSTER_DIR moves the parent).
Environment overrides (mostly for tests): OCPV_LOCALCLUSTER_BIN_DIR (the binaries; default: the
build cache, `bash localcluster/build.sh --print-dir`), OCPV_LOCALCLUSTER_PORTS
("kube-apiserver=6443,kwok=10250": fixed ports instead of free ones), OCPV_LOCALCLUSTER_TIMEOUT
(seconds a component may take to become ready, default 120).

Layout, identities and the kwok exec contract: docs/development.md and localcluster/README.md.
"""

import argparse
import contextlib
import dataclasses
import fcntl
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

try:  # imported as localcluster.cluster or run/imported from localcluster/
    from . import topology as topo
except ImportError:
    import topology as topo

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
KWOK_DIR = HERE / "kwok"

# start order; teardown goes in reverse
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "emulator")
BINARIES = {"etcd": "etcd", "kube-apiserver": "kube-apiserver", "kube-controller-manager": "kube-controller-manager",
            "kube-scheduler": "kube-scheduler", "kwok": "kwok", "kubectl": "kubectl"}
PORTS = ("etcd", "etcd-peer", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
DEFAULT_RELEASE = "4.16"
SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
STATE_FILE = "cluster.json"

# client identities (audit user.username): see docs/development.md "Identities"
IDENTITIES = {
    # file stem: (CN, O)
    "admin": ("ocpv-admin", "system:masters"),                      # the collection, tests
    "emulator": ("system:ocpv-emulator", "system:masters"),         # localcluster/emulator.py
    "harness": ("system:ocpv-harness", "system:masters"),           # cluster.py / openshift.py setup
    "kwok": ("system:ocpv-kwok", "system:masters"),                 # kwok (the emulated kubelets)
    "kcm": ("system:kube-controller-manager", None),
    "scheduler": ("system:kube-scheduler", None),
}
KUBECONFIG_FILES = {"admin": "kubeconfig", "emulator": "emulator.kubeconfig", "harness": "harness.kubeconfig",
                    "kwok": "kwok.kubeconfig", "kcm": "kcm.kubeconfig", "scheduler": "scheduler.kubeconfig"}

_children = {}  # pid -> Popen of processes started by this Python process (reaped by down())


class ClusterError(Exception):
    """A failure to start or stop, with a message meant for the user."""

    def __init__(self, message, component=None, log=None):
        self.component, self.log = component, log
        super().__init__(message)


@dataclasses.dataclass
class ClusterInfo:
    name: str
    run_dir: Path
    kubeconfig: Path
    emulator_kubeconfig: Path
    harness_kubeconfig: Path
    audit_log: Path
    server: str
    ports: dict
    release: str
    topology: str
    nodes: list
    openshift: bool
    started: bool = False          # True when this call started it (False: it was already up)
    start_seconds: float = 0.0     # how long the start took (0 when already up)
    peak_rss_bytes: int = 0        # sum over components of their peak RSS (VmHWM)

    @property
    def export_line(self):
        return f"export KUBECONFIG={self.kubeconfig}"

    def node_dir(self, node):
        return self.run_dir / "nodes" / node

    def api_client(self, kubeconfig=None):
        """A kubernetes.client.ApiClient for this cluster (admin identity unless told)."""
        import kubernetes
        return kubernetes.config.new_client_from_config(config_file=str(kubeconfig or self.kubeconfig))


# =============================================================================================
# paths, configuration
# =============================================================================================

def runs_root():
    return Path(os.environ.get("OCPV_LOCALCLUSTER_DIR") or REPO / ".localcluster").resolve()


def run_dir(name="default"):
    return runs_root() / name


def bin_dir():
    override = os.environ.get("OCPV_LOCALCLUSTER_BIN_DIR")
    if override:
        return Path(override).resolve()
    out = subprocess.run(["bash", str(HERE / "build.sh"), "--print-dir"], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def component_timeout():
    return float(os.environ.get("OCPV_LOCALCLUSTER_TIMEOUT", "120"))


def _port_overrides():
    spec = os.environ.get("OCPV_LOCALCLUSTER_PORTS", "").strip()
    ports = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        key, value = item.split("=", 1) if "=" in item else (item, "")
        if key not in PORTS or not value.isdigit():
            raise ClusterError(f"OCPV_LOCALCLUSTER_PORTS: bad entry {item!r}; keys: {', '.join(PORTS)}")
        ports[key] = int(value)
    return ports


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pick_ports():
    ports = _port_overrides()
    taken = set(ports.values())
    for key in PORTS:
        while key not in ports:
            p = _free_port()
            if p not in taken:
                ports[key] = p
                taken.add(p)
    return ports


def _releases():
    try:
        try:
            from . import releases
        except ImportError:
            import releases
        return releases.SUPPORTED, releases.DEFAULT
    except ImportError:
        return ("4.16", "4.17", "4.18", "4.19", "4.20", "4.21", "4.22", "4.23"), DEFAULT_RELEASE


def _openshift():
    """The OpenShift layer module (localcluster/openshift.py), or None while it does not exist."""
    if not (HERE / "openshift.py").exists():
        return None
    try:
        from . import openshift
    except ImportError:
        import openshift
    return openshift


def _yaml():
    """PyYAML, imported when needed: down and status work with a bare python3 (make clean)."""
    import yaml
    return yaml


def _log(msg):
    print(f"[localcluster] {msg}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _locked(name):
    """One lifecycle operation per cluster name at a time (across processes)."""
    locks = runs_root() / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{name}.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _read_state(run):
    try:
        return json.loads((run / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None


def _write_state(run, state):
    tmp = run / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, run / STATE_FILE)


def _info_from_state(run, state, started=False):
    return ClusterInfo(
        name=state["name"], run_dir=run, kubeconfig=run / "kubeconfig", emulator_kubeconfig=run / "emulator.kubeconfig",
        harness_kubeconfig=run / "harness.kubeconfig", audit_log=run / "audit.log",
        server=f"https://127.0.0.1:{state['ports']['kube-apiserver']}", ports=dict(state["ports"]),
        release=state["release"], topology=state["topology"], nodes=list(state.get("nodes", [])),
        openshift=bool(state.get("openshift")), started=started, start_seconds=state.get("start_seconds", 0.0),
        peak_rss_bytes=state.get("peak_rss_bytes", 0))


# =============================================================================================
# processes
# =============================================================================================

def _proc_stat(pid):
    """(state, pgrp, session) of a process, or None when there is none."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[2]), int(fields[3])


def pid_alive(pid):
    """True if the process exists and is not a zombie."""
    st = _proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def _cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _ours(pid, run):
    """The process is alive and is one of this cluster's (its command line names the run dir)."""
    return pid_alive(pid) and f"{run}/" in _cmdline(pid)


def _session_members(sid):
    """Live processes of the session/process group `sid` (each component leads its own)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        st = _proc_stat(int(entry.name))
        if st and st[0] not in ("Z", "X") and (st[1] == sid or st[2] == sid):
            members.append(int(entry.name))
    return members


def _read_pids(run):
    pids = {}
    for f in sorted((run / "pids").glob("*.pid")):
        try:
            pids[f.stem] = int(f.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return pids


def _reap(pid):
    p = _children.pop(pid, None)
    if p is not None:
        with contextlib.suppress(Exception):
            p.wait(timeout=0.1)
        return
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _rss(pid):
    """(current RSS, peak RSS) in bytes from /proc/<pid>/status."""
    cur = peak = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                cur = int(line.split()[1]) * 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) * 1024
    except OSError:
        pass
    return cur, peak


def _stop_processes(run, pids, grace=8.0):
    """SIGTERM every component's process group (reverse start order), then SIGKILL what is left.
    Returns the PIDs still alive afterwards (should be none)."""
    order = sorted(pids.items(), key=lambda kv: -COMPONENTS.index(kv[0]) if kv[0] in COMPONENTS else 0)
    groups = []
    for component, pid in order:
        if pid_alive(pid) and not _ours(pid, run):
            continue  # the PID was reused by something else: not ours to kill
        groups.append(pid)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in groups:
            members = _session_members(pid)
            if members:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, sig)
                for m in members:  # members that changed their group but kept the session
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(m, sig)
        deadline = time.monotonic() + (grace if sig == signal.SIGTERM else 5.0)
        while time.monotonic() < deadline:
            for pid in groups:
                _reap(pid)
            if not any(_session_members(pid) for pid in groups):
                break
            time.sleep(0.1)
        else:
            continue
        break
    for pid in groups:
        _reap(pid)
    return sorted({m for pid in groups for m in _session_members(pid)})


class _Starter:
    """Starts the components of one run, remembers them, kills them all on failure."""

    def __init__(self, run):
        self.run = run
        self.procs = {}

    def start(self, component, argv, env=None):
        log_path = self.run / "logs" / f"{component}.log"
        binary = Path(argv[0])
        if not (binary.is_file() and os.access(binary, os.X_OK)):
            log_path.write_text(f"binary {binary} not found or not executable\n")
            raise ClusterError(
                f"{component}: binary {binary} not found or not executable (build it with "
                f"`make build-cluster`, or point OCPV_LOCALCLUSTER_BIN_DIR at it); log: {log_path}",
                component, log_path)
        with open(log_path, "ab") as log:
            log.write(f"==> {' '.join(argv)}\n".encode())
            log.flush()
            try:
                proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        cwd=self.run, env=env, start_new_session=True)
            except OSError as e:
                raise ClusterError(f"{component}: could not start {binary}: {e}; log: {log_path}", component, log_path)
        _children[proc.pid] = proc
        (self.run / "pids" / f"{component}.pid").write_text(f"{proc.pid}\n")
        (self.run / "pids" / f"{component}.argv").write_text(json.dumps(argv))  # for restart_component
        self.procs[component] = proc
        return proc

    def wait(self, component, check, timeout=None, what="ready"):
        """Poll check() until truthy; fail naming the component when its process exits or time runs out."""
        timeout = component_timeout() if timeout is None else timeout
        proc = self.procs.get(component)
        log_path = self.run / "logs" / f"{component}.log"
        deadline = time.monotonic() + timeout
        last_error = None
        while True:
            if proc is not None and proc.poll() is not None:
                raise ClusterError(f"{component} exited with code {proc.returncode} while starting; "
                                   f"see {log_path}\n{_tail(log_path)}", component, log_path)
            try:
                result = check()
                if result:
                    return result
            except Exception as e:  # noqa: BLE001 - not ready yet; keep the last reason
                last_error = e
            if time.monotonic() > deadline:
                reason = f" (last error: {last_error})" if last_error else ""
                raise ClusterError(f"{component} not {what} after {timeout:.0f}s{reason}; see {log_path}\n"
                                   f"{_tail(log_path)}", component, log_path)
            time.sleep(0.2)

    def check_alive(self):
        for component, proc in self.procs.items():
            if proc.poll() is not None:
                log_path = self.run / "logs" / f"{component}.log"
                raise ClusterError(f"{component} exited with code {proc.returncode}; see {log_path}\n"
                                   f"{_tail(log_path)}", component, log_path)


def _tail(path, lines=15):
    try:
        text = Path(path).read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "\n".join("    " + t for t in text)


# =============================================================================================
# PKI and config files
# =============================================================================================

def _openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise ClusterError(f"openssl {' '.join(args)} failed: {r.stderr.strip()}")


def _make_pki(pki):
    """CA, apiserver + kwok serving certs, client certs, SA key pair (recipe §5; AKI/SKI kept:
    Python 3.13 + urllib3 >= 2.4 reject CAs without them). ECDSA P-256 keys: generating a dozen
    RSA keys took ~6 s of every start."""
    pki.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "3650",
             "-subj", "/CN=ocpv-localcluster-ca", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-addext", "subjectKeyIdentifier=hash", cwd=pki)

    def leaf(stem, subject, eku, extra=""):
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f"{stem}.key", "-out", f"{stem}.csr",
                 "-subj", subject, cwd=pki)
        (pki / f"{stem}.ext").write_text(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
            f"extendedKeyUsage={eku}\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n{extra}\n")
        _openssl("x509", "-req", "-in", f"{stem}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-days", "3650", "-out", f"{stem}.crt", "-extfile", f"{stem}.ext", cwd=pki)
        (pki / f"{stem}.csr").unlink()
        (pki / f"{stem}.ext").unlink()

    leaf("apiserver", "/CN=kube-apiserver", "serverAuth",
         "subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,"
         "DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:10.96.0.1")
    leaf("kwok-serving", "/CN=kwok", "serverAuth", "subjectAltName=DNS:localhost,IP:127.0.0.1")
    leaf("apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client", "clientAuth")
    for stem, (cn, org) in IDENTITIES.items():
        leaf(stem, (f"/O={org}" if org else "") + f"/CN={cn}", "clientAuth")
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "sa.key", cwd=pki)
    _openssl("pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)
    for key in pki.glob("*.key"):
        key.chmod(0o600)


def _kubeconfig(pki, server, stem, cluster_name):
    return {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {"server": server, "certificate-authority": str(pki / "ca.crt")}}],
        "users": [{"name": IDENTITIES[stem][0],
                   "user": {"client-certificate": str(pki / f"{stem}.crt"), "client-key": str(pki / f"{stem}.key")}}],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": IDENTITIES[stem][0],
                                                        "namespace": "default"}}],
        "current-context": cluster_name,
    }


AUDIT_POLICY = """\
# Everything at Metadata level, once per request: only ResponseComplete (RequestReceived, and the
# ResponseStarted that long-running requests such as watches add, are omitted).
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived", "ResponseStarted"]
rules:
  - level: Metadata
"""


def _kwok_config(run):
    """kwok's --config: the objects of localcluster/kwok/stages.yaml (one YAML document there, as
    ansible-test wants) as a multi-document stream, plus a default ClusterExec: exec in any pod
    runs in the run dir; per-pod Exec objects (set_node_exec_env) take precedence and add FSROOT."""
    yaml = _yaml()

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper, value):  # keep the status templates readable as block scalars
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)

    Dumper.add_representer(str, text)
    objects = yaml.safe_load((KWOK_DIR / "stages.yaml").read_text())["objects"]
    objects.append({"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "ClusterExec", "metadata": {"name": "default"},
                    "spec": {"execs": [{"local": {"workDir": str(run),
                                                  "envs": [{"name": "OCPV_LOCALCLUSTER_RUN_DIR", "value": str(run)}]}}]}})
    return yaml.dump_all(objects, Dumper=Dumper, sort_keys=False, width=1000)


# =============================================================================================
# health checks
# =============================================================================================

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _https_get(url, pki=None, client=None, timeout=3):
    if pki is None:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        if client:
            ctx.load_cert_chain(str(pki / f"{client}.crt"), str(pki / f"{client}.key"))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx))
    with opener.open(url, timeout=timeout) as r:
        return r.status, r.read().decode(errors="replace")


def _etcd_healthy(port):
    with _NO_PROXY.open(f"http://127.0.0.1:{port}/health", timeout=3) as r:
        return json.loads(r.read()).get("health") == "true"


def _apiserver_ready(pki, port):
    status, body = _https_get(f"https://127.0.0.1:{port}/readyz", pki, "harness")
    return status == 200 and body.strip() == "ok"


def _healthz(port):
    status, body = _https_get(f"https://127.0.0.1:{port}/healthz")
    return status == 200 and body.strip() == "ok"


def _kwok_healthy(pki, port):
    return _https_get(f"https://127.0.0.1:{port}/healthz", pki)[0] == 200


# =============================================================================================
# API helpers (harness identity, plain JSON through the kubernetes client's ApiClient)
# =============================================================================================

def _api(kubeconfig):
    """The harness's REST client (kubeapi.Kube), imported when needed: down and status need only
    the standard library."""
    try:
        from .kubeapi import Kube
    except ImportError:
        from kubeapi import Kube
    return Kube(kubeconfig)


def _apply_crd(api, body):
    name = body["metadata"]["name"]
    current = api.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}", default=None)
    if current is None:
        api.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body)


def _crd_established(api, name):
    crd = api.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
    return any(c["type"] == "Established" and c["status"] == "True" for c in crd.get("status", {}).get("conditions", []))


def _nodes_ready(api, names):
    nodes = {n["metadata"]["name"]: n for n in api.list("/api/v1/nodes")}
    for name in names:
        node = nodes.get(name)
        if node is None:
            return False
        conds = {c["type"]: c["status"] for c in node.get("status", {}).get("conditions", [])}
        taints = {t["key"] for t in node.get("spec", {}).get("taints") or []}
        if conds.get("Ready") != "True" or "node.kubernetes.io/not-ready" in taints:
            return False
    return True


def set_node_exec_env(api_client, pod, node_dir):
    """Make `kubectl exec` / k8s_exec into `pod` run (on this machine, via kwok) with
    FSROOT=<node_dir> and working directory <node_dir>: creates the kwok `Exec` object
    (kwok.x-k8s.io/v1alpha1, namespaced, name = pod name) owned by the pod, so it goes with it.

    api_client: a kubernetes.client.ApiClient; pod: a V1Pod or a dict. Idempotent (409 = exists).
    The emulator does the same for wasp-agent pods (docs/development.md "Reading swap")."""
    import kubernetes
    if not isinstance(pod, dict):
        pod = api_client.sanitize_for_serialization(pod)
    meta = pod["metadata"]
    node_dir = str(Path(node_dir).resolve())
    body = {
        "apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Exec",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                     "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": meta["name"], "uid": meta["uid"]}]},
        "spec": {"execs": [{"local": {"workDir": node_dir, "envs": [{"name": "FSROOT", "value": node_dir}]}}]},
    }
    api = kubernetes.client.CustomObjectsApi(api_client)
    try:
        return api.create_namespaced_custom_object("kwok.x-k8s.io", "v1alpha1", meta["namespace"], "execs", body)
    except kubernetes.client.ApiException as e:
        if e.status != 409:
            raise
        return api.get_namespaced_custom_object("kwok.x-k8s.io", "v1alpha1", meta["namespace"], "execs", meta["name"])


# =============================================================================================
# up
# =============================================================================================

def _healthy(run, state):
    if not state or state.get("status") != "up":
        return False
    pids = _read_pids(run)
    expected = [c for c in COMPONENTS if c != "emulator" or state.get("openshift")]
    if any(c not in pids or not _ours(pids[c], run) for c in expected):
        return False
    try:
        return _apiserver_ready(run / "pki", state["ports"]["kube-apiserver"])
    except Exception:  # noqa: BLE001
        return False


def up(name="default", release=None, topology=None, openshift=True, quiet=False):
    """Start the cluster `name` (or return the running one if it is up and healthy).
    release/topology: None = what the running cluster has, else the defaults (4.16, ha).
    openshift=False stops after the Kubernetes layer (no OpenShift CRDs/seeds, no emulator)."""
    supported, default_release = _releases()
    if release is not None and release not in supported:
        raise ClusterError(f"unsupported release {release!r}; choose one of {', '.join(supported)}")
    if topology is not None and topology not in topo.TOPOLOGIES:
        raise ClusterError(f"unknown topology {topology!r}; choose one of {', '.join(topo.TOPOLOGIES)}")
    run = run_dir(name)
    with _locked(name):
        state = _read_state(run)
        if _healthy(run, state):
            differs = [f"{k} {state[k]}" for k, v in (("release", release), ("topology", topology))
                       if v is not None and v != state[k]]
            if differs:
                raise ClusterError(f"cluster {name!r} is already up with {', '.join(differs)}; use "
                                   f"`cluster.py reset --name {name} --release R` to change the release, or "
                                   f"`cluster.py down --name {name}` first")
            if not quiet:
                _log(f"cluster {name!r} is already up ({state['release']}, {state['topology']}); nothing to do")
            return _info_from_state(run, state)
        if run.exists():
            _log(f"cluster {name!r}: cleaning up a previous run that is not healthy ({run})")
            _teardown(run)
        return _start(name, run, release or default_release, topology or "ha", openshift, quiet)


def _component_env(run=None, component=None):
    """The environment a component runs in: local traffic bypasses any proxy, no KUBECONFIG of the
    caller's leaks in, kwok keeps its state in the run dir, the emulator's log is unbuffered."""
    env = dict(os.environ, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    env.pop("KUBECONFIG", None)
    if component == "kwok":
        env["KWOK_WORKDIR"] = str(run / "kwok")
    if component == "emulator":
        env["PYTHONUNBUFFERED"] = "1"
    return env


def _start(name, run, release, topology, openshift, quiet):
    t0 = time.monotonic()
    timings = {}
    for d in ("logs", "pids", "pki", "etcd", "kwok", "nodes"):
        (run / d).mkdir(parents=True, exist_ok=True)
    bins = bin_dir()
    ports = _pick_ports()
    nodes = topo.nodes(topology)
    state = {"name": name, "release": release, "topology": topology, "ports": ports, "bin_dir": str(bins),
             "status": "starting", "openshift": False, "nodes": [n.name for n in nodes], "started_at": time.time()}
    _write_state(run, state)
    starter = _Starter(run)
    pki = run / "pki"
    api = None
    try:
        # every binary first: fail before starting anything
        for component in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"):
            binary = bins / BINARIES[component]
            if not (binary.is_file() and os.access(binary, os.X_OK)):
                log_path = run / "logs" / f"{component}.log"
                log_path.write_text(f"binary {binary} not found or not executable\n")
                raise ClusterError(
                    f"{component}: binary {binary} not found or not executable (build it with "
                    f"`make build-cluster`, or point OCPV_LOCALCLUSTER_BIN_DIR at it); log: {log_path}",
                    component, log_path)

        _make_pki(pki)
        server = f"https://127.0.0.1:{ports['kube-apiserver']}"
        for stem, file in KUBECONFIG_FILES.items():
            (run / file).write_text(_yaml().safe_dump(_kubeconfig(pki, server, stem, f"localcluster-{name}"), sort_keys=False))
            (run / file).chmod(0o600)
        (run / "audit-policy.yaml").write_text(AUDIT_POLICY)
        (run / "kwok" / "kwok.yaml").write_text(_kwok_config(run))
        for node in nodes:
            meminfo = run / "nodes" / node.name / "proc" / "meminfo"
            meminfo.parent.mkdir(parents=True, exist_ok=True)
            meminfo.write_text(node.meminfo())
        timings["pki+config"] = time.monotonic() - t0
        env = _component_env()

        t = time.monotonic()
        starter.start("etcd", [
            str(bins / "etcd"), "--name=localcluster", f"--data-dir={run / 'etcd'}", "--unsafe-no-fsync",
            f"--listen-client-urls=http://127.0.0.1:{ports['etcd']}",
            f"--advertise-client-urls=http://127.0.0.1:{ports['etcd']}",
            f"--listen-peer-urls=http://127.0.0.1:{ports['etcd-peer']}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{ports['etcd-peer']}",
            f"--initial-cluster=localcluster=http://127.0.0.1:{ports['etcd-peer']}",
            "--auto-compaction-mode=periodic", "--auto-compaction-retention=5m",
            "--quota-backend-bytes=4294967296", "--log-level=warn"], env)
        starter.wait("etcd", lambda: _etcd_healthy(ports["etcd"]))
        timings["etcd"] = time.monotonic() - t

        t = time.monotonic()
        starter.start("kube-apiserver", [
            str(bins / "kube-apiserver"), f"--etcd-servers=http://127.0.0.1:{ports['etcd']}",
            "--bind-address=127.0.0.1", f"--secure-port={ports['kube-apiserver']}", "--advertise-address=127.0.0.1",
            "--endpoint-reconciler-type=none",
            f"--tls-cert-file={pki / 'apiserver.crt'}", f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
            "--kubelet-preferred-address-types=InternalIP,Hostname",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki / 'sa.pub'}", f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--authorization-mode=Node,RBAC", "--allow-privileged=true", f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--audit-policy-file={run / 'audit-policy.yaml'}", f"--audit-log-path={run / 'audit.log'}",
            "--audit-log-format=json", "--audit-log-mode=blocking", "--profiling=false"], env)
        starter.wait("kube-apiserver", lambda: _apiserver_ready(pki, ports["kube-apiserver"]))
        timings["kube-apiserver"] = time.monotonic() - t

        t = time.monotonic()
        kcm_kc, sched_kc = run / "kcm.kubeconfig", run / "scheduler.kubeconfig"
        starter.start("kube-controller-manager", [
            str(bins / "kube-controller-manager"), f"--kubeconfig={kcm_kc}",
            f"--authentication-kubeconfig={kcm_kc}", f"--authorization-kubeconfig={kcm_kc}",
            "--bind-address=127.0.0.1", f"--secure-port={ports['kube-controller-manager']}",
            "--leader-elect=false", "--use-service-account-credentials=true",
            f"--service-account-private-key-file={pki / 'sa.key'}", f"--root-ca-file={pki / 'ca.crt'}",
            f"--cluster-signing-cert-file={pki / 'ca.crt'}", f"--cluster-signing-key-file={pki / 'ca.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--node-monitor-period=2s",
            "--profiling=false"], env)
        starter.start("kube-scheduler", [
            str(bins / "kube-scheduler"), f"--kubeconfig={sched_kc}",
            f"--authentication-kubeconfig={sched_kc}", f"--authorization-kubeconfig={sched_kc}",
            "--bind-address=127.0.0.1", f"--secure-port={ports['kube-scheduler']}", "--leader-elect=false",
            "--profiling=false"], env)
        api = _api(run / "harness.kubeconfig")
        # kwok's Exec CRD must exist before kwok starts watching it (--enable-crds=Exec)
        for crd in sorted(KWOK_DIR.glob("*.kwok.x-k8s.io.yaml")):
            _apply_crd(api, _yaml().safe_load(crd.read_text()))
        starter.wait("kube-controller-manager", lambda: _healthz(ports["kube-controller-manager"]))
        starter.wait("kube-scheduler", lambda: _healthz(ports["kube-scheduler"]))
        starter.wait("kube-controller-manager",
                     lambda: api.get("/api/v1/namespaces/default/serviceaccounts/default", default=None),
                     what="ready (ServiceAccount default/default not created)")
        for crd in sorted(KWOK_DIR.glob("*.kwok.x-k8s.io.yaml")):
            crd_name = _yaml().safe_load(crd.read_text())["metadata"]["name"]
            starter.wait("kube-apiserver", lambda n=crd_name: _crd_established(api, n), what=f"serving CRD {crd_name}")
        timings["kcm+scheduler"] = time.monotonic() - t

        t = time.monotonic()
        starter.start("kwok", [
            str(bins / "kwok"), f"--kubeconfig={run / 'kwok.kubeconfig'}", f"--config={run / 'kwok' / 'kwok.yaml'}",
            "--manage-all-nodes=true", "--node-ip=127.0.0.1", "--node-name=localhost",
            f"--node-port={ports['kwok']}", f"--server-address=127.0.0.1:{ports['kwok']}",
            f"--tls-cert-file={pki / 'kwok-serving.crt'}", f"--tls-private-key-file={pki / 'kwok-serving.key'}",
            "--node-lease-duration-seconds=40", f"--cidr={POD_CIDR}", "--enable-crds=Exec"],
            _component_env(run, "kwok"))
        starter.wait("kwok", lambda: _kwok_healthy(pki, ports["kwok"]))
        for node in nodes:
            if api.get(f"/api/v1/nodes/{node.name}", default=None) is None:
                api.create("/api/v1/nodes", node.node_object())
        starter.wait("kwok", lambda: (starter.check_alive(), _nodes_ready(api, [n.name for n in nodes]))[1],
                     what="making the nodes Ready (or kube-controller-manager not removing the not-ready taint)")
        timings["kwok+nodes"] = time.monotonic() - t
        state.update(status="kubernetes-up")
        _write_state(run, state)

        openshift_mod = _openshift() if openshift else None
        if openshift and openshift_mod is None:
            _log("localcluster/openshift.py does not exist yet: skipping the OpenShift layer and the emulator")
        if openshift_mod is not None:
            t = time.monotonic()
            try:
                openshift_mod.install(kubeconfig=str(run / "harness.kubeconfig"), run_dir=str(run),
                                      release=release, topology=topology)
            except Exception as e:
                starter.check_alive()
                raise ClusterError(f"openshift.install failed: {type(e).__name__}: {e}", "openshift") from e
            timings["openshift.install"] = time.monotonic() - t
            if (HERE / "emulator.py").exists():
                t = time.monotonic()
                ready = run / "emulator" / "ready"
                ready.unlink(missing_ok=True)
                starter.start("emulator", [
                    sys.executable, str(HERE / "emulator.py"), "--kubeconfig", str(run / "emulator.kubeconfig"),
                    "--run-dir", str(run), "--topology", topology], _component_env(run, "emulator"))
                starter.wait("emulator", lambda: ready.exists() and ready.read_text().strip() == str(
                    starter.procs["emulator"].pid), timeout=60)
                timings["emulator"] = time.monotonic() - t
                state["openshift"] = True
            else:
                _log("localcluster/emulator.py does not exist yet: not starting the operator emulator")
        starter.check_alive()
    except BaseException as e:
        if api is not None:
            api.close()
        survivors = _stop_processes(run, _read_pids(run))
        state.update(status="failed", error=str(e).splitlines()[0] if str(e) else type(e).__name__)
        with contextlib.suppress(OSError):
            _write_state(run, state)
        if survivors:
            raise ClusterError(f"{e}\n(and processes {survivors} survived the cleanup)") from e
        if isinstance(e, ClusterError) or not isinstance(e, Exception):
            raise
        raise ClusterError(f"cluster {name!r} failed to start: {type(e).__name__}: {e}") from e
    if api is not None:
        api.close()
    peak = sum(_rss(pid)[1] for pid in _read_pids(run).values())
    state.update(status="up", start_seconds=round(time.monotonic() - t0, 1),
                 timings={k: round(v, 1) for k, v in timings.items()}, peak_rss_bytes=peak)
    _write_state(run, state)
    info = _info_from_state(run, state, started=True)
    if not quiet:
        _log(f"cluster {name!r} up in {state['start_seconds']} s ({release}, {topology}, {len(nodes)} nodes); "
             f"phases: " + ", ".join(f"{k} {v:.1f}s" for k, v in state["timings"].items()))
        _log(f"peak RSS of its processes so far: {peak / 2**20:.0f} MiB")
    return info


# =============================================================================================
# down, status, reset
# =============================================================================================

def _teardown(run):
    pids = _read_pids(run)
    survivors = _stop_processes(run, pids)
    if survivors:
        raise ClusterError(f"processes {survivors} of {run} survived SIGKILL; not removing {run}")
    shutil.rmtree(run, ignore_errors=True)
    if run.exists():
        shutil.rmtree(run)


def down(name="default", quiet=False):
    """Stop every process of cluster `name` and remove its run directory. Returns True if there was one."""
    run = run_dir(name)
    with _locked(name):
        if not run.exists():
            if not quiet:
                _log(f"cluster {name!r} is not running (no {run})")
            return False
        _teardown(run)
    if not quiet:
        _log(f"cluster {name!r} stopped and {run} removed")
    return True


def info(name="default"):
    """ClusterInfo of a cluster that is up and healthy, else None."""
    run = run_dir(name)
    state = _read_state(run)
    return _info_from_state(run, state) if _healthy(run, state) else None


def status(name="default"):
    """{'name', 'status', 'healthy', 'components': {c: {'pid', 'alive', 'rss', 'peak_rss'}}, ...}."""
    run = run_dir(name)
    state = _read_state(run)
    result = {"name": name, "run_dir": str(run), "status": "absent" if state is None else state.get("status"),
              "healthy": _healthy(run, state), "components": {}}
    if state is None:
        return result
    result.update(release=state.get("release"), topology=state.get("topology"), ports=state.get("ports"),
                  kubeconfig=str(run / "kubeconfig"), start_seconds=state.get("start_seconds"),
                  peak_rss_at_start=state.get("peak_rss_bytes"))
    for component, pid in _read_pids(run).items():
        alive = _ours(pid, run)
        cur, peak = _rss(pid) if alive else (0, 0)
        result["components"][component] = {"pid": pid, "alive": alive, "rss": cur, "peak_rss": peak}
    result["rss_total"] = sum(c["rss"] for c in result["components"].values())
    result["peak_rss_total"] = sum(c["peak_rss"] for c in result["components"].values())
    return result


def reset(name="default", release=None):
    """Back to the seeded OpenShift state (openshift.reset), optionally switching release."""
    run = run_dir(name)
    with _locked(name):
        state = _read_state(run)
        if not _healthy(run, state):
            raise ClusterError(f"cluster {name!r} is not up; start it with `cluster.py up --name {name}`")
        openshift_mod = _openshift()
        if openshift_mod is None:
            raise ClusterError("localcluster/openshift.py does not exist yet: nothing to reset")
        openshift_mod.reset(kubeconfig=str(run / "harness.kubeconfig"), run_dir=str(run), release=release)
        if release and release != state["release"]:
            state["release"] = release
            _write_state(run, state)
    return _info_from_state(run, state)


def restart_component(name, component):
    """Start `component` of cluster `name` again with the command line it was started with, after it
    died (fault tests kill the kube-apiserver by its PID mid-run); returns the new PID once it serves
    (the kube-apiserver: ready; the others: started). The other components reconnect by themselves."""
    run = run_dir(name)
    with _locked(name):
        state = _read_state(run)
        pid = _read_pids(run).get(component)
        if pid is not None and _ours(pid, run):
            raise ClusterError(f"{component} of cluster {name!r} is still running (PID {pid})")
        if pid is not None:
            _reap(pid)
        argv = json.loads((run / "pids" / f"{component}.argv").read_text())
        starter = _Starter(run)
        proc = starter.start(component, argv, _component_env(run, component))
        if component == "kube-apiserver":
            starter.wait(component, lambda: _apiserver_ready(run / "pki", state["ports"]["kube-apiserver"]))
        return proc.pid


# =============================================================================================
# CLI
# =============================================================================================

def _mib(n):
    return f"{n / 2**20:8.0f} MiB"


def main(argv=None):
    supported = _releases()[0]
    p = argparse.ArgumentParser(prog="cluster.py", description="The local emulated OpenShift cluster.")
    sub = p.add_subparsers(dest="command", required=True)
    for cmd in ("up", "down", "status", "reset"):
        s = sub.add_parser(cmd)
        s.add_argument("--name", default="default")
        if cmd in ("up", "reset"):
            s.add_argument("--release", choices=supported, default=None,
                           help="OpenShift release to emulate (up: default 4.16 for a new cluster)")
        if cmd == "up":
            s.add_argument("--topology", choices=topo.TOPOLOGIES, default=None, help="default: ha")
            s.add_argument("--no-openshift", action="store_true",
                           help="Kubernetes only: no OpenShift CRDs/seeds, no operator emulator")
        if cmd == "status":
            s.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    try:
        if args.command == "up":
            ci = up(args.name, args.release, args.topology, openshift=not args.no_openshift)
            st = status(args.name)
            print(f"kubeconfig: {ci.kubeconfig}")
            print(f"API server: {ci.server}")
            if ci.started:
                print(f"started in {ci.start_seconds:.1f} s; peak RSS of the cluster's processes: "
                      f"{ci.peak_rss_bytes / 2**20:.0f} MiB (now {st['rss_total'] / 2**20:.0f} MiB)")
            print(ci.export_line)
        elif args.command == "down":
            down(args.name)
        elif args.command == "reset":
            ci = reset(args.name, args.release)
            print(f"cluster {args.name!r} reset to the seeded state of {ci.release}")
        else:
            st = status(args.name)
            if args.json:
                print(json.dumps(st, indent=1))
            elif st["status"] == "absent":
                print(f"cluster {args.name!r}: not running (no {st['run_dir']})")
            else:
                print(f"cluster {args.name!r}: {st['status']}, {'healthy' if st['healthy'] else 'NOT healthy'}; "
                      f"{st.get('release')} {st.get('topology')}; API https://127.0.0.1:{st['ports']['kube-apiserver']}")
                print(f"kubeconfig: {st['kubeconfig']}")
                print(f"{'component':26} {'pid':>8} {'alive':>6} {'RSS':>12} {'peak RSS':>12}")
                for c in COMPONENTS:
                    if c in st["components"]:
                        d = st["components"][c]
                        print(f"{c:26} {d['pid']:>8} {str(d['alive']):>6} {_mib(d['rss']):>12} {_mib(d['peak_rss']):>12}")
                print(f"{'total':26} {'':>8} {'':>6} {_mib(st['rss_total']):>12} {_mib(st['peak_rss_total']):>12}")
            return 0 if st["healthy"] else 1
    except ClusterError as e:
        print(f"localcluster: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `status | head`
        sys.stderr.close()
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
