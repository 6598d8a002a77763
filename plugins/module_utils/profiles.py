# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Profile table loader (controller side).

The table itself is data: ``profiles.yml`` beside this file, one row per documented
procedure. This module only reads it, picks a row by name or by OpenShift version, and
explains why not when it cannot. Pure Python (PyYAML), no Ansible imports, so it is unit-tested
without Ansible. Not for use inside modules: the YAML file is not shipped with AnsiballZ.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import re

PROFILES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "profiles.yml")

_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)(?:[.\-+].*)?$")


class ProfileError(ValueError):
    """A profile cannot be found or chosen; the message is meant for the user."""


def load_profiles(path=None):
    """Return the ``profiles`` mapping of the data file (name -> row)."""
    import yaml  # PyYAML ships with ansible-core

    with open(path or PROFILES_FILE, "r") as handle:
        data = yaml.safe_load(handle) or {}
    profiles = data.get("profiles")
    if not isinstance(profiles, dict) or not profiles:
        raise ProfileError("profile table %s has no 'profiles' mapping" % (path or PROFILES_FILE))
    return profiles


def parse_minor(version):
    """'4.16.12' -> (4, 16); raises ProfileError on anything else."""
    match = _VERSION_RE.match(str(version).strip())
    if not match:
        raise ProfileError("cannot read an OpenShift version from %r" % (version,))
    return int(match.group(1)), int(match.group(2))


def _in_range(minor, row):
    bounds = row.get("ocp") or {}
    low = bounds.get("min")
    high = bounds.get("max")
    if low and minor < parse_minor(low):
        return False
    if high and minor > parse_minor(high):
        return False
    return True


def _releases(row):
    """The row's OpenShift minors as people write them: 4.16, 4.17-4.19, 4.21+."""
    bounds = row.get("ocp") or {}
    low, high = bounds.get("min") or "", bounds.get("max") or ""
    return low if low == high else ("%s+" % low if not high else "%s-%s" % (low, high))


def release_span(row):
    """The row's releases for messages, with ", explicit only" for a row detection never picks."""
    return _releases(row) + ("" if row.get("auto", True) else ", explicit only")


def describe(profiles):
    """One line per profile, for error messages."""
    lines = []
    for name, row in profiles.items():
        lines.append("%s (OpenShift %s): %s" % (name, release_span(row), row.get("description", "")))
    return "; ".join(lines)


def get_profile(name, profiles=None):
    """Return a copy of row ``name`` with its ``name`` key set."""
    profiles = profiles if profiles is not None else load_profiles()
    if name not in profiles:
        raise ProfileError(
            "unknown profile %r; known profiles: %s" % (name, describe(profiles))
        )
    row = copy.deepcopy(profiles[name])
    row["name"] = name
    return row


AUTOPILOT_SWAP_MACHINECONFIG = "90-worker-swap-online"
AUTOPILOT_MANAGED_BY = ("platform.kubevirt.io/managed-by", "virt-platform-autopilot")


def autopilot_swap_machineconfig(machineconfigs):
    """Name of virt-platform-autopilot's swap MachineConfig among ``machineconfigs`` (API objects),
    or ''. The autopilot's asset is named 90-worker-swap-online (virt-platform-autopilot
    assets/active/machine-config/01-swap-enable.yaml.tpl); a MachineConfig the autopilot labels as
    its own (platform.kubevirt.io/managed-by) that writes the kubelet drop-in directory counts too.
    A MachineConfig being deleted does not count."""
    for mc in machineconfigs or []:
        meta = (mc or {}).get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        if meta.get("name") == AUTOPILOT_SWAP_MACHINECONFIG:
            return meta["name"]
        labels = meta.get("labels") or {}
        files = (((mc.get("spec") or {}).get("config") or {}).get("storage") or {}).get("files") or []
        if labels.get(AUTOPILOT_MANAGED_BY[0]) == AUTOPILOT_MANAGED_BY[1] and any(
                str(f.get("path", "")).startswith("/etc/openshift/kubelet.conf.d/") for f in files):
            return meta.get("name", "")
    return ""


