# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Functional tests of the ocpv.density.mcp_wait action plugin.

The only seam replaced is the pure one: ``ActionModule._fetchers`` returns a scripted fetch
function (a sequence of pool objects), and the clock/sleep are fake. Argument handling, check
mode, progress display and result shaping run for real. The HTTP mapping helpers are tested with
plain callables standing in for ``DynamicClient.request``.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import json
import os
from unittest import mock

import pytest

from ansible_collections.ocpv.density.plugins.action import mcp_wait as action_mod
from ansible_collections.ocpv.density.plugins.plugin_utils import mcp_status as ms

from test_mcp_status import NEW, OLD, Script, make_pool  # pylint: disable=import-error  # tests/unit is on sys.path (pytest rootdir mode)


class FakeClock(object):
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class Displayed(object):
    def __init__(self):
        self.lines = []

    def display(self, msg, *args, **kwargs):
        self.lines.append(msg)

    def vvv(self, msg, *args, **kwargs):
        self.lines.append('vvv: ' + msg)


@pytest.fixture
def shown(monkeypatch):
    displayed = Displayed()
    monkeypatch.setattr(action_mod, 'display', displayed)
    return displayed


def make_action(args, fetch=None, describe=None, check_mode=False, environment=None):
    task = mock.MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.async_val = 0
    task.action = 'ocpv.density.mcp_wait'
    task.environment = environment
    connection = mock.MagicMock()
    connection._shell.tmpdir = None
    templar = mock.MagicMock()
    templar.template.side_effect = lambda value: value
    action = action_mod.ActionModule(task, connection, mock.MagicMock(), mock.MagicMock(), templar, None)
    clock = FakeClock()
    action._clock = clock
    action._sleep = clock.sleep
    calls = []

    def fetchers(validated, temp_files):
        calls.append(validated)
        return fetch, describe or (lambda pool: [])
    action._fetchers = fetchers
    action.fetcher_calls = calls
    return action


def test_waits_through_a_rollout_and_shows_progress(shown):
    script = Script(
        make_pool(target=OLD, current=OLD),
        make_pool(target=NEW, current=OLD, updated=0, unavailable=1, updated_condition='False'),
        make_pool(target=NEW, current=OLD, updated=2, unavailable=1, updated_condition='False'),
        make_pool(),
    )
    action = make_action({'name': 'worker', 'previous_configuration': OLD, 'poll_interval': 5}, fetch=script)
    result = action.run(task_vars={'inventory_hostname': 'cluster-a'})
    assert result.get('failed') is not True, result
    assert result['changed'] is False
    assert result['phase'] == 'done'
    assert result['configuration'] == NEW
    assert result['pool']['configuration']['name'] == NEW
    assert result['pool']['updatedMachineCount'] == 3
    assert result['elapsed'] == 15.0
    assert result['msg'] == 'MachineConfigPool worker is updated to rendered-worker-new'
    assert result['progress_log'] == [
        '[0:00] worker: 3/3 updated, 0 unavailable, 0 degraded (rendered-worker-old) - waiting for a new rendered config',
        '[0:05] worker: 0/3 updated, 1 unavailable, 0 degraded (rendered-worker-new)',
        '[0:10] worker: 2/3 updated, 1 unavailable, 0 degraded (rendered-worker-new)',
        '[0:15] worker: 3/3 updated, 0 unavailable, 0 degraded (rendered-worker-new)',
    ]
    assert shown.lines[0] == '[cluster-a] mcp_wait: waiting for MachineConfigPool worker to move on from rendered-worker-old (timeout 3600s)'
    assert shown.lines[1:] == ['[cluster-a] mcp_wait ' + line for line in result['progress_log']]
    # Defaults reach the loop.
    validated = action.fetcher_calls[0]
    assert (validated['timeout'], validated['render_timeout'], validated['allow_paused']) == (3600, 120, False)


def test_check_mode_returns_without_reading(shown):
    action = make_action({'name': 'worker', 'previous_configuration': OLD}, fetch=Script(make_pool()), check_mode=True)
    result = action.run(task_vars={})
    assert result['skipped'] is True
    assert result['changed'] is False
    assert not result.get('failed')
    assert result['progress_log'] == []
    assert 'check mode' in result['msg']
    assert action.fetcher_calls == []
    assert shown.lines == []


@pytest.mark.parametrize('args, fragment', [
    ({}, 'name'),
    ({'name': 'worker', 'bogus': 1}, 'bogus'),
    ({'name': 'worker', 'poll_interval': 0}, 'poll_interval must be >= 1'),
    ({'name': 'worker', 'timeout': -1}, 'timeout must be >= 0'),
    ({'name': 'worker', 'render_timeout': -5}, 'render_timeout must be >= 0'),
    ({'name': 'worker', 'timeout': 'soon'}, 'timeout'),
])
def test_invalid_arguments_fail_before_any_read(shown, args, fragment):
    action = make_action(args, fetch=Script(make_pool()))
    result = action.run(task_vars={})
    assert result['failed'] is True
    assert fragment in result['msg']
    assert action.fetcher_calls == []


