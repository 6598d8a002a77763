# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Unit tests for plugins/plugin_utils/mcp_status.py: every phase of evaluate_pool and the wait loop."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy

import pytest

from ansible_collections.ocpv.density.plugins.plugin_utils import mcp_status as ms

OLD = 'rendered-worker-old'
NEW = 'rendered-worker-new'


def make_pool(name='worker', target=NEW, current=NEW, machines=3, updated=None, ready=None, unavailable=0, degraded=0,
              generation=5, observed=5, updated_condition='True', paused=False, extra_conditions=None):
    """A MachineConfigPool as the API returns it; defaults = fully rolled out to NEW."""
    updated = machines if updated is None else updated
    ready = updated if ready is None else ready
    conditions = [
        {'type': 'Updated', 'status': updated_condition, 'reason': '', 'message': ''},
        {'type': 'Updating', 'status': 'False' if updated_condition == 'True' else 'True', 'reason': '', 'message': ''},
        {'type': 'Degraded', 'status': 'False', 'reason': '', 'message': ''},
        {'type': 'NodeDegraded', 'status': 'False', 'reason': '', 'message': ''},
        {'type': 'RenderDegraded', 'status': 'False', 'reason': '', 'message': ''},
    ]
    for extra in extra_conditions or []:
        conditions = [c for c in conditions if c['type'] != extra['type']] + [extra]
    pool = {
        'apiVersion': 'machineconfiguration.openshift.io/v1',
        'kind': 'MachineConfigPool',
        'metadata': {'name': name, 'generation': generation},
        'spec': {
            'configuration': {'name': target},
            'paused': paused,
            'nodeSelector': {'matchLabels': {'node-role.kubernetes.io/%s' % name: ''}},
        },
        'status': {
            'observedGeneration': observed,
            'configuration': {'name': current},
            'machineCount': machines,
            'updatedMachineCount': updated,
            'readyMachineCount': ready,
            'unavailableMachineCount': unavailable,
            'degradedMachineCount': degraded,
            'conditions': conditions,
        },
    }
    return pool


# ---------------------------------------------------------------------------------------------
# evaluate_pool: phases


def test_done_when_everything_matches():
    state = ms.evaluate_pool(make_pool(), OLD)
    assert state.phase == ms.PHASE_DONE
    assert state.done
    assert state.progress == 'worker: 3/3 updated, 0 unavailable, 0 degraded (rendered-worker-new)'
    assert state.message == ''
    assert (state.name, state.target, state.current) == ('worker', NEW, NEW)


def test_done_without_previous_configuration():
    assert ms.evaluate_pool(make_pool()).done


def test_stale_updated_true_trap_is_not_done():
    # Right after the MachineConfig is written: Updated=True, counts complete, but nothing rendered yet.
    pool = make_pool(target=OLD, current=OLD)
    state = ms.evaluate_pool(pool, OLD)
    assert state.phase == ms.PHASE_WAITING_FOR_RENDER
    assert not state.done
    assert 'waiting for a new rendered config' in state.progress
    assert OLD in state.message
    # Without previous_configuration the same snapshot is (knowingly) done: that is oc wait's trap.
    assert ms.evaluate_pool(pool).done


def test_waiting_for_render_when_spec_has_no_configuration_yet():
    pool = make_pool()
    del pool['spec']['configuration']
    state = ms.evaluate_pool(pool, OLD)
    assert state.phase == ms.PHASE_WAITING_FOR_RENDER
    assert 'no rendered config yet' in state.progress


def test_no_configuration_and_no_previous_is_updating():
    pool = make_pool()
    pool['spec']['configuration'] = {'name': ''}
    state = ms.evaluate_pool(pool)
    assert state.phase == ms.PHASE_UPDATING
    assert 'first rendered config' in state.progress


def test_retargeted_but_status_still_old_is_updating():
    # Render controller retargeted spec; node controller has not synced: stale Updated=True and full counts.
    state = ms.evaluate_pool(make_pool(target=NEW, current=OLD), OLD)
    assert state.phase == ms.PHASE_UPDATING
    assert 'status still reports rendered-worker-old' in state.progress


def test_observed_generation_lagging_is_updating():
    state = ms.evaluate_pool(make_pool(generation=6, observed=5), OLD)
    assert state.phase == ms.PHASE_UPDATING
    assert 'generation 6, observed 5' in state.progress


