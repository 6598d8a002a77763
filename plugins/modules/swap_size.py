#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
module: swap_size
short_description: Plan the swap each node needs for a memory overcommit
version_added: "0.1.0"
description:
  - Computes, for every node, the swap that backs a memory overcommit of O(overcommit) percent
    with wasp-agent, as the OpenShift Virtualization documentation defines it,
    swap = RAM x (overcommit / 100 - 1). So 16 GiB of RAM at 150 percent needs 8 GiB of swap.
  - RAM is the node's C(status.capacity.memory), the same value a node reads as C(MemTotal) when the
    swap MachineConfig sizes its swap file at boot, so plan and node agree.
  - Returns a summary for the pool (smallest and largest swap, whether nodes differ) and a list of
    problems a caller should refuse on, such as swap that does not fit on a node's disk.
  - Pure computation; talks to no cluster and never reports a change. Feed it the nodes from
    M(kubernetes.core.k8s_info).
author:
  - ocpv.density maintainers (!UNKNOWN)
requirements: []
options:
  overcommit:
    description:
      - Memory overcommit in percent, as in the HyperConverged C(memoryOvercommitPercentage).
      - V(150) lets VMs use 50 percent more memory than the node's RAM.
      - An integer from V(101) to V(1000).
    type: int
    required: true
  nodes:
    description:
      - The nodes to size. Each item is either a Node object as M(kubernetes.core.k8s_info) returns
        it (C(metadata.name), C(status.capacity.memory) and, if present,
        C(status.capacity.ephemeral-storage) are read), or a mapping with C(name), C(memory) and
        optionally C(ephemeral_storage), where sizes are Kubernetes quantities such as V(16Gi).
      - Both forms may be mixed. Node names must be unique.
    type: list
    elements: raw
    required: true
  disk_margin_percent:
    description:
      - Share of a node's ephemeral storage (the root filesystem that holds C(/var/ocpswap.file),
        images and logs) that must stay free after the swap file is created.
      - The margin is the larger of this and O(disk_margin_min_mib). The default of 15 percent is
        the kubelet's default C(imagefs.available) hard-eviction threshold.
    type: int
    default: 15
  disk_margin_min_mib:
    description:
      - Minimum MiB of ephemeral storage that must stay free after the swap file is created.
    type: int
    default: 10240
attributes:
  check_mode:
    support: full
    description: Computes the same plan in check mode; the module never changes anything.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
notes:
  - Nodes without a memory capacity are listed with C(swap_mib=null) and reported in RV(problems).
  - All sizes are floored to whole MiB.
"""

EXAMPLES = r"""
- name: Read the worker nodes
  kubernetes.core.k8s_info:
    kind: Node
    label_selectors:
      - node-role.kubernetes.io/worker
  register: workers

- name: Plan swap for 150 percent memory overcommit
  ocpv.density.swap_size:
    overcommit: 150
    nodes: "{{ workers.resources }}"
  register: swap_plan

- name: Refuse when a node cannot hold its swap
  ansible.builtin.assert:
    that: swap_plan.problems | length == 0
    fail_msg: "{{ swap_plan.problems | join('; ') }}"

- name: Plan from names and sizes, keeping at least 20 GiB or 20 percent of each disk free
  ocpv.density.swap_size:
    overcommit: 200
    disk_margin_percent: 20
    disk_margin_min_mib: 20480
    nodes:
      - name: worker-0
        memory: 16Gi
        ephemeral_storage: 120Gi
      - name: worker-1
        memory: 64Gi
"""

RETURN = r"""
nodes:
  description: The plan per node, in input order.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Node name.
      type: str
      sample: worker-0
    memory_mib:
      description: The node's memory capacity in MiB (floored); null when the node reports none.
      type: int
      sample: 16384
    swap_mib:
      description: Swap the node needs in MiB, RAM bytes x (overcommit / 100 - 1) / 1048576 rounded down; null when RAM is unknown.
      type: int
      sample: 8192
    ephemeral_storage_mib:
      description: The node's ephemeral-storage capacity in MiB; null when not given.
      type: int
      sample: 122880
  sample:
    - name: worker-0
      memory_mib: 16384
      swap_mib: 8192
      ephemeral_storage_mib: 122880
summary:
  description: The pool at a glance.
  returned: success
  type: dict
  contains:
    node_count:
      description: Number of nodes given.
      type: int
      sample: 4
    min_swap_mib:
      description: Smallest swap of any sized node in MiB; null when no node could be sized.
      type: int
      sample: 8192
    max_swap_mib:
      description: Largest swap of any sized node in MiB; null when no node could be sized.
      type: int
      sample: 131072
    total_swap_mib:
      description: Swap of all sized nodes together in MiB.
      type: int
      sample: 188416
    heterogeneous:
      description: True when sized nodes need different amounts of swap.
      type: bool
      sample: true
problems:
  description: Conditions to refuse on, one sentence each. Empty when the plan is sound.
  returned: success
  type: list
  elements: str
  sample:
    - "node worker-3: swap of 524288 MiB does not fit on its disk: ephemeral-storage is 491520 MiB and 73728 MiB must stay free
      (max of 10240 MiB and 15 %), leaving 417792 MiB"
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ocpv.density.plugins.module_utils.swap_plan import (
    DEFAULT_DISK_MARGIN_MIN_MIB,
    DEFAULT_DISK_MARGIN_PERCENT,
    plan_swap,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            overcommit=dict(type='int', required=True),
            nodes=dict(type='list', elements='raw', required=True),
            disk_margin_percent=dict(type='int', default=DEFAULT_DISK_MARGIN_PERCENT),
            disk_margin_min_mib=dict(type='int', default=DEFAULT_DISK_MARGIN_MIN_MIB),
        ),
        supports_check_mode=True,
    )
    try:
        plan = plan_swap(
            module.params['nodes'],
            module.params['overcommit'],
            disk_margin_percent=module.params['disk_margin_percent'],
            disk_margin_min_mib=module.params['disk_margin_min_mib'],
        )
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **plan)


if __name__ == '__main__':
    main()
