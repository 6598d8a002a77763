#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: cluster_facts
short_description: Read what higher VM density depends on in one call, and judge it
version_added: 0.2.0
author:
  - ocpv.density maintainers (!UNKNOWN)
description:
  - Reads, in one process, everything the C(ocpv.density.preflight) role judges - Infrastructure,
    ClusterVersion, MachineConfigPools, the HyperConverged CRD and CR, the OpenShift
    Virtualization ClusterServiceVersion, virt-platform-autopilot's swap MachineConfig, the
    DaemonSets named C(wasp-agent), the nodes (name, labels, memory and ephemeral-storage capacity
    only) and the KubeletConfigs - and stops at the first read that fails.
  - Its action plugin then judges them on the controller (C(plugins/module_utils/cluster_facts.py)
    C(assess)) and returns RV(cluster), the C(preflight_cluster) fact the roles read, or the
    refusal the run stops with (RV(refusals)), with the message the user sees.
  - Read-only; it never fails for what it finds, only for invalid options, so the caller decides
    how to stop.
options:
  state:
    description: V(present) judges enabling higher density, V(absent) taking it back.
    type: str
    choices: [present, absent]
    default: present
  overcommit:
    description: Memory overcommit in percent; with O(state=present) swap is planned for it.
    type: int
  density_profile:
    description: Profile name; empty detects it from the cluster.
    type: str
    default: ""
  swap_pool:
    description: MachineConfigPool to judge; empty chooses V(worker), or V(master) on a compact cluster.
    type: str
    default: ""
  hco_name:
    description: Name of the HyperConverged CR when several exist (else the only one).
    type: str
    default: kubevirt-hyperconverged
  namespace_name:
    description: Namespace of the collection's wasp-agent.
    type: str
    default: wasp
  wasp_agent_image:
    description: wasp-agent image; empty uses the CSV's relatedImages entry or the profile's image.
    type: str
    default: ""
  swap_disk_check:
    description: Refuse swap that does not fit a node's ephemeral storage.
    type: bool
    default: true
  hco_api_version:
    description: With O(offline=true), the HyperConverged API version to assume (V(v1), else V(v1beta1)).
    type: str
    default: ""
  offline:
    description:
      - Read nothing; return the contract for O(density_profile) alone (rendering without a
        cluster). O(density_profile) is then required.
    type: bool
    default: false
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Read-only; it runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
    support: full
notes:
  - Runs where the kubernetes.core modules run (usually C(localhost)); the judgement runs on the controller.
requirements:
  - kubernetes.core collection
  - kubernetes >= 24.2.0
seealso:
  - module: kubernetes.core.k8s_info
"""

EXAMPLES = r"""
- name: Read and judge the cluster
  ocpv.density.cluster_facts:
    overcommit: 150
  register: assessment

- name: Stop on a refusal
  ansible.builtin.fail:
    msg: "{{ assessment.refusals | first }}"
  when: assessment.refusals | length > 0
"""

RETURN = r"""
objects:
  description:
    - What was read, per read (C(infrastructure), C(clusterversion), C(pools), C(hco_crd), C(hcos),
      C(csvs), C(autopilot_mcs), C(wasp_daemonsets), C(nodes), C(kubeletconfigs)), each with
      C(api_found) and C(resources); C(read_error) (C(read), C(msg)) names the read that failed.
  returned: unless offline
  type: dict
cluster:
  description: The C(preflight_cluster) contract (profile, pool, nodes, swap plan, HyperConverged, wasp-agent); null when refused.
  returned: always
  type: dict
refusals:
  description: The refusal the run stops with (the first; later checks build on earlier facts), or empty.
  returned: always
  type: list
  elements: str
notices:
  description: What the user should read either way (an unsupported profile, a compact cluster's pool).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.common.text.converters import to_text
from ansible_collections.ocpv.density.plugins.module_utils import cluster_facts
from ansible_collections.ocpv.density.plugins.module_utils.api_errors import api_error_message
from ansible_collections.ocpv.density.plugins.module_utils.kube_module import k8s_module

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.service import K8sService
except ImportError:  # k8s_module() reports it
    get_api_client = K8sService = None


def _doing(key):
    return 'reading %s (nothing was changed)' % cluster_facts.READ_WHAT.get(key, key)


def read_cluster(module):
    """Every read of cluster_facts.read_plan, stopping at the first that fails (k8s_info's reads and
    error texts, worded by api_error_message)."""
    objects = {}
    try:
        service = K8sService(get_api_client(module), module)
    except Exception as exc:  # pylint: disable=broad-except
        objects['read_error'] = dict(read='infrastructure', msg=api_error_message(to_text(exc), _doing('infrastructure')))
        return objects
    for key, read in cluster_facts.read_plan(objects, module.params['hco_name']):
        try:
            found = service.find(**read)
        except Exception as exc:  # pylint: disable=broad-except
            objects['read_error'] = dict(read=key, msg=api_error_message(to_text(exc), _doing(key)))
            break
        objects[key] = dict(api_found=bool(found.get('api_found')),
                            resources=cluster_facts.slim(key, found.get('resources') or []))
    return objects


def main():
    module = k8s_module('ocpv.density.cluster_facts', dict(cluster_facts.ASSESS_ARGUMENT_SPEC))
    module.exit_json(changed=False, objects=read_cluster(module))


if __name__ == '__main__':
    main()
