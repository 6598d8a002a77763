# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""What the swap role writes to one MachineConfigPool, decided from what it read: pure logic.

``plan_present`` (enable swap) and ``plan_absent`` (take it back) return a plan: the refusal the
run stops with (or ''), how the pool's KubeletConfig is handled (``mode``), the writes in order
(each one ``ocpv.density.k8s_object``'s options), whether they change rendered content, so the
pool must be paused and rolled out (``rollout``), and whether to wait for the pool afterwards.

The KubeletConfig rules, from the MCO (openshift/machine-config-operator
pkg/controller/kubelet-config): a KubeletConfig selects pools by the pool's labels, a nil or
empty selector selects nothing, and when several select one pool only the newest one is rendered
(no merge). So a pool gets exactly one KubeletConfig: ours when it has none, else the user's,
into which the swap keys are merged; what the keys were before is kept as a JSON merge patch in
an annotation on that KubeletConfig, so ``plan_absent`` can put it back and a later run under
another profile (after an upgrade) starts from the user's own values.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

from ansible_collections.ocpv.density.plugins.module_utils import pools as mco_pools
from ansible_collections.ocpv.density.plugins.module_utils.k8s_object import merge_patch, merge_patch_for, merge_patch_undo

MCO_API = "machineconfiguration.openshift.io/v1"
MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "ocpv.density"
POOL_LABEL_PREFIX = "pools.operator.machineconfiguration.openshift.io/"
DEFAULT_ANNOTATION = "density.ocpv.io/previous-kubelet-config"


def _get(obj, *path):
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _name(obj):
    return _get(obj, "metadata", "name") or ""


def is_ours(obj):
    """Whether the collection wrote ``obj`` (its managed-by label names ocpv.density; another
    manager's label, Helm's or Argo CD's, makes it the user's)."""
    return (_get(obj, "metadata", "labels") or {}).get(MANAGED_BY) == MANAGER


def _combine(base, override):
    """Ansible's ``combine(recursive=true)``: maps merged key by key, anything else replaced."""
    result = copy.deepcopy(base) if isinstance(base, dict) else {}
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _combine(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _nulls(keys):
    return dict((key, None) for key in keys or [])


def _recorded(kubeletconfig, annotation):
    """The merge patch recorded on a user's KubeletConfig by an earlier run, or None."""
    text = (_get(kubeletconfig, "metadata", "annotations") or {}).get(annotation)
    if text in (None, ""):
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise ValueError("KubeletConfig %s: annotation %s is not JSON (%r); restore or remove it by hand"
                         % (_name(kubeletconfig), annotation, text[:80]))


def pool_refusal(pool, pool_name, state):
    """Why the pool cannot take the change, or ''."""
    if not pool:
        where = " (swap_pool)" if state == "present" else ""
        return "MachineConfigPool %s does not exist%s. Nothing was changed." % (pool_name, where)
    if _get(pool, "spec", "paused"):
        return "MachineConfigPool %s is paused by someone else; unpause it first. Nothing was changed." % pool_name
    return ""


def pool_kubeletconfigs(kubeletconfigs, pool):
    """The KubeletConfigs that select ``pool`` (module_utils/pools.py)."""
    return mco_pools.kubeletconfigs_for_pool(kubeletconfigs or [], _get(pool, "metadata", "labels") or {})


def own_kubeletconfig(name, pool_name, kubelet_config):
    """Our KubeletConfig for a pool that has none: it selects the pool by its standard label."""
    return {
        "apiVersion": MCO_API,
        "kind": "KubeletConfig",
        "metadata": {"name": name, "labels": {MANAGED_BY: MANAGER}},
        "spec": {
            "machineConfigPoolSelector": {"matchLabels": {POOL_LABEL_PREFIX + pool_name: ""}},
            "kubeletConfig": copy.deepcopy(kubelet_config),
        },
    }


def _pool_updated(pool):
    """The pool shows the configuration it was asked for, rolled out."""
    conditions = _get(pool, "status", "conditions") or []
    updated = any(c.get("type") == "Updated" and c.get("status") == "True" for c in conditions if isinstance(c, dict))
    return updated and (_get(pool, "status", "configuration", "name") or "") == (_get(pool, "spec", "configuration", "name") or "")


def _plan(refusal="", **fields):
    plan = dict(refusal=refusal, mode="none", kubeletconfig="", writes=[], rollout=False,
                previous_configuration="", wait=False)
    plan.update(fields)
    return plan


def merge_into_user(existing, kubelet_config, forbidden, annotation=DEFAULT_ANNOTATION):
    """The merge of the profile's keys into a user's KubeletConfig: (patch, record).

    The user's own content is the current one with the recorded values put back (written by an
    earlier run, possibly under another profile); the target is that content without the keys
    this release's MCO refuses (``forbidden``: 4.21 moved them to the kubelet drop-in; never put
    back, the MCO would refuse them) plus ``kubelet_config``. ``patch`` is the merge patch for
    ``spec.kubeletConfig`` ({} when it holds the target already); ``record`` the annotations to
    write ({} when the recorded value stays, the annotation set to null when nothing is left to
    restore).
    """
    current = _get(existing, "spec", "kubeletConfig") or {}
    record_old = _recorded(existing, annotation)
    forbidden_nulls = _nulls(forbidden)
    base = merge_patch(merge_patch(current, record_old or {}), forbidden_nulls)
    patch_full = _combine(_combine(record_old or {}, forbidden_nulls), kubelet_config)
    patch = patch_full if merge_patch(current, patch_full) != current else {}
    record_new = merge_patch_undo(base, kubelet_config) if kubelet_config else None
    if record_new == record_old:
        record = {}
    else:
        record = {annotation: json.dumps(record_new, sort_keys=True) if record_new is not None else None}
    return patch, record


def plan_present(pool, kubeletconfigs, machineconfig, pool_name, machineconfig_definition, kubelet_config,
                 kubelet_config_forbidden=(), kubeletconfig_name="", annotation=DEFAULT_ANNOTATION):
    """Enable swap on pool ``pool_name``: ``pool`` as read (None when missing), every
    KubeletConfig, our MachineConfig as read (None when missing) and the one wanted."""
    kubelet_config = kubelet_config or {}
    own_name = kubeletconfig_name or "ocpv-density-" + pool_name
    refusal = pool_refusal(pool, pool_name, "present")
    if refusal:
        return _plan(refusal)
    selecting = pool_kubeletconfigs(kubeletconfigs, pool)
    if len(selecting) > 1:
        return _plan("MachineConfigPool %s is selected by more than one KubeletConfig (%s). The MCO does not "
                     "merge them (the last one wins wholesale); combine them into one first. Nothing was changed."
                     % (pool_name, ", ".join(_name(kc) for kc in selecting)))
    existing = selecting[0] if selecting else None
    if existing is None:
        mode = "own" if kubelet_config else "none"
    elif is_ours(existing):
        mode = "own" if kubelet_config else "delete"
    else:
        mode = "merge"

    writes, kc_changes = [], False
    if mode == "own":
        label = POOL_LABEL_PREFIX + pool_name
        if label not in (_get(pool, "metadata", "labels") or {}):
            return _plan("MachineConfigPool %s has no label %s, so a KubeletConfig cannot select it. Label it "
                         "(oc label mcp %s %s=) or give it a KubeletConfig. Nothing was changed."
                         % (pool_name, label, pool_name, label))
        definition = own_kubeletconfig(_name(existing) or own_name, pool_name, kubelet_config)
        kc_changes = existing is None or bool(merge_patch_for(existing.get("spec") or {}, definition["spec"]))
        writes.append(dict(what="our KubeletConfig", apply=True, definition=definition))
    elif mode == "delete":
        kc_changes = True
        writes.append(dict(what="delete our KubeletConfig (this profile sets no KubeletConfig keys)",
                           state="absent", api_version=MCO_API, kind="KubeletConfig", name=_name(existing)))
    elif mode == "merge":
        patch, record = merge_into_user(existing, kubelet_config, kubelet_config_forbidden, annotation)
        kc_changes = bool(patch)
        if patch or record:
            writes.append(dict(what="merge the swap keys into the user's KubeletConfig", state="patched",
                               merge_type="merge", definition={
                                   "apiVersion": MCO_API, "kind": "KubeletConfig",
                                   # the version the merge was computed from: another writer's
                                   # change since is a 409
                                   "metadata": {"name": _name(existing),
                                                "resourceVersion": _get(existing, "metadata", "resourceVersion"),
                                                "annotations": record},
                                   "spec": {"kubeletConfig": patch}}))
    writes.append(dict(what="MachineConfig", apply=True, definition=machineconfig_definition))

    # Only a change of rendered content (spec) makes the MCO render a new configuration and
    # reboot the nodes; metadata-only changes are written without pausing the pool.
    mc_changes = machineconfig is None or bool(
        merge_patch_for(machineconfig.get("spec") or {}, machineconfig_definition.get("spec") or {}))
    rollout = mc_changes or kc_changes
    return _plan(mode=mode, kubeletconfig=_name(existing) or (own_name if mode == "own" else ""), writes=writes,
                 rollout=rollout, previous_configuration=_get(pool, "spec", "configuration", "name") or "",
                 # a rollout left unfinished by an earlier run (or by someone else) must finish too
                 wait=rollout or not _pool_updated(pool))


def plan_absent(pool, kubeletconfigs, machineconfig, pool_name, kubelet_config_forbidden=(),
                annotation=DEFAULT_ANNOTATION):
    """Take swap back from pool ``pool_name``, in one rollout: restore the user's KubeletConfig
    keys from the recorded annotation, delete the KubeletConfig we created and our MachineConfig
    (``machineconfig`` as read, None when missing; one without our label is the user's and stays).
    Keys the release's MCO refuses in a KubeletConfig (4.21+) are never put back."""
    refusal = pool_refusal(pool, pool_name, "absent")
    if refusal:
        return _plan(refusal)
    selecting = pool_kubeletconfigs(kubeletconfigs, pool)
    forbidden_nulls = _nulls(kubelet_config_forbidden)
    writes, rollout = [], False
    for kc in selecting:
        if is_ours(kc):
            continue
        recorded = _recorded(kc, annotation)
        if recorded is None:
            continue
        restore = _combine(recorded, forbidden_nulls)
        current = _get(kc, "spec", "kubeletConfig") or {}
        rollout = rollout or merge_patch(current, restore) != current
        writes.append(dict(what="restore the user's KubeletConfig keys", state="patched", merge_type="merge",
                           definition={"apiVersion": MCO_API, "kind": "KubeletConfig",
                                       "metadata": {"name": _name(kc),
                                                    "resourceVersion": _get(kc, "metadata", "resourceVersion"),
                                                    "annotations": {annotation: None}},
                                       "spec": {"kubeletConfig": restore}}))
    for kc in selecting:
        if is_ours(kc):
            rollout = True
            writes.append(dict(what="delete our KubeletConfig", state="absent", api_version=MCO_API,
                               kind="KubeletConfig", name=_name(kc)))
    if machineconfig and is_ours(machineconfig):
        rollout = True
        writes.append(dict(what="delete the MachineConfig", state="absent", api_version=MCO_API,
                           kind="MachineConfig", name=_name(machineconfig)))
    restored = any(w.get("state") == "patched" for w in writes)
    mode = "delete" if any(is_ours(kc) for kc in selecting) else ("merge" if restored else "none")
    return _plan(mode=mode, kubeletconfig=", ".join(_name(kc) for kc in selecting), writes=writes, rollout=rollout,
                 previous_configuration=_get(pool, "spec", "configuration", "name") or "", wait=rollout)
