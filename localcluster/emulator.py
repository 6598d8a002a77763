"""Emulates the OpenShift operators' behaviour for tests; not part of the collection.

A small poll-loop controller that stands in for the parts of the Machine Config Operator (MCO),
the machine-config-daemon on each node, and the HyperConverged Cluster Operator (HCO) that
ocpv.density relies on, against the real kube-apiserver of the local cluster:

- mco.py: the kubelet-config controller (KubeletConfig -> MachineConfig 99-<pool>-generated-kubelet),
  the render controller (MachineConfigs of a pool -> rendered-<pool>-<hash>, pool retargeted), the
  node controller + daemon (nodes reboot into the target, maxUnavailable at a time; pool status)
- nodes.py: node state, <run>/nodes/<node>/proc/meminfo (swap) and root/<path> (files the config
  wrote), whether the kubelet starts; wasp-agent pods (kwok exec with FSROOT=<run>/nodes/<node>,
  crash-looping without the API rights their version needs)
- hco.py: overcommit -> KubeVirt; on HCO >= 1.16 its own wasp-agent while overcommit > 100;
  virt-platform-autopilot's swap MachineConfig
- monitoring.py: which alerting rule objects the platform Prometheus loads
- apiobjects.py: helpers on API objects the four share
This module is the loop that runs them (one mixin class per operator) and its state files.

Run by cluster.py as `python localcluster/emulator.py --kubeconfig <run>/emulator.kubeconfig
--run-dir <run> --topology T`; its requests are made as user `system:ocpv-emulator`, so they can
be told apart in the audit log. Behaviour follows the upstream operators (openshift/machine-config-operator,
kubevirt/hyperconverged-cluster-operator, openshift-virtualization/wasp-agent); docs/development.md
describes it for users of the harness.

Files under <run>/emulator/: `ready` (pid, once the first cycle succeeded), `counters.json`
({"reboots": {node: n}, "rollouts": {pool: n}, "max_updating": {pool: n}}), `alerts.json`
({"firing": [names], "active_since": {name: epoch its expression became true}, "loaded": [rule objects the platform Prometheus evaluates], "ignored": [the
others, with the reason]}), and the `hold`/`held` handshake openshift.reset() uses to pause it.
"""

import argparse
import copy
import json
import logging
import os
import sys
import time
from pathlib import Path

try:  # imported as localcluster.emulator (tests) or run as a script from localcluster/
    from . import realtools, releases
    from .apiobjects import MCFG, atomic_write, dig
    from .hco import HCO_NAMESPACE, HyperConvergedOperator
    from .kubeapi import ApiError, Kube, path
    from .mco import MachineConfigOperator
    from .monitoring import PlatformMonitoring
    from .nodes import NodeAgents, NodeDisk, node_mem_total_kb
except ImportError:
    import realtools
    import releases
    from apiobjects import MCFG, atomic_write, dig
    from hco import HCO_NAMESPACE, HyperConvergedOperator
    from kubeapi import ApiError, Kube, path
    from mco import MachineConfigOperator
    from monitoring import PlatformMonitoring
    from nodes import NodeAgents, NodeDisk, node_mem_total_kb

log = logging.getLogger("emulator")

MCO_RELEASE_ANNOTATION = "localcluster.ocpv.io/mco-release"  # on the ClusterVersion mid-upgrade: the MCO not updated yet


# =============================================================================================
# The controllers: one mixin per emulated operator (mco.py, hco.py, nodes.py, monitoring.py)
# =============================================================================================

