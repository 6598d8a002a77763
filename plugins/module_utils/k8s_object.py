# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""What ocpv.density.k8s_object sends: pure logic, no cluster access.

From the object as read (or None) and the wanted definition, ``plan`` computes the object after
the change, whether anything changes, and the one write request that makes it so. The module
reads once and writes at most once; kubernetes.core.k8s reads the object again before every
write and, with client-side apply, patches objects holding a list on every run.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import base64
import copy
import json

from ansible.module_utils.six.moves.collections_abc import Mapping

LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration'
MERGE_PATCH = 'application/merge-patch+json'
STATES = ('present', 'absent', 'patched')


def merge_patch(current, patch):
    """RFC 7386 JSON merge patch of ``patch`` onto ``current`` (a new object)."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = copy.deepcopy(current) if isinstance(current, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def merge_patch_for(current, desired):
    """The smallest JSON merge patch (RFC 7386) that makes ``current`` contain ``desired``; maps
    are compared key by key, anything else (lists included) as a whole. ``{}`` when it does."""
    current = current if isinstance(current, dict) else {}
    patch = {}
    for key, value in (desired or {}).items():
        if isinstance(value, dict) and isinstance(current.get(key), dict):
            sub = merge_patch_for(current[key], value)
            if sub:
                patch[key] = sub
        elif key not in current or current[key] != value:
            patch[key] = copy.deepcopy(value)
    return patch


def merge_patch_undo(current, desired):
    """The JSON merge patch that restores ``current``'s values for every key ``desired`` sets
    (keys ``current`` lacks become null); applied after ``merge_patch_for(current, desired)`` it
    gives ``current`` back."""
    current = current if isinstance(current, dict) else {}
    undo = {}
    for key, value in (desired or {}).items():
        if key not in current:
            undo[key] = None
        elif isinstance(value, dict) and isinstance(current[key], dict):
            undo[key] = merge_patch_undo(current[key], value)
        else:
            undo[key] = copy.deepcopy(current[key])
    return undo


def _without_nulls(obj):
    if isinstance(obj, dict):
        return dict((k, _without_nulls(v)) for k, v in obj.items() if v is not None)
    return obj


def annotate(desired):
    """The last-applied annotation kubectl (and kubernetes.core) keep for client-side apply."""
    return {'metadata': {'annotations': {
        LAST_APPLIED: json.dumps(desired, separators=(',', ':'), indent=None, sort_keys=True)}}}


def for_display(obj):
    """The object without the fields that only add noise to a diff."""
    if not obj:
        return {}
    shown = copy.deepcopy(obj)
    metadata = shown.get('metadata') or {}
    for key in ('managedFields', 'resourceVersion', 'generation', 'uid', 'creationTimestamp'):
        metadata.pop(key, None)
    annotations = metadata.get('annotations')
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED, None)
        if not annotations:
            metadata.pop('annotations')
    shown.pop('status', None)
    return shown


def _data_url_text(source):
    """The text of a data: URL (RFC 2397, base64 or percent-encoded), or None when it is not one
    or not text."""
    if not isinstance(source, str) or not source.startswith('data:') or ',' not in source:
        return None
    header, data = source[5:].split(',', 1)
    try:
        if header.endswith(';base64'):
            raw = base64.b64decode(data, validate=True)
        else:
            from ansible.module_utils.six.moves.urllib.parse import unquote_to_bytes
            raw = unquote_to_bytes(data)
        return raw.decode('utf-8')
    except (ValueError, UnicodeDecodeError):
        return None


def _machineconfig_files(obj):
    """{path: decoded text} of a MachineConfig's Ignition files (those that decode as text)."""
    if not obj or obj.get('kind') != 'MachineConfig':
        return {}
    files = ((((obj.get('spec') or {}).get('config') or {}).get('storage') or {}).get('files') or [])
    decoded = {}
    for entry in files:
        if isinstance(entry, dict) and entry.get('path'):
            text = _data_url_text((entry.get('contents') or {}).get('source'))
            if text is not None:
                decoded[entry['path']] = text
    return decoded


