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


def describe(profiles):
    """One line per profile, for error messages."""
    lines = []
    for name, row in profiles.items():
        bounds = row.get("ocp") or {}
        low, high = bounds.get("min") or "", bounds.get("max") or ""
        span = low if low == high else ("%s+" % low if not high else "%s-%s" % (low, high))
        if not row.get("auto", True):
            span += ", explicit only"
        lines.append("%s (OpenShift %s): %s" % (name, span, row.get("description", "")))
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


def detect_profile(version, profiles=None, cnv_version=None):
    """Return the automatic profile row for an OpenShift version ('4.16.3').

    ``cnv_version`` (the OpenShift Virtualization CSV's ``spec.version``, e.g. '4.20.2'), when
    known, must satisfy the row's ``cnv.min``: hco-managed needs HCO >= 1.16 (CNV 4.20), which
    deploys wasp-agent itself. A cluster whose OpenShift is upgraded but whose OpenShift
    Virtualization is not yet gets a message, not a silently wrong profile.
    """
    profiles = profiles if profiles is not None else load_profiles()
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


# CNV minor -> HCO release (HCO hack/config: CNV 4.16 ... 4.22 = HCO release-1.12 ... 1.18).
def _hco_release(cnv_minor):
    return "1.%d" % (cnv_minor[1] - 4) if cnv_minor[0] == 4 and cnv_minor[1] >= 12 else "?"


def _span(row):
    bounds = row.get("ocp") or {}
    low, high = bounds.get("min") or "", bounds.get("max") or ""
    span = low if low == high else ("%s+" % low if not high else "%s-%s" % (low, high))
    return span + ("" if row.get("auto", True) else " (explicit only)")


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
