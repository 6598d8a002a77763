"""Emulates the OpenShift operators' behaviour for tests; not part of the collection.

A small poll-loop controller that stands in for the parts of the Machine Config Operator (MCO),
the machine-config-daemon on each node, and the HyperConverged Cluster Operator (HCO) that
ocpv.density relies on, against the real kube-apiserver of the local cluster:

- MCO kubelet-config controller: KubeletConfig -> MachineConfig 99-<pool>-generated-kubelet
- MCO render controller: MachineConfigs of a pool -> rendered-<pool>-<hash>, pool retargeted
- MCO node controller + daemon: nodes reboot into the target, maxUnavailable at a time; pool status
- node state: <run>/nodes/<node>/proc/meminfo (swap) and root/<path> (files the config wrote)
- HCO: overcommit -> KubeVirt; on HCO >= 1.16 its own wasp-agent while overcommit > 100
- kwok exec: each wasp-agent pod's exec sees FSROOT=<run>/nodes/<node>

Run by cluster.py as `python localcluster/emulator.py --kubeconfig <run>/emulator.kubeconfig
--run-dir <run> --topology T`; its requests are made as user `system:ocpv-emulator`, so they can
be told apart in the audit log. Behaviour follows shared reference openshift-apis.md §2-§4 and
wasp-agent.md; docs/development.md describes it for users of the harness.

Files under <run>/emulator/: `ready` (pid, once the first cycle succeeded), `counters.json`
({"reboots": {node: n}, "rollouts": {pool: n}, "max_updating": {pool: n}}), `alerts.json`
({"firing": [names], "active_since": {name: epoch its expression became true}, "loaded": [rule objects the platform Prometheus evaluates], "ignored": [the
others, with the reason]}), and the `hold`/`held` handshake openshift.reset() uses to pause it.
"""

import argparse
import base64
import copy
import gzip
import hashlib
import json
import logging
import os
import re
import shlex
import sys
import time
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path

import yaml

try:  # imported as localcluster.emulator (tests) or run as a script from localcluster/
    from . import realtools, releases
    from .kubeapi import ApiError, Kube, path
except ImportError:
    import realtools
    import releases
    from kubeapi import ApiError, Kube, path

log = logging.getLogger("emulator")

MCFG = "machineconfiguration.openshift.io/v1"
ROLE_LABEL = "machineconfiguration.openshift.io/role"
GENERATED_BY = "machineconfiguration.openshift.io/generated-by-controller-version"
MC_NAME_SUFFIX = "machineconfiguration.openshift.io/mc-name-suffix"
RELEASE_IMAGE_VERSION = "machineconfiguration.openshift.io/release-image-version"
CURRENT_CONFIG = "machineconfiguration.openshift.io/currentConfig"
DESIRED_CONFIG = "machineconfiguration.openshift.io/desiredConfig"
NODE_STATE = "machineconfiguration.openshift.io/state"
NODE_REASON = "machineconfiguration.openshift.io/reason"
DEGRADE_ANNOTATION = "localcluster.ocpv.io/degrade"      # test-only fault injection on a pool
KUBELET_ANNOTATION = "localcluster.ocpv.io/kubelet"      # why an emulated kubelet did not start
DISK_FREE_ANNOTATION = "localcluster.ocpv.io/disk-free-mib"  # test-only: free MiB on a node's /var
APPLIED_ANNOTATION = "localcluster.ocpv.io/applied"      # fingerprint of what the emulated HCO applied
MCO_RELEASE_ANNOTATION = "localcluster.ocpv.io/mco-release"  # on the ClusterVersion mid-upgrade: the MCO not updated yet
CONTROLLER_VERSION = "localcluster-emulator"

HCO_NAMESPACE = "openshift-cnv"
HCO_NAME = "kubevirt-hyperconverged"
KUBEVIRT_NAME = "kubevirt-kubevirt-hyperconverged"
HCO_LABELS = {"app": "kubevirt-hyperconverged"}
AUTOPILOT_ANNOTATION = "platform.kubevirt.io/autopilot"

SWAP_ENV_FILE = "/etc/ocpv-density/swap.env"           # docs/development.md "Swap MachineConfig shape"
CONTRACT_SWAP_FILE = "/var/ocpswap.file"                # the script's default OCPV_SWAP_FILE
LEGACY_SWAP_FILE = "/var/tmp/swapfile"                  # earlier releases and the 4.16-4.21 docs
KUBELET_CONF = "/etc/kubernetes/kubelet.conf"
KUBELET_CONF_DIR = "/etc/openshift/kubelet.conf.d"
FORBIDDEN_KUBELET_KEYS = ("cgroupDriver", "clusterDNS", "clusterDomain", "featureGates", "staticPodPath")


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def annotations(obj):
    return obj["metadata"].get("annotations") or {}


def dig(obj, *keys, default=None):
    for key in keys:
        if not isinstance(obj, dict) or key not in obj:
            return default
        obj = obj[key]
    return obj


# =============================================================================================
# Pure logic (unit-tested in tests/unit/test_emulator_logic.py)
# =============================================================================================

_QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")
_SUFFIX = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
           "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}


def quantity_bytes(text):
    """A node capacity quantity ('16Gi', '17179869184', '16G') in bytes."""
    m = _QUANTITY.match(str(text))
    if not m or m.group(2) not in _SUFFIX:
        raise ValueError(f"cannot parse quantity {text!r}")
    return int(float(m.group(1)) * _SUFFIX[m.group(2)])


def selector_matches(selector, labels):
    """Kubernetes LabelSelector semantics: None selects nothing, {} selects everything."""
    if selector is None:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def pool_for_node(node_labels, pools):
    """The pool a node belongs to, by MCO's rule (pkg/helpers GetPoolsForNode): a node matching
    master belongs to master; otherwise a single custom pool wins over worker; two or more custom
    pools is an error in MCO (-> None here)."""
    matching = [p["metadata"]["name"] for p in pools if selector_matches(dig(p, "spec", "nodeSelector"), node_labels)]
    if "master" in matching:
        return "master"
    custom = [name for name in matching if name != "worker"]
    if len(custom) == 1:
        return custom[0]
    if not custom and "worker" in matching:
        return "worker"
    return None


