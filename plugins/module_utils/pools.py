# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Which MachineConfigPool a node is in, and which KubeletConfigs select a pool.

The one place for these two MCO rules; the filters ``label_selector_match`` and ``mcp_nodes``,
preflight, the swap role and the upgrade playbook all call these functions.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class SelectorError(ValueError):
    """A selector or a label map that is not shaped as the API defines it."""


def _is_map(value):
    return isinstance(value, dict)


def label_selector_match(selector, labels, empty_matches=False):
    """Whether a metav1.LabelSelector selects an object with ``labels``.

    A missing or empty selector matches nothing by default, as the MCO treats a KubeletConfig's
    machineConfigPoolSelector ("a nil or empty selector should match nothing, not everything").
    """
    labels = labels or {}
    if not _is_map(labels):
        raise SelectorError("labels must be a dict, got %s" % type(labels).__name__)
    if selector is None or selector == {}:
        return bool(empty_matches) and selector is not None
    if not _is_map(selector):
        raise SelectorError("selector must be a dict, got %s" % type(selector).__name__)
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not match_labels and not expressions:
        return bool(empty_matches)
    for key, value in match_labels.items():
        if key not in labels or str(labels[key]) != str(value if value is not None else ""):
            return False
    for expr in expressions:
        if not _is_map(expr) or "key" not in expr or "operator" not in expr:
            raise SelectorError("malformed matchExpressions item %r" % (expr,))
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
            raise SelectorError("unknown operator %r" % (operator,))
    return True


def primary_pool(node_labels, pools):
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


def pool_nodes(nodes, pools, name):
    """The Node objects of ``nodes`` that the MCO places in MachineConfigPool ``name``."""
    if not isinstance(nodes, list) or not isinstance(pools, list):
        raise SelectorError("nodes and pools must be lists of API objects")
    result = []
    for node in nodes:
        if not _is_map(node):
            raise SelectorError("a node is not an API object: %r" % (node,))
        labels = (node.get("metadata") or {}).get("labels") or {}
        if primary_pool(labels, pools) == name:
            result.append(node)
    return result


def kubeletconfigs_for_pool(kubeletconfigs, pool_labels):
    """The KubeletConfigs whose ``spec.machineConfigPoolSelector`` selects a pool with
    ``pool_labels`` (a KubeletConfig selects pools by the pool's own labels), in the given order.
    """
    if not isinstance(kubeletconfigs, list):
        raise SelectorError("kubeletconfigs must be a list of API objects")
    return [kc for kc in kubeletconfigs
            if _is_map(kc) and label_selector_match((kc.get("spec") or {}).get("machineConfigPoolSelector"),
                                                    pool_labels or {})]
