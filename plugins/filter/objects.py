# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Small filters the roles use to read API objects and decide, client side, whether one must change.

Docs for each filter are in the YAML file of the same name beside this one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible.errors import AnsibleFilterError
from ansible_collections.ocpv.density.plugins.module_utils import k8s_object as _k8s_object
from ansible_collections.ocpv.density.plugins.module_utils import node_placement as _node_placement
from ansible_collections.ocpv.density.plugins.module_utils import profiles as _profiles
from ansible_collections.ocpv.density.plugins.module_utils import quantity as _quantity


def _is_map(value):
    return isinstance(value, dict)


def label_selector_match(selector, labels, empty_matches=False):
    """Whether a metav1.LabelSelector selects an object with ``labels``.

    A missing or empty selector matches nothing by default, as the MCO treats a KubeletConfig's
    machineConfigPoolSelector ("a nil or empty selector should match nothing, not everything").
    """
    labels = labels or {}
    if not _is_map(labels):
        raise AnsibleFilterError("label_selector_match: labels must be a dict, got %s" % type(labels).__name__)
    if selector is None or selector == {}:
        return bool(empty_matches) and selector is not None
    if not _is_map(selector):
        raise AnsibleFilterError("label_selector_match: selector must be a dict, got %s" % type(selector).__name__)
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not match_labels and not expressions:
        return bool(empty_matches)
    for key, value in match_labels.items():
        if key not in labels or str(labels[key]) != str(value if value is not None else ""):
            return False
    for expr in expressions:
        if not _is_map(expr) or "key" not in expr or "operator" not in expr:
            raise AnsibleFilterError("label_selector_match: malformed matchExpressions item %r" % (expr,))
        key, operator = expr["key"], expr["operator"]
        values = [str(v) for v in (expr.get("values") or [])]
        if operator == "In":
            if key not in labels or str(labels[key]) not in values:
                return False
        elif operator == "NotIn":
            if key in labels and str(labels[key]) in values:
                return False
        elif operator == "Exists":
            if key not in labels:
                return False
        elif operator == "DoesNotExist":
            if key in labels:
                return False
        else:
            raise AnsibleFilterError("label_selector_match: unknown operator %r" % (operator,))
    return True


def merge_patch_for(current, desired):
    """The smallest JSON merge patch (RFC 7386) that makes ``current`` contain ``desired``.

    Maps are compared key by key, recursively; anything else (lists included) is compared as a
    whole. Returns ``{}`` when ``current`` already contains ``desired``.
    """
    if not _is_map(desired):
        raise AnsibleFilterError("merge_patch_for: desired must be a dict, got %s" % type(desired).__name__)
    current = current if _is_map(current) else {}
    patch = {}
    for key, value in desired.items():
        if _is_map(value) and _is_map(current.get(key)):
            sub = merge_patch_for(current[key], value)
            if sub:
                patch[key] = sub
        elif _is_map(value):
            if key not in current or current[key] != value:
                patch[key] = copy.deepcopy(value)
        elif key not in current or current[key] != value:
            patch[key] = copy.deepcopy(value)
    return patch


def merge_patch_undo(current, desired):
    """The JSON merge patch that restores ``current``'s values for every key ``desired`` sets.

    Keys absent from ``current`` become ``null`` (a merge patch deletes them); a map that
    ``current`` did not have at all becomes ``null`` as a whole. Applying
    ``merge_patch_for(current, desired)`` and then this patch gives ``current`` back.
    """
    if not _is_map(desired):
        raise AnsibleFilterError("merge_patch_undo: desired must be a dict, got %s" % type(desired).__name__)
    current = current if _is_map(current) else {}
    undo = {}
    for key, value in desired.items():
        if key not in current:
            undo[key] = None
        elif _is_map(value) and _is_map(current[key]):
            undo[key] = merge_patch_undo(current[key], value)
        else:
            undo[key] = copy.deepcopy(current[key])
    return undo


def merge_patch_apply(current, patch):
    """Apply a JSON merge patch (RFC 7386) to ``current`` and return the result."""
    return _k8s_object.merge_patch(current, patch)


def _primary_pool(node_labels, pools):
    """The pool the MCO puts a node in (MCO GetPoolsForNode), or None.

    master wins over everything; else the one custom pool; else worker. A node selected by
    more than one custom pool belongs to none (the MCO refuses it).
    """
    names = []
    for pool in pools:
        selector = (pool.get("spec") or {}).get("nodeSelector")
        if label_selector_match(selector, node_labels):
            names.append((pool.get("metadata") or {}).get("name"))
    if "master" in names:
        return "master"
    custom = [name for name in names if name != "worker"]
    if len(custom) > 1:
        return None
    if custom:
        return custom[0]
    return "worker" if "worker" in names else None


def mcp_nodes(nodes, pools, name):
    """The Node objects of ``nodes`` that the MCO places in MachineConfigPool ``name``."""
    if not isinstance(nodes, list) or not isinstance(pools, list):
        raise AnsibleFilterError("mcp_nodes: nodes and pools must be lists of API objects")
    result = []
    for node in nodes:
        if not _is_map(node):
            raise AnsibleFilterError("mcp_nodes: a node is not an API object: %r" % (node,))
        labels = (node.get("metadata") or {}).get("labels") or {}
        if _primary_pool(labels, pools) == name:
            result.append(node)
    return result


def quantity_mib(value):
    """Whole MiB (floor) in a Kubernetes quantity such as ``16318412Ki`` or ``15Gi``."""
    try:
        return _quantity.to_mib(value)
    except ValueError as exc:
        raise AnsibleFilterError("quantity_mib: %s" % (exc,))


def placement_excluded(nodes, placement):
    """The nodes a DaemonSet with ``placement`` (nodeSelector/affinity/tolerations, as HCO copies
    from spec.infra.nodePlacement) cannot run on: [{'node', 'reason'}]."""
    try:
        return _node_placement.excluded_nodes(placement, nodes)
    except _node_placement.PlacementError as exc:
        raise AnsibleFilterError("placement_excluded: %s" % (exc,))


def hco_api_version(crd, known=None):
    """The HyperConverged API version to talk (newest served one the collection knows); see
    profiles.hco_api_version."""
    if crd is not None and not isinstance(crd, (dict, list)):
        raise AnsibleFilterError("hco_api_version: expects a CustomResourceDefinition, got %s" % type(crd).__name__)
    return _profiles.hco_api_version(crd or {}, tuple(known) if known else _profiles.HCO_API_VERSIONS)


class FilterModule(object):
    def filters(self):
        return {
            "label_selector_match": label_selector_match,
            "merge_patch_for": merge_patch_for,
            "merge_patch_undo": merge_patch_undo,
            "merge_patch_apply": merge_patch_apply,
            "mcp_nodes": mcp_nodes,
            "quantity_mib": quantity_mib,
            "placement_excluded": placement_excluded,
            "hco_api_version": hco_api_version,
        }
