# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Filter ``api_error_message``: a failed read's error worded like the collection's own modules word
it. Docs in api_error_message.yml beside this file; the logic is in module_utils/api_errors.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ocpv.density.plugins.module_utils.api_errors import api_error_message


class FilterModule(object):
    """Error messages of ocpv.density."""

    def filters(self):
        return {
            'api_error_message': api_error_message,
        }
