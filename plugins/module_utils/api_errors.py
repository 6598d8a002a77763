# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Words a failed request to the API server for the user: which server, what went wrong and what to
check, instead of urllib3's or the kubernetes client's long text. Pure: used by the modules
(kube_module) and by the filter ``api_error_message``."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import re

AUTOMATION_CLUSTERROLE = 'ocpv-density-automation'  # rbac/automation-clusterrole.yml


def unreachable(text):
    """True when an error text is a connection failure (refused, reset, timeout, DNS, TLS), not an API answer."""
    return bool(re.search(r'Max retries exceeded|Connection (refused|reset|aborted)|NewConnectionError|'
                          r'Failed to establish a new connection|RemoteDisconnected|timed out|'
                          r'Name or service not known|ProtocolError|SSLError', text))


def _address(text, server=None):
    """' at HOST:PORT' from the error text, else from the client's server URL (a connection cut
    mid-request - RemoteDisconnected - names no address), else ''."""
    where = re.search(r"host='([^']*)', port=(\d+)", text)
    if where:
        return ' at %s:%s' % where.groups()
    netloc = re.match(r'^[a-z]+://([^/]+)', server or '')
    return ' at %s' % netloc.group(1) if netloc else ''


def unreachable_message(text, doing, server=None):
    """'Cannot reach the Kubernetes API server at HOST:PORT (REASON) while DOING ...' from a urllib3 error
    text: the address and the reason only (the raw text repeats itself and can be long); `server` (the
    client's URL) gives the address when the text has none. A certificate the client does not trust
    gets its own message: the server is up, the CA is what to check."""
    tls = re.search(r'certificate verify failed: ([^(\'"]+)', text)
    if tls:
        return ('The Kubernetes API server%s is not trusted (certificate verify failed: %s) while %s. Check the '
                'certificate authority in KUBECONFIG (certificate-authority-data) or K8S_AUTH_SSL_CA_CERT.'
                % (_address(text, server), tls.group(1).strip().rstrip('.'), doing))
    reason = re.findall(r'\[Errno -?\d+\] ([^"\')\]]+)', text)
    return ('Cannot reach the Kubernetes API server%s (%s) while %s. Check that the API server is up and '
            'that KUBECONFIG / K8S_AUTH_HOST point at it; a rerun converges once it answers.'
            % (_address(text, server), reason[-1].strip() if reason else text[:200], doing))


def _answer(text):
    """(status code, the server's message) of a kubernetes client ApiException text, or (None, None)."""
    status = re.search(r"(?:^|')(\d{3})\nReason: ", text)
    if not status:
        return None, None
    body = re.search(r'^HTTP response body: (.*)$', text, re.M)
    try:
        message = json.loads(body.group(1)).get('message') if body else None
    except ValueError:
        message = None
    return int(status.group(1)), message


def api_error_message(text, doing):
    """The user's message for a failed request's error text: unreachable_message() when the API
    server did not answer; for 401 and 403 what to check; any other text unchanged."""
    text = str(text)
    if unreachable(text):
        return unreachable_message(text, doing)
    status, message = _answer(text)
    if status == 401:
        return ('The Kubernetes API server refused the credentials (401 Unauthorized) while %s. Log in again '
                '(an expired token is the usual cause) or check the token or client certificate in KUBECONFIG.'
                % doing)
    if status == 403:
        return ('Forbidden (403) while %s: %s. The permissions the collection needs are the ClusterRole %s '
                '(rbac/automation-clusterrole.yml in the collection).'
                % (doing, message or 'the user may not do this', AUTOMATION_CLUSTERROLE))
    return text


# How kubernetes.core finds the cluster (k8s/client.py _create_configuration, 6.2.0): enough
# K8S_AUTH_* (or module options) to authenticate to a host; else a kubeconfig / context given;
# else in-cluster config (the pod's ServiceAccount); else the kubeconfig of the kubernetes client
# ($KUBECONFIG, default ~/.kube/config).
_HOST_AUTH = (('HOST', 'API_KEY'), ('HOST', 'USERNAME', 'PASSWORD'), ('HOST', 'CERT_FILE', 'KEY_FILE'))
IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token'


def cluster_target_problem(env, kubeconfig='', context='', exists=None):
    """Why a run cannot know which cluster to talk to, in one sentence, or '' when it can.

    ``env`` is the controller's environment, ``kubeconfig`` / ``context`` the run's variables of
    those names, ``exists`` a path test (os.path.exists; injected for the tests)."""
    exists = exists or os.path.exists
    kubeconfig = kubeconfig or env.get('K8S_AUTH_KUBECONFIG') or ''
    context = context or env.get('K8S_AUTH_CONTEXT') or ''
    if any(all(env.get('K8S_AUTH_' + name) for name in names) for names in _HOST_AUTH):
        return ''
    if kubeconfig:
        missing = [p for p in str(kubeconfig).split(os.pathsep) if p and not exists(os.path.expanduser(p))]
        if missing:
            return ('kubeconfig %s does not exist: point kubeconfig (or K8S_AUTH_KUBECONFIG) at the file '
                    'of the cluster to work on' % missing[0][:200])
        return ''
    if env.get('KUBERNETES_SERVICE_HOST') and env.get('KUBERNETES_SERVICE_PORT') and exists(IN_CLUSTER_TOKEN):
        return ''
    default = env.get('KUBECONFIG') or os.path.join(env.get('HOME') or '~', '.kube', 'config')
    if any(p and exists(os.path.expanduser(p)) for p in default.split(os.pathsep)):
        return ''
    return ('No cluster to work on: no kubeconfig at %s and no K8S_AUTH_HOST; set KUBECONFIG or '
            '-e kubeconfig=PATH (-e context=NAME for one of its contexts), or K8S_AUTH_HOST with '
            'K8S_AUTH_API_KEY (in AAP: attach an "OpenShift or Kubernetes API Bearer Token" credential)'
            % default[:200]) + ('' if not context else ' (context %s was given without a kubeconfig)' % context[:100])