def test_auth_options_are_accepted_with_aliases(shown):
    action = make_action({'name': 'worker', 'verify_ssl': False, 'ssl_ca_cert': '~/ca.crt', 'api_key': 'sekret-token',
                          'impersonate_groups': ['a', 'b']}, fetch=Script(make_pool()))
    result = action.run(task_vars={})
    assert not result.get('failed'), result
    validated = action.fetcher_calls[0]
    assert validated['validate_certs'] is False
    assert validated['ca_cert'] == os.path.expanduser('~/ca.crt')
    assert 'sekret-token' not in json.dumps(result)


def test_degraded_pool_fails_fast_with_nodes(shown):
    degraded = make_pool(target=NEW, current=OLD, updated=1, degraded=1, updated_condition='False', extra_conditions=[
        {'type': 'NodeDegraded', 'status': 'True', 'reason': '1 nodes are reporting degraded status on sync',
         'message': 'Node worker-1 is reporting: "failed to drain"'}])
    script = Script(make_pool(target=OLD, current=OLD), degraded, make_pool())
    action = make_action({'name': 'worker', 'previous_configuration': OLD}, fetch=script,
                         describe=lambda pool: [('worker-1', 'failed to drain node')])
    result = action.run(task_vars={})
    assert result['failed'] is True
    assert result['phase'] == 'degraded'
    assert result['degraded_nodes'] == ['worker-1']
    assert 'NodeDegraded=True' in result['msg'] and 'failed to drain' in result['msg']
    assert 'worker-1: failed to drain node' in result['msg']
    assert script.calls == 2


def test_pool_not_found(shown):
    action = make_action({'name': 'worker'}, fetch=Script(ms.PoolNotFoundError('HTTP 404 Not Found')))
    result = action.run(task_vars={})
    assert result['failed'] is True
    assert result['msg'] == ms.not_found_message('worker')
    assert 'HCP clusters have none' in result['msg']
    assert 'pool' not in result and 'phase' not in result


def test_timeout_failure_carries_last_progress(shown):
    rolling = make_pool(target=NEW, current=OLD, updated=1, unavailable=1, updated_condition='False')
    action = make_action({'name': 'worker', 'timeout': 30, 'poll_interval': 10}, fetch=Script(rolling))
    result = action.run(task_vars={})
    assert result['failed'] is True
    assert result['msg'].startswith('timed out after 30s waiting for MachineConfigPool worker; last progress: [0:00] worker: 1/3 updated')
    assert result['phase'] == 'updating'


def test_render_timeout_warning_for_empty_pool(shown):
    action = make_action({'name': 'worker', 'previous_configuration': OLD, 'render_timeout': 20},
                         fetch=Script(make_pool(machines=0, target=OLD, current=OLD)))
    result = action.run(task_vars={})
    assert not result.get('failed'), result
    assert result['warnings'] and 'no machines' in result['warnings'][0]


def test_paused_pool(shown):
    paused = make_pool(target=NEW, current=OLD, updated=0, paused=True, updated_condition='False')
    result = make_action({'name': 'worker', 'previous_configuration': OLD}, fetch=Script(paused)).run(task_vars={})
    assert result['failed'] is True
    assert result['msg'].startswith('pool worker is paused; unpause it')
    assert result['phase'] == 'paused'


def test_client_errors_are_reported_without_secrets(shown):
    action = make_action({'name': 'worker', 'api_key': 'sekret-token'})

    def broken(validated, temp_files):
        raise action_mod.AnsibleActionFail('could not connect: token sekret-token rejected')
    action._fetchers = broken
    result = action.run(task_vars={})
    assert result['failed'] is True
    assert 'sekret-token' not in result['msg']
    assert '********' in result['msg']


def test_real_client_against_unreachable_api_fails_cleanly(shown):
    # kubernetes.core's client builder for real, pointed at a closed port: a clean failure, no token in it.
    task = mock.MagicMock()
    task.args = {'name': 'worker', 'host': 'https://127.0.0.1:9', 'api_key': 'sekret-token-123', 'validate_certs': False}
    task.check_mode = False
    task.async_val = 0
    task.environment = None
    connection = mock.MagicMock()
    connection._shell.tmpdir = None
    templar = mock.MagicMock()
    templar.template.side_effect = lambda value: value
    action = action_mod.ActionModule(task, connection, mock.MagicMock(), mock.MagicMock(), templar, None)
    result = action.run(task_vars={})
    assert result['failed'] is True
    assert result['msg'].startswith('could not connect to the Kubernetes API') or result['msg'].startswith('could not read')
    assert 'sekret-token-123' not in json.dumps(result)


def test_task_environment_only_passes_kubernetes_settings(shown):
    action = make_action({'name': 'worker'}, environment=[{'K8S_AUTH_KUBECONFIG': '/tmp/kc', 'KUBECONFIG': '/tmp/kc2', 'HTTP_PROXY': 'x'}])
    assert action._task_environment() == {'K8S_AUTH_KUBECONFIG': '/tmp/kc', 'KUBECONFIG': '/tmp/kc2'}