def test_observed_generation_missing_is_updating():
    pool = make_pool()
    del pool['status']['observedGeneration']
    state = ms.evaluate_pool(pool, OLD)
    assert state.phase == ms.PHASE_UPDATING
    assert 'observed none' in state.progress


def test_observed_generation_ahead_is_fine():
    assert ms.evaluate_pool(make_pool(generation=5, observed=6), OLD).done


def test_missing_generation_is_not_required():
    pool = make_pool()
    del pool['metadata']['generation']
    assert ms.evaluate_pool(pool, OLD).done


def test_rolling_counts_are_updating():
    state = ms.evaluate_pool(make_pool(machines=10, updated=3, ready=3, unavailable=1, updated_condition='False'), OLD)
    assert state.phase == ms.PHASE_UPDATING
    assert state.progress == 'worker: 3/10 updated, 1 unavailable, 0 degraded (rendered-worker-new)'
    assert 'rolling out' in state.message


@pytest.mark.parametrize('kwargs', [
    {'updated': 2},                     # one machine not updated
    {'ready': 2},                       # updated but not ready yet
    {'unavailable': 1},                 # a machine still unavailable
])
def test_any_incomplete_count_is_not_done(kwargs):
    state = ms.evaluate_pool(make_pool(**kwargs), OLD)
    assert state.phase == ms.PHASE_UPDATING


def test_counts_complete_but_updated_false_is_updating():
    state = ms.evaluate_pool(make_pool(updated_condition='False'), OLD)
    assert state.phase == ms.PHASE_UPDATING
    assert 'waiting for Updated=True' in state.progress


def test_updated_condition_missing_is_not_done():
    pool = make_pool()
    pool['status']['conditions'] = [c for c in pool['status']['conditions'] if c['type'] != 'Updated']
    assert ms.evaluate_pool(pool, OLD).phase == ms.PHASE_UPDATING


def test_status_missing_entirely_is_updating():
    pool = make_pool()
    del pool['status']
    state = ms.evaluate_pool(pool, OLD)
    assert state.phase == ms.PHASE_UPDATING
    assert state.progress.startswith('worker: 0/0 updated')


@pytest.mark.parametrize('condition_type', ['Degraded', 'NodeDegraded', 'RenderDegraded'])
def test_degraded_conditions_fail_fast(condition_type):
    pool = make_pool(target=NEW, current=OLD, updated=1, updated_condition='False', extra_conditions=[
        {'type': condition_type, 'status': 'True', 'reason': '1 nodes are reporting degraded status on sync',
         'message': 'Node worker-1 is reporting: "failed to drain"'}])
    state = ms.evaluate_pool(pool, OLD)
    assert state.phase == ms.PHASE_DEGRADED
    assert condition_type + '=True' in state.message
    assert 'failed to drain' in state.message
    assert state.degraded_nodes == ['worker-1']
    assert state.progress.endswith('- degraded')


def test_degraded_message_said_once_and_nodes_collected():
    message = 'Node worker-1 is reporting: "a", Node worker-2.example.com is reporting: "b"'
    pool = make_pool(degraded=2, extra_conditions=[
        {'type': 'NodeDegraded', 'status': 'True', 'reason': '2 nodes are reporting degraded status on sync', 'message': message},
        {'type': 'Degraded', 'status': 'True', 'reason': '2 nodes are reporting degraded status on sync', 'message': message},
    ])
    state = ms.evaluate_pool(pool, OLD)
    assert state.phase == ms.PHASE_DEGRADED
    assert state.message.count('worker-1 is reporting') == 1
    assert state.degraded_nodes == ['worker-1', 'worker-2.example.com']


def test_degraded_machine_count_alone_is_degraded():
    state = ms.evaluate_pool(make_pool(degraded=1), OLD)
    assert state.phase == ms.PHASE_DEGRADED
    assert 'degradedMachineCount' in state.message


def test_render_degraded_before_retarget_fails_fast():
    # An invalid MachineConfig: pool never retargeted, RenderDegraded=True -> degraded, not waiting-for-render.
    pool = make_pool(target=OLD, current=OLD, extra_conditions=[
        {'type': 'RenderDegraded', 'status': 'True', 'reason': 'MachineConfigPoolRenderDegraded',
         'message': 'Failed to render configuration for pool worker: parsing Ignition config failed'}])
    state = ms.evaluate_pool(pool, OLD)
    assert state.phase == ms.PHASE_DEGRADED
    assert 'parsing Ignition config failed' in state.message


