# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: profile
author: ocpv.density maintainers (!UNKNOWN)
version_added: 0.1.0
short_description: Read a row of the ocpv.density profile table
description:
  - Returns rows of the collection's profile table (C(plugins/module_utils/profiles.yml)), the one
    place where the per-release differences of the higher-density procedure live (KubeletConfig
    keys, Ignition version, alert kind, whether wasp-agent is deployed by the collection or by HCO).
  - With profile names as terms, returns those rows. With no terms and O(ocp_version), returns
    the row chosen automatically for that OpenShift version. With no terms and no version, returns
    every row.
  - Each returned row has its name in the C(name) key.
options:
  _terms:
    description: Profile names, for example C(tp-4.16).
    type: list
    elements: str
    required: false
  ocp_version:
    description: OpenShift version (C(4.16.3) or C(4.16)) to pick the automatic profile for.
    type: str
  cnv_version:
    description:
      - OpenShift Virtualization (CSV C(spec.version)) version, checked against the automatic
        row's C(cnv.min) when O(ocp_version) is given. Empty means unknown (not checked).
    type: str
    default: ""
  machineconfigs:
    description:
      - MachineConfig objects of the cluster (at least virt-platform-autopilot's
        C(90-worker-swap-online) when it exists). When they show the autopilot's swap
        MachineConfig, O(ocp_version) picks the row whose C(detect) is V(autopilot), whatever the version.
    type: list
    elements: dict
    default: []
  errors:
    description:
      - What to do when a name is unknown or no profile fits O(ocp_version). V(strict) fails with a
        message that lists the profiles; V(ignore) returns no row for it.
    type: str
    choices: [strict, ignore]
    default: strict
"""

EXAMPLES = r"""
- name: The row for OpenShift 4.16
  ansible.builtin.debug:
    msg: "{{ lookup('ocpv.density.profile', ocp_version='4.16.3') }}"

- name: A named row
  ansible.builtin.debug:
    msg: "{{ lookup('ocpv.density.profile', 'tp-4.16').kubelet_config }}"

- name: The row for an unknown version, or none
  ansible.builtin.debug:
    msg: "{{ query('ocpv.density.profile', ocp_version='5.0', errors='ignore') }}"

- name: All profile names
  ansible.builtin.debug:
    msg: "{{ query('ocpv.density.profile') | map(attribute='name') }}"
"""

RETURN = r"""
_raw:
  description: Profile rows (dicts), each with its C(name).
  type: list
  elements: dict
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.ocpv.density.plugins.module_utils.profiles import (
    ProfileError,
    autopilot_swap_machineconfig,
    detect_profile,
    get_profile,
    load_profiles,
)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        version = self.get_option("ocp_version")
        cnv_version = self.get_option("cnv_version") or None
        autopilot = bool(autopilot_swap_machineconfig(self.get_option("machineconfigs") or []))
        strict = self.get_option("errors") == "strict"
        try:
            profiles = load_profiles()
        except (ProfileError, OSError) as exc:
            raise AnsibleLookupError(str(exc))
        if terms:
            calls = [(get_profile, str(term)) for term in terms]
        elif version:
            calls = [(lambda v, t: detect_profile(v, t, cnv_version=cnv_version, autopilot=autopilot), version)]
        else:
            calls = [(get_profile, name) for name in profiles]
        rows = []
        for func, arg in calls:
            try:
                rows.append(func(arg, profiles))
            except ProfileError as exc:
                if strict:
                    raise AnsibleLookupError(str(exc))
        return rows
