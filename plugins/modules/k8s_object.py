#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: k8s_object
short_description: kubernetes.core.k8s that sends a write request only when the object changes
version_added: 0.1.0
author:
  - ocpv.density maintainers (!UNKNOWN)
description:
  - Creates, applies, patches or deletes one Kubernetes object as M(kubernetes.core.k8s) does.
  - It reads the object once and sends at most one write request, only when the object changes -
    a create, a delete, or a JSON merge patch computed with kubernetes.core's own client-side apply
    (three-way merge with the C(kubectl.kubernetes.io/last-applied-configuration) annotation).
    M(kubernetes.core.k8s) 6.x reads the object again before every write, and its client-side
    apply patches every object whose definition holds a list on every run, though nothing changes.
  - In check mode nothing but that read is sent, and the computed change is reported with its diff.
    (M(kubernetes.core.k8s) 6.x implements check mode as a server-side dry run - a create, patch or
    delete request in the audit log, which also fails for objects in a namespace that does not
    exist yet.)
  - Supports the options the ocpv.density roles use. C(template), C(src) and
    C(resource_definition) are not supported; pass the object as O(definition).
options:
  definition:
    description:
      - The object, as a dict. O(api_version), O(kind), O(name) and O(namespace) fill in what it
        does not set.
    type: dict
  state:
    description:
      - V(present) creates or updates (with O(apply=true) a client-side apply that writes nothing
        when the object already matches), V(patched) patches an existing object (never creates
        it), V(absent) deletes it.
    type: str
    choices: [present, absent, patched]
    default: present
  apply:
    description: Client-side apply (C(kubectl apply) semantics, last-applied annotation).
    type: bool
    default: false
  merge_type:
    description:
      - Every update and patch is a JSON merge patch (it works for built-in and custom resources
        alike, and its result is exactly what check mode and diff show). Accepted for task
        arguments written for M(kubernetes.core.k8s); only V(merge) is allowed.
    type: list
    elements: str
    choices: [merge]
  api_version:
    description: API version, for example V(apps/v1).
    type: str
    default: v1
  kind:
    description: Kind of the object.
    type: str
  name:
    description: Name of the object.
    type: str
  namespace:
    description: Namespace of the object.
    type: str
  wait:
    description:
      - With O(state=absent), wait until the object is gone (finalizers done). Not in check mode.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for O(wait).
    type: int
    default: 120
  wait_sleep:
    description: Seconds between two reads while waiting.
    type: int
    default: 5
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the object and reports the change it would make; sends no write request.
  diff_mode:
    support: full
    details: The object before and after, without managedFields, status and the last-applied annotation.
  platform:
    platforms: posix
    support: full
notes:
  - Runs where the kubernetes.core modules run (usually C(localhost)).
  - A C(metadata.resourceVersion) in O(definition) is a precondition, not content. It is sent
    with the patch, so the write fails with HTTP 409 when the object has changed since the caller
    read it at that version (for example a merge computed from an earlier read). It is not
    compared, so a newer version with the wanted content is no change.
  - A write that meets a conflict fails with a message saying so and writes nothing; a rerun
    reads the new state.
requirements:
  - kubernetes.core collection
  - kubernetes >= 24.2.0
seealso:
  - module: kubernetes.core.k8s
"""

EXAMPLES = r"""
- name: Apply a ServiceAccount (a rerun without changes sends no write request)
  ocpv.density.k8s_object:
    apply: true
    definition:
      apiVersion: v1
      kind: ServiceAccount
      metadata:
        name: wasp
        namespace: wasp

- name: Merge-patch a custom resource
  ocpv.density.k8s_object:
    state: patched
    merge_type: merge
    definition:
      apiVersion: hco.kubevirt.io/v1beta1
      kind: HyperConverged
      metadata:
        name: kubevirt-hyperconverged
        namespace: openshift-cnv
      spec:
        higherWorkloadDensity:
          memoryOvercommitPercentage: 150
"""

RETURN = r"""
result:
  description: The object after the change (in check mode, as computed).
  returned: success
  type: dict
method:
  description: V(create), V(apply), V(update), V(patch) or V(delete).
  returned: success
  type: str
identity:
  description:
    - The object's C(api_version), C(kind), C(name) and C(namespace). The action plugin of the same
      name adds the call to the run's plan, the fact C(ocpv_density_plan) (create, change, delete or
      keep per object, and the pools that roll out), which check mode writes as the report does.
  returned: success
  type: dict
