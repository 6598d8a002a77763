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


def k8s_module(name, argument_spec):
    """An AnsibleK8SModule taking kubernetes.core's auth options plus ``argument_spec``."""
    if K8S_CORE_ERROR:
        AnsibleModule(argument_spec={}).fail_json(msg='%s needs the kubernetes.core collection' % name,
                                                  exception=K8S_CORE_ERROR)
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(argument_spec)
    return AnsibleK8SModule(module_class=AnsibleModule, argument_spec=spec, supports_check_mode=True)


def api_client(module):
    """kubernetes.core's K8SClient for the module's auth options (fails the module on bad auth)."""
    try:
        return get_api_client(module)
    except CoreException as e:
        module.fail_from_exception(e)
