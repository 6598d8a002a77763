# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Action plugin for ocpv.density.cluster_facts: the module reads the cluster, this plugin judges
what it read on the controller (module_utils/cluster_facts.py assess), where the profile table
(profiles.yml, not shipped to modules) is. With offline=true nothing is read."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.ocpv.density.plugins.module_utils import cluster_facts
from ansible_collections.ocpv.density.plugins.module_utils.profiles import ProfileError


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def _inputs(self):
        """The options assess() reads, typed and defaulted as the module's argument spec says."""
        spec = cluster_facts.ASSESS_ARGUMENT_SPEC
        validation = ArgumentSpecValidator(spec).validate(
            dict((key, value) for key, value in self._task.args.items() if key in spec))
        if validation.error_messages:
            raise AnsibleActionFail('Invalid options for cluster_facts: %s' % '; '.join(validation.error_messages))
        return validation.validated_parameters

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        inputs = self._inputs()
        objects = None
        if inputs['offline']:
            if not inputs['density_profile']:
                raise AnsibleActionFail('cluster_facts: offline=true needs density_profile')
        else:
            read = self._execute_module(module_name='ocpv.density.cluster_facts', module_args=self._task.args,
                                        task_vars=task_vars or {})
            if read.get('failed'):
                result.update(read)
                return result
            objects = read.get('objects') or {}
        try:
            facts, refusals, notices = cluster_facts.assess(objects, inputs)
        except ProfileError as exc:
            raise AnsibleActionFail('cluster_facts: %s' % exc)
        result.update(changed=False, cluster=facts, refusals=refusals, notices=notices)
        return result
