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


class FilterModule(object):
    """Release gates of ocpv.density."""

    def filters(self):
        return {
            "swap_pool_refusal": swap_pool_refusal,
        }
