# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Filters ``qos_class`` and ``swap_eligible``; docs in qos_class.yml and swap_eligible.yml."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.ocpv.density.plugins.plugin_utils import qos


def qos_class(pod):
    """Kubernetes QoS class of a pod: Guaranteed, Burstable or BestEffort."""
    try:
        return qos.qos_class(pod)
    except ValueError as exc:
        raise AnsibleFilterError('qos_class: {0}'.format(exc))


def swap_eligible(pod, container=None):
    """True when at least one container of the pod (or the named one) may use node swap."""
    try:
        return qos.swap_eligible(pod, container=container)
    except ValueError as exc:
        raise AnsibleFilterError('swap_eligible: {0}'.format(exc))


class FilterModule(object):
    """Pod QoS filters of ocpv.density."""

    def filters(self):
        return {
            'qos_class': qos_class,
            'swap_eligible': swap_eligible,
        }
