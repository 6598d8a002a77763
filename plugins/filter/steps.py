# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Filters ``selected_steps`` and ``tag_problem``: the steps of the site procedure a tag selection
runs, and a tag no step has. Docs in the YAML files beside this file; the logic is in
plugin_utils/steps.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ocpv.density.plugins.plugin_utils.steps import selected_steps, tag_problem


class FilterModule(object):
    """Tag selection of ocpv.density's site procedure."""

    def filters(self):
        return {
            'selected_steps': selected_steps,
            'tag_problem': tag_problem,
        }
