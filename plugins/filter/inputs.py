# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Filters ``input_refusals``, ``kubelet_config_merge`` and ``overcommit_in_range``: input checks of
the preflight role that an argument spec cannot express. Docs in input_refusals.yml,
kubelet_config_merge.yml and overcommit_in_range.yml beside this file; the logic is in
plugin_utils/validate.py and module_utils/swap_plan.py (the overcommit range)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.ocpv.density.plugins.plugin_utils import inputs as _inputs
from ansible_collections.ocpv.density.plugins.plugin_utils import validate as _validate
from ansible_collections.ocpv.density.plugins.module_utils.swap_plan import OVERCOMMIT_MIN, overcommit_in_range as _in_range

_DIGITS_RE = re.compile(r"[0-9]+")


def _plain(value):
    """Ansible's lazy containers and tagged strings as plain Python values."""
    if isinstance(value, Mapping):
        return dict((str(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def input_refusals(values, roles, mode="apply", prefix="", names=None, hostvars=None):
    """Every refusal of the inputs (plugin_utils/validate.py), one sentence each."""
    if not isinstance(values, Mapping):
        raise AnsibleFilterError("input_refusals: expects a mapping of variable names to values, got %s"
                                 % type(values).__name__)
    if mode not in ("apply", "render", "role"):
        raise AnsibleFilterError("input_refusals: mode must be apply, render or role, got %r" % (mode,))
    readable = {}
    if names is not None and isinstance(hostvars, Mapping):
        for name in names:
            try:
                readable[str(name)] = _plain(hostvars[name]) if name in hostvars else None
            except Exception:  # pylint: disable=broad-except  # a value that cannot be read is not judged
                readable[str(name)] = None
    try:
        return _validate.refusals(_plain(values), _plain(roles), mode=mode, prefix=prefix or "",
                                  names=None if names is None else [str(n) for n in names], hostvars=readable)
    except (ValueError, OSError) as exc:
        raise AnsibleFilterError(str(exc))


def kubelet_config_merge(user, profile_row):
    """The profile's KubeletConfig keys with the user's merged in; the swap keys stay the profile's."""
    if not isinstance(user, Mapping) or not isinstance(profile_row, Mapping):
        raise AnsibleFilterError("kubelet_config_merge: expects two mappings")
    return _validate.kubelet_config_merge(_plain(profile_row), _plain(user))


def overcommit_in_range(value, minimum=OVERCOMMIT_MIN):
    """Whether a role's overcommit variable is a whole number (unquoted, or digits in a text) in the
    overcommit range from ``minimum`` (module_utils/swap_plan.py overcommit_in_range)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        text = value.strip()
        if not _DIGITS_RE.fullmatch(text):
            return False
        try:
            value = int(text)
        except ValueError:  # more digits than Python converts: no overcommit either
            return False
    if not isinstance(value, int) or isinstance(minimum, bool) or not isinstance(minimum, int):
        return False
    return _in_range(int(value), minimum)


class FilterModule(object):
    """Input checks of ocpv.density."""

    def filters(self):
        return {
            'input_refusals': input_refusals,
            'kubelet_config_merge': kubelet_config_merge,
            'overcommit_in_range': overcommit_in_range,
        }
