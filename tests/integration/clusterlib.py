"""Helpers for integration tests against the local cluster (localcluster/): the ``Cluster`` handle,
``start_cluster`` and ``wait_for``. Fixtures using them are in conftest.py; import helpers from
here (``from clusterlib import wait_for``), not from conftest.
"""

import json
import os
import socket
import sys
import time
from pathlib import Path

import pytest
from localcluster import cluster as localcluster

ROOT = Path(__file__).resolve().parents[2]

WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")  # the venv's


class Cluster:
    def __init__(self, info):
        self.info = info
        self.started = info.started  # this process started it (reset() refreshes info, not this)
        self.home_release = info.release  # what reset() without a release goes back to

    # --- plain attributes ---------------------------------------------------------------------
    name = property(lambda self: self.info.name)
    kubeconfig = property(lambda self: self.info.kubeconfig)
    run_dir = property(lambda self: self.info.run_dir)
    audit_log = property(lambda self: self.info.audit_log)
    server = property(lambda self: self.info.server)
    ports = property(lambda self: self.info.ports)
    nodes = property(lambda self: self.info.nodes)
    topology = property(lambda self: self.info.topology)
    release = property(lambda self: self.info.release)

    def node_dir(self, node):
        return self.info.node_dir(node)

    def api_client(self, kubeconfig=None):
        """A new kubernetes.client.ApiClient (admin = ocpv-admin unless another kubeconfig is given)."""
        return self.info.api_client(kubeconfig)

    def env(self, **extra):
        """Environment for a subprocess (ansible-playbook, kubectl) talking to this cluster."""
        env = dict(os.environ, KUBECONFIG=str(self.kubeconfig), K8S_AUTH_KUBECONFIG=str(self.kubeconfig),
                   NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
        env.update(extra)
        return env

    def playbook_env(self, **extra):
        """env() for ansible-playbook: the checkout's ansible.cfg, plain output, no warnings about
        the implicit localhost inventory."""
        return self.env(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                        ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false", **extra)

    def reset(self, release=None):
        """Back to the seeded OpenShift state, without a restart: at `release`, or else at the
        release the cluster had when this object was made. A test that resets a shared cluster to
        another release and then calls reset() in its `finally` so hands it back as it found it
        (the Molecule scenario once ran on a 4.17 cluster a test before it had left behind)."""
        self.info = localcluster.reset(self.name, release or self.home_release)
        return self

    # --- audit log ------------------------------------------------------------------------------
    def audit_marker(self):
        """A position in the audit log; pass it to audit_events() to see only later requests."""
        try:
            with open(self.audit_log, "rb") as f:  # the log grows by ~100 MB an hour: read its tail only
                end = f.seek(0, os.SEEK_END)
                start = max(0, end - (1 << 20))
                f.seek(start)
                tail = f.read()
        except FileNotFoundError:
            return 0
        return start + tail.rfind(b"\n") + 1 if b"\n" in tail else start

    def audit_events(self, since_marker=0, user="ocpv-admin", verbs=None, settle=0.5):
        """Audit events (dicts, stage ResponseComplete) after the marker, made by `user` (None = any),
        with a verb in `verbs` (None = any). Waits `settle` seconds first: the apiserver writes an
        event once the response is complete, a moment after the client has it."""
        if settle:
            time.sleep(settle)
        with open(self.audit_log, "rb") as f:
            f.seek(since_marker)
            data = f.read()
        data = data[: data.rfind(b"\n") + 1]
        events = []
        for line in data.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if user is not None and event.get("user", {}).get("username") != user:
                continue
            if verbs is not None and event.get("verb") not in verbs:
                continue
            events.append(event)
        return events

    def write_events(self, since_marker=0, user="ocpv-admin", settle=0.5):
        """The write requests (create/update/patch/delete) of `user` after the marker."""
        return self.audit_events(since_marker, user, WRITE_VERBS, settle)

    def __repr__(self):
        return f"Cluster({self.name}, {self.server}, {self.release}, {self.topology})"


def keep_clusters():
    return os.environ.get("OCPV_KEEP_CLUSTER", "") not in ("", "0", "false", "no")


def start_cluster(name, release=None, topology=None, openshift=True):
    """Bring up (or reuse) cluster `name`; returns a Cluster. Stop it with localcluster.down(name)."""
    try:
        info = localcluster.up(name, release=release, topology=topology, openshift=openshift)
    except localcluster.ClusterError as e:
        pytest.fail(f"local cluster {name!r} did not start: {e}", pytrace=False)
    return Cluster(info)


def _sessions_dir(name):
    return localcluster.runs_root() / ".sessions" / name


def _started_at_of(name):
    try:
        return json.loads((localcluster.run_dir(name) / localcluster.STATE_FILE).read_text()).get("started_at")
    except (OSError, ValueError):
        return None


def session_cluster(name):
    """Session fixture body: several pytest processes may share one cluster. Each registers in
    <runs root>/.sessions/<name>/<pid> before `up`; the session that started the cluster marks it
    `owned` (with the cluster's start time); the last session to leave stops an owned cluster.
    A cluster started by hand is never stopped by the tests."""
    sessions = _sessions_dir(name)
    sessions.mkdir(parents=True, exist_ok=True)
    me = sessions / str(os.getpid())
    me.touch()
    owned = sessions / "owned"
    try:
        c = start_cluster(name, release=os.environ.get("OCPV_CLUSTER_RELEASE") or None,
                          topology=os.environ.get("OCPV_CLUSTER_TOPOLOGY") or None)
        if c.started:
            owned.write_text(str(_started_at_of(name)))
        yield c
    finally:
        me.unlink(missing_ok=True)
        others = [p for p in sessions.iterdir() if p.name.isdigit() and localcluster.pid_alive(int(p.name))]
        try:
            ours = owned.read_text() == str(_started_at_of(name))
        except OSError:
            ours = False
        if ours and not others and not keep_clusters():
            localcluster.down(name, quiet=True)
            owned.unlink(missing_ok=True)


def closed_port():
    """A local port nothing listens on (closed again when the socket is)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=60, interval=0.25, what="condition"):
    """Poll predicate() until truthy; return its value or fail the test."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what} (last: {last!r})", pytrace=False)
