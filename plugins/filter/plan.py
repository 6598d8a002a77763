# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Filters ``run_plan`` and ``run_plan_markdown``: the run's plan (the fact ocpv_density_plan that
ocpv.density.k8s_object adds to) as data and as Markdown. Docs in the YAML files beside this file;
the logic is in plugin_utils/run_plan.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ocpv.density.plugins.plugin_utils.run_plan import markdown, summary


class FilterModule(object):
    """The run's plan."""

    def filters(self):
        return {
            'run_plan': summary,
            'run_plan_markdown': markdown,
        }