def parse_ignition_version(text):
    """'3.4.0' -> (3, 4, 0); ValueError for anything Ignition would not parse."""
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)(-experimental)?", str(text or ""))
    if not m or m.group(4):
        raise ValueError(f"invalid ignition version {text!r}")
    return tuple(int(g) for g in m.groups()[:3])


def ignition_error(config, ignition_max):
    """Why MCO would refuse this Ignition config, or None. Spec 3 configs are judged by Ignition's
    own parser and validator, the library MCO vendors (github.com/coreos/ignition/v2 v2.20.0,
    openshift/machine-config-operator release-4.19..4.22 go.mod; common/helpers.go
    IgnParseWrapper + ValidateIgnition), parsing up to release.ignition_max. Spec 2 configs (MCO
    parses them with the older github.com/coreos/ignition v0.35.0, not built here) only pass the
    version check: 2.2.0 is accepted. UNSURE: 4.16-4.18's MCO vendored an older v2 release; the
    validator uses v2.20.0's config/v3_4 package for them."""
    if config is None:  # no spec.config at all: MCO's ValidateMachineConfig skips it
        return None
    try:
        version = parse_ignition_version(dig(config, "ignition", "version"))
    except ValueError:
        version = None
    if version is not None and version[0] == 2:
        if version == (2, 2, 0):
            return None
        supported = ".".join(map(str, ignition_max))
        return (f"parsing Ignition config failed: unsupported config version "
                f"{'.'.join(map(str, version))} (newest supported: {supported})")
    spec = f"{ignition_max[0]}.{ignition_max[1]}"
    return realtools.ignition_errors([(config if isinstance(config, dict) else {}, spec)])[0]


def merge_configs(mcs):
    """Merge MachineConfigs (sorted by name, later wins) into one rendered spec, like MCO's
    MergeMachineConfigs: files by path and units by name are replaced by later configs,
    kernelArguments appended, extensions unioned. The rendered Ignition version is the newest
    of the inputs (MCO converts to its own spec version; the emulator keeps names stable across
    releases instead)."""
    files, units, kargs, extensions = {}, {}, [], []
    version, fips, kernel_type, os_image = (3, 0, 0), False, "", ""
    for mc in sorted(mcs, key=lambda m: m["metadata"]["name"]):
        spec = mc.get("spec") or {}
        config = spec.get("config") or {}
        try:
            version = max(version, parse_ignition_version(dig(config, "ignition", "version")))
        except ValueError:
            pass
        for f in dig(config, "storage", "files", default=[]) or []:
            files[f["path"]] = f
        for u in dig(config, "systemd", "units", default=[]) or []:
            units[u["name"]] = u
        kargs += spec.get("kernelArguments") or []
        extensions += [e for e in spec.get("extensions") or [] if e not in extensions]
        fips = fips or bool(spec.get("fips"))
        kernel_type = spec.get("kernelType") or kernel_type
        os_image = spec.get("osImageURL") or os_image
    config = {"ignition": {"version": ".".join(map(str, version))}}
    if files:
        config["storage"] = {"files": [files[p] for p in sorted(files)]}
    if units:
        config["systemd"] = {"units": [units[n] for n in sorted(units)]}
    merged = {"config": config, "kernelArguments": kargs, "extensions": extensions, "fips": fips}
    if kernel_type:
        merged["kernelType"] = kernel_type
    if os_image:
        merged["osImageURL"] = os_image
    return merged


def file_conflicts(mcs):
    """Files that more than one MachineConfig writes: [{path, winner, overridden}], the winner
    being the last by name, as MCO's MergeMachineConfigs applies them (openshift/machine-config-
    operator release-4.22 9027c94cd, pkg/controller/common/helpers.go: configs sorted by name,
    Ignition merge replaces a file of the same path). The MCO says nothing about it; the
    emulator records it in emulator/conflicts.json so the tests can."""
    writers = {}
    for mc in sorted(mcs, key=lambda m: m["metadata"]["name"]):
        for f in dig(mc, "spec", "config", "storage", "files", default=[]) or []:
            writers.setdefault(f["path"], []).append(mc["metadata"]["name"])
    return [{"path": p, "winner": names[-1], "overridden": names[:-1]}
            for p, names in sorted(writers.items()) if len(names) > 1]


# The autopilot's swap MachineConfig, written for the harness after the upstream asset
# (openshift-virtualization/virt-platform-autopilot assets/active/machine-config/
# 01-swap-enable.yaml.tpl, 21af8c2e5 + 01-swap-enable/kubelet-90-swap.conf 53e3ba4fe): the
# LimitedSwap drop-in at the path the collection's dropin-4.21 row also writes, and units that
# only swapon storage that already exists (partition label OCPSWAP, file /var/tmp/ocpswap.file).
# Its tuning scripts and slice drop-ins are left out (nothing here reads them).
AUTOPILOT_SWAP_MC = "90-worker-swap-online"
AUTOPILOT_SWAP_FILE = "/var/tmp/ocpswap.file"
AUTOPILOT_MANAGED_BY = {"platform.kubevirt.io/managed-by": "virt-platform-autopilot"}
AUTOPILOT_DISABLED_RESOURCES = "platform.kubevirt.io/disabled-resources"


def autopilot_swap_machineconfig():
    def swapon_unit(name, what, device, priority):
        return {"name": name, "enabled": True, "contents": (
            f"[Unit]\nDescription={what}\nConditionFirstBoot=no\nConditionPathExists={device}\n\n"
            f"[Service]\nType=oneshot\nExecStart=/bin/sh -c \"grep -q '{device}' /proc/swaps || "
            f"swapon --priority {priority} {device}\"\n\n[Install]\nRequiredBy=kubelet-dependencies.target\n")}
    dropin = ("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nfailSwapOn: false\n"
              "memorySwap:\n  swapBehavior: LimitedSwap\n")
    return {"apiVersion": MCFG, "kind": "MachineConfig",
            "metadata": {"name": AUTOPILOT_SWAP_MC,
                         "labels": {"machineconfiguration.openshift.io/role": "worker", **AUTOPILOT_MANAGED_BY}},
            "spec": {"config": {"ignition": {"version": "3.5.0"},
                                "storage": {"files": [{"path": f"{KUBELET_CONF_DIR}/90-swap.conf", "mode": 420, "overwrite": True,
                                                       "contents": {"source": data_url(dropin)}}]},
                                "systemd": {"units": [
                                    swapon_unit("swap-disk-enable.service", "Enable swap", "/dev/disk/by-partlabel/OCPSWAP", 100),
                                    swapon_unit("ocpswap-file-enable.service", "Enable OCP file swap", AUTOPILOT_SWAP_FILE, 10)]}}}}


