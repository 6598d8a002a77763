# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""The collection's modules that talk to the cluster: kubernetes.core's auth options and client,
and a clear failure when kubernetes.core is missing."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ocpv.density.plugins.module_utils.api_errors import unreachable, unreachable_message

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


def api_server(client):
    """The URL of the API server a kubernetes.core client talks to (for messages), or None."""
    return getattr(getattr(client, 'configuration', None), 'host', None)


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
