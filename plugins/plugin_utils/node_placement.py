# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Which nodes a DaemonSet with a given placement can run on (pure Python, no Ansible).

HCO (release-1.16+ controllers/handlers/wasp-agent/daemonset.go, aa70ad84d) copies the
HyperConverged's ``spec.infra.nodePlacement`` (nodeSelector, affinity, tolerations) into its
wasp-agent DaemonSet. When that placement keeps the agent off nodes of the swap pool, those nodes
swap with no agent at all, and a hand-over that waits for HCO's agent "on every node" can only
time out. ``excluded_nodes`` tells, before the wait, which nodes and why, the way the DaemonSet
controller and scheduler decide: node selector, required node affinity, NoSchedule/NoExecute
taints against the tolerations (plus the ones the DaemonSet controller adds to every pod).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Tolerations the DaemonSet controller adds to every DaemonSet pod
# (kubernetes pkg/controller/daemon/util AddOrUpdateDaemonPodTolerations).
DAEMONSET_TOLERATIONS = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
    # Not the DaemonSet controller's: a node that is not ready or unreachable for the moment (a
    # reboot) is a passing state, not a placement that keeps the agent off it for good.
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoSchedule"},
)


class PlacementError(ValueError):
    """A malformed placement or node; the message names what is wrong."""


def _map(value, what):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PlacementError("%s must be a mapping, got %s" % (what, type(value).__name__))
    return value


def _expression_matches(expr, labels):
    key, operator = expr.get("key"), expr.get("operator")
    values = [str(v) for v in expr.get("values") or []]
    if key is None or operator is None:
        raise PlacementError("node selector requirement needs key and operator, got %r" % (expr,))
    present = key in labels
    value = str(labels.get(key, ""))
    if operator == "In":
        return present and value in values
    if operator == "NotIn":
        return not present or value not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt"):
        try:
            number, bound = int(value), int(values[0])
        except (ValueError, IndexError):
            return False
        return present and (number > bound if operator == "Gt" else number < bound)
    raise PlacementError("unknown node selector operator %r" % (operator,))


def _term_matches(term, node):
    labels = _map(node.get("metadata", {}).get("labels"), "node labels")
    fields = {"metadata.name": node.get("metadata", {}).get("name", "")}
    expressions = term.get("matchExpressions") or []
    field_expressions = term.get("matchFields") or []
    if not expressions and not field_expressions:
        return False  # an empty term matches no node (scheduler's nodeaffinity)
    return all(_expression_matches(e, labels) for e in expressions) and \
        all(_expression_matches(e, fields) for e in field_expressions)


def tolerates(tolerations, taint):
    """Whether one of ``tolerations`` tolerates ``taint`` (core/v1 Toleration.ToleratesTaint)."""
    for tol in tolerations:
        if tol.get("effect") and tol.get("effect") != taint.get("effect"):
            continue
        operator = tol.get("operator") or "Equal"
        if not tol.get("key"):
            if operator == "Exists":
                return True
            continue
        if tol.get("key") != taint.get("key"):
            continue
        if operator == "Exists" or str(tol.get("value") or "") == str(taint.get("value") or ""):
            return True
    return False


def why_not(placement, node):
    """The reason a pod with ``placement`` (nodeSelector/affinity/tolerations) cannot run on
    ``node`` (a Node object), or '' when it can."""
    placement = _map(placement, "nodePlacement")
    labels = _map(node.get("metadata", {}).get("labels"), "node labels")
    for key, value in _map(placement.get("nodeSelector"), "nodePlacement.nodeSelector").items():
        if key not in labels or str(labels[key]) != str(value if value is not None else ""):
            return "nodeSelector %s=%s does not match" % (key, value)
    required = ((_map(placement.get("affinity"), "nodePlacement.affinity").get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms")
    if terms is not None and not any(_term_matches(t, node) for t in terms):
        return "required node affinity does not select it"
    tolerations = list(placement.get("tolerations") or []) + list(DAEMONSET_TOLERATIONS)
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tolerations, taint):
            return "taint %s%s:%s is not tolerated" % (
                taint.get("key"), "=" + taint["value"] if taint.get("value") else "", taint.get("effect"))
    return ""


def excluded_nodes(placement, nodes):
    """[{'node': name, 'reason': why}] for each node of ``nodes`` the placement keeps a
    DaemonSet pod off, in the order given."""
    if not isinstance(nodes, list):
        raise PlacementError("nodes must be a list of Node objects, got %s" % type(nodes).__name__)
    out = []
    for node in nodes:
        reason = why_not(placement, _map(node, "node"))
        if reason:
            out.append({"node": node.get("metadata", {}).get("name", "?"), "reason": reason})
    return out
