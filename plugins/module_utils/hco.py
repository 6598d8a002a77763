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


def hco_overcommit_patch(api_version, percentage):
    """The merge patch that sets memoryOvercommitPercentage (``None`` removes the field)."""
    patch = percentage
    for key in reversed(overcommit_path(api_version)):
        patch = {key: patch}
    return patch