def test_patched_environ_restores(monkeypatch):
    monkeypatch.setenv('K8S_AUTH_CONTEXT', 'before')
    monkeypatch.delenv('K8S_AUTH_HOST', raising=False)
    with action_mod.patched_environ({'K8S_AUTH_CONTEXT': 'during', 'K8S_AUTH_HOST': 'https://x'}):
        assert os.environ['K8S_AUTH_CONTEXT'] == 'during'
        assert os.environ['K8S_AUTH_HOST'] == 'https://x'
    assert os.environ['K8S_AUTH_CONTEXT'] == 'before'
    assert 'K8S_AUTH_HOST' not in os.environ


# ---------------------------------------------------------------------------------------------
# HTTP mapping helpers (a callable stands in for DynamicClient.request)


class Response(object):
    def __init__(self, obj):
        self.data = json.dumps(obj).encode()


def api_error(status, reason, message=None):
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic.exceptions import api_exception
    exc = ApiException(status=status, reason=reason)
    if message is not None:
        exc.body = json.dumps({'kind': 'Status', 'message': message})
    return api_exception(exc)


def test_make_fetch_requests_the_pool_path():
    seen = []

    def request(method, path, **params):
        seen.append((method, path, params))
        return Response(make_pool())
    pool = action_mod.make_fetch(request, 'worker')()
    assert pool['metadata']['name'] == 'worker'
    assert seen == [('GET', '/apis/machineconfiguration.openshift.io/v1/machineconfigpools/worker',
                     {'serialize': False, '_request_timeout': action_mod.REQUEST_TIMEOUT})]


def test_make_fetch_quotes_the_name():
    seen = []

    def request(method, path, **params):
        seen.append(path)
        return Response(make_pool())
    action_mod.make_fetch(request, 'a/b?c')()
    assert seen == ['/apis/machineconfiguration.openshift.io/v1/machineconfigpools/a%2Fb%3Fc']


@pytest.mark.parametrize('error, kind, text', [
    (api_error(404, 'Not Found', 'machineconfigpools.machineconfiguration.openshift.io "worker" not found'), ms.PoolNotFoundError,
     'HTTP 404 Not Found: machineconfigpools.machineconfiguration.openshift.io "worker" not found'),
    (api_error(503, 'Service Unavailable'), ms.TransientFetchError, 'HTTP 503 Service Unavailable'),
    (api_error(429, 'Too Many Requests'), ms.TransientFetchError, 'HTTP 429 Too Many Requests'),
    (api_error(401, 'Unauthorized'), ms.TransientFetchError, 'HTTP 401 Unauthorized'),
    (api_error(400, 'Bad Request', 'bad'), ms.FetchError, 'HTTP 400 Bad Request: bad'),
    (ConnectionRefusedError(111, 'Connection refused'), ms.TransientFetchError, 'ConnectionRefusedError: [Errno 111] Connection refused'),
])
def test_make_fetch_maps_errors(error, kind, text):
    def request(method, path, **params):
        raise error
    with pytest.raises(ms.FetchError) as caught:
        action_mod.make_fetch(request, 'worker')()
    assert caught.type is kind
    assert str(caught.value) == text


def test_make_fetch_maps_urllib3_errors_to_transient():
    from urllib3.exceptions import MaxRetryError, NewConnectionError
    error = MaxRetryError(None, '/apis', reason=NewConnectionError(None, 'Connection refused'))

    def request(method, path, **params):
        raise error
    with pytest.raises(ms.TransientFetchError, match='MaxRetryError'):
        action_mod.make_fetch(request, 'worker')()


def test_make_describe_degraded_lists_the_pools_nodes():
    seen = []
    nodes = {'items': [
        {'metadata': {'name': 'worker-0', 'annotations': {ms.NODE_STATE_ANNOTATION: 'Done'}}},
        {'metadata': {'name': 'worker-1', 'annotations': {ms.NODE_STATE_ANNOTATION: 'Degraded', ms.NODE_REASON_ANNOTATION: 'boom'}}},
    ]}

    def request(method, path, **params):
        seen.append((path, params.get('label_selector')))
        return Response(nodes)
    describe = action_mod.make_describe_degraded(request)
    assert describe(make_pool()) == [('worker-1', 'boom')]
    assert seen == [('/api/v1/nodes', 'node-role.kubernetes.io/worker=')]
    pool = copy.deepcopy(make_pool())
    del pool['spec']['nodeSelector']
    assert describe(pool) == []


def test_secrets_redacted_but_kubeconfig_path_kept(shown):
    action = make_action({'name': 'worker', 'password': 'hunter2-pw', 'kubeconfig': '/some/where/kubeconfig',
                          'proxy_headers': {'proxy_basic_auth': 'user:proxypass', 'user_agent': 'ua'}})

    def broken(validated, temp_files):
        raise action_mod.AnsibleActionFail('cannot read /some/where/kubeconfig with hunter2-pw via user:proxypass')
    action._fetchers = broken
    result = action.run(task_vars={})
    assert result['msg'] == 'cannot read /some/where/kubeconfig with ******** via ********'
