# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""MachineConfigPool rollout state for ``ocpv.density.mcp_wait`` (pure Python, no Ansible imports).

The classic trap: right after a MachineConfig (or KubeletConfig) is written, the pool still says
``Updated=True`` - the render controller has not yet produced the new ``rendered-<pool>-<hash>``
config nor retargeted ``spec.configuration``. ``oc wait mcp/worker --for condition=Updated`` then
returns before anything rolled out. So a rollout is only *done* when

- ``spec.configuration.name`` differs from the configuration recorded before the change (when one
  was recorded),
- the node controller has observed the current spec (``status.observedGeneration >= metadata.generation``),
- ``Updated=True`` and ``status.configuration.name == spec.configuration.name``,
- ``updatedMachineCount == machineCount == readyMachineCount`` and nothing is unavailable or degraded.

``evaluate_pool`` classifies one pool snapshot; ``wait_for_pool`` is the polling loop, with the
fetch function, clock and sleep injected so it can be tested without an API server.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import collections
import re
import time

from collections.abc import Mapping

PHASE_WAITING_FOR_RENDER = 'waiting-for-render'
PHASE_PAUSED = 'paused'
PHASE_UPDATING = 'updating'
PHASE_DEGRADED = 'degraded'
PHASE_DONE = 'done'
PHASES = (PHASE_WAITING_FOR_RENDER, PHASE_PAUSED, PHASE_UPDATING, PHASE_DEGRADED, PHASE_DONE)

# Degraded = NodeDegraded || RenderDegraded (|| image build degraded); MCO sets all three. The
# specific ones first: Degraded usually repeats their message and is then left out.
DEGRADED_CONDITION_TYPES = ('NodeDegraded', 'RenderDegraded', 'Degraded')

# Node annotations written by the machine-config-daemon.
NODE_STATE_ANNOTATION = 'machineconfiguration.openshift.io/state'
NODE_REASON_ANNOTATION = 'machineconfiguration.openshift.io/reason'
NODE_DEGRADED_STATES = ('Degraded', 'Unreconcilable')

# MCO's NodeDegraded message: 'Node <name> is reporting: "<reason>"' (pkg/controller/node/status.go).
_NODE_IN_MESSAGE = re.compile(r'\bNode ([a-z0-9](?:[-a-z0-9.]*[a-z0-9])?) is reporting\b')

_COUNT_FIELDS = ('machineCount', 'updatedMachineCount', 'readyMachineCount', 'unavailableMachineCount', 'degradedMachineCount')


class PoolFormatError(ValueError):
    """The object is not a MachineConfigPool this code can reason about."""


class FetchError(Exception):
    """Reading the pool failed; the message is safe to show (no credentials)."""


class PoolNotFoundError(FetchError):
    """The pool (or the MachineConfigPool API itself) does not exist (HTTP 404)."""


class TransientFetchError(FetchError):
    """A failure that is expected while the API server restarts (connection refused, 5xx, 429, ...)."""


_PoolStateBase = collections.namedtuple('PoolState', [
    'phase',           # one of PHASES
    'progress',        # one human line, e.g. "worker: 3/10 updated, 1 unavailable, 0 degraded (rendered-worker-abc)"
    'message',         # why it is degraded / paused / not done yet; '' when done
    'name',            # pool name
    'target',          # spec.configuration.name (None before the first render)
    'current',         # status.configuration.name
    'degraded_nodes',  # node names found in the Degraded conditions
])


class PoolState(_PoolStateBase):
    """Result of evaluate_pool()."""
    __slots__ = ()

    @property
    def done(self):
        return self.phase == PHASE_DONE


def _mapping(parent, key, where):
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise PoolFormatError('%s must be a mapping, got %s' % (where, type(value).__name__))
    return value


def _int(parent, key, where, default=None):
    value = parent.get(key)
    if value is None:
        return default
    # bool is an int subclass; a true/false count is as malformed as a string.
    if isinstance(value, bool) or not isinstance(value, int):
        raise PoolFormatError('%s must be an integer, got %r' % (where, value))
    return value


def _config_name(parent, where):
    configuration = _mapping(parent, 'configuration', where + '.configuration')
    name = configuration.get('name')
    if name is None or name == '':
        return None
    if not isinstance(name, str):
        raise PoolFormatError('%s.configuration.name must be a string, got %r' % (where, name))
    return name