def autopilot_swap_wanted(hc, release):
    """The autopilot manages swap (and HCO runs no wasp-agent) when the HyperConverged opts in
    with platform.kubevirt.io/autopilot "true" or "swap-enable" (HCO >= 1.18, release-1.18
    controllers/handlers/wasp-agent/daemonset.go), on HCO >= 1.19 unless that annotation is
    "false" (release.autopilot_by_default), and unless its disabled-resources annotation lists
    the swap MachineConfig (the autopilot's documented opt-out of one resource)."""
    value = dig(hc, "metadata", "annotations", AUTOPILOT_ANNOTATION, default="") or ""
    if release.autopilot_by_default:
        if value.strip() == "false":
            return False
    elif release.hco < (1, 18) or not any(v.strip() in ("true", "swap-enable") for v in value.split(",")):
        return False
    try:
        disabled = yaml.safe_load(dig(hc, "metadata", "annotations", AUTOPILOT_DISABLED_RESOURCES, default="") or "") or []
    except yaml.YAMLError:
        disabled = []
    return not any(isinstance(d, dict) and d.get("kind") == "MachineConfig" and d.get("name") == AUTOPILOT_SWAP_MC
                   for d in disabled)


def hco_removes_wasp_leftovers(hc, release):
    """HCO 1.19 removes, once, the wasp-agent operands an earlier HCO created: #4528 "also
    removes the leftover resources on upgrade". HCO's mechanism (release-1.19 7313576e6,
    controllers/hyperconverged/hyperconverged_controller.go removeLeftover, assets/
    upgradePatches.json objectsToBeRemoved) deletes each listed object by name, whoever made it,
    when the HyperConverged's known operator version (status.versions 'operator') lies in the
    entry's semver range. UNSURE: #4528's entries were not read; the harness takes the operands
    of 1.16-1.18 (hco_wasp_objects and the DaemonSet) and that range."""
    known = next((v.get("version") for v in dig(hc, "status", "versions", default=[]) or []
                  if v.get("name") == "operator"), "") or ""
    if release.hco_deploys_wasp or release.hco < (1, 19) or not known:
        return False
    try:
        previous = releases.from_cluster_version(known)
    except (ValueError, IndexError):
        return False
    return previous.hco_deploys_wasp