def test_degraded_condition_without_message_uses_reason_or_type():
    pool = make_pool(extra_conditions=[{'type': 'Degraded', 'status': 'True'}])
    state = ms.evaluate_pool(pool, OLD)
    assert state.message == 'Degraded=True'


def test_paused_with_pending_changes():
    state = ms.evaluate_pool(make_pool(target=NEW, current=OLD, updated=0, ready=0, paused=True, updated_condition='False'), OLD)
    assert state.phase == ms.PHASE_PAUSED
    assert 'paused' in state.progress
    assert NEW in state.message


def test_paused_pool_still_waits_for_render_first():
    # MCO renders even for paused pools; before that the pool is simply waiting for the render.
    state = ms.evaluate_pool(make_pool(target=OLD, current=OLD, paused=True), OLD)
    assert state.phase == ms.PHASE_WAITING_FOR_RENDER


def test_paused_without_pending_changes_is_done():
    assert ms.evaluate_pool(make_pool(paused=True), OLD).done


def test_paused_null_means_false():
    pool = make_pool(updated=1, updated_condition='False')
    pool['spec']['paused'] = None
    assert ms.evaluate_pool(pool, OLD).phase == ms.PHASE_UPDATING


def test_zero_machine_pool_done_once_retargeted():
    # SNO/compact worker pool: MCO still renders; nothing to roll out once the status follows.
    assert ms.evaluate_pool(make_pool(machines=0), OLD).done
    assert ms.evaluate_pool(make_pool(machines=0, target=OLD, current=OLD), OLD).phase == ms.PHASE_WAITING_FOR_RENDER
    assert ms.evaluate_pool(make_pool(machines=0, current=OLD), OLD).phase == ms.PHASE_UPDATING


def test_condition_status_is_case_insensitive():
    pool = make_pool(updated_condition='true')
    assert ms.evaluate_pool(pool, OLD).done


# ---------------------------------------------------------------------------------------------
# evaluate_pool: malformed input


@pytest.mark.parametrize('mutate, fragment', [
    (lambda p: ['not', 'a', 'pool'], 'must be a mapping'),
    (lambda p: p['metadata'].pop('name'), 'metadata.name'),
    (lambda p: p.__setitem__('metadata', 'x'), 'metadata must be a mapping'),
    (lambda p: p.__setitem__('spec', []), 'spec must be a mapping'),
    (lambda p: p.__setitem__('status', 7), 'status must be a mapping'),
    (lambda p: p['status'].__setitem__('machineCount', '3'), 'status.machineCount must be an integer'),
    (lambda p: p['status'].__setitem__('updatedMachineCount', True), 'status.updatedMachineCount must be an integer'),
    (lambda p: p['metadata'].__setitem__('generation', 1.5), 'metadata.generation must be an integer'),
    (lambda p: p['spec'].__setitem__('paused', 'yes'), 'spec.paused must be a boolean'),
    (lambda p: p['spec'].__setitem__('configuration', 'x'), 'spec.configuration must be a mapping'),
    (lambda p: p['status']['configuration'].__setitem__('name', 3), 'status.configuration.name must be a string'),
    (lambda p: p['status'].__setitem__('conditions', {}), 'status.conditions must be a list'),
    (lambda p: p['status']['conditions'].append('x'), 'status.conditions[5]'),
    (lambda p: p['status']['conditions'].append({'status': 'True'}), 'status.conditions[5]'),
])
def test_malformed_pool_raises_clear_error(mutate, fragment):
    pool = make_pool()
    replaced = mutate(pool)
    if isinstance(replaced, list):
        pool = replaced
    with pytest.raises(ms.PoolFormatError, match=r'.*' + fragment.replace('[', r'\[').replace(']', r'\]')):
        ms.evaluate_pool(pool, OLD)


# ---------------------------------------------------------------------------------------------
# helpers


