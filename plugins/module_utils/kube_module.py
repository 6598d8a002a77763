# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""The collection's modules that talk to the cluster: kubernetes.core's auth options and client,
and a clear failure when kubernetes.core is missing."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import re
import traceback

from ansible.module_utils.basic import AnsibleModule

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException
    K8S_CORE_ERROR = None
except ImportError:
    AUTH_ARG_SPEC = {}
    K8S_CORE_ERROR = traceback.format_exc()

    class CoreException(Exception):
        pass

# Re-exported for the modules (one place for the fallbacks).
try:
    from kubernetes.dynamic.exceptions import (  # pylint: disable=unused-import
        ConflictError, DynamicApiError, NotFoundError, ResourceNotFoundError)
except ImportError:  # k8s_module() reports the missing library; these keep the modules importable
    class DynamicApiError(Exception):
        pass

    class NotFoundError(DynamicApiError):
        pass

    class ConflictError(DynamicApiError):
        pass

    class ResourceNotFoundError(Exception):
        pass

try:  # with OSError: what a request raises when the API server does not answer (refused, reset, timed out)
    from urllib3.exceptions import HTTPError as Urllib3Error  # pylint: disable=unused-import
except ImportError:
    class Urllib3Error(Exception):
        pass


def k8s_module(name, argument_spec):
    """An AnsibleK8SModule taking kubernetes.core's auth options plus ``argument_spec``."""
    if K8S_CORE_ERROR:
        AnsibleModule(argument_spec={}).fail_json(msg='%s needs the kubernetes.core collection' % name,
                                                  exception=K8S_CORE_ERROR)
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(argument_spec)
    return AnsibleK8SModule(module_class=AnsibleModule, argument_spec=spec, supports_check_mode=True)


def unreachable(text):
    """True when an error text is a connection failure (refused, reset, timeout, DNS), not an API answer."""
    return bool(re.search(r'Max retries exceeded|Connection (refused|reset|aborted)|NewConnectionError|'
                          r'Failed to establish a new connection|RemoteDisconnected|timed out|'
                          r'Name or service not known|ProtocolError', text))


def unreachable_message(text, doing):
    """'Cannot reach the Kubernetes API server at HOST:PORT (REASON) while DOING ...' from a urllib3 error
    text: the address and the reason only (the raw text repeats itself and can be long)."""
    where = re.search(r"host='([^']*)', port=(\d+)", text)
    reason = re.findall(r'\[Errno -?\d+\] ([^"\')\]]+)', text)
    return ('Cannot reach the Kubernetes API server%s (%s) while %s. Check that the API server is up and '
            'that KUBECONFIG / K8S_AUTH_HOST point at it; a rerun converges once it answers.'
            % (' at %s:%s' % where.groups() if where else '', reason[-1].strip() if reason else text[:200], doing))


def api_client(module, doing='connecting'):
    """kubernetes.core's K8SClient for the module's auth options (fails the module on bad auth, and
    with unreachable_message() when the API server does not answer)."""
    try:
        return get_api_client(module)
    except CoreException as e:
        module.fail_from_exception(e)
    # urllib3 errors of the client's first request (/version) come through unwrapped
    except Exception as e:  # pylint: disable=broad-except
        if not unreachable(str(e)):
            raise
        module.fail_json(msg=unreachable_message(str(e), doing + ' (nothing was changed)'))