def rendered_name(pool, merged_spec):
    """rendered-<pool>-<md5 of the merged spec> (MCO hashes the merged config the same way)."""
    digest = hashlib.md5(json.dumps(merged_spec, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return f"rendered-{pool}-{digest}"


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


def kubelet_config_error(kubelet_config, release):
    """MCO's validateUserKubeletConfig: why a KubeletConfig is refused, or None."""
    kc = kubelet_config or {}
    for key in FORBIDDEN_KUBELET_KEYS:
        if key in kc:
            return f"KubeletConfiguration: {key} is not allowed to be set, but contains: {kc[key]}"
    if release.swap_keys_rejected:
        if "failSwapOn" in kc:
            return f"KubeletConfiguration: failSwapOn is not allowed to be set, but contains: {str(kc['failSwapOn']).lower()}"
        behavior = dig(kc, "memorySwap", "swapBehavior")
        if behavior:
            return f"KubeletConfiguration: swapBehavior is not allowed to be set, but contains: {behavior}"
    return None


def kubelet_template(release, pool):
    """The parts of MCO's kubelet.conf template that matter here (the rest is elided)."""
    conf = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
            "cgroupDriver": "systemd", "maxPods": 250, "systemReserved": {"cpu": "500m", "memory": "1Gi"}}
    if release.minor >= (4, 21):
        conf["failSwapOn"] = pool == "master"
        conf["memorySwap"] = {"swapBehavior": "NoSwap"}
    return conf


def max_unavailable(value, machine_count):
    """Pool maxUnavailable (int or 'N%', default 1; 0 -> 1 as MCO does)."""
    if value is None:
        return 1
    if isinstance(value, str) and value.endswith("%"):
        value = int(machine_count * int(value[:-1]) / 100)
    return max(int(value), 1)


def meminfo(mem_total_kb, swap_kb):
    free = mem_total_kb * 9 // 10
    return (f"MemTotal:       {mem_total_kb:>10} kB\n"
            f"MemFree:        {free:>10} kB\n"
            f"MemAvailable:   {free:>10} kB\n"
            f"SwapCached:     {0:>10} kB\n"
            f"SwapTotal:      {swap_kb:>10} kB\n"
            f"SwapFree:       {swap_kb:>10} kB\n")


def data_url(text):
    return "data:text/plain;charset=utf-8;base64," + base64.b64encode(text.encode()).decode()


def condition(type_, status, reason="", message=""):
    return {"type": type_, "status": status, "reason": reason, "message": message, "lastTransitionTime": now()}


def keep_transition_times(new, old):
    """Carry lastTransitionTime over for conditions whose status did not change."""
    old_by_type = {c.get("type"): c for c in old or []}
    for c in new:
        prev = old_by_type.get(c["type"])
        if prev and prev.get("status") == c["status"] and prev.get("lastTransitionTime"):
            c["lastTransitionTime"] = prev["lastTransitionTime"]
    return new


def without_times(conditions):
    return [{k: v for k, v in c.items() if k != "lastTransitionTime"} for c in conditions or []]


def status_differs(new, old):
    """Whether writing `new` would change `old` (condition times aside)."""
    old = old or {}
    return any((without_times(v) != without_times(old.get(k))) if k == "conditions" else v != old.get(k)
               for k, v in new.items())


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


# --- alerting rules: which ones the platform Prometheus loads -------------------------------
CLUSTER_MONITORING_LABEL = "openshift.io/cluster-monitoring"
MONITORING_NAMESPACE = "openshift-monitoring"


def rule_loaded(kind, namespace, monitored_namespaces):
    """Whether the platform monitoring stack evaluates a rule object, and if not, why.
    A PrometheusRule is read by the platform Prometheus only in a namespace labelled
    openshift.io/cluster-monitoring=true (wasp-agent docs/configuration.md step 8 at release-4.19
    da5404d: "add the cluster-monitoring label to the wasp namespace"; the 4.17+ docs module,
    aspauldi/openshift-docs@09356ca, has the same step); user-workload monitoring, where enabled,
    scopes a rule's queries to its own namespace, so node metrics never reach it. An AlertingRule
    (monitoring.openshift.io) is honoured in openshift-monitoring only (its CRD description)."""
    if kind == "AlertingRule":
        return (True, "") if namespace == MONITORING_NAMESPACE else (False, f"AlertingRule outside {MONITORING_NAMESPACE}")
    if namespace in monitored_namespaces:
        return True, ""
    return False, f"namespace {namespace} lacks label {CLUSTER_MONITORING_LABEL}=true"


def rule_alerts(obj):
    return [r["alert"] for g in dig(obj, "spec", "groups", default=[]) or [] for r in g.get("rules") or [] if r.get("alert")]


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
        its provisioning unit fails (`self.failed_unit`) and the node has no swap."""
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
            self.failed_unit = provisioning_unit(config)
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


def atomic_write(file, text):
    file = Path(file)
    tmp = file.with_name(file.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, file)


def node_mem_total_kb(node):
    return quantity_bytes(dig(node, "status", "capacity", "memory", default="0")) // 1024


# =============================================================================================
# The controllers
# =============================================================================================

class Emulator:
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

    # --- MCO: kubelet-config controller --------------------------------------------------------
    def sync_kubelet_configs(self, release, pools, kcs, mcs):
        """KubeletConfig -> 99-<pool>-generated-kubelet[-N]; returns True if MCs changed."""
        changed = False
        mcs_by_name = {mc["metadata"]["name"]: mc for mc in mcs}
        for kc in kcs:
            name, meta = kc["metadata"]["name"], kc["metadata"]
            kc_path = path(MCFG, "kubeletconfigs", name)
            if meta.get("deletionTimestamp"):  # MCO's finalizer: delete the generated MCs first
                for mc_name in meta.get("finalizers") or []:
                    self.kube.delete(path(MCFG, "machineconfigs", mc_name))
                self.kube.merge_patch(kc_path, {"metadata": {"finalizers": None}})
                changed = True
                continue
            spec = kc.get("spec") or {}
            matched = [p for p in pools if selector_matches(spec.get("machineConfigPoolSelector"), p["metadata"].get("labels"))]
            error = kubelet_config_error(spec.get("kubeletConfig"), release)
            if not error and not matched:
                error = f"could not find any MachineConfigPool set for KubeletConfig {name}"
            suffix = dig(meta, "annotations", MC_NAME_SUFFIX)
            if not error and suffix is None:
                suffix = self._free_kubelet_suffix(kcs, matched)
                if suffix is None:
                    error = "max number of supported kubelet config (10) has been reached. Please delete old kubelet configs before retrying"
            if error:  # MCO leaves an already generated MC in place
                self._set_kc_status(kc, condition("Failure", "False", message=f"Error: {error}"))
                continue
            mc_names = []
            for pool in matched:
                pool_name = pool["metadata"]["name"]
                mc_name = f"99-{pool_name}-generated-kubelet" + (f"-{suffix}" if suffix else "")
                mc_names.append(mc_name)
                conf = kubelet_template(release, pool_name)
                conf.update(spec.get("kubeletConfig") or {})
                body = {
                    "apiVersion": MCFG, "kind": "MachineConfig",
                    "metadata": {"name": mc_name, "labels": {ROLE_LABEL: pool_name},
                                 "annotations": {GENERATED_BY: CONTROLLER_VERSION},
                                 "ownerReferences": [{"apiVersion": MCFG, "kind": "KubeletConfig", "name": name,
                                                      "uid": meta["uid"], "controller": True}]},
                    "spec": {"config": {"ignition": {"version": ".".join(map(str, release.ignition_max))},
                                        "storage": {"files": [{"path": KUBELET_CONF, "overwrite": True, "mode": 0o644,
                                                               "contents": {"source": data_url(json.dumps(conf, indent=2))}}]}}},
                }
                existing = mcs_by_name.get(mc_name)
                if existing is None:
                    self.kube.create(path(MCFG, "machineconfigs"), body)
                    changed = True
                elif existing.get("spec") != body["spec"]:
                    self.kube.merge_patch(path(MCFG, "machineconfigs", mc_name), {"spec": body["spec"]})
                    changed = True
            finalizers = sorted(set(meta.get("finalizers") or []) | set(mc_names))
            if dig(meta, "annotations", MC_NAME_SUFFIX) != suffix or (meta.get("finalizers") or []) != finalizers:
                self.kube.merge_patch(kc_path, {"metadata": {"annotations": {MC_NAME_SUFFIX: suffix}, "finalizers": finalizers}})
            self._set_kc_status(kc, condition("Success", "True", message="Success"))
        return changed

    @staticmethod
    def _free_kubelet_suffix(kcs, pools):
        """'' for the first KubeletConfig of a pool, then '1'..'9' (MCO's mc-name-suffix)."""
        pool_labels = [p["metadata"].get("labels") for p in pools]
        used = {dig(k, "metadata", "annotations", MC_NAME_SUFFIX) for k in kcs
                if any(selector_matches(dig(k, "spec", "machineConfigPoolSelector"), labels) for labels in pool_labels)}
        for candidate in [""] + [str(i) for i in range(1, 10)]:
            if candidate not in used:
                return candidate
        return None

    def _set_kc_status(self, kc, cond):
        status = kc.get("status") or {}
        if status.get("observedGeneration") == kc["metadata"]["generation"] and \
                without_times(status.get("conditions"))[-1:] == without_times([cond]):
            return
        self.kube.merge_patch(path(MCFG, "kubeletconfigs", kc["metadata"]["name"], subresource="status"),
                              {"status": {"observedGeneration": kc["metadata"]["generation"], "conditions": [cond]}})

    # --- MCO: render controller ----------------------------------------------------------------
    def sync_render(self, release, pools, mcs):
        """Merge each pool's MachineConfigs into rendered-<pool>-<hash> and retarget the pool
        (also while paused: pausing only stops the node controller). True if anything changed.
        Files written by more than one of a pool's MachineConfigs go to emulator/conflicts.json."""
        changed, conflicts = False, {}
        for pool in pools:
            name = pool["metadata"]["name"]
            selected = [mc for mc in mcs if selector_matches(dig(pool, "spec", "machineConfigSelector"), mc["metadata"].get("labels"))
                        and not mc["metadata"].get("deletionTimestamp")]
            # MCO validates the pool's configs sorted by name and fails on the first invalid one
            # (release-4.21 db84d8368 render_controller.go syncMachineConfigPool,
            # generateRenderedMachineConfig; the message is syncFailingStatus').
            errors = [f"could not generate rendered MachineConfig: {err}"
                      for mc in sorted(selected, key=lambda m: m["metadata"]["name"])
                      if (err := ignition_error(dig(mc, "spec", "config"), release.ignition_max))][:1]
            if not selected:
                errors = [f"no MachineConfigs found matching selector for pool {name}"]
            if errors:
                self.render_errors[name] = f"Failed to render configuration for pool {name}: " + "; ".join(errors)
                continue
            self.render_errors.pop(name, None)
            found = file_conflicts(selected)
            if found:
                conflicts[name] = found
            changed |= ensure_rendered(self.kube, pool, selected, existing={mc["metadata"]["name"] for mc in mcs},
                                       release_version=release.ocp_version)[1]
        if conflicts != self._load_json("conflicts.json", {}):
            atomic_write(self.state_dir / "conflicts.json", json.dumps(conflicts, indent=1, sort_keys=True))
        return changed

    # --- MCO: node controller + machine-config-daemon -----------------------------------------
    def sync_nodes(self, release, pools, nodes, mcs_by_name):
        members = {}
        for node in nodes:
            pool = pool_for_node(node["metadata"].get("labels"), pools)
            if pool:
                members.setdefault(pool, []).append(node)
        for pool in pools:
            pool_nodes = sorted(members.get(pool["metadata"]["name"], []), key=lambda n: n["metadata"]["name"])
            self._sync_pool_nodes(release, pool, pool_nodes, mcs_by_name)
            self._write_pool_status(pool, pool_nodes)

    def _sync_pool_nodes(self, release, pool, nodes, mcs_by_name):
        pool_name = pool["metadata"]["name"]
        target = dig(pool, "spec", "configuration", "name")
        if not target or target not in mcs_by_name:
            return
        for node in nodes:
            a, name = annotations(node), node["metadata"]["name"]
            if CURRENT_CONFIG not in a:
                # A node joining the pool boots straight into the pool's target (no reboot counted).
                self._boot(release, pool_name, node, mcs_by_name[target], count=False)
                self._patch_node(node, {CURRENT_CONFIG: target, DESIRED_CONFIG: target, NODE_STATE: "Done", NODE_REASON: None})
            elif a.get(NODE_STATE) == "Working" and name not in self.rebooting:
                self.rebooting[name] = time.monotonic() + self.reboot_seconds  # emulator restarted mid-reboot
            elif a.get(NODE_STATE) == "Working" and time.monotonic() >= self.rebooting[name]:
                desired = a.get(DESIRED_CONFIG)
                if desired not in mcs_by_name:
                    continue
                error = self._boot(release, pool_name, node, mcs_by_name[desired], count=True)
                if error:  # the kubelet does not come back: the node stays Working (MCO waits forever)
                    self.rebooting[name] = float("inf")
                    self._patch_node(node, {KUBELET_ANNOTATION: error})
                    # and NotReady: nothing posts its status (kwok's node-ready stage skips a node
                    # with this annotation; it makes the node Ready again once the annotation goes)
                    self.kube.merge_patch(path("v1", "nodes", name, subresource="status"),
                                          {"status": {"conditions": kubelet_down_conditions(dig(node, "status", "conditions"))}})
                    log.warning("node %s: %s", name, error)
                else:
                    self.rebooting.pop(name, None)
                    self._patch_node(node, {CURRENT_CONFIG: desired, NODE_STATE: "Done", NODE_REASON: None,
                                            KUBELET_ANNOTATION: None}, unschedulable=False)
            elif a.get(NODE_STATE) == "Degraded" and dig(pool, "metadata", "annotations", DEGRADE_ANNOTATION) != "true":
                self._start_update(node, a.get(DESIRED_CONFIG) or target)  # fault removed: retry

        if dig(pool, "spec", "paused"):
            return
        if any(annotations(n).get(NODE_STATE) == "Degraded" for n in nodes):
            return  # MCO stops rolling out a pool with a degraded node
        budget = max_unavailable(dig(pool, "spec", "maxUnavailable"), len(nodes)) - \
            sum(1 for n in nodes if self._unavailable(n))
        updated = sum(1 for n in nodes if annotations(n).get(CURRENT_CONFIG) == target)
        degrade = dig(pool, "metadata", "annotations", DEGRADE_ANNOTATION) == "true"
        for node in (n for n in nodes if annotations(n).get(DESIRED_CONFIG) != target):
            if self.rebooting.get(node["metadata"]["name"]) == float("inf"):
                self._start_update(node, target)  # its kubelet never came back: a new config is its only way out
                continue
            if annotations(node).get(NODE_STATE) == "Working":
                continue  # still rebooting into an older target; it is picked up again when done
            if budget <= 0:
                break
            if degrade and (updated >= 1 or len(nodes) == 1):
                self._patch_node(node, {DESIRED_CONFIG: target, NODE_STATE: "Degraded",
                                        NODE_REASON: "localcluster fault injection: pool annotated " + DEGRADE_ANNOTATION})
                break
            self._start_update(node, target)
            budget -= 1
        working = sum(1 for n in nodes if annotations(n).get(NODE_STATE) == "Working")
        if working > self.counters["max_updating"].get(pool_name, 0):
            self.counters["max_updating"][pool_name] = working

    def _start_update(self, node, target):
        """Cordon, set desiredConfig; the 'reboot' completes after reboot_seconds."""
        self.rebooting[node["metadata"]["name"]] = time.monotonic() + self.reboot_seconds
        self._patch_node(node, {DESIRED_CONFIG: target, NODE_STATE: "Working", NODE_REASON: None}, unschedulable=True)

    def _boot(self, release, pool_name, node, rendered_mc, count):
        name = node["metadata"]["name"]
        config = dig(rendered_mc, "spec", "config", default={})
        disk = NodeDisk(self.run_dir, name)
        free = annotations(node).get(DISK_FREE_ANNOTATION)
        swap = disk.boot(config, node_mem_total_kb(node), int(free) if str(free or "").isdigit() else None)
        if count:
            self.counters["reboots"][name] = self.counters["reboots"].get(name, 0) + 1
            log.info("node %s rebooted into %s (swap %d MiB)", name, rendered_mc["metadata"]["name"], swap)
        return kubelet_dependency_error(config, disk.failed_unit) or \
            (kubelet_swap_error(config, release, pool_name) if swap else None)

    def _patch_node(self, node, changes, unschedulable=None):
        """Patch node annotations (None removes one) and keep the cached object in step."""
        patch = {"metadata": {"annotations": changes}}
        if unschedulable is not None:
            patch["spec"] = {"unschedulable": unschedulable or None}
        updated = self.kube.merge_patch(path("v1", "nodes", node["metadata"]["name"]), patch)
        node["metadata"]["annotations"] = updated["metadata"].get("annotations") or {}
        node["spec"] = updated.get("spec") or {}

    @staticmethod
    def _unavailable(node):
        a = node["metadata"].get("annotations") or {}
        return a.get(NODE_STATE) != "Done" or a.get(CURRENT_CONFIG) != a.get(DESIRED_CONFIG) or \
            bool(dig(node, "spec", "unschedulable"))

    def _write_pool_status(self, pool, nodes):
        """MCO's calculateStatus (pkg/controller/node/status.go)."""
        name = pool["metadata"]["name"]
        spec_conf = dig(pool, "spec", "configuration") or {}
        target = spec_conf.get("name")
        ann = [n["metadata"].get("annotations") or {} for n in nodes]
        machines = len(nodes)
        updated = sum(1 for a in ann if a.get(CURRENT_CONFIG) == target and a.get(NODE_STATE) == "Done")
        degraded_nodes = [(n["metadata"]["name"], a.get(NODE_REASON, "")) for n, a in zip(nodes, ann)
                          if a.get(NODE_STATE) in ("Degraded", "Unreconcilable")]
        unavailable = sum(1 for n in nodes if self._unavailable(n))
        ready = sum(1 for n, a in zip(nodes, ann)
                    if a.get(CURRENT_CONFIG) == target and a.get(NODE_STATE) == "Done" and not dig(n, "spec", "unschedulable"))
        status = dict(pool.get("status") or {})
        old_conditions = status.get("conditions")
        all_updated = bool(target) and updated == machines and ready == machines and unavailable == 0
        if all_updated:
            conditions = [condition("Updated", "True", message=f"All nodes are updated with MachineConfig {target}"),
                          condition("Updating", "False")]
            previous = dig(status, "configuration", "name")
            if previous and previous != target:
                self.counters["rollouts"][name] = self.counters["rollouts"].get(name, 0) + 1
                log.info("pool %s rolled out %s", name, target)
            status["configuration"] = copy.deepcopy(spec_conf)
        else:
            conditions = [condition("Updated", "False")]
            if dig(pool, "spec", "paused"):
                conditions.append(condition("Updating", "False", message=f"Pool is paused; will not update to {target}"))
            else:
                conditions.append(condition("Updating", "True", message=f"All nodes are updating to MachineConfig {target}"))
        if degraded_nodes:
            node_message = ", ".join(f'Node {n} is reporting: "{r}"' for n, r in degraded_nodes)
            conditions.append(condition("NodeDegraded", "True", f"{len(degraded_nodes)} nodes are reporting degraded status on sync", node_message))
        else:
            conditions.append(condition("NodeDegraded", "False"))
        render_error = self.render_errors.get(name)
        conditions.append(condition("RenderDegraded", "True", "MachineConfigRenderFailed", render_error) if render_error
                          else condition("RenderDegraded", "False"))
        degraded = [c for c in conditions[-2:] if c["status"] == "True"]
        conditions.append(condition("Degraded", "True", degraded[0]["reason"], degraded[0]["message"]) if degraded
                          else condition("Degraded", "False"))
        status.update(observedGeneration=pool["metadata"]["generation"], machineCount=machines,
                      updatedMachineCount=updated, readyMachineCount=ready, unavailableMachineCount=unavailable,
                      degradedMachineCount=len(degraded_nodes),
                      conditions=keep_transition_times(conditions, old_conditions))
        if status != (pool.get("status") or {}):
            self.save_counters()  # whoever sees the pool Updated must also see its reboots counted
            self.kube.merge_patch(path(MCFG, "machineconfigpools", name, subresource="status"), {"status": status})

    # --- HCO -----------------------------------------------------------------------------------
    def sync_hco(self, release, wasp_daemonsets):
        hc_path = path(f"hco.kubevirt.io/{release.hco_api_version}", "hyperconvergeds", HCO_NAME, HCO_NAMESPACE)
        hc = self.kube.get(hc_path, default=None)
        if hc is None:
            return
        overcommit = dig(hc, *release.overcommit_path, default=100)
        kv_path = path("kubevirt.io/v1", "kubevirts", KUBEVIRT_NAME, HCO_NAMESPACE)
        kv = self.kube.get(kv_path, default=None)
        if kv is not None and dig(kv, "spec", "configuration", "developerConfiguration", "memoryOvercommit") != overcommit:
            # HCO owns the KubeVirt CR: a direct edit is reverted, the HyperConverged value wins.
            self.kube.merge_patch(kv_path, {"spec": {"configuration": {"developerConfiguration": {"memoryOvercommit": overcommit}}}})

        autopilot = release.hco >= (1, 18) and any(
            v in ("true", "swap-enable") for v in (dig(hc, "metadata", "annotations", AUTOPILOT_ANNOTATION, default="") or "").split(","))
        want_wasp = release.hco_deploys_wasp and overcommit > 100 and not autopilot
        self.sync_autopilot(hc, release)
        hco_ds = next((ds for ds in wasp_daemonsets if ds["metadata"]["namespace"] == HCO_NAMESPACE), None)
        if want_wasp:
            self.ensure_hco_wasp(hc, release, hco_ds)
        elif hco_removes_wasp_leftovers(hc, release):  # HCO 1.19, once, on the upgrade: by name
            self.remove_hco_wasp(by_name=True)
        elif release.hco_deploys_wasp and dig(hco_ds, "metadata", "labels", "app") == HCO_LABELS["app"]:
            self.remove_hco_wasp()  # 1.16-1.18 conditional handlers; their cache sees only their own
        # HCO's DuplicateWaspAgentDSDetected, as a file (kubevirt/hyperconverged-cluster-operator
        # pkg/monitoring/observability/rules/alerts/cluster_alerts.go, HCO 1.16+):
        #   count(kube_daemonset_metadata_generation{namespace="wasp",daemonset="wasp-agent"}) > 0
        #   and kubevirt_hco_memory_overcommit_percentage > 100, for: 1m.
        # The mere existence of the manual DaemonSet makes the expression true. active_since: when
        # it became true (time.time()); 'firing' lists it at once (the 'for' is not waited here,
        # tests compare active_since with DUPLICATE_WASP_FOR).
        duplicate = want_wasp and any(ds["metadata"]["namespace"] == "wasp" for ds in wasp_daemonsets)
        self.firing = ["DuplicateWaspAgentDSDetected"] if duplicate else []
        if not duplicate:
            self.active_since.pop("DuplicateWaspAgentDSDetected", None)
        else:
            self.active_since.setdefault("DuplicateWaspAgentDSDetected", time.time())

        conditions = keep_transition_times([
            condition("ReconcileComplete", "True", "ReconcileCompleted", "Reconcile completed successfully"),
            condition("Available", "True", "ReconcileCompleted", "Reconcile completed successfully"),
            condition("Progressing", "False", "ReconcileCompleted", "Reconcile completed successfully"),
            condition("Degraded", "False", "ReconcileCompleted", "Reconcile completed successfully"),
            condition("Upgradeable", "True", "ReconcileCompleted", "Reconcile completed successfully"),
        ], dig(hc, "status", "conditions"))
        status = {"conditions": conditions, "observedGeneration": hc["metadata"]["generation"],
                  "versions": [{"name": "operator", "version": release.cnv_version}], "systemHealthStatus": "healthy"}
        if status_differs(status, hc.get("status")):
            self.kube.merge_patch(hc_path + "/status", {"status": status})

    def sync_autopilot(self, hc, release):
        """virt-platform-autopilot's swap MachineConfig: present while the HyperConverged opts in
        (autopilot_swap_wanted), removed otherwise. UNSURE: upstream's behaviour on opt-out was
        not read; removing what it manages is the assumption."""
        mc_path = path(MCFG, "machineconfigs", AUTOPILOT_SWAP_MC)
        current = self.kube.get(mc_path, default=None)
        if autopilot_swap_wanted(hc, release):
            desired = autopilot_swap_machineconfig()
            if current is None or current.get("spec") != desired["spec"]:
                self.kube.apply(path(MCFG, "machineconfigs"), desired)
                log.info("autopilot: applied MachineConfig %s", AUTOPILOT_SWAP_MC)
        elif current is not None and dig(current, "metadata", "labels", "platform.kubevirt.io/managed-by") == \
                AUTOPILOT_MANAGED_BY["platform.kubevirt.io/managed-by"]:
            self.kube.delete(mc_path)
            log.info("autopilot: removed MachineConfig %s", AUTOPILOT_SWAP_MC)

    def ensure_hco_wasp(self, hc, release, current):
        """HCO >= 1.16 wasp-agent operands (controllers/handlers/wasp-agent), labelled for its cache."""
        desired = hco_wasp_daemonset(self._csv_wasp_image(release), dig(hc, "spec", "infra", "nodePlacement") or {})
        fingerprint = hashlib.sha256(json.dumps(desired["spec"], sort_keys=True).encode()).hexdigest()[:16]
        desired["metadata"]["annotations"] = {APPLIED_ANNOTATION: fingerprint}
        if dig(current, "metadata", "annotations", APPLIED_ANNOTATION) == fingerprint:
            return
        for collection, body in hco_wasp_objects():
            self.kube.apply(collection, body)
        self.kube.apply(path("apps/v1", "daemonsets", namespace=HCO_NAMESPACE), desired)
        log.info("HCO: deployed wasp-agent in %s", HCO_NAMESPACE)

    def remove_hco_wasp(self, by_name=False):
        """Delete HCO's wasp-agent operands - only those carrying its label: HCO's cache sees
        nothing else, so a same-named object created by someone else stays. by_name: HCO 1.19's
        leftover removal on upgrade (hco_removes_wasp_leftovers), which deletes by name."""
        for collection, body in hco_wasp_objects():
            obj_path = f"{collection}/{body['metadata']['name']}"
            if by_name or dig(self.kube.get(obj_path, default=None), "metadata", "labels", "app") == HCO_LABELS["app"]:
                self.kube.delete(obj_path)
        self.kube.delete(path("apps/v1", "daemonsets", "wasp-agent", HCO_NAMESPACE))  # last: while it exists, the rest is looked after
        log.info("HCO: removed its wasp-agent%s", " (leftovers of the upgrade)" if by_name else "")

    def _csv_wasp_image(self, release):
        csv = self.kube.get(path("operators.coreos.com/v1alpha1", "clusterserviceversions", release.csv_name, HCO_NAMESPACE), default=None)
        for image in dig(csv, "spec", "relatedImages", default=[]) or []:
            if "wasp-agent" in image.get("name", ""):
                return image["image"]
        return release.wasp_agent_image or "registry.redhat.io/container-native-virtualization/wasp-agent-rhel9:latest"

    def sync_rules(self):
        """The platform monitoring stack's view of the rule objects (see rule_loaded): `loaded`
        and `ignored` in alerts.json, so tests can tell a rule that would never fire."""
        monitored = {n["metadata"]["name"] for n in self.kube.list(
            path("v1", "namespaces"), labelSelector=f"{CLUSTER_MONITORING_LABEL}=true")}
        loaded, ignored = [], []
        for group_version, plural, kind in (("monitoring.coreos.com/v1", "prometheusrules", "PrometheusRule"),
                                            ("monitoring.openshift.io/v1", "alertingrules", "AlertingRule")):
            try:
                objs = self.kube.list(path(group_version, plural))
            except ApiError as e:
                if e.status == 404:  # CRD not installed (yet)
                    continue
                raise
            for obj in objs:
                ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
                ok, why = rule_loaded(kind, ns, monitored)
                entry = {"kind": kind, "namespace": ns, "name": name, "alerts": rule_alerts(obj)}
                (loaded if ok else ignored).append(entry if ok else dict(entry, reason=why))

        def key(entry):
            return entry["kind"], entry["namespace"], entry["name"]
        self.rules = {"loaded": sorted(loaded, key=key), "ignored": sorted(ignored, key=key)}

    def write_alerts(self):
        doc = {"firing": self.firing, "active_since": dict(self.active_since), **self.rules}
        if doc != self.alerts:
            atomic_write(self.state_dir / "alerts.json", json.dumps(doc))
            self.alerts = doc

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
# Objects the emulated operators create (shared with openshift.py)
# =============================================================================================

def ensure_rendered(kube, pool, selected_mcs, existing=None, release_version=None):
    """Create rendered-<pool>-<hash> for these MachineConfigs if needed and point the pool's
    spec.configuration at it. Returns (rendered name, whether anything was written). A new
    rendered config carries the release-image-version annotation of the MCO that rendered it
    (MCO release-4.21 pkg/controller/render/render_controller.go, db84d8368)."""
    pool_name = pool["metadata"]["name"]
    merged = merge_configs(selected_mcs)
    name = rendered_name(pool_name, merged)
    changed = False
    if existing is None or name not in existing:
        changed = True
        body = {"apiVersion": MCFG, "kind": "MachineConfig",
                "metadata": {"name": name, "annotations": {GENERATED_BY: CONTROLLER_VERSION,
                                                           **({RELEASE_IMAGE_VERSION: release_version} if release_version else {})},
                             "ownerReferences": [{"apiVersion": MCFG, "kind": "MachineConfigPool", "name": pool_name,
                                                  "uid": pool["metadata"]["uid"], "controller": True,
                                                  "blockOwnerDeletion": True}]},
                "spec": merged}
        try:
            kube.create(path(MCFG, "machineconfigs"), body)
        except ApiError as e:
            if e.status != 409:
                raise
    configuration = {"name": name, "source": [{"apiVersion": MCFG, "kind": "MachineConfig", "name": mc["metadata"]["name"]}
                                              for mc in sorted(selected_mcs, key=lambda m: m["metadata"]["name"])]}
    if dig(pool, "spec", "configuration") != configuration:
        kube.merge_patch(path(MCFG, "machineconfigpools", pool_name), {"spec": {"configuration": configuration}})
        log.info("pool %s retargeted to %s", pool_name, name)
        changed = True
    return name, changed


def hco_wasp_daemonset(image, node_placement):
    """HCO's wasp-agent DaemonSet (release-1.16+ controllers/handlers/wasp-agent/daemonset.go)."""
    pod_spec = {
        "serviceAccountName": "wasp",
        "hostPID": True,
        "hostUsers": True,
        "priorityClassName": "system-node-critical",
        "terminationGracePeriodSeconds": 5,
        "containers": [{
            "name": "wasp-agent", "image": image, "imagePullPolicy": "IfNotPresent",
            "env": [{"name": "VERBOSITY", "value": "1"},
                    {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
            "resources": {"requests": {"cpu": "100m", "memory": "50M"}},
            "securityContext": {"privileged": True},
            "volumeMounts": [{"name": "host", "mountPath": "/host"}, {"name": "rootfs", "mountPath": "/rootfs"}],
        }],
        "volumes": [{"name": "host", "hostPath": {"path": "/"}}, {"name": "rootfs", "hostPath": {"path": "/"}}],
    }
    for key in ("nodeSelector", "affinity", "tolerations"):  # HCO copies spec.infra.nodePlacement
        if node_placement.get(key):
            pod_spec[key] = node_placement[key]
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "wasp-agent", "namespace": HCO_NAMESPACE, "labels": dict(HCO_LABELS)},
        "spec": {
            "selector": {"matchLabels": {"name": "wasp-agent"}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {"metadata": {"labels": {"name": "wasp-agent", **HCO_LABELS,
                                                 "hco.kubevirt.io/allow-access-cluster-services": "true"}},
                         "spec": pod_spec},
        },
    }


def hco_wasp_objects():
    """[(collection path, body)] of HCO's wasp-agent SA, SCC and RBAC."""
    def meta(name, ns=None):
        return {"name": name, "labels": dict(HCO_LABELS), **({"namespace": ns} if ns else {})}
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("wasp", HCO_NAMESPACE)}
    scc = {"apiVersion": "security.openshift.io/v1", "kind": "SecurityContextConstraints", "metadata": meta("wasp"),
           "allowHostDirVolumePlugin": True, "allowHostIPC": True, "allowHostNetwork": True, "allowHostPID": True,
           "allowHostPorts": True, "allowPrivilegeEscalation": True, "allowPrivilegedContainer": True,
           "allowedCapabilities": ["*"], "allowedUnsafeSysctls": ["*"], "defaultAddCapabilities": None,
           "fsGroup": {"type": "RunAsAny"}, "priority": None, "readOnlyRootFilesystem": False,
           "requiredDropCapabilities": None, "runAsUser": {"type": "RunAsAny"}, "seLinuxContext": {"type": "RunAsAny"},
           "seccompProfiles": ["*"], "supplementalGroups": {"type": "RunAsAny"},
           "users": [f"system:serviceaccount:{HCO_NAMESPACE}:wasp"], "volumes": ["*"]}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": meta("wasp-cluster"),
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["watch", "list"]}]}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": meta("wasp-cluster"),
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "wasp-cluster"},
               "subjects": [{"kind": "ServiceAccount", "name": "wasp", "namespace": HCO_NAMESPACE}]}
    return [(path("v1", "serviceaccounts", namespace=HCO_NAMESPACE), sa),
            (path("security.openshift.io/v1", "securitycontextconstraints"), scc),
            (path("rbac.authorization.k8s.io/v1", "clusterroles"), role),
            (path("rbac.authorization.k8s.io/v1", "clusterrolebindings"), binding)]


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
