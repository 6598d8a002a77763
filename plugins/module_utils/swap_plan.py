# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Swap sizing for memory overcommit: ``swap = RAM x (overcommit/100 - 1)`` per node.

Pure Python, no Ansible imports. ``plan_swap`` is what the ``ocpv.density.swap_size``
module returns; the swap MachineConfig computes the same number on the node from
``MemTotal`` (the value the kubelet reports as ``status.capacity.memory``).

Disk margin: the swap file lives in ``/var`` on the node's root filesystem, the same
filesystem the kubelet reports as ``status.capacity.ephemeral-storage``. Images, container
logs and emptyDirs need room there too, so a plan only "fits" when the swap file leaves
``max(disk_margin_min_mib, disk_margin_percent % of the disk)`` free; by default
max(10 GiB, 15 %). 15 % matches the kubelet's default ``imagefs.available`` hard-eviction
threshold (15 %); 10 GiB keeps small disks usable for image pulls.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from fractions import Fraction

from ansible_collections.ocpv.density.plugins.module_utils.quantity import (
    MIB,
    QuantityError,
    to_bytes,
)

OVERCOMMIT_MIN = 101
OVERCOMMIT_MAX = 1000
HCO_OVERCOMMIT_MIN = 100
DEFAULT_DISK_MARGIN_PERCENT = 15
DEFAULT_DISK_MARGIN_MIN_MIB = 10240


class SwapPlanError(ValueError):
    """The input to plan_swap is invalid; the message says which value and why."""


def _is_int(value):
    # bool is an int subclass; True must not pass as overcommit 1.
    return isinstance(value, int) and not isinstance(value, bool)


def overcommit_in_range(number, minimum=OVERCOMMIT_MIN):
    """Whether the whole number ``number`` is an overcommit percent: from ``minimum`` (101 for the
    overcommit that sizes swap; HCO_OVERCOMMIT_MIN, 100 - no overcommit - for HCO's) to
    OVERCOMMIT_MAX. The one range check of the collection: the input validation, the roles used on
    their own and the swap_size module ask it, each with its own reading of the value."""
    return _is_int(number) and minimum <= number <= OVERCOMMIT_MAX


def validate_overcommit(overcommit):
    """Return overcommit if it is an integer percent in [101, 1000], else raise SwapPlanError."""
    if not overcommit_in_range(overcommit):
        raise SwapPlanError(
            "overcommit must be an integer percent from {0} to {1} (150 means 50 % more VM memory "
            "than RAM); got {2!r} ({3})".format(OVERCOMMIT_MIN, OVERCOMMIT_MAX, overcommit, type(overcommit).__name__))
    return overcommit


def _validate_margin(name, value, low, high):
    if not _is_int(value) or not low <= value <= high:
        raise SwapPlanError("{0} must be an integer from {1} to {2}; got {3!r}".format(name, low, high, value))
    return value


def swap_mib_for(memory_bytes, overcommit):
    """MiB of swap for ``memory_bytes`` of RAM at ``overcommit`` percent, floored, exact.

    Integer arithmetic only: 16Gi at 150 is exactly 8192, never 8191.999.
    """
    return (memory_bytes * (overcommit - 100)) // (100 * MIB)


def disk_reserve_mib(ephemeral_storage_mib, margin_percent, margin_min_mib):
    """MiB of the node's disk that must stay free after the swap file is created."""
    return max(margin_min_mib, int(Fraction(ephemeral_storage_mib * margin_percent, 100)))


def _node_label(index, name):
    return "nodes[{0}] ({1})".format(index, name) if name else "nodes[{0}]".format(index)


def _get_path(mapping, path):
    """Follow keys in nested dicts; None when any step is missing or not a dict."""
    current = mapping
    for key in path:
        if not isinstance(current, dict):
            return None
        current = current.get(key)
    return current


def _read_node(index, node):
    """Normalise one input node to (name, memory, ephemeral storage, memory field, storage field).

    Quantities are None when absent; the field names are for messages.

    Two forms: a Node object as kubernetes.core.k8s_info returns it (recognised by ``metadata``),
    or a mapping ``{name, memory[, ephemeral_storage]}``.
    """
    if not isinstance(node, dict):
        raise SwapPlanError("{0}: expected a Node object or a mapping with name and memory, got {1}".format(
            _node_label(index, None), type(node).__name__))
    if 'metadata' in node:
        name = _get_path(node, ('metadata', 'name'))
        if not isinstance(name, str) or not name:
            raise SwapPlanError("{0}: Node object has no metadata.name".format(_node_label(index, None)))
        capacity = _get_path(node, ('status', 'capacity'))
        capacity = capacity if isinstance(capacity, dict) else {}
        return (name, capacity.get('memory'), capacity.get('ephemeral-storage'),
                'status.capacity.memory', 'status.capacity.ephemeral-storage')
    name = node.get('name')
    if not isinstance(name, str) or not name:
        raise SwapPlanError("{0}: missing name (a mapping needs name and memory; a Node object needs metadata.name)".format(
            _node_label(index, None)))
    if 'memory' not in node:
        raise SwapPlanError("{0}: missing memory (e.g. memory: 16Gi)".format(_node_label(index, name)))
    return name, node.get('memory'), node.get('ephemeral_storage'), 'memory', 'ephemeral_storage'


