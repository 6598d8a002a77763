# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Action plugin for ocpv.density.mcp_wait: polls a MachineConfigPool from the controller.

An action plugin rather than a module so progress lines reach the user (and AAP job output) while
the rollout runs; a module's output only appears when it returns. The rollout logic lives in
plugin_utils/mcp_status.py; this file only builds the client, maps API errors and formats results.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import contextlib
import copy
import json
import os
import platform
import time

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.ocpv.density.plugins.plugin_utils import mcp_status

display = Display()

KUBECONFIG_SEPARATOR = ';' if platform.system() == 'Windows' else ':'
MCP_PATH = '/apis/machineconfiguration.openshift.io/v1/machineconfigpools/%s'
NODES_PATH = '/api/v1/nodes'
REQUEST_TIMEOUT = 30  # seconds per HTTP request, so a hung connection cannot outlive the task's timeout

WAIT_ARGUMENT_SPEC = dict(
    name=dict(type='str', required=True),
    previous_configuration=dict(type='str'),
    timeout=dict(type='int', default=3600),
    poll_interval=dict(type='int', default=10),
    render_timeout=dict(type='int', default=120),
    allow_paused=dict(type='bool', default=False),
)

# Transient while the API server (or the oauth/aggregated APIs behind it) restarts.
TRANSIENT_STATUSES = (401, 403, 408, 429, 500, 502, 503, 504)


def argument_spec():
    # Imported late so the plugin loads (ansible-doc, sanity import test) without kubernetes.core.
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
    spec = copy.deepcopy(WAIT_ARGUMENT_SPEC)
    spec.update(copy.deepcopy(AUTH_ARG_SPEC))
    return spec


def _api_error_text(exc):
    """'HTTP 503 Service Unavailable: <apiserver message>' - status, reason and the Status message only."""
    status = getattr(exc, 'status', None)
    reason = getattr(exc, 'reason', None) or ''
    detail = ''
    body = getattr(exc, 'body', None)
    if body:
        try:
            detail = json.loads(to_text(body)).get('message') or ''
        except (ValueError, AttributeError, TypeError):
            detail = ''
    text = 'HTTP %s %s' % (status, reason)
    return (text.strip() + (': ' + detail if detail else '')).strip()


def classify_exception(exc):
    """Map a kubernetes/urllib3 exception to mcp_status's FetchError family."""
    status = getattr(exc, 'status', None)
    if isinstance(status, int):
        text = _api_error_text(exc)
        if status == 404:
            return mcp_status.PoolNotFoundError(text)
        if status in TRANSIENT_STATUSES:
            return mcp_status.TransientFetchError(text)
        return mcp_status.FetchError(text)
    # Connection refused/reset, TLS handshake during restart, read timeouts: urllib3 errors or OSError.
    return mcp_status.TransientFetchError('%s: %s' % (type(exc).__name__, exc))


def make_fetch(request, name):
    """fetch() for wait_for_pool over ``request(method, path, **params) -> urllib3 response``."""
    from urllib.parse import quote
    path = MCP_PATH % quote(name, safe='')

    def fetch():
        try:
            response = request('GET', path, serialize=False, _request_timeout=REQUEST_TIMEOUT)
            return json.loads(to_text(response.data))
        except Exception as exc:  # pylint: disable=broad-except
            raise classify_exception(exc)
    return fetch


def make_describe_degraded(request):
    """describe_degraded(pool) listing the pool's nodes whose machine-config-daemon state is Degraded."""
    def describe(pool):
        selector = mcp_status.label_selector_string((pool.get('spec') or {}).get('nodeSelector'))
        if not selector:
            return []
        response = request('GET', NODES_PATH, serialize=False, label_selector=selector, _request_timeout=REQUEST_TIMEOUT)
        return mcp_status.degraded_nodes_from_list(json.loads(to_text(response.data)).get('items'))
    return describe


@contextlib.contextmanager
def patched_environ(overrides):
    """Apply the task's ``environment:`` while the client is built (K8S_AUTH_*, KUBECONFIG), then restore."""
    saved = dict((key, os.environ.get(key)) for key in overrides)
    try:
        for key, value in overrides.items():
            os.environ[key] = to_text(value)
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _redact(text, secrets):
    for secret in secrets:
        if secret and len(secret) > 3:
            text = text.replace(secret, '********')
    return text