def test_label_selector_string():
    assert ms.label_selector_string({'matchLabels': {'node-role.kubernetes.io/worker': '', 'b': 'c'}}) == 'b=c,node-role.kubernetes.io/worker='
    assert ms.label_selector_string({'matchExpressions': [
        {'key': 'a', 'operator': 'In', 'values': ['x', 'y']},
        {'key': 'b', 'operator': 'NotIn', 'values': ['z']},
        {'key': 'c', 'operator': 'Exists'},
        {'key': 'd', 'operator': 'DoesNotExist'},
        'junk',
    ]}) == 'a in (x,y),b notin (z),c,!d'
    assert ms.label_selector_string({}) is None
    assert ms.label_selector_string(None) is None


def test_degraded_nodes_from_list():
    nodes = [
        {'metadata': {'name': 'worker-0', 'annotations': {ms.NODE_STATE_ANNOTATION: 'Done'}}},
        {'metadata': {'name': 'worker-1', 'annotations': {ms.NODE_STATE_ANNOTATION: 'Degraded', ms.NODE_REASON_ANNOTATION: 'boom'}}},
        {'metadata': {'name': 'worker-2', 'annotations': {ms.NODE_STATE_ANNOTATION: 'Unreconcilable'}}},
        {'metadata': {'name': 'worker-3'}},
        'junk',
    ]
    assert ms.degraded_nodes_from_list(nodes) == [('worker-1', 'boom'), ('worker-2', 'Unreconcilable')]
    assert ms.degraded_nodes_from_list(None) == []


@pytest.mark.parametrize('seconds, text', [(0, '0:00'), (7.9, '0:07'), (754, '12:34'), (3723, '1:02:03'), (-3, '0:00')])
def test_format_elapsed(seconds, text):
    assert ms.format_elapsed(seconds) == text


# ---------------------------------------------------------------------------------------------
# wait_for_pool: the loop, with a fake clock and a scripted pool sequence


class FakeClock(object):
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class Script(object):
    """fetch() returning (or raising) the next item; the last item repeats."""

    def __init__(self, *items):
        self.items = list(items)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        item = self.items.pop(0) if len(self.items) > 1 else self.items[0]
        if isinstance(item, Exception):
            raise item
        return copy.deepcopy(item)


def run_wait(script, clock=None, **kwargs):
    clock = clock or FakeClock()
    lines = []
    kwargs.setdefault('previous_configuration', OLD)
    outcome = ms.wait_for_pool('worker', script, clock=clock, sleep=clock.sleep, emit=lines.append, **kwargs)
    return outcome, lines, clock


def test_wait_full_rollout_sequence():
    script = Script(
        make_pool(target=OLD, current=OLD),                                           # stale Updated=True
        make_pool(target=OLD, current=OLD),
        make_pool(target=NEW, current=OLD, generation=6, observed=5),                 # retargeted, not observed
        make_pool(target=NEW, current=OLD, generation=6, observed=6, updated=0, unavailable=1, updated_condition='False'),
        make_pool(target=NEW, current=OLD, generation=6, observed=6, updated=1, unavailable=1, updated_condition='False'),
        make_pool(target=NEW, current=OLD, generation=6, observed=6, updated=1, unavailable=1, updated_condition='False'),
        make_pool(target=NEW, current=NEW, generation=6, observed=6),
    )
    outcome, lines, clock = run_wait(script, poll_interval=10)
    assert outcome.ok, outcome.msg
    assert outcome.msg == 'MachineConfigPool worker is updated to rendered-worker-new'
    assert outcome.state.phase == ms.PHASE_DONE
    assert outcome.pool['status']['configuration']['name'] == NEW
    assert script.calls == 7
    assert clock.sleeps == [10] * 6
    assert outcome.elapsed == 60.0
    # One line per change, not per poll.
    assert lines == outcome.progress_log
    assert lines == [
        '[0:00] worker: 3/3 updated, 0 unavailable, 0 degraded (rendered-worker-old) - waiting for a new rendered config',
        '[0:20] worker: 3/3 updated, 0 unavailable, 0 degraded (rendered-worker-new) - status not observed yet (generation 6, observed 5)',
        '[0:30] worker: 0/3 updated, 1 unavailable, 0 degraded (rendered-worker-new)',
        '[0:40] worker: 1/3 updated, 1 unavailable, 0 degraded (rendered-worker-new)',
        '[1:00] worker: 3/3 updated, 0 unavailable, 0 degraded (rendered-worker-new)',
    ]