def _bytes_of(index, name, field, quantity):
    try:
        return to_bytes(quantity)
    except QuantityError as exc:
        raise SwapPlanError("{0}: {1}: {2}".format(_node_label(index, name), field, exc))


def _plan_node(index, node, overcommit, margin_percent, margin_min_mib):
    """Plan one node: (entry dict, list of problem strings)."""
    name, memory, ephemeral, memory_field, storage_field = _read_node(index, node)
    problems = []
    memory_bytes = None if memory in (None, '') else _bytes_of(index, name, memory_field, memory)
    if memory_bytes is not None and memory_bytes < 0:
        raise SwapPlanError("{0}: {1} is negative ({2!r})".format(_node_label(index, name), memory_field, memory))
    ephemeral_mib = None
    if ephemeral not in (None, ''):
        ephemeral_bytes = _bytes_of(index, name, storage_field, ephemeral)
        if ephemeral_bytes < 0:
            raise SwapPlanError("{0}: {1} is negative ({2!r})".format(_node_label(index, name), storage_field, ephemeral))
        ephemeral_mib = ephemeral_bytes // MIB

    entry = {'name': name, 'memory_mib': None, 'swap_mib': None, 'ephemeral_storage_mib': ephemeral_mib}
    if not memory_bytes:
        problems.append("node {0} reports no memory capacity ({1} missing or 0); its swap cannot be sized".format(
            name, memory_field))
        return entry, problems

    entry['memory_mib'] = memory_bytes // MIB
    entry['swap_mib'] = swap_mib_for(memory_bytes, overcommit)
    if ephemeral_mib is not None:
        reserve = disk_reserve_mib(ephemeral_mib, margin_percent, margin_min_mib)
        usable = ephemeral_mib - reserve
        if entry['swap_mib'] > usable:
            problems.append(
                "node {0}: swap of {1} MiB does not fit on its disk: ephemeral-storage is {2} MiB and {3} MiB must "
                "stay free (max of {4} MiB and {5} %), leaving {6} MiB".format(
                    name, entry['swap_mib'], ephemeral_mib, reserve, margin_min_mib, margin_percent, max(usable, 0)))
    return entry, problems


def _summary(entries):
    sized = [entry['swap_mib'] for entry in entries if entry['swap_mib'] is not None]
    return {
        'node_count': len(entries),
        'min_swap_mib': min(sized) if sized else None,
        'max_swap_mib': max(sized) if sized else None,
        'total_swap_mib': sum(sized),
        'heterogeneous': len(set(sized)) > 1,
    }


def plan_swap(nodes, overcommit, disk_margin_percent=DEFAULT_DISK_MARGIN_PERCENT,
              disk_margin_min_mib=DEFAULT_DISK_MARGIN_MIN_MIB):
    """Swap each node needs for ``overcommit`` percent memory overcommit.

    Returns ``{'nodes': [...], 'summary': {...}, 'problems': [...]}``. Each node entry has
    ``name``, ``memory_mib``, ``swap_mib`` (floor(RAM bytes x (overcommit/100 - 1) / MiB)) and
    ``ephemeral_storage_mib`` (None when unknown). Problems are conditions a caller should refuse
    on (swap that does not fit the disk, nodes without memory capacity); invalid input raises
    ``SwapPlanError`` instead. Linear in the number of nodes.
    """
    validate_overcommit(overcommit)
    _validate_margin('disk_margin_percent', disk_margin_percent, 0, 99)
    _validate_margin('disk_margin_min_mib', disk_margin_min_mib, 0, 2 ** 53)
    if not isinstance(nodes, (list, tuple)):
        raise SwapPlanError("nodes must be a list of Node objects or {{name, memory}} mappings; got {0}".format(
            type(nodes).__name__))
    if not nodes:
        raise SwapPlanError("nodes is empty: there is no node to size swap for (check the pool's node selector)")

    entries, problems, seen = [], [], {}
    for index, node in enumerate(nodes):
        entry, node_problems = _plan_node(index, node, overcommit, disk_margin_percent, disk_margin_min_mib)
        if entry['name'] in seen:
            raise SwapPlanError("{0}: duplicate node name, already given as nodes[{1}]".format(
                _node_label(index, entry['name']), seen[entry['name']]))
        seen[entry['name']] = index
        entries.append(entry)
        problems.extend(node_problems)
    return {'nodes': entries, 'summary': _summary(entries), 'problems': problems}