def display_diff(before, after, what):
    """The diff to show for a change: the object before and after (for_display) and, for a
    MachineConfig, one text diff per Ignition file whose content changes - decoded from its data:
    URL, so the script, units and drop-ins are reviewed as text, not as base64. A list of diffs,
    as Ansible's callbacks print them (``before_header`` / ``after_header`` name the file)."""
    diffs = [dict(before=for_display(before), after=for_display(after))]
    old, new = _machineconfig_files(before), _machineconfig_files(after)
    for path in sorted(set(old) | set(new)):
        if old.get(path) != new.get(path):
            diffs.append(dict(before_header='%s file %s (decoded)' % (what, path),
                              after_header='%s file %s (decoded)' % (what, path),
                              before=old.get(path, ''), after=new.get(path, '')))
    return diffs


class Plan(object):
    """after: the object afterwards (None when deleted or not created); method: create, apply,
    update, patch or delete; changed; body: what the write request sends (None: no write)."""

    def __init__(self, after, method, changed, body=None):
        self.after = after
        self.method = method
        self.changed = changed
        self.body = body if changed else None


def plan(state, apply, existing, definition, apply_patch=None):
    """The change from ``existing`` (dict or None) to ``definition``.

    ``apply_patch(actual, desired) -> (actual, patch)`` is kubernetes.core's client-side apply
    (three-way merge with the last-applied annotation); required when ``apply`` is true and the
    object exists. Every write except create and delete is a JSON merge patch whose result is
    ``after``.

    A ``metadata.resourceVersion`` in ``definition`` is a precondition, not content: it is left
    out of the comparison and sent with the patch, so the API server refuses the write (409) when
    the object changed since the caller read it at that version.
    """
    definition, expected_version = _split_precondition(definition)
    step = _plan(state, apply, existing, definition, apply_patch)
    if expected_version and step.body is not None and step.method in ('patch', 'update', 'apply'):
        step.body = merge_patch(step.body, {'metadata': {'resourceVersion': expected_version}})
    return step


def _split_precondition(definition):
    metadata = definition.get('metadata') if isinstance(definition, Mapping) else None
    if not isinstance(metadata, Mapping) or not metadata.get('resourceVersion'):
        return definition, None
    definition = copy.deepcopy(definition)
    return definition, str(definition['metadata'].pop('resourceVersion'))


def _plan(state, apply, existing, definition, apply_patch):
    if state not in STATES:
        raise ValueError('state must be one of %s, not %r' % (', '.join(STATES), state))
    if state == 'absent':
        return Plan(None, 'delete', existing is not None, body={})
    if state == 'patched':
        if existing is None:
            return Plan(None, 'patch', False)
        after = merge_patch(existing, definition)
        return Plan(after, 'patch', after != existing, body=definition)
    if existing is None:
        body = merge_patch(definition, annotate(definition)) if apply else _without_nulls(copy.deepcopy(definition))
        return Plan(body, 'create', True, body=body)
    if apply:
        actual, patch = apply_patch(existing, definition)
        after = merge_patch(actual, patch)
        return Plan(after, 'apply', after != existing, body=patch)
    after = merge_patch(existing, definition)
    return Plan(after, 'update', after != existing, body=definition)


def identity(definition):
    """(apiVersion, kind, name, namespace) of a definition; ValueError naming what is missing."""
    if not isinstance(definition, dict):
        raise ValueError('definition must be a single object (a dict)')
    metadata = definition.get('metadata') or {}
    for key, value in (('apiVersion', definition.get('apiVersion')), ('kind', definition.get('kind')),
                       ('metadata.name', metadata.get('name'))):
        if not value:
            raise ValueError('%s is required (in definition or as an option)' % key)
    return definition['apiVersion'], definition['kind'], metadata['name'], metadata.get('namespace')
