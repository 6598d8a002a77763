# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Filter ``density_report``; docs in density_report.yml."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import datetime

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six.moves.collections_abc import Mapping
from ansible_collections.ocpv.density.plugins.plugin_utils import report

SETTINGS = ("overcommit", "pool", "agent", "namespace", "daemonset", "swap_machineconfig", "hco_name",
            "hco_namespace", "hco_api_version")


def _plain(value):
    """Ansible's lazy containers as plain dicts and lists (module_utils works on plain data)."""
    if isinstance(value, Mapping):
        return dict((k, _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def density_report(reads, settings):
    """The density report of the verify role (plugin_utils/report.py)."""
    if not isinstance(reads, Mapping) or not isinstance(settings, Mapping):
        raise AnsibleFilterError("density_report: expects two mappings, the reads and the settings")
    missing = [key for key in SETTINGS if key not in settings]
    if missing:
        raise AnsibleFilterError("density_report: settings lack %s" % ", ".join(missing))
    settings = _plain(settings)
    settings["agent"] = str(settings["agent"]).lower() in ("true", "1", "yes")
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        return report.density_report(_plain(reads), settings, now)
    except (ValueError, TypeError) as exc:
        raise AnsibleFilterError("density_report: %s" % (exc,))


class FilterModule(object):
    """The verify role's report."""

    def filters(self):
        return {"density_report": density_report}
