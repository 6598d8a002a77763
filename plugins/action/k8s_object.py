# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Action plugin for ocpv.density.k8s_object: kubernetes.core.k8s that writes only what changes.

Every run first reads the object (kubernetes.core.k8s_info) and computes the outcome on the
controller with kubernetes.core's own client-side logic (apply patch, merge patch, create,
delete). Then:

- check mode returns that outcome (changed, diff) and sends no write request. kubernetes.core 6.x
  implements check mode as a server-side dry run (``?dryRun=All``), which the API server audits as
  a create/patch/delete request and which fails for objects in a namespace that does not exist
  yet;
- otherwise, when something changes, kubernetes.core.k8s runs with the task's options, unchanged;
  when nothing changes no write request is sent. (kubernetes.core's client-side apply patches any
  object whose definition contains a list on every run, although nothing changes.)
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy

from ansible.errors import AnsibleActionFail
from ansible.module_utils.six import string_types
from ansible.plugins.action import ActionBase

# Options of kubernetes.core.k8s that say which object and how to connect: passed to k8s_info.
_IDENTITY = ('api_version', 'kind', 'name', 'namespace')
_AUTH = ('kubeconfig', 'context', 'host', 'api_key', 'username', 'password', 'validate_certs',
         'ca_cert', 'client_cert', 'client_key', 'proxy', 'no_proxy', 'proxy_headers',
         'persist_config', 'impersonate_user', 'impersonate_groups')
_SUPPORTED_STATES = ('present', 'absent', 'patched')
LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration'


def _merge_patch(current, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(current) if isinstance(current, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


def _for_display(obj):
    """The object without the fields that only add noise to a diff."""
    if not obj:
        return {}
    shown = copy.deepcopy(obj)
    metadata = shown.get('metadata') or {}
    for key in ('managedFields', 'resourceVersion', 'generation', 'uid', 'creationTimestamp'):
        metadata.pop(key, None)
    annotations = metadata.get('annotations')
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED, None)
        if not annotations:
            metadata.pop('annotations')
    shown.pop('status', None)
    return shown


def planned_object(state, apply, existing, definition):
    """What the object becomes: (after, method). ``existing`` is None when absent.

    The same computations kubernetes.core.k8s does for its client-side dry run, plus an exact
    JSON merge patch for ``state=patched`` (kubernetes.core's dict_merge keeps null values).
    """
    from ansible.module_utils.common.dict_transformations import dict_merge
    from ansible_collections.kubernetes.core.plugins.module_utils.apply import annotate, apply_patch

    if state == 'absent':
        return None, 'delete'
    if state == 'patched':
        if existing is None:
            return None, 'patch'
        return _merge_patch(existing, definition), 'patch'
    if existing is None:
        if apply:
            return dict_merge(definition, annotate(definition)), 'create'
        return copy.deepcopy(definition), 'create'
    if apply:
        actual, patch = apply_patch(existing, definition)
        return dict_merge(actual, patch), 'apply'
    return dict_merge(existing, definition), 'update'


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def _module_args(self, module, args):
        """args plus the play's module_defaults for `module` (e.g. group/kubernetes.core.k8s
        auth settings), as the modules would get them if they were the task's action."""
        try:  # ansible-core >= 2.19
            from ansible.executor.module_common import _apply_action_arg_defaults
            return _apply_action_arg_defaults(module, self._task, args, self._templar)
        except ImportError:
            pass
        try:  # ansible-core 2.16 - 2.18
            from ansible.executor.module_common import get_action_args_with_defaults
            return get_action_args_with_defaults(module, args, self._task.module_defaults, self._templar,
                                                 action_groups=self._task._parent._play._action_groups)
        except ImportError:
            return args

    def _run_module(self, module, args, task_vars):
        return self._execute_module(module_name=module, module_args=self._module_args(module, args),
                                    task_vars=task_vars)

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        args = copy.deepcopy(self._task.args)
        for unsupported in ('template', 'src', 'resource_definition'):
            if args.get(unsupported) is not None:
                raise AnsibleActionFail('ocpv.density.k8s_object: use definition, not %s' % unsupported)

        state = args.get('state') or 'present'
        if state not in _SUPPORTED_STATES:
            raise AnsibleActionFail('ocpv.density.k8s_object: state must be one of %s' % ', '.join(_SUPPORTED_STATES))
        definition = args.get('definition') or {}
        if isinstance(definition, string_types) or not isinstance(definition, dict):
            raise AnsibleActionFail('ocpv.density.k8s_object: definition must be a single object (a dict)')
        definition = copy.deepcopy(definition)
        metadata = definition.setdefault('metadata', {})
        if args.get('api_version') and 'apiVersion' not in definition:
            definition['apiVersion'] = args['api_version']
        if args.get('kind') and 'kind' not in definition:
            definition['kind'] = args['kind']
        if args.get('name') and 'name' not in metadata:
            metadata['name'] = args['name']
        if args.get('namespace') and 'namespace' not in metadata:
            metadata['namespace'] = args['namespace']
        for key in ('apiVersion', 'kind'):
            if not definition.get(key):
                raise AnsibleActionFail('ocpv.density.k8s_object: %s is required' % key)
        if not metadata.get('name'):
            raise AnsibleActionFail('ocpv.density.k8s_object: metadata.name (or name) is required')

        info_args = dict((key, args[key]) for key in _AUTH if args.get(key) is not None)
        info_args.update(api_version=definition['apiVersion'], kind=definition['kind'], name=metadata['name'])
        if metadata.get('namespace'):
            info_args['namespace'] = metadata['namespace']
        info = self._run_module('kubernetes.core.k8s_info', info_args, task_vars)
        if info.get('failed'):
            result.update(failed=True, msg='ocpv.density.k8s_object: reading %s %s failed: %s'
                          % (definition['kind'], metadata['name'], info.get('msg')))
            return result
        resources = info.get('resources') or []
        existing = resources[0] if resources else None

        after, method = planned_object(state, args.get('apply'), existing, definition)
        if state == 'absent':
            changed = existing is not None
        elif existing is None:
            changed = state != 'patched'
        else:
            changed = existing != after
        diff = None
        if self._play_context.diff and changed:
            diff = dict(before=_for_display(existing), after=_for_display(after))

        if changed and not self._play_context.check_mode:
            # Something to change: the write is kubernetes.core.k8s's, unchanged.
            module_result = self._run_module('kubernetes.core.k8s', args, task_vars)
            if diff and 'diff' not in module_result and not module_result.get('failed'):
                module_result['diff'] = diff  # kubernetes.core shows no diff for create and delete
            result.update(module_result)
            return result

        if state == 'patched' and existing is None:
            result['warnings'] = ["resource 'kind=%s,name=%s' was not found but will not be created as "
                                  "'state' parameter has been set to 'patched'" % (definition['kind'], metadata['name'])]
        result.update(changed=bool(changed), method=method, result=after or {},
                      api_found=info.get('api_found', True))
        if diff:
            result['diff'] = diff
        return result
