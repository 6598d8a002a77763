# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""The plan of a run: per object create / change / delete / keep, and the pool rollouts it causes.

Every write of the collection goes through ocpv.density.k8s_object, whose action plugin adds one
entry per call to the fact ``ocpv_density_plan`` (check mode or not). Check mode writes the plan
as the report does (roles/verify tasks/plan.yml). A MachineConfig or a KubeletConfig that changes
makes its pool roll out: one rollout per pool, as the swap role pauses the pool, applies both and
unpauses it. Pure: no Ansible, no cluster."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

PLAN_FACT = 'ocpv_density_plan'
ROLE_LABEL = 'machineconfiguration.openshift.io/role'
POOL_SELECTOR_PREFIX = 'pools.operator.machineconfiguration.openshift.io/'
ROLLOUT_KINDS = ('MachineConfig', 'KubeletConfig')
ACTIONS = {'create': 'create', 'delete': 'delete', 'apply': 'change', 'update': 'change', 'patch': 'change'}


def _pools(obj):
    """The pools a MachineConfig (its role label) or a KubeletConfig (its pool selector) is for."""
    obj = obj or {}
    if obj.get('kind') == 'MachineConfig':
        role = ((obj.get('metadata') or {}).get('labels') or {}).get(ROLE_LABEL)
        return [role] if role else []
    if obj.get('kind') == 'KubeletConfig':
        labels = (((obj.get('spec') or {}).get('machineConfigPoolSelector') or {}).get('matchLabels') or {})
        return sorted(key[len(POOL_SELECTOR_PREFIX):] for key in labels if key.startswith(POOL_SELECTOR_PREFIX))
    return []


def entry(result, definition=None):
    """One plan entry from a k8s_object result (``identity``, ``method``, ``changed``, ``result``)
    and the task's definition (for the pool of an object that is deleted)."""
    identity = result.get('identity') or {}
    action = ACTIONS.get(result.get('method'), 'change') if result.get('changed') else 'keep'
    pools = _pools(result.get('result')) or _pools(dict(definition or {}, kind=identity.get('kind')))
    return {'kind': identity.get('kind', ''), 'name': identity.get('name', ''),
            'namespace': identity.get('namespace') or '', 'action': action, 'pools': pools}


def record(plan, new):
    """The plan with ``new`` added. A second call for the same object (a role writes in two steps)
    merges into the first entry: keep changes nothing, a change after a create is still a create,
    anything else is the newer action."""
    plan = [dict(e) for e in (plan or [])]
    key = (new['kind'], new['namespace'], new['name'])
    for old in plan:
        if (old['kind'], old['namespace'], old['name']) == key:
            if new['action'] != 'keep' and not (old['action'] == 'create' and new['action'] == 'change'):
                old['action'] = new['action']
            old['pools'] = sorted(set(old['pools']) | set(new['pools']))
            return plan
    plan.append(dict(new))
    return plan


def rollouts(plan):
    """The pools that roll out (each of their nodes drains and reboots once), sorted."""
    return sorted({pool for e in plan or [] if e['kind'] in ROLLOUT_KINDS and e['action'] != 'keep'
                   for pool in e['pools']})


def summary(plan):
    """{'objects': [...], 'counts': {action: n}, 'rollouts': [pool, ...]} for the plan report."""
    counts = {}
    for e in plan or []:
        counts[e['action']] = counts.get(e['action'], 0) + 1
    return {'objects': list(plan or []), 'counts': counts, 'rollouts': rollouts(plan)}


def markdown(plan):
    """The plan as Markdown, as density-report.md is."""
    data = summary(plan)
    lines = ['# Higher density: what the run would do (check mode)', '',
             '| action | kind | namespace | name |', '| --- | --- | --- | --- |']
    lines += ['| %s | %s | %s | %s |' % (e['action'], e['kind'], e['namespace'] or '-', e['name']) for e in data['objects']]
    lines += ['', 'Totals: ' + (', '.join('%d %s' % (n, a) for a, n in sorted(data['counts'].items())) or 'nothing'), '']
    if data['rollouts']:
        lines += ['Rollouts: ' + ', '.join('pool %s (each node drains and reboots once)' % p for p in data['rollouts'])]
    else:
        lines += ['Rollouts: none (no node drains or reboots)']
    return '\n'.join(lines) + '\n'
