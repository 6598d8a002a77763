# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Where the HyperConverged keeps memoryOvercommitPercentage, per API version: the one place.

v1beta1: spec.higherWorkloadDensity.memoryOvercommitPercentage; v1 (HCO 1.18+) moved it under
spec.virtualization (../reference/openshift-apis.md §1; UNSURE: the HCO commit is not pinned
there). Which version to talk is profiles.hco_api_version's decision.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

OVERCOMMIT_PATHS = {
    "v1beta1": ("spec", "higherWorkloadDensity", "memoryOvercommitPercentage"),
    "v1": ("spec", "virtualization", "higherWorkloadDensity", "memoryOvercommitPercentage"),
}

# HCO's default when the field is absent (100: no overcommit).
DEFAULT_OVERCOMMIT = 100


def overcommit_path(api_version):
    """The field path of memoryOvercommitPercentage for ``api_version`` (ValueError if unknown)."""
    try:
        return OVERCOMMIT_PATHS[api_version]
    except KeyError:
        raise ValueError("HyperConverged API version %r has no known memoryOvercommitPercentage path; known: %s"
                         % (api_version, ", ".join(sorted(OVERCOMMIT_PATHS))))


def hco_overcommit(hco, api_version):
    """The memoryOvercommitPercentage a HyperConverged object carries (100 when absent)."""
    value = hco if isinstance(hco, dict) else {}
    for key in overcommit_path(api_version):
        value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            return DEFAULT_OVERCOMMIT
    return value


def hco_overcommit_patch(api_version, percentage, name=None, namespace=None):
    """The merge patch that sets memoryOvercommitPercentage (``None`` removes the field); with
    ``name``, a whole partial HyperConverged (apiVersion, kind, metadata) to send as one."""
    patch = percentage
    for key in reversed(overcommit_path(api_version)):
        patch = {key: patch}
    if name:
        whole = {"apiVersion": "hco.kubevirt.io/" + api_version, "kind": "HyperConverged",
                 "metadata": dict(name=name, namespace=namespace) if namespace else dict(name=name)}
        whole.update(patch)
        return whole
    return patch


def api_version_problem(api_version):
    """Why the hco role cannot set the overcommit through ``api_version`` ('' from the CRD: no
    HyperConverged CRD, or none of its versions known), or ''."""
    if api_version in OVERCOMMIT_PATHS:
        return ""
    return ("OpenShift Virtualization is not installed (no HyperConverged CRD), or its API version '%s' is "
            "unknown; known: %s." % (api_version, ", ".join(OVERCOMMIT_PATHS)))
