# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Filters ``input_problem`` and ``unknown_inputs``: input checks of the preflight role that an
argument spec cannot express. Docs in input_problem.yml and unknown_inputs.yml beside this file;
the logic is in module_utils/inputs.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.ocpv.density.plugins.module_utils import inputs as _inputs


def input_problem(value, check, maximum=None):
    """Why ``value`` is not valid for the variable of ``check`` ({var, kind, ...}), or ''."""
    try:
        return _inputs.check_problem(value, check, maximum=maximum)
    except (ValueError, OSError) as exc:
        raise AnsibleFilterError(str(exc))


def unknown_inputs(names, known, public=None, values=None):
    """Messages for the names that look meant for ocpv.density but that no role knows."""
    if not isinstance(names, (list, tuple, set)):
        raise AnsibleFilterError("unknown_inputs: expects a list of variable names, got %s" % type(names).__name__)
    if values is not None and not isinstance(values, Mapping):
        raise AnsibleFilterError("unknown_inputs: values must be a mapping, got %s" % type(values).__name__)
    return _inputs.unknown_inputs([str(n) for n in names], [str(k) for k in known or []],
                                  public=None if public is None else [str(p) for p in public], values=values)


class FilterModule(object):
    """Input checks of ocpv.density."""

    def filters(self):
        return {
            'input_problem': input_problem,
            'unknown_inputs': unknown_inputs,
        }
