# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Only some fields of API objects: what a read passes on to the rest of the run.

A real Node object is mostly its image list; every task that gets 500 of them moves them through
JSON and Jinja. ``pick`` keeps the paths a caller uses, so the cost of a read grows with what is
used, not with what the API returns. cluster_facts and k8s_reads call it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def parse_paths(dotted):
    """``['metadata.name', 'status.capacity']`` as path tuples. A path is split at dots only, so
    it names mapping keys down to a map (label keys with dots stay inside ``metadata.labels``)."""
    paths = []
    for text in dotted:
        parts = tuple(text.split("."))
        if not text or any(not part for part in parts):
            raise ValueError("a field path is keys joined by '.', got %r" % text)
        paths.append(parts)
    return paths


def _get(obj, path):
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def pick(obj, paths):
    """A copy of ``obj`` with only the values at ``paths`` (tuples of keys); absent paths are left out."""
    out = {}
    for path in paths:
        value = _get(obj, path)
        if value is None:
            continue
        target = out
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = value
    return out
