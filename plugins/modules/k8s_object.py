#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)

# Documentation only: the work is done by the action plugin plugins/action/k8s_object.py.

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
  - It first reads the object with M(kubernetes.core.k8s_info) and computes the outcome on the
    controller with kubernetes.core's own client-side logic (client-side apply, merge patch,
    create, delete). When the object would change, M(kubernetes.core.k8s) runs with the same
    options; when it would not, no write request is sent (M(kubernetes.core.k8s) 6.x client-side
    apply patches every object whose definition holds a list on every run, though nothing changes).
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
      - Patch type for V(patched) and updates. Use V(merge) for custom resources (they do not take
        strategic merge). In check mode a JSON merge patch is computed.
    type: list
    elements: str
    choices: [json, merge, strategic-merge]
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
    description: Passed to M(kubernetes.core.k8s) (not in check mode).
    type: bool
    default: false
  wait_timeout:
    description: Passed to M(kubernetes.core.k8s).
    type: int
    default: 120
  wait_sleep:
    description: Passed to M(kubernetes.core.k8s).
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
  - Runs on the controller, like the kubernetes.core modules run against C(localhost).
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
diff:
  description: The object before and after, in diff mode.
  returned: when changed and in diff mode
  type: dict
"""