class ActionModule(ActionBase):
    """Wait for a MachineConfigPool rollout, printing progress on the controller."""

    TRANSFERS_FILES = False
    _requires_connection = False  # reads the API from the controller; no (persistent) connection needed

    def _task_environment(self):
        environment = {}
        try:
            self._compute_environment_string(environment)
        except Exception as exc:  # pylint: disable=broad-except
            display.vvv('mcp_wait: ignoring the task environment: %s' % to_text(exc))
            return {}
        return dict((key, value) for key, value in environment.items() if key.startswith('K8S_AUTH_') or key == 'KUBECONFIG')

    def _local_kubeconfig(self, kubeconfig, temp_files):
        """As kubernetes.core's action plugin: search the playbook's files/ paths, decrypt vaulted files."""
        if not isinstance(kubeconfig, str):
            return kubeconfig
        paths = []
        for path in kubeconfig.split(KUBECONFIG_SEPARATOR):
            found = self._find_needle('files', os.path.expanduser(path))
            real = self._loader.get_real_file(found, decrypt=True)
            if real != found:
                temp_files.append(real)
            paths.append(real)
        return KUBECONFIG_SEPARATOR.join(paths)

    def _validated_args(self):
        try:
            spec = argument_spec()
        except ImportError as exc:
            raise AnsibleActionFail('mcp_wait needs the kubernetes.core collection on the controller: %s' % to_text(exc))
        validator = ArgumentSpecValidator(spec)
        validation = validator.validate(dict(self._task.args))
        if validation.error_messages:
            raise AnsibleActionFail('Invalid options for mcp_wait: %s' % '; '.join(validation.error_messages))
        args = validation.validated_parameters
        for option in ('timeout', 'render_timeout'):
            if args[option] < 0:
                raise AnsibleActionFail('%s must be >= 0, got %d' % (option, args[option]))
        if args['poll_interval'] < 1:
            raise AnsibleActionFail('poll_interval must be >= 1, got %d' % args['poll_interval'])
        # Values never to echo back: the no_log options (kubeconfig is no_log for its dict form; a
        # path is not a secret, and users need it in "file not found" errors).
        secrets = []
        for key, value in spec.items():
            if value.get('no_log') and key != 'kubeconfig' and isinstance(args.get(key), str):
                secrets.append(args[key])
        for value in (args.get('proxy_headers') or {}).values():
            if isinstance(value, str):
                secrets.append(value)
        return args, secrets

    def _build_request(self, args, temp_files):
        """kubernetes.core's client (same option/env/kubeconfig precedence); returns its raw request function."""
        try:
            from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
        except ImportError as exc:
            raise AnsibleActionFail('mcp_wait needs the kubernetes.core collection and the kubernetes Python library '
                                    'on the controller: %s' % to_text(exc))
        auth = dict((key, args[key]) for key in argument_spec() if key not in WAIT_ARGUMENT_SPEC and args.get(key) is not None)
        try:
            if 'kubeconfig' in auth:
                auth['kubeconfig'] = self._local_kubeconfig(auth['kubeconfig'], temp_files)
            with patched_environ(self._task_environment()):
                client = get_api_client(**auth)
        except AnsibleError as exc:
            raise AnsibleActionFail(to_text(exc))
        except Exception as exc:  # pylint: disable=broad-except
            # CoreException, ConfigException, urllib3 errors from discovery, missing files, ...
            raise AnsibleActionFail('could not connect to the Kubernetes API: %s: %s' % (type(exc).__name__, to_text(exc)))
        return client.client.request

    def _fetchers(self, args, temp_files):
        """(fetch, describe_degraded) for wait_for_pool - the seam the unit tests replace."""
        request = self._build_request(args, temp_files)
        return make_fetch(request, args['name']), make_describe_degraded(request)

    # Injectable for tests; a real run uses the wall clock.
    _clock = staticmethod(time.monotonic)
    _sleep = staticmethod(time.sleep)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # unused, kept for the ActionBase signature
        result['changed'] = False

        try:
            args, secrets = self._validated_args()
        except AnsibleActionFail as exc:
            result.update(failed=True, msg=to_text(exc))
            return result
        name = args['name']

        if self._task.check_mode:
            # Nothing was written in check mode, so there is no rollout to wait for - and no API reads.
            result.update(skipped=True, msg='check mode: not waiting for MachineConfigPool %s' % name,
                          progress_log=[], elapsed=0.0)
            return result

        # With several clusters (hosts) in one play every pool is called "worker": say whose it is.
        prefix = '[%s] mcp_wait' % ((task_vars or {}).get('inventory_hostname') or 'localhost')
        temp_files = []
        try:
            fetch, describe_degraded = self._fetchers(args, temp_files)
            display.display('%s: waiting for MachineConfigPool %s%s (timeout %ds)' % (
                prefix, name, ' to move on from %s' % args['previous_configuration'] if args.get('previous_configuration') else '',
                args['timeout']))
            outcome = mcp_status.wait_for_pool(
                name,
                fetch,
                previous_configuration=args.get('previous_configuration'),
                timeout=args['timeout'],
                poll_interval=args['poll_interval'],
                render_timeout=args['render_timeout'],
                allow_paused=args['allow_paused'],
                emit=lambda line: display.display('%s %s' % (prefix, line)),
                clock=self._clock,
                sleep=self._sleep,
                describe_degraded=describe_degraded,
            )
        except AnsibleActionFail as exc:
            result.update(failed=True, msg=_redact(to_text(exc), secrets), progress_log=[], elapsed=0.0)
            return result
        finally:
            for path in temp_files:
                self._loader.cleanup_tmp_file(path)

        return self._format_result(result, outcome, secrets)

    @staticmethod
    def _format_result(result, outcome, secrets):
        result.update(
            msg=_redact(outcome.msg, secrets),
            elapsed=outcome.elapsed,
            progress_log=list(outcome.progress_log),
        )
        if outcome.state is not None:
            result.update(
                phase=outcome.state.phase,
                configuration=outcome.state.target,
                pool=copy.deepcopy((outcome.pool or {}).get('status') or {}),
            )
        if outcome.degraded_nodes:
            result['degraded_nodes'] = list(outcome.degraded_nodes)
        if outcome.warnings:
            result['warnings'] = list(outcome.warnings)
        if not outcome.ok:
            result['failed'] = True
        return result