diff:
  description:
    - The object before and after, in diff mode. For a MachineConfig, followed by one text diff per
      Ignition file whose content changes, decoded from its C(data:) URL (a list of diffs, as
      Ansible's callbacks print them).
  returned: when changed and in diff mode
  type: list
  elements: dict
"""

import copy
import time

from ansible_collections.ocpv.density.plugins.module_utils import k8s_object as logic
from ansible_collections.ocpv.density.plugins.module_utils.kube_module import (
    Urllib3Error, DynamicApiError, NotFoundError, ResourceNotFoundError, api_client, api_server, k8s_module,
    unreachable_message)

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.apply import apply_patch
except ImportError:  # k8s_module() reports it
    apply_patch = None


def argument_spec():
    return dict(
        definition=dict(type='dict'),
        state=dict(type='str', default='present', choices=list(logic.STATES)),
        apply=dict(type='bool', default=False),
        merge_type=dict(type='list', elements='str', choices=['merge']),
        api_version=dict(type='str', default='v1'),
        kind=dict(type='str'),
        name=dict(type='str'),
        namespace=dict(type='str'),
        wait=dict(type='bool', default=False),
        wait_timeout=dict(type='int', default=120),
        wait_sleep=dict(type='int', default=5),
    )


def wanted_definition(params):
    definition = copy.deepcopy(params['definition'] or {})
    metadata = definition.setdefault('metadata', {})
    definition.setdefault('apiVersion', params['api_version'])
    for key, option, where in (('kind', 'kind', definition), ('name', 'name', metadata),
                               ('namespace', 'namespace', metadata)):
        if params[option] and not where.get(key):
            where[key] = params[option]
    return definition


def api_error(exc, doing):
    status = getattr(exc, 'status', None)
    summary = getattr(exc, 'summary', None)
    message = summary() if callable(summary) else str(exc)
    if status == 409:
        return ('%s: conflict, the object was changed by another writer since it was read (%s); '
                'nothing was written by this task, run again' % (doing, message))
    return '%s failed (HTTP %s): %s' % (doing, status, message)


def wait_gone(resource, name, namespace, timeout, sleep):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            resource.get(name=name, namespace=namespace)
        except NotFoundError:
            return True
        time.sleep(sleep)
    return False


def run(module, client):
    params = module.params
    try:
        definition = wanted_definition(params)
        api_version, kind, name, namespace = logic.identity(definition)
    except ValueError as e:
        module.fail_json(msg='ocpv.density.k8s_object: %s' % e)
    what = '%s %s%s' % (kind, namespace + '/' if namespace else '', name)
    try:
        resource = client.resource(kind, api_version)
        if not resource.namespaced:
            namespace = None
        existing = resource.get(name=name, namespace=namespace).to_dict()
    except ResourceNotFoundError:
        module.fail_json(msg='ocpv.density.k8s_object: the API server has no %s in %s (is its CRD installed?)'
                         % (kind, api_version), api_found=False)
    except NotFoundError:
        existing = None
    except DynamicApiError as e:
        module.fail_json(msg=api_error(e, 'reading ' + what))
    except (Urllib3Error, OSError) as e:
        module.fail_json(msg=unreachable_message(str(e), 'reading %s (nothing was changed)' % what,
                                                 server=api_server(client)))

    plan = logic.plan(params['state'], params['apply'], existing, definition, apply_patch)
    result = dict(changed=plan.changed, method=plan.method, api_found=True,
                  identity=dict(api_version=api_version, kind=kind, name=name, namespace=namespace or ''))
    if module._diff and plan.changed:
        result['diff'] = logic.display_diff(existing, plan.after, what)
    if params['state'] == 'patched' and existing is None:
        module.warn("%s was not found; state=patched does not create it" % what)

    if plan.changed and not module.check_mode:
        try:
            if plan.method == 'create':
                written = resource.create(body=plan.body, namespace=namespace)
            elif plan.method == 'delete':
                written = resource.delete(name=name, namespace=namespace)
            else:
                written = resource.patch(body=plan.body, name=name, namespace=namespace,
                                         content_type=logic.MERGE_PATCH)
        except DynamicApiError as e:
            module.fail_json(msg=api_error(e, '%s of %s' % (plan.method, what)), **result)
        except (Urllib3Error, OSError) as e:
            # The request may or may not have reached etcd; the next run reads and converges either way.
            module.fail_json(msg=unreachable_message(str(e), 'writing (%s) %s; whether the write took effect is '
                                                     'unknown' % (plan.method, what), server=api_server(client)),
                             **result)
        if plan.method == 'delete':
            if params['wait'] and not wait_gone(resource, name, namespace, params['wait_timeout'], params['wait_sleep']):
                module.fail_json(msg='%s still exists after %s s (finalizers?)' % (what, params['wait_timeout']),
                                 **result)
            result['result'] = {}
        else:
            result['result'] = written.to_dict()
    else:
        result['result'] = plan.after or {}
    module.exit_json(**result)


def main():
    module = k8s_module('ocpv.density.k8s_object', argument_spec())
    run(module, api_client(module))


if __name__ == '__main__':
    main()