def test_wait_already_done_returns_after_one_read():
    script = Script(make_pool())
    outcome, lines, clock = run_wait(script)
    assert outcome.ok
    assert script.calls == 1
    assert clock.sleeps == []
    assert len(lines) == 1


def test_wait_degraded_fails_fast_with_nodes():
    degraded = make_pool(target=NEW, current=OLD, updated=1, degraded=1, updated_condition='False', extra_conditions=[
        {'type': 'NodeDegraded', 'status': 'True', 'reason': '1 nodes are reporting degraded status on sync',
         'message': 'Node worker-1 is reporting: "unexpected on-disk state"'}])
    script = Script(make_pool(target=OLD, current=OLD), degraded, make_pool())
    seen = []

    def describe(pool):
        seen.append(pool['metadata']['name'])
        return [('worker-1', 'unexpected on-disk state'), ('worker-2', 'disk full')]

    outcome, lines, _clock = run_wait(script, describe_degraded=describe)
    assert not outcome.ok
    assert script.calls == 2
    assert seen == ['worker']
    assert outcome.state.phase == ms.PHASE_DEGRADED
    assert outcome.msg.startswith('MachineConfigPool worker is degraded: NodeDegraded=True')
    assert 'degraded nodes: worker-1, worker-2' in outcome.msg
    assert 'worker-2: disk full' in outcome.msg
    assert 'worker-1: unexpected on-disk state' not in outcome.msg  # already quoted from the condition
    assert outcome.degraded_nodes == ['worker-1', 'worker-2']
    assert lines[-1].endswith('- degraded')


def test_wait_degraded_survives_a_failing_describe():
    def describe(pool):
        raise RuntimeError('nodes API down')
    outcome, _lines, _clock = run_wait(Script(make_pool(degraded=1)), describe_degraded=describe)
    assert not outcome.ok
    assert 'degraded' in outcome.msg


def test_wait_paused_fails_with_clear_message():
    paused = make_pool(target=NEW, current=OLD, updated=0, paused=True, updated_condition='False')
    outcome, _lines, _clock = run_wait(Script(paused))
    assert not outcome.ok
    assert outcome.msg.startswith('pool worker is paused; unpause it')
    assert 'allow_paused' in outcome.msg


def test_wait_paused_allowed_keeps_waiting_until_unpaused():
    paused = make_pool(target=NEW, current=OLD, updated=0, paused=True, updated_condition='False')
    script = Script(paused, paused, paused, make_pool(target=NEW, current=OLD, updated=1, updated_condition='False'), make_pool())
    outcome, lines, _clock = run_wait(script, allow_paused=True)
    assert outcome.ok
    assert script.calls == 5
    assert 'paused' in lines[0]


def test_wait_render_timeout_fails_clearly():
    script = Script(make_pool(target=OLD, current=OLD))
    outcome, lines, clock = run_wait(script, render_timeout=60, poll_interval=10, timeout=3600)
    assert not outcome.ok
    assert 'still targets rendered-worker-old after 60s' in outcome.msg
    assert 'machineconfiguration.openshift.io/role' in outcome.msg
    assert clock.now - 1000.0 == 60
    assert len(lines) == 1


def test_wait_render_timeout_zero_machines_is_ok_with_warning():
    script = Script(make_pool(machines=0, target=OLD, current=OLD))
    outcome, _lines, _clock = run_wait(script, render_timeout=30, poll_interval=10)
    assert outcome.ok
    assert 'no machines' in outcome.msg
    assert outcome.warnings and 'nothing to roll out' in outcome.warnings[0]


def test_wait_zero_machines_done_once_rendered():
    script = Script(make_pool(machines=0, target=OLD, current=OLD), make_pool(machines=0))
    outcome, _lines, _clock = run_wait(script, render_timeout=30, poll_interval=10)
    assert outcome.ok
    assert outcome.warnings == []


def test_wait_timeout_reports_last_progress():
    rolling = make_pool(target=NEW, current=OLD, updated=1, unavailable=1, updated_condition='False')
    outcome, lines, clock = run_wait(Script(rolling), timeout=45, poll_interval=10)
    assert not outcome.ok
    assert outcome.msg.startswith('timed out after 45s waiting for MachineConfigPool worker; last progress: [0:00] worker: 1/3 updated')
    # The last sleep is shortened to the time left.
    assert clock.sleeps == [10, 10, 10, 10, 5]
    assert len(lines) == 1


