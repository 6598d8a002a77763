# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Small filters the roles use to read API objects and decide, client side, whether one must change.

Docs for each filter are in the YAML file of the same name beside this one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.ocpv.density.plugins.module_utils import hco as _hco
from ansible_collections.ocpv.density.plugins.module_utils import k8s_object as _k8s_object
from ansible_collections.ocpv.density.plugins.module_utils import kubelet_merge as _kubelet_merge
from ansible_collections.ocpv.density.plugins.plugin_utils import node_placement as _node_placement
from ansible_collections.ocpv.density.plugins.module_utils import pools as _pools
from ansible_collections.ocpv.density.plugins.module_utils import profiles as _profiles
from ansible_collections.ocpv.density.plugins.module_utils import quantity as _quantity


def _is_map(value):
    return isinstance(value, dict)


def label_selector_match(selector, labels, empty_matches=False):
    """Whether a metav1.LabelSelector selects an object with ``labels`` (module_utils/pools.py)."""
    try:
        return _pools.label_selector_match(selector, labels, empty_matches=empty_matches)
    except _pools.SelectorError as exc:
        raise AnsibleFilterError("label_selector_match: %s" % (exc,))


def merge_patch_for(current, desired):
    """The smallest JSON merge patch (RFC 7386) that makes ``current`` contain ``desired``
    (module_utils/k8s_object.py)."""
    if not _is_map(desired):
        raise AnsibleFilterError("merge_patch_for: desired must be a dict, got %s" % type(desired).__name__)
    return _k8s_object.merge_patch_for(current, desired)


def merge_patch_undo(current, desired):
    """The JSON merge patch that restores ``current``'s values for every key ``desired`` sets
    (module_utils/k8s_object.py)."""
    if not _is_map(desired):
        raise AnsibleFilterError("merge_patch_undo: desired must be a dict, got %s" % type(desired).__name__)
    return _k8s_object.merge_patch_undo(current, desired)


def pool_kubeletconfigs(kubeletconfigs, pool_labels):
    """The KubeletConfigs that select a pool with ``pool_labels`` (module_utils/pools.py)."""
    try:
        return _pools.kubeletconfigs_for_pool(kubeletconfigs, pool_labels)
    except _pools.SelectorError as exc:
        raise AnsibleFilterError("pool_kubeletconfigs: %s" % (exc,))


def own_kubeletconfig(pool, name, kubelet_config):
    """The KubeletConfig the swap role creates for a pool that has none (module_utils/kubelet_merge.py)."""
    if not isinstance(pool, str) or not isinstance(name, str) or not _is_map(kubelet_config):
        raise AnsibleFilterError("own_kubeletconfig: expects a pool name, a KubeletConfig name and a dict of keys")
    return _kubelet_merge.own_kubeletconfig(name, pool, kubelet_config)


def merge_patch_apply(current, patch):
    """Apply a JSON merge patch (RFC 7386) to ``current`` and return the result."""
    return _k8s_object.merge_patch(current, patch)


def mcp_nodes(nodes, pools, name):
    """The Node objects of ``nodes`` that the MCO places in MachineConfigPool ``name``."""
    try:
        return _pools.pool_nodes(nodes, pools, name)
    except _pools.SelectorError as exc:
        raise AnsibleFilterError("mcp_nodes: %s" % (exc,))


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


def hco_overcommit(hco, api_version):
    """The memoryOvercommitPercentage a HyperConverged carries at its API version's path (100 when
    absent; module_utils/hco.py)."""
    try:
        return _hco.hco_overcommit(hco, api_version)
    except ValueError as exc:
        raise AnsibleFilterError("hco_overcommit: %s" % (exc,))


def hco_overcommit_patch(api_version, percentage, name=None, namespace=None):
    """The merge patch that sets memoryOvercommitPercentage at ``api_version``'s path; with
    ``name`` a whole partial HyperConverged (module_utils/hco.py)."""
    try:
        return _hco.hco_overcommit_patch(api_version, percentage, name=name, namespace=namespace)
    except ValueError as exc:
        raise AnsibleFilterError("hco_overcommit_patch: %s" % (exc,))


def hco_overcommit_path(api_version):
    """The dotted path of memoryOvercommitPercentage at ``api_version`` (module_utils/hco.py)."""
    try:
        return ".".join(_hco.overcommit_path(api_version))
    except ValueError as exc:
        raise AnsibleFilterError("hco_overcommit_path: %s" % (exc,))


def hco_api_version_problem(api_version):
    """Why memoryOvercommitPercentage cannot be set through ``api_version``, or ''."""
    return _hco.api_version_problem(api_version)


class FilterModule(object):
    def filters(self):
        return {
            "label_selector_match": label_selector_match,
            "merge_patch_for": merge_patch_for,
            "merge_patch_undo": merge_patch_undo,
            "merge_patch_apply": merge_patch_apply,
            "mcp_nodes": mcp_nodes,
            "own_kubeletconfig": own_kubeletconfig,
            "pool_kubeletconfigs": pool_kubeletconfigs,
            "quantity_mib": quantity_mib,
            "placement_excluded": placement_excluded,
            "hco_api_version": hco_api_version,
            "hco_api_version_problem": hco_api_version_problem,
            "hco_overcommit": hco_overcommit,
            "hco_overcommit_patch": hco_overcommit_patch,
            "hco_overcommit_path": hco_overcommit_path,
        }