def _conditions(status):
    conditions = status.get('conditions')
    if conditions is None:
        return {}
    if not isinstance(conditions, list):
        raise PoolFormatError('status.conditions must be a list, got %s' % type(conditions).__name__)
    by_type = {}
    for index, condition in enumerate(conditions):
        if not isinstance(condition, Mapping) or not isinstance(condition.get('type'), str):
            raise PoolFormatError('status.conditions[%d] must be a mapping with a string "type"' % index)
        by_type[condition['type']] = condition
    return by_type


def _is_true(conditions, condition_type):
    condition = conditions.get(condition_type)
    return condition is not None and str(condition.get('status', '')).lower() == 'true'


def _degraded_message(conditions, degraded_count):
    parts = []
    seen = set()
    for condition_type in DEGRADED_CONDITION_TYPES:
        if not _is_true(conditions, condition_type):
            continue
        condition = conditions[condition_type]
        reason = condition.get('reason') or ''
        text = condition.get('message') or ''
        # Degraded usually repeats NodeDegraded's message word for word: say it once.
        key = text or reason
        if key in seen:
            continue
        seen.add(key)
        detail = ': '.join(part for part in (reason, text) if part)
        parts.append('%s=True%s' % (condition_type, (' (%s)' % detail) if detail else ''))
    if not parts and degraded_count:
        parts.append('%d machine(s) report degraded (degradedMachineCount), no Degraded condition set yet' % degraded_count)
    return '; '.join(parts)


def nodes_named_in_conditions(conditions):
    """Node names MCO quotes in the Degraded/NodeDegraded condition messages, in order, without repeats."""
    names = []
    for condition_type in DEGRADED_CONDITION_TYPES:
        condition = conditions.get(condition_type) or {}
        for match in _NODE_IN_MESSAGE.finditer(str(condition.get('message') or '')):
            if match.group(1) not in names:
                names.append(match.group(1))
    return names


def evaluate_pool(pool, previous_configuration=None):
    """Classify one MachineConfigPool snapshot (a dict as the API returns it).

    ``previous_configuration`` is ``spec.configuration.name`` (or ``status.configuration.name``)
    recorded *before* the MachineConfig/KubeletConfig change; while the pool still targets it the
    phase is ``waiting-for-render`` whatever the Updated condition says.
    Raises PoolFormatError for an object that is not a usable MachineConfigPool.
    """
    if not isinstance(pool, Mapping):
        raise PoolFormatError('a MachineConfigPool must be a mapping, got %s' % type(pool).__name__)
    metadata = _mapping(pool, 'metadata', 'metadata')
    name = metadata.get('name')
    if not isinstance(name, str) or not name:
        raise PoolFormatError('metadata.name is missing or not a string')
    spec = _mapping(pool, 'spec', 'spec')
    status = _mapping(pool, 'status', 'status')
    paused = spec.get('paused', False)
    if paused is None:
        paused = False
    if not isinstance(paused, bool):
        raise PoolFormatError('spec.paused must be a boolean, got %r' % (paused,))
    generation = _int(metadata, 'generation', 'metadata.generation')
    observed = _int(status, 'observedGeneration', 'status.observedGeneration')
    target = _config_name(spec, 'spec')
    current = _config_name(status, 'status')
    counts = dict((field, _int(status, field, 'status.' + field, 0)) for field in _COUNT_FIELDS)
    conditions = _conditions(status)

    machines = counts['machineCount']
    updated = counts['updatedMachineCount']
    ready = counts['readyMachineCount']
    unavailable = counts['unavailableMachineCount']
    degraded = counts['degradedMachineCount']

    base = '%s: %d/%d updated, %d unavailable, %d degraded (%s)' % (
        name, updated, machines, unavailable, degraded, target or 'no rendered config yet')

    def state(phase, message='', hint=''):
        progress = base + (' - ' + hint if hint else '')
        return PoolState(phase, progress, message, name, target, current, nodes_named_in_conditions(conditions))

    # Fail fast: a degraded pool does not heal by waiting (RenderDegraded also means "not retargeted").
    if degraded > 0 or any(_is_true(conditions, t) for t in DEGRADED_CONDITION_TYPES):
        return state(PHASE_DEGRADED, _degraded_message(conditions, degraded), 'degraded')

    # The stale Updated=True trap: nothing has been rendered for the change yet.
    if previous_configuration and (target is None or target == previous_configuration):
        return state(PHASE_WAITING_FOR_RENDER,
                     'pool %s still targets %s; waiting for the Machine Config Operator to render the change' % (
                         name, previous_configuration),
                     'waiting for a new rendered config')
    if target is None:
        return state(PHASE_UPDATING, 'pool %s has no rendered configuration yet' % name, 'waiting for the first rendered config')

    observed_ok = generation is None or (observed is not None and observed >= generation)
    updated_condition = _is_true(conditions, 'Updated')
    machines_ok = updated == machines == ready and unavailable == 0
    if observed_ok and updated_condition and current == target and machines_ok:
        return state(PHASE_DONE)

    if paused:
        return state(PHASE_PAUSED,
                     'pool %s is paused with changes pending (%d/%d machines on %s)' % (name, updated, machines, target),
                     'paused')

    # Say what is missing when the counts alone would look finished (the stale-status cases).
    if not observed_ok:
        hint = 'status not observed yet (generation %s, observed %s)' % (generation, observed if observed is not None else 'none')
    elif machines_ok and current != target:
        hint = 'status still reports %s' % (current or 'no configuration')
    elif machines_ok and not updated_condition:
        hint = 'waiting for Updated=True'
    else:
        hint = ''
    return state(PHASE_UPDATING, 'pool %s is rolling out %s' % (name, target), hint)