class Emulator(MachineConfigOperator, HyperConvergedOperator, NodeAgents, PlatformMonitoring):
    def __init__(self, kube, run_dir, topology, reboot_seconds=0.5):
        self.kube = kube
        self.run_dir = Path(run_dir)
        self.state_dir = self.run_dir / "emulator"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.topology = topology
        self.reboot_seconds = reboot_seconds
        self.forget()

    def forget(self):
        """Drop in-memory state (after openshift.reset() changed the cluster under us)."""
        self.upgrading = False        # ClusterVersion mid-upgrade (its newest history entry Partial)
        self.rebooting = {}           # node -> monotonic time its reboot completes
        self.render_errors = {}       # pool -> message
        self.execs = set()            # (namespace, pod) with a kwok Exec created
        self.rights = {}              # (namespace, sa, version) -> (monotonic expiry, missing rights)
        self.exec_crd_missing_logged = False
        self.counters = self._load_json("counters.json", {"reboots": {}, "rollouts": {}, "max_updating": {}})
        for key in ("reboots", "rollouts", "max_updating"):
            self.counters.setdefault(key, {})
        self._counters_written = None  # written on the first cycle, so the file always exists
        self.alerts = None
        self.firing = []
        self.active_since = {}        # alert -> time.time() its expression became true
        self.rules = {"loaded": [], "ignored": []}

    # --- one cycle ---------------------------------------------------------------------------
    def cycle(self):
        release = self.release()
        nodes = self.kube.list(path("v1", "nodes"))
        pools = self._list_pools()
        if pools is not None:
            mcs = self.kube.list(path(MCFG, "machineconfigs"))
            kcs = self.kube.list(path(MCFG, "kubeletconfigs"))
            if self.sync_kubelet_configs(release, pools, kcs, mcs):
                mcs = self.kube.list(path(MCFG, "machineconfigs"))
            if self.sync_render(release, pools, mcs):
                pools, mcs = self._list_pools(), self.kube.list(path(MCFG, "machineconfigs"))
            self.sync_nodes(release, pools, nodes, {mc["metadata"]["name"]: mc for mc in mcs})
        for node in nodes:  # nodes outside any pool (HCP) still need a meminfo to be read
            disk = NodeDisk(self.run_dir, node["metadata"]["name"])
            if not disk.has_meminfo():
                disk.write_meminfo(node_mem_total_kb(node), 0)
        wasp_daemonsets = self.kube.list(path("apps/v1", "daemonsets"), fieldSelector="metadata.name=wasp-agent")
        self.sync_hco(self._hco_release(release), wasp_daemonsets)
        self.sync_wasp_execs(wasp_daemonsets)
        self.sync_wasp_agent_health(release, wasp_daemonsets)
        self.sync_rules()
        self.write_alerts()
        self.save_counters()

    def _list_pools(self):
        """The pools, or None where there is no MCO (HCP, or the CRDs are not installed yet)."""
        if self.topology == "hcp":
            return None
        try:
            return self.kube.list(path(MCFG, "machineconfigpools"))
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    def _hco_release(self, release):
        """HCO runs the release of its installed CSV: OLM upgrades OpenShift Virtualization after
        OpenShift, so while the ClusterVersion is mid-upgrade (openshift.upgrade_phase) it is behind."""
        if not self.upgrading:
            return release
        csv_path = path("operators.coreos.com/v1alpha1", "clusterserviceversions", namespace=HCO_NAMESPACE)
        csvs = {c["metadata"]["name"] for c in self.kube.list(csv_path)}
        return next((releases.get(n) for n in releases.SUPPORTED if releases.get(n).csv_name in csvs), release)

    def release(self):
        cv = self.kube.get(path("config.openshift.io/v1", "clusterversions", "version"), default=None)
        history = dig(cv, "status", "history") or []
        self.upgrading = bool(history) and history[0].get("state") == "Partial"
        # Mid-upgrade the MCO is the old release's until the CVO has updated it (openshift.upgrade_phase)
        version = dig(cv, "metadata", "annotations", MCO_RELEASE_ANNOTATION) if self.upgrading else None
        version = version or dig(cv, "status", "desired", "version")
        return releases.from_cluster_version(version) if version else releases.get(releases.DEFAULT)

    # --- files -----------------------------------------------------------------------------------
    def _load_json(self, name, default):
        try:
            return json.loads((self.state_dir / name).read_text())
        except (OSError, ValueError):
            return default

    def save_counters(self):
        if self.counters != self._counters_written:
            atomic_write(self.state_dir / "counters.json", json.dumps(self.counters, indent=1, sort_keys=True))
            self._counters_written = copy.deepcopy(self.counters)


# =============================================================================================
# Main loop
# =============================================================================================

IDLE_AFTER = 5.0  # seconds without a write and without a node rebooting


def run(emulator, interval, idle_interval=None):
    """Cycle every `interval` seconds while the operators have work (a write in the last IDLE_AFTER
    seconds, or a node rebooting), every `idle_interval` seconds otherwise: an idle cluster then
    costs a third of the API requests, and the first reaction to a change comes at most
    `idle_interval` late."""
    idle_interval = max(interval, idle_interval if idle_interval is not None else interval)
    hold, held, ready = (emulator.state_dir / n for n in ("hold", "held", "ready"))
    last_busy = time.monotonic()
    while True:
        if hold.exists():  # openshift.reset()/upgrade() is changing the cluster: stand still
            held.write_text(str(os.getpid()))
            while hold.exists():
                time.sleep(0.05)
            emulator.forget()
            # One cycle on the changed cluster before `held` goes: when held_emulator() returns,
            # whatever the change makes the operators write (a re-generated MachineConfig, a new
            # rendered config, a retargeted pool) is written, so a settle() after it cannot pass early.
            try:
                emulator.cycle()
            except Exception:  # same as below: try again next cycle
                log.exception("cycle failed")
            held.unlink(missing_ok=True)
            last_busy = time.monotonic()
            time.sleep(interval)
            continue
        writes = emulator.kube.writes
        try:
            emulator.cycle()
            if not ready.exists():
                ready.write_text(str(os.getpid()))
                log.info("ready")
        except Exception:  # the apiserver may be restarting; try again next cycle
            log.exception("cycle failed")
            last_busy = time.monotonic()
        rebooting = any(done != float("inf") for done in emulator.rebooting.values())  # inf: stuck for good
        if emulator.kube.writes != writes or rebooting:
            last_busy = time.monotonic()
        time.sleep(interval if time.monotonic() - last_busy < IDLE_AFTER else idle_interval)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--run-dir", required=True)
    p.add_argument("--topology", default="ha", choices=["ha", "compact", "sno", "hcp"])
    p.add_argument("--interval", type=float, default=float(os.environ.get("OCPV_EMULATOR_INTERVAL", "0.3")),
                   help="seconds between cycles while the operators have work")
    p.add_argument("--idle-interval", type=float,
                   default=float(os.environ.get("OCPV_EMULATOR_IDLE_INTERVAL", "1.0")),
                   help="seconds between cycles after %.0f s without work" % IDLE_AFTER)
    p.add_argument("--reboot-seconds", type=float, default=float(os.environ.get("OCPV_EMULATOR_REBOOT_SECONDS", "0.5")),
                   help="how long an emulated node reboot takes")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stdout)
    try:  # the MCO emulation judges Ignition with it: refuse to start without it
        log.info("ignition validator: %s", realtools.tool("ignition-validate"))
    except RuntimeError as e:
        sys.exit(f"emulator: {e}")
    emulator = Emulator(Kube(args.kubeconfig), args.run_dir, args.topology, args.reboot_seconds)
    (emulator.state_dir / "ready").unlink(missing_ok=True)
    run(emulator, args.interval, args.idle_interval)


if __name__ == "__main__":
    main()
