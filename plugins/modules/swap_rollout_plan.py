#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: swap_rollout_plan
short_description: Read a MachineConfigPool's swap objects in one call and plan the one rollout
version_added: 0.2.0
author:
  - ocpv.density maintainers (!UNKNOWN)
description:
  - Reads, in one process, the MachineConfigPool, every KubeletConfig and the swap MachineConfig,
    and plans what the C(ocpv.density.swap) role writes (C(plugins/module_utils/kubelet_merge.py)
    C(plan_present) and C(plan_absent)).
  - The pool gets one KubeletConfig - ours when none selects it, else the user's, into which the
    swap keys are merged, with the values they had recorded in an annotation for O(state=absent).
  - Read-only; it fails only when a read fails or an option is invalid. A pool that cannot take
    the change (missing, paused, selected by several KubeletConfigs) is reported in
    RV(plan.refusal), so the caller decides how to stop.
options:
  state:
    description: V(present) plans enabling swap on the pool, V(absent) taking it back.
    type: str
    choices: [present, absent]
    default: present
  pool:
    description: Name of the MachineConfigPool.
    type: str
    required: true
  machineconfig:
    description: With O(state=present), the swap MachineConfig to apply (a whole definition).
    type: dict
  machineconfig_name:
    description: With O(state=absent), the name of the swap MachineConfig to delete (only when it carries the collection's label).
    type: str
    default: ""
  kubelet_config:
    description: With O(state=present), the KubeletConfig keys the pool must have (the profile's, with the user's merged in).
    type: dict
    default: {}
  kubelet_config_forbidden:
    description: KubeletConfig keys this release's MCO refuses (4.21+); removed from a user's KubeletConfig and never put back.
    type: list
    elements: str
    default: []
  kubeletconfig_name:
    description: Name of the KubeletConfig to create when none selects the pool. Empty is C(ocpv-density-<pool>).
    type: str
    default: ""
  previous_annotation:
    description: The annotation on a user's KubeletConfig that records what the swap keys were before.
    type: str
    default: density.ocpv.io/previous-kubelet-config
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Read-only; it runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
    support: full
notes:
  - Runs where the kubernetes.core modules run (usually C(localhost)).
requirements:
  - kubernetes.core collection
  - kubernetes >= 24.2.0
seealso:
  - module: ocpv.density.k8s_object
  - module: ocpv.density.mcp_wait
"""

EXAMPLES = r"""
- name: Plan swap on the worker pool
  ocpv.density.swap_rollout_plan:
    pool: worker
    machineconfig: "{{ swap_machineconfig }}"
    kubelet_config:
      failSwapOn: false
  register: swap_plan

- name: Stop on a refusal
  ansible.builtin.fail:
    msg: "{{ swap_plan.plan.refusal }}"
  when: swap_plan.plan.refusal | length > 0
"""

RETURN = r"""
plan:
  description: What to write to the pool, in one paused-pool rollout.
  returned: always
  type: dict
  contains:
    refusal:
      description: Why the pool cannot take the change, as the user reads it; empty when it can.
      type: str
    mode:
      description:
        - How the pool's KubeletConfig is handled - V(none) (not touched), V(own) (ours, created or
          applied), V(merge) (the user's, keys merged in or, for O(state=absent), restored),
          V(delete) (ours, deleted).
      type: str
    kubeletconfig:
      description: Name of the KubeletConfig that selects the pool (or that is created); empty when none.
      type: str
    writes:
      description:
        - The writes in order, each the options of C(ocpv.density.k8s_object) (C(state),
          C(apply), C(merge_type), C(api_version), C(kind), C(name), C(definition)) plus C(what),
          a few words for the task label.
      type: list
      elements: dict
    rollout:
      description: The writes change rendered content, so the pool is paused while writing and then rolls out.
      type: bool
    previous_configuration:
      description: The rendered configuration the pool had when read (what mcp_wait waits to move on from).
      type: str
    wait:
      description: Whether to wait for the pool afterwards (a rollout, or one left unfinished before this run).
      type: bool
"""

from ansible.module_utils.common.text.converters import to_text
from ansible_collections.ocpv.density.plugins.module_utils import kubelet_merge
from ansible_collections.ocpv.density.plugins.module_utils.api_errors import api_error_message
from ansible_collections.ocpv.density.plugins.module_utils.kube_module import k8s_module

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.service import K8sService
except ImportError:  # k8s_module() reports it
    get_api_client = K8sService = None

ARGUMENT_SPEC = dict(
    state=dict(type='str', default='present', choices=['present', 'absent']),
    pool=dict(type='str', required=True),
    machineconfig=dict(type='dict'),
    machineconfig_name=dict(type='str', default=''),
    kubelet_config=dict(type='dict', default={}),
    kubelet_config_forbidden=dict(type='list', elements='str', default=[]),
    kubeletconfig_name=dict(type='str', default=''),
    previous_annotation=dict(type='str', default=kubelet_merge.DEFAULT_ANNOTATION),
)


def _first(found):
    return (found.get('resources') or [None])[0]


def read(module, machineconfig_name):
    """The pool, every KubeletConfig and the MachineConfig, as k8s_info reads them."""
    what = 'reading MachineConfigPool %s' % module.params['pool']
    try:
        service = K8sService(get_api_client(module), module)
        pool = service.find(kind='MachineConfigPool', api_version=kubelet_merge.MCO_API, name=module.params['pool'])
        what = 'reading the KubeletConfigs'
        kubeletconfigs = service.find(kind='KubeletConfig', api_version=kubelet_merge.MCO_API)
        what = 'reading MachineConfig %s' % machineconfig_name
        machineconfig = service.find(kind='MachineConfig', api_version=kubelet_merge.MCO_API, name=machineconfig_name)
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg=api_error_message(to_text(exc), what + ' (nothing was changed)'))
    return _first(pool), kubeletconfigs.get('resources') or [], _first(machineconfig)


def main():
    module = k8s_module('ocpv.density.swap_rollout_plan', ARGUMENT_SPEC)
    params = module.params
    try:
        if params['state'] == 'present':
            definition = params['machineconfig']
            if not definition or not ((definition.get('metadata') or {}).get('name')):
                module.fail_json(msg='swap_rollout_plan: state=present needs machineconfig, a definition with metadata.name')
            plan = kubelet_merge.plan_present(
                *read(module, definition['metadata']['name']), pool_name=params['pool'], machineconfig_definition=definition,
                kubelet_config=params['kubelet_config'], kubelet_config_forbidden=params['kubelet_config_forbidden'],
                kubeletconfig_name=params['kubeletconfig_name'], annotation=params['previous_annotation'])
        else:
            if not params['machineconfig_name']:
                module.fail_json(msg='swap_rollout_plan: state=absent needs machineconfig_name')
            plan = kubelet_merge.plan_absent(
                *read(module, params['machineconfig_name']), pool_name=params['pool'],
                kubelet_config_forbidden=params['kubelet_config_forbidden'], annotation=params['previous_annotation'])
    except ValueError as exc:
        module.fail_json(msg=to_text(exc))
    module.exit_json(changed=False, plan=plan)


if __name__ == '__main__':
    main()