def label_selector_string(selector):
    """A LabelSelector (matchLabels/matchExpressions) as a ``labelSelector`` query string; None if empty."""
    if not isinstance(selector, Mapping):
        return None
    parts = []
    for key, value in sorted((selector.get('matchLabels') or {}).items()):
        parts.append('%s=%s' % (key, value) if value not in (None, '') else '%s=' % key)
    for expression in selector.get('matchExpressions') or []:
        if not isinstance(expression, Mapping):
            continue
        key, operator = expression.get('key'), expression.get('operator')
        values = ','.join(str(v) for v in expression.get('values') or [])
        if operator == 'In':
            parts.append('%s in (%s)' % (key, values))
        elif operator == 'NotIn':
            parts.append('%s notin (%s)' % (key, values))
        elif operator == 'Exists':
            parts.append(str(key))
        elif operator == 'DoesNotExist':
            parts.append('!%s' % key)
    return ','.join(parts) or None


def degraded_nodes_from_list(nodes):
    """[(name, reason)] for nodes whose machine-config-daemon state is Degraded/Unreconcilable."""
    found = []
    for node in nodes or []:
        if not isinstance(node, Mapping):
            continue
        metadata = node.get('metadata') or {}
        annotations = metadata.get('annotations') or {}
        if annotations.get(NODE_STATE_ANNOTATION) in NODE_DEGRADED_STATES:
            found.append((metadata.get('name'), annotations.get(NODE_REASON_ANNOTATION) or annotations.get(NODE_STATE_ANNOTATION)))
    return found


def format_elapsed(seconds):
    """0:07, 12:34, 1:02:03."""
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return '%d:%02d:%02d' % (hours, minutes, secs)
    return '%d:%02d' % (minutes, secs)


WaitResult = collections.namedtuple('WaitResult', [
    'ok',              # True when the pool finished rolling out
    'msg',             # summary for the user
    'state',           # last PoolState (None if the pool was never read)
    'pool',            # last pool object read (None if never read)
    'elapsed',         # seconds
    'progress_log',    # lines, each "[m:ss] <progress>", one per change
    'warnings',        # list of str
    'degraded_nodes',  # node names (degraded pools)
])


def _safe_describe(describe_degraded, pool):
    # Only decoration for the failure message: never let it hide the degraded pool itself.
    try:
        return list(describe_degraded(pool) or [])
    except Exception:  # pylint: disable=broad-except
        return []


def not_found_message(name):
    return ('MachineConfigPool %s not found (is this an OpenShift cluster with the Machine Config Operator? '
            'HCP clusters have none)' % name)


