#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: run_lock
short_description: Take or release the lock that keeps two ocpv.density runs off one cluster
version_added: 0.1.0
author:
  - ocpv.density maintainers (!UNKNOWN)
description:
  - Takes or releases a C(coordination.k8s.io/v1) Lease that C(playbooks/site.yml) and C(playbooks/fleet.yml) hold for the
    whole run, so that a second run started while one is working (two AAP jobs, a person and a
    schedule) stops before its first write with a message naming the holder, instead of both
    pausing, merging and unpausing the same pool.
  - O(state=acquired) creates the Lease, or takes over one whose holder's time is up (a run that was
    killed before it could release it). Creating and taking over are conditional requests, so of two
    runs starting at the same moment exactly one gets the lock.
  - O(state=released) deletes the Lease if it is still the version this run wrote,
    O(resource_version) as returned when taking it - one conditional request.
  - The lock is not cluster configuration; the module reports C(changed=false) so that an
    idempotent run still reports no change.
options:
  state:
    description: V(acquired) takes the lock, V(released) gives it back.
    type: str
    choices: [acquired, released]
    default: acquired
  name:
    description: Name of the Lease.
    type: str
    default: ocpv-density-run
  namespace:
    description: Namespace of the Lease. It must exist; C(site.yml) uses the HyperConverged's.
    type: str
    required: true
  resource_version:
    description:
      - With O(state=released), the C(resource_version) that O(state=acquired) returned. Empty
        means this run never held the lock, so there is nothing to do.
    type: str
  lease_seconds:
    description:
      - How long the lock holds without being released. The run does not renew it, so this must be
        longer than the longest run (rollouts of large pools take hours); it only matters when a run
        is killed before it can release the lock.
    type: int
    default: 21600
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the Lease and fails as a real run would when another run holds it; writes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
    support: full
notes:
  - Needs C(get), C(create), C(update) and C(delete) on C(leases) in O(namespace); C(rbac/automation-clusterrole.yml)
    grants them for the name V(ocpv-density-run) only (C(create) cannot be limited by name in RBAC).
requirements:
  - kubernetes.core collection
  - kubernetes >= 24.2.0
seealso:
  - module: ocpv.density.k8s_object
"""

EXAMPLES = r"""
- name: Take the run lock
  ocpv.density.run_lock:
    namespace: openshift-cnv
  register: lock

- name: Give it back
  ocpv.density.run_lock:
    state: released
    namespace: openshift-cnv
    resource_version: "{{ lock.resource_version }}"
"""

RETURN = r"""
holder:
  description: This run's holder identity (user, host, random suffix); empty in check mode and when releasing.
  returned: always
  type: str
resource_version:
  description: The version of the Lease this run wrote; pass it to O(state=released).
  returned: always
  type: str
action:
  description:
    - What was done. V(create), V(take_over) (acquired); V(delete), V(none) (already gone),
      V(not_ours) (released; another run had taken over); V(check) in check mode.
  returned: always
  type: str
"""

import datetime
import getpass
import socket
import uuid

from ansible_collections.ocpv.density.plugins.module_utils import run_lock as logic
from ansible_collections.ocpv.density.plugins.module_utils.kube_module import (
    Urllib3Error, ConflictError, DynamicApiError, NotFoundError, api_client, api_server, k8s_module,
    unreachable_message)


def argument_spec():
    return dict(
        state=dict(type='str', default='acquired', choices=['acquired', 'released']),
        name=dict(type='str', default='ocpv-density-run'),
        namespace=dict(type='str', required=True),
        resource_version=dict(type='str'),
        lease_seconds=dict(type='int', default=21600),
    )


def new_holder():
    try:
        user = getpass.getuser()
    except Exception:  # pylint: disable=broad-except
        # no user name for the UID in some containers (AAP execution environments)
        user = 'unknown'
    return '%s@%s/%s' % (user, socket.gethostname(), uuid.uuid4().hex[:8])


def read(resource, name, namespace):
    try:
        return resource.get(name=name, namespace=namespace).to_dict()
    except NotFoundError:
        return None


def acquire(module, resource, name, namespace):
    now = datetime.datetime.now(datetime.timezone.utc)
    lease = read(resource, name, namespace)
    action = logic.decide(lease, now)
    if action == 'held':
        module.fail_json(msg=logic.held_message(lease, name, namespace), holder='', action='held')
    if module.check_mode:
        module.exit_json(changed=False, holder='', resource_version='', action='check')
    holder = new_holder()
    version = lease['metadata']['resourceVersion'] if lease else None
    body = logic.lease_body(name, namespace, holder, now, module.params['lease_seconds'], version)
    try:
        if action == 'create':
            written = resource.create(body=body, namespace=namespace)
        else:
            written = resource.replace(body=body, name=name, namespace=namespace)
    except ConflictError:
        # Another run created or took over the Lease between our read and our write.
        module.fail_json(msg=logic.held_message(read(resource, name, namespace), name, namespace),
                         holder='', action='held')
    module.exit_json(changed=False, holder=holder, resource_version=written.metadata.resourceVersion, action=action)


def release(module, resource, name, namespace):
    """One DELETE with the version this run wrote as precondition (nobody renews the Lease)."""
    action = 'delete'
    if not module.check_mode:
        try:
            resource.delete(name=name, namespace=namespace,
                            body={'preconditions': {'resourceVersion': module.params['resource_version']}})
        except NotFoundError:
            action = 'none'
        except ConflictError:
            # Taken over after our time was up (lease_seconds): the other run's lock stays.
            lease = read(resource, name, namespace) or {}
            module.warn('Lease %s/%s is held by %s now (this run took longer than lease_seconds); left to it'
                        % (namespace, name, (lease.get('spec') or {}).get('holderIdentity')))
            action = 'not_ours'
    module.exit_json(changed=False, holder='', resource_version='', action=action)


def still_held(params):
    if params['state'] != 'released':
        return ''
    return (' The lock stays until it is deleted (oc delete lease -n %s %s) or its lease_seconds are up.'
            % (params['namespace'], params['name']))


def main():
    module = k8s_module('ocpv.density.run_lock', argument_spec())
    params = module.params
    if params['state'] == 'released' and not params['resource_version']:
        module.exit_json(changed=False, holder='', resource_version='', action='none')  # never held it
    if params['lease_seconds'] < 60:
        module.fail_json(msg='lease_seconds must be at least 60, got %s' % params['lease_seconds'])
    client = api_client(module, 'taking the run lock' if params['state'] == 'acquired' else 'releasing the run lock')
    try:
        resource = client.resource('Lease', 'coordination.k8s.io/v1')
        if params['state'] == 'acquired':
            acquire(module, resource, params['name'], params['namespace'])
        else:
            release(module, resource, params['name'], params['namespace'])
    except DynamicApiError as e:
        module.fail_json(msg='%s the run lock (Lease %s/%s) failed (HTTP %s): %s%s'
                         % ('Taking' if params['state'] == 'acquired' else 'Releasing', params['namespace'],
                            params['name'], getattr(e, 'status', None), e.summary(), still_held(params)))
    except (Urllib3Error, OSError) as e:
        module.fail_json(msg=unreachable_message(str(e), 'working on the run lock (Lease %s/%s)'
                                                 % (params['namespace'], params['name']),
                                                 server=api_server(client)) + still_held(params))


if __name__ == '__main__':
    main()
