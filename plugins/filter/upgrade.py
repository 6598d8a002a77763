# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Release-gate filters (plugins/module_utils/upgrade.py); docs in the YAML file of each filter."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.ocpv.density.plugins.module_utils import profiles as _profiles
from ansible_collections.ocpv.density.plugins.module_utils import upgrade as _upgrade


def swap_pool_refusal(profile, pool, ocp_version, state="present"):
    """Why swap on the pool is refused on this release with this profile, or ''."""
    if not isinstance(profile, dict):
        raise AnsibleFilterError("swap_pool_refusal: the profile must be a dict, got %s" % type(profile).__name__)
    try:
        return _upgrade.swap_pool_refusal(profile, str(pool), str(ocp_version), state=str(state))
    except _profiles.ProfileError as exc:
        raise AnsibleFilterError("swap_pool_refusal: %s" % exc)


def cluster_version_state(clusterversion):
    """{desired, current, upgrading, from_minor, to_minor} of a ClusterVersion object."""
    if clusterversion is not None and not isinstance(clusterversion, dict):
        raise AnsibleFilterError("cluster_version_state: expected a ClusterVersion object, got %s" % type(clusterversion).__name__)
    try:
        return _upgrade.cluster_version_state(clusterversion)
    except _profiles.ProfileError as exc:
        raise AnsibleFilterError("cluster_version_state: %s" % exc)


def upgrade_step(state, from_profile, to_profile, pool, control_plane_version="", cnv_version="",
                 swap_keys_in_kubelet_config=False):
    """{action, profile, message}: what playbooks/upgrade.yml does now."""
    for name, value in (("state", state), ("from_profile", from_profile), ("to_profile", to_profile)):
        if not isinstance(value, dict):
            raise AnsibleFilterError("upgrade_step: %s must be a dict, got %s" % (name, type(value).__name__))
    try:
        return _upgrade.upgrade_step(state, from_profile, to_profile, str(pool), str(control_plane_version or ""),
                                     str(cnv_version or ""), bool(swap_keys_in_kubelet_config))
    except _profiles.ProfileError as exc:
        raise AnsibleFilterError("upgrade_step: %s" % exc)


def upgrade_wait_outcome(step, waited, timeout):
    """{action, message}: poll again, time out, or the step's own action (upgrade.yml's wait loop)."""
    if not isinstance(step, dict):
        raise AnsibleFilterError("upgrade_wait_outcome: the step must be a dict, got %s" % type(step).__name__)
    try:
        return _upgrade.wait_outcome(step, int(waited), int(timeout))
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("upgrade_wait_outcome: waited and timeout must be whole seconds: %s" % exc)


class FilterModule(object):
    """Release gates of ocpv.density."""

    def filters(self):
        return {
            "swap_pool_refusal": swap_pool_refusal,
            "cluster_version_state": cluster_version_state,
            "upgrade_step": upgrade_step,
            "upgrade_wait_outcome": upgrade_wait_outcome,
        }