def detect_profile(version, profiles=None, cnv_version=None, autopilot=False):
    """Return the automatic profile row for an OpenShift version ('4.16.3').

    ``cnv_version`` (the OpenShift Virtualization CSV's ``spec.version``, e.g. '4.20.2'), when
    known, must satisfy the row's ``cnv.min``: hco-managed needs HCO >= 1.16 (CNV 4.20), which
    deploys wasp-agent itself. A cluster whose OpenShift is upgraded but whose OpenShift
    Virtualization is not yet gets a message, not a silently wrong profile.

    ``autopilot`` (virt-platform-autopilot's swap MachineConfig exists, see
    autopilot_swap_machineconfig) picks the row with ``detect: autopilot`` whatever the version:
    the cluster shows who manages swap, a version would only be a guess.
    """
    profiles = profiles if profiles is not None else load_profiles()
    if autopilot:
        for name, row in profiles.items():
            if row.get("detect") == "autopilot":
                return get_profile(name, profiles)
    minor = parse_minor(version)
    for name, row in profiles.items():
        if row.get("auto", True) and _in_range(minor, row):
            need = (row.get("cnv") or {}).get("min")
            if cnv_version and need and parse_minor(cnv_version) < parse_minor(need):
                raise ProfileError(
                    "OpenShift %s needs profile %s, which needs OpenShift Virtualization %s or later, "
                    "but %s is installed; finish the OpenShift Virtualization upgrade, or set "
                    "density_profile to one of: %s" % (version, name, need, cnv_version, describe(profiles))
                )
            return get_profile(name, profiles)
    raise ProfileError(
        "no profile for OpenShift %s; set density_profile to one of: %s"
        % (version, describe(profiles))
    )


# HyperConverged API versions the collection can talk, newest first: it writes
# memoryOvercommitPercentage at the path of the version it reads (hco.OVERCOMMIT_PATHS).
HCO_API_VERSIONS = ("v1", "v1beta1")


def hco_api_version(crd, known=HCO_API_VERSIONS):
    """The HyperConverged API version to use: of the versions in ``known`` that the CRD serves,
    the newest (Kubernetes version priority: v1 before v1beta1), or '' when it serves none of them.

    Never chosen by which version is *stored*: HCO release-1.18 (OpenShift Virtualization 4.22)
    serves v1 and v1beta1 but stores v1beta1 (kubevirt/hyperconverged-cluster-operator
    release-1.18 de5270c09, api/v1beta1/hyperconverged_types.go +kubebuilder:storageversion);
    release-1.19 stores v1 (485f93528). HCO's conversion webhook translates between the two, so
    the storage version says nothing about the path a client must write. ``crd`` is the CRD
    object (or its ``spec.versions`` list).
    """
    versions = crd.get("spec", {}).get("versions") if isinstance(crd, dict) else crd
    served = [v.get("name") for v in (versions or []) if isinstance(v, dict) and v.get("served", True)]
    candidates = sorted((name for name in served if name in set(known)), key=_kube_version_priority)
    return candidates[0] if candidates else ""


_KUBE_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def _kube_version_priority(name):
    """Sort key, highest priority first, as Kubernetes orders API versions: GA before beta before
    alpha, higher numbers first; names that do not look like a version last, alphabetically."""
    match = _KUBE_VERSION_RE.match(name or "")
    if not match:
        return (1, 0, 0, 0, name or "")
    stage = {None: 0, "beta": 1, "alpha": 2}[match.group(2)]
    return (0, stage, -int(match.group(1)), -int(match.group(3) or 0), name)


# CNV minor -> HCO release (HCO hack/config: CNV 4.16 ... 4.22 = HCO release-1.12 ... 1.18).
def _hco_release(cnv_minor):
    return "1.%d" % (cnv_minor[1] - 4) if cnv_minor[0] == 4 and cnv_minor[1] >= 12 else "?"


def _span(row):
    return _releases(row) + ("" if row.get("auto", True) else " (explicit only)")


_PROVIDERS = {"collection": "this collection (ns `wasp`)", "hco": "HCO (`openshift-cnv`)", "none": "none"}


def _node_changes(row):
    changes = []
    keys = sorted((row.get("kubelet_config") or {}).keys())
    if keys:
        changes.append("KubeletConfig " + ", ".join("`%s`" % k for k in keys))
    if row.get("kubelet_dropin"):
        changes.append("kubelet drop-in `90-swap.conf`")
    changes.append("MachineConfig: swap file and units")
    if (row.get("wasp_agent") or {}).get("hook_in_machineconfig"):
        changes.append("OCI hook")
    return "; ".join(changes) + " (Ignition %s)" % row.get("ignition_version", "?")


def compatibility_table(profiles=None):
    """README's compatibility table, one line per profile row (a test keeps the two in step)."""
    profiles = profiles if profiles is not None else load_profiles()
    lines = ["| OpenShift | profile | wasp-agent deployed by | OpenShift Virtualization (HCO) | what the run changes on the nodes |",
             "| --- | --- | --- | --- | --- |"]
    for name, row in profiles.items():
        if row.get("implemented", True) is False:
            continue
        need = (row.get("cnv") or {}).get("min") or ""
        cnv = ("%s+ (HCO %s+)" % (need, _hco_release(parse_minor(need)))) if need else "any"
        provider = _PROVIDERS.get((row.get("wasp_agent") or {}).get("provider"), "?")
        lines.append("| %s | `%s` | %s | %s | %s |" % (_span(row), name, provider, cnv, _node_changes(row)))
    return "\n".join(lines) + "\n"