def test_wait_timeout_zero_reads_once():
    script = Script(make_pool(target=NEW, current=OLD, updated=1, updated_condition='False'))
    outcome, _lines, clock = run_wait(script, timeout=0)
    assert not outcome.ok
    assert script.calls == 1
    assert clock.sleeps == []


def test_wait_heartbeat_is_displayed_but_not_logged():
    rolling = make_pool(target=NEW, current=OLD, updated=1, updated_condition='False')
    script = Script(rolling, rolling, rolling, rolling, make_pool())
    outcome, lines, _clock = run_wait(script, poll_interval=10, heartbeat=20)
    assert outcome.ok
    assert [line for line in lines if line.endswith('(still waiting)')] == [
        '[0:20] worker: 1/3 updated, 0 unavailable, 0 degraded (rendered-worker-new) (still waiting)']
    assert not any('still waiting' in line for line in outcome.progress_log)


def test_wait_not_found_on_first_read_fails_at_once():
    script = Script(ms.PoolNotFoundError('HTTP 404 Not Found'))
    outcome, lines, clock = run_wait(script)
    assert not outcome.ok
    assert outcome.msg == ('MachineConfigPool worker not found (is this an OpenShift cluster with the Machine Config Operator? '
                           'HCP clusters have none)')
    assert outcome.state is None and outcome.pool is None
    assert clock.sleeps == [] and lines == []


@pytest.mark.parametrize('error', [ms.TransientFetchError('MaxRetryError: connection refused'), ms.FetchError('HTTP 400 Bad Request')])
def test_wait_errors_before_first_read_fail_at_once(error):
    outcome, _lines, _clock = run_wait(Script(error))
    assert not outcome.ok
    assert outcome.msg == 'could not read MachineConfigPool worker: %s' % error


def test_wait_mid_rollout_errors_are_retried_and_logged_once():
    rolling = make_pool(target=NEW, current=OLD, updated=1, unavailable=1, updated_condition='False')
    refused = ms.TransientFetchError('MaxRetryError: connection refused')
    script = Script(rolling, refused, refused, ms.PoolNotFoundError('HTTP 404'), rolling, make_pool())
    outcome, lines, _clock = run_wait(script)
    assert outcome.ok, outcome.msg
    assert script.calls == 6
    assert lines == [
        '[0:00] worker: 1/3 updated, 1 unavailable, 0 degraded (rendered-worker-new)',
        '[0:10] worker: MaxRetryError: connection refused; retrying until the timeout (API server restarting?)',
        '[0:30] worker: MachineConfigPool not found; retrying until the timeout (API server restarting?)',
        '[0:50] worker: 3/3 updated, 0 unavailable, 0 degraded (rendered-worker-new)',
    ]


def test_wait_mid_rollout_errors_until_timeout_report_last_error():
    rolling = make_pool(target=NEW, current=OLD, updated=1, updated_condition='False')
    script = Script(rolling, ms.TransientFetchError('HTTP 503 Service Unavailable'))
    outcome, _lines, _clock = run_wait(script, timeout=30)
    assert not outcome.ok
    assert 'timed out after 30s' in outcome.msg
    assert 'last error: worker: HTTP 503 Service Unavailable' in outcome.msg
    # The last good read is kept for the result.
    assert outcome.pool['status']['updatedMachineCount'] == 1


def test_wait_fatal_error_mid_rollout_fails():
    rolling = make_pool(target=NEW, current=OLD, updated=1, updated_condition='False')
    outcome, _lines, _clock = run_wait(Script(rolling, ms.FetchError('HTTP 400 Bad Request')))
    assert not outcome.ok
    assert outcome.msg == 'could not read MachineConfigPool worker: HTTP 400 Bad Request'


def test_wait_malformed_pool_fails():
    outcome, _lines, _clock = run_wait(Script({'metadata': {}}))
    assert not outcome.ok
    assert outcome.msg == 'MachineConfigPool worker is malformed: metadata.name is missing or not a string'


def test_wait_without_previous_configuration_waits_for_consistency():
    script = Script(make_pool(target=NEW, current=OLD), make_pool())
    outcome, _lines, _clock = run_wait(script, previous_configuration=None)
    assert outcome.ok
    assert script.calls == 2
