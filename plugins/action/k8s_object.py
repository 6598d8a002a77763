# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Action plugin for ocpv.density.k8s_object: runs the module, then adds what it did (create,
change, delete or keep) to the run's plan, the fact ``ocpv_density_plan`` (plugin_utils/run_plan.py),
which check mode writes as the report does."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.ocpv.density.plugins.plugin_utils import run_plan


class ActionModule(ActionBase):

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        result.update(self._execute_module(module_name='ocpv.density.k8s_object', module_args=self._task.args,
                                           task_vars=task_vars))
        if not result.get('failed') and result.get('identity'):
            new = run_plan.entry(result, self._task.args.get('definition'))
            result['ansible_facts'] = {run_plan.PLAN_FACT: run_plan.record(task_vars.get(run_plan.PLAN_FACT), new)}
        return result
