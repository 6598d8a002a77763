# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Filters ``api_error_message`` (a failed read's error worded like the collection's own modules word
it) and ``cluster_target_problem`` (no cluster to talk to, said before the first request). Docs in
the YAML files beside this file; the logic is in module_utils/api_errors.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.ocpv.density.plugins.module_utils.api_errors import api_error_message, cluster_target_problem


def cluster_target_problem_filter(variables):
    """cluster_target_problem with the controller's environment (filters run on the controller)."""
    variables = variables or {}
    return cluster_target_problem(dict(os.environ), variables.get('kubeconfig') or '', variables.get('context') or '')


class FilterModule(object):
    """Error messages of ocpv.density."""

    def filters(self):
        return {
            'api_error_message': api_error_message,
            'cluster_target_problem': cluster_target_problem_filter,
        }
