#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: k8s_reads
short_description: Several kubernetes.core.k8s_info reads in one process
version_added: 0.2.0
author:
  - ocpv.density maintainers (!UNKNOWN)
description:
  - Runs a list of reads, each what one C(kubernetes.core.k8s_info) task would read, in one
    module process with one API client, and returns each read's objects under its O(reads[].key).
    A loop of C(k8s_info) tasks starts a process and a client per read.
  - Stops at the first read that fails, naming it; an API the cluster does not serve is not a
    failure (RV(api_found) is false and the read has no objects), as with C(k8s_info).
  - Read-only.
options:
  reads:
    description: The reads, in order.
    type: list
    elements: dict
    required: true
    suboptions:
      key:
        description: Name of the read in RV(resources) and RV(api_found).
        type: str
        required: true
      api_version:
        description: API version of the kind.
        type: str
        default: v1
      kind:
        description: Kind to read.
        type: str
        required: true
      name:
        description: Only the object of this name.
        type: str
      namespace:
        description: Only objects in this namespace.
        type: str
      label_selectors:
        description: Label selectors, as in C(kubernetes.core.k8s_info).
        type: list
        elements: str
        default: []
      field_selectors:
        description: Field selectors, as in C(kubernetes.core.k8s_info).
        type: list
        elements: str
        default: []
      fields:
        description:
          - Keep only these fields of each object, as dotted paths of mapping keys
            (C(metadata.name), C(status.capacity)); a path that an object lacks is left out.
          - Empty keeps whole objects. A Node object is mostly its image list, so a read of many
            nodes passes on much less to later tasks with the few fields they use.
        type: list
        elements: str
        default: []
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
requirements:
  - kubernetes.core collection
  - kubernetes >= 24.2.0
seealso:
  - module: kubernetes.core.k8s_info
"""

EXAMPLES = r"""
- name: Read the pools and the nodes
  ocpv.density.k8s_reads:
    reads:
      - {key: pools, api_version: machineconfiguration.openshift.io/v1, kind: MachineConfigPool}
      - {key: nodes, kind: Node}
  register: cluster

- name: Show the pool names
  ansible.builtin.debug:
    msg: "{{ cluster.resources.pools | map(attribute='metadata.name') | list }}"
"""

RETURN = r"""
resources:
  description: The objects of each read, by O(reads[].key).
  returned: always
  type: dict
api_found:
  description: Whether the cluster serves each read's API, by O(reads[].key).
  returned: always
  type: dict
"""

from ansible.module_utils.common.text.converters import to_text
from ansible_collections.ocpv.density.plugins.module_utils.api_errors import api_error_message
from ansible_collections.ocpv.density.plugins.module_utils.fields import parse_paths, pick
from ansible_collections.ocpv.density.plugins.module_utils.kube_module import k8s_module

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.service import K8sService
except ImportError:  # k8s_module() reports it
    get_api_client = K8sService = None

READ_SPEC = dict(
    key=dict(type='str', required=True, no_log=False),
    api_version=dict(type='str', default='v1'),
    kind=dict(type='str', required=True),
    name=dict(type='str'),
    namespace=dict(type='str'),
    label_selectors=dict(type='list', elements='str', default=[]),
    field_selectors=dict(type='list', elements='str', default=[]),
    fields=dict(type='list', elements='str', default=[]),
)


def _what(read):
    where = ' in namespace %s' % read['namespace'] if read.get('namespace') else ''
    return 'reading %s%s%s (nothing was changed)' % (read['kind'], ' ' + read['name'] if read.get('name') else '', where)


def main():
    module = k8s_module('ocpv.density.k8s_reads',
                        dict(reads=dict(type='list', elements='dict', required=True, options=READ_SPEC)))
    keys = [read['key'] for read in module.params['reads']]
    if len(set(keys)) != len(keys):
        module.fail_json(msg='k8s_reads: every read needs its own key; got %s' % ', '.join(keys))
    try:
        paths = dict((read['key'], parse_paths(read['fields'])) for read in module.params['reads'])
    except ValueError as exc:
        module.fail_json(msg='k8s_reads: %s' % exc)
    resources, api_found = {}, {}
    read = module.params['reads'][0] if module.params['reads'] else {'kind': 'the cluster'}
    try:
        service = K8sService(get_api_client(module), module)
        for read in module.params['reads']:
            found = service.find(kind=read['kind'], api_version=read['api_version'], name=read['name'],
                                 namespace=read['namespace'], label_selectors=read['label_selectors'],
                                 field_selectors=read['field_selectors'])
            objects = found.get('resources') or []
            keep = paths[read['key']]
            resources[read['key']] = [pick(obj, keep) for obj in objects] if keep else objects
            api_found[read['key']] = bool(found.get('api_found'))
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg=api_error_message(to_text(exc), _what(read)))
    module.exit_json(changed=False, resources=resources, api_found=api_found)


if __name__ == '__main__':
    main()