def wait_for_pool(name, fetch, previous_configuration=None, timeout=3600, poll_interval=10, render_timeout=120,
                  allow_paused=False, emit=None, clock=time.monotonic, sleep=time.sleep, heartbeat=300,
                  describe_degraded=None):
    """Poll ``fetch()`` until the pool has rolled out, is degraded/paused, or time runs out.

    fetch() returns the pool dict or raises FetchError (PoolNotFoundError, TransientFetchError).
    Before the first successful read any FetchError fails at once (wrong cluster, no MCO, bad
    credentials); afterwards 404s and transient errors are retried until ``timeout`` - the API
    server restarts while master nodes reboot.
    emit(line) is called for every new progress line and for a heartbeat every ``heartbeat`` seconds.
    describe_degraded(pool) may return [(node, reason)] to enrich a degraded failure.
    """
    emit = emit or (lambda line: None)
    start = clock()
    progress_log = []
    warnings = []
    state = None
    pool = None
    last_text = None
    last_error = None
    last_emit = start

    def log(text, now, record=True):
        line = '[%s] %s' % (format_elapsed(now - start), text)
        if record:
            progress_log.append(line)
        emit(line)
        return now

    def result(ok, msg, degraded_nodes=None):
        return WaitResult(ok, msg, state, pool, round(clock() - start, 1), progress_log, warnings, degraded_nodes or [])

    while True:
        now = clock()
        try:
            snapshot = fetch()
        except FetchError as exc:
            if pool is None:
                if isinstance(exc, PoolNotFoundError):
                    return result(False, not_found_message(name))
                return result(False, 'could not read MachineConfigPool %s: %s' % (name, exc))
            if isinstance(exc, (PoolNotFoundError, TransientFetchError)):
                text = '%s: %s; retrying until the timeout (API server restarting?)' % (
                    name, 'MachineConfigPool not found' if isinstance(exc, PoolNotFoundError) else exc)
                if text != last_error:
                    last_emit = log(text, now)
                last_error = text
            else:
                return result(False, 'could not read MachineConfigPool %s: %s' % (name, exc))
        else:
            try:
                state = evaluate_pool(snapshot, previous_configuration)
            except PoolFormatError as exc:
                return result(False, 'MachineConfigPool %s is malformed: %s' % (name, exc))
            pool = snapshot
            last_error = None
            if state.progress != last_text:
                last_emit = log(state.progress, now)
                last_text = state.progress
            elif heartbeat and now - last_emit >= heartbeat:
                last_emit = log(state.progress + ' (still waiting)', now, record=False)

            if state.phase == PHASE_DONE:
                return result(True, 'MachineConfigPool %s is updated to %s' % (name, state.target))
            if state.phase == PHASE_DEGRADED:
                nodes = list(state.degraded_nodes)
                details = []
                if describe_degraded is not None:
                    for node, reason in _safe_describe(describe_degraded, snapshot):
                        if node and node not in nodes:
                            nodes.append(node)
                        if node and reason and reason not in state.message:
                            details.append('%s: %s' % (node, reason))
                msg = 'MachineConfigPool %s is degraded: %s' % (name, state.message)
                if nodes:
                    msg += '; degraded nodes: %s' % ', '.join(nodes)
                if details:
                    msg += ' (%s)' % '; '.join(details)
                return result(False, msg, nodes)
            if state.phase == PHASE_PAUSED and not allow_paused:
                return result(False, 'pool %s is paused; unpause it (spec.paused: false) to let the change (%s) roll out, '
                                     'or set allow_paused: true to wait for someone else to unpause it' % (name, state.target))
            if state.phase == PHASE_WAITING_FOR_RENDER and now - start >= render_timeout:
                machines = (snapshot.get('status') or {}).get('machineCount') or 0
                msg = ('MachineConfigPool %s still targets %s after %ds: no new rendered configuration appeared. '
                       'Check that the MachineConfig/KubeletConfig selects this pool (label machineconfiguration.openshift.io/role) '
                       'and really changes it, that previous_configuration was read before the change, and that the '
                       'Machine Config Operator is running' % (name, previous_configuration, render_timeout))
                if machines == 0:
                    # Nothing can roll out on a pool without machines (SNO/compact worker pool): warn, don't fail.
                    warnings.append(msg + '. The pool has no machines, so there is nothing to roll out.')
                    return result(True, 'MachineConfigPool %s has no machines; no new rendered configuration within %ds' % (
                        name, render_timeout))
                return result(False, msg)

        now = clock()
        if now - start >= timeout:
            last = progress_log[-1] if progress_log else 'no progress read'
            msg = 'timed out after %ds waiting for MachineConfigPool %s; last progress: %s' % (timeout, name, last)
            if last_error:
                msg += '; last error: %s' % last_error
            return result(False, msg)
        sleep(max(0.0, min(poll_interval, timeout - (now - start))))
