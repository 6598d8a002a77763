# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""The run lock of playbooks/site.yml: one coordination.k8s.io/v1 Lease per cluster, so two runs
never work on one cluster at the same time. Pure decisions here; the API calls are in
plugins/modules/run_lock.py.

A run creates the Lease, holds it without renewing (a run cannot renew while one task waits for a
rollout) for ``lease_seconds``, and deletes it at its end, failed or not. A Lease whose time is up
belongs to a run that was killed before it could delete it: the next run takes it over.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import datetime

TIME_FORMAT = '%Y-%m-%dT%H:%M:%S.%fZ'  # Kubernetes MicroTime


def to_micro_time(moment):
    return moment.astimezone(datetime.timezone.utc).strftime(TIME_FORMAT)


def from_micro_time(text):
    if not text:
        return None
    for fmt in (TIME_FORMAT, '%Y-%m-%dT%H:%M:%SZ'):
        try:
            return datetime.datetime.strptime(text, fmt).replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            continue
    return None


def expires_at(lease):
    """When the holder's time is up (None: never held, or no times on it)."""
    spec = (lease or {}).get('spec') or {}
    start = from_micro_time(spec.get('renewTime')) or from_micro_time(spec.get('acquireTime'))
    seconds = spec.get('leaseDurationSeconds')
    if start is None or not isinstance(seconds, int):
        return None
    return start + datetime.timedelta(seconds=seconds)


def decide(lease, now):
    """What acquiring does with the Lease as read: 'create' (none), 'take_over' (its holder's time
    is up, or nobody holds it) or 'held' (another run holds it)."""
    if lease is None:
        return 'create'
    spec = lease.get('spec') or {}
    end = expires_at(lease)
    if not spec.get('holderIdentity') or end is None or end <= now:
        return 'take_over'
    return 'held'


def lease_body(name, namespace, holder, now, lease_seconds, resource_version=None):
    metadata = {'name': name, 'namespace': namespace,
                'labels': {'app.kubernetes.io/managed-by': 'ocpv.density'}}
    if resource_version:
        metadata['resourceVersion'] = resource_version  # a take-over races nobody: 409 otherwise
    stamp = to_micro_time(now)
    return {'apiVersion': 'coordination.k8s.io/v1', 'kind': 'Lease', 'metadata': metadata,
            'spec': {'holderIdentity': holder, 'leaseDurationSeconds': int(lease_seconds),
                     'acquireTime': stamp, 'renewTime': stamp}}


def held_message(lease, name, namespace):
    spec = (lease or {}).get('spec') or {}
    end = expires_at(lease)
    return ('Another run of ocpv.density is working on this cluster: Lease %s/%s is held by %s since %s '
            '(until %s at the latest). Nothing was changed. Wait for that run to finish and run again. If '
            'that run is gone (killed before it could release the lock), delete the Lease: '
            'oc delete lease -n %s %s'
            % (namespace, name, spec.get('holderIdentity') or '(nobody)', spec.get('acquireTime') or '?',
               to_micro_time(end) if end else '?', namespace, name))
