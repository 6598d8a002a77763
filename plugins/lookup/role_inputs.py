# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: role_inputs
author: ocpv.density maintainers (!UNKNOWN)
version_added: 0.1.0
short_description: The variables of every role of the ocpv.density collection
description:
  - Reads the roles of the collection (C(meta/argument_specs.yml) and C(defaults/main.yml)) and
    returns one entry per role, so that the preflight role can validate every role's inputs
    before the first request to the cluster, and tell a typo (C(hco_wait_timout)) from a
    variable of the collection. The roles' internal names carry the prefix C(__<role>_) and
    are no input.
  - With role names as terms, returns those roles only.
options:
  _terms:
    description: Role names, for example C(hco). None returns every role.
    type: list
    elements: str
    required: false
  roles_dir:
    description: Directory of the roles. Empty uses the collection's own C(roles/).
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Validate the hco role's variables now
  ansible.builtin.validate_argument_spec:
    argument_spec: "{{ lookup('ocpv.density.role_inputs', 'hco').options }}"

- name: Every public variable of the collection
  ansible.builtin.debug:
    msg: "{{ query('ocpv.density.role_inputs') | map(attribute='public') | flatten }}"
"""

RETURN = r"""
_raw:
  description: One entry per role, sorted by role name.
  type: list
  elements: dict
  contains:
    name:
      description: The role's name.
      type: str
    options:
      description: The options of the argument spec of the C(main) entry point (the spec itself).
      type: dict
    public:
      description: The names of every entry point's options and of the role defaults.
      type: list
      elements: str
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.ocpv.density.plugins.plugin_utils.inputs import role_inputs

# plugins/lookup/ -> the collection root, which holds roles/ (checkout and installed collection).
ROLES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "roles")


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        roles_dir = self.get_option("roles_dir") or os.path.normpath(ROLES_DIR)
        try:
            roles = role_inputs(roles_dir)
        except (OSError, ValueError, AttributeError, TypeError) as exc:
            raise AnsibleLookupError("cannot read the roles in %s: %s" % (roles_dir, exc))
        if not terms:
            return roles
        by_name = dict((role["name"], role) for role in roles)
        missing = [str(term) for term in terms if str(term) not in by_name]
        if missing:
            raise AnsibleLookupError("no role %s in %s (roles: %s)"
                                     % (", ".join(missing), roles_dir, ", ".join(sorted(by_name))))
        return [by_name[str(term)] for term in terms]
