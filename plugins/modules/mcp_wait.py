#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)

# Documentation only: the work is done by the action plugin plugins/action/mcp_wait.py on the controller.

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: mcp_wait
short_description: Wait for a MachineConfigPool rollout to finish, correctly, with live progress
version_added: 0.1.0
author:
  - ocpv.density maintainers (!UNKNOWN)
description:
  - >-
    Waits until an OpenShift MachineConfigPool has rolled out its rendered configuration to every machine and prints a
    progress line (for example C(worker: 3/10 updated, 1 unavailable, 0 degraded) and the rendered configuration's name)
    every time the progress changes, so a long rollout is visible live, also in AAP/AWX job output.
  - Avoids the classic trap of C(oc wait mcp/worker --for condition=Updated) - right after a MachineConfig or
    KubeletConfig is written the pool still reports C(Updated=True) for the old configuration. Record the pool's
    C(spec.configuration.name) before the change and pass it as O(previous_configuration); the module then first waits
    until the Machine Config Operator has rendered and targeted a new configuration.
  - The pool counts as updated when C(spec.configuration.name) differs from O(previous_configuration) (when given),
    C(status.observedGeneration >= metadata.generation), the C(Updated) condition is C(True),
    C(status.configuration.name == spec.configuration.name), C(updatedMachineCount == machineCount == readyMachineCount)
    and no machine is unavailable or degraded.
  - Fails fast when the pool is degraded (C(Degraded), C(NodeDegraded) or C(RenderDegraded) is C(True), or
    C(degradedMachineCount > 0)), naming the degraded nodes; fails when the pool is paused with pending changes unless
    O(allow_paused=true).
  - Runs on the Ansible controller (an action plugin), like the C(kubernetes.core) modules run against C(localhost).
    Connection settings follow C(kubernetes.core) - module options, then C(K8S_AUTH_*) environment variables (the
    task's C(environment) included), then in-cluster configuration, then C(KUBECONFIG) or C(~/.kube/config).
  - Errors while reading the pool after the first successful read (HTTP 404, 401, 403, 429, 5xx, connection refused - the
    API server and the authentication behind it restarting while control plane nodes reboot) are logged and retried until
    O(timeout). Before the first successful read any error fails the task at once.
options:
  name:
    description:
      - Name of the MachineConfigPool, for example V(worker) or V(master).
    type: str
    required: true
  previous_configuration:
    description:
      - The pool's C(spec.configuration.name) recorded before the MachineConfig/KubeletConfig change.
      - While the pool still targets this configuration the module waits for the render (up to O(render_timeout)),
        whatever the C(Updated) condition says.
      - Without it the module only waits until the pool is consistent and updated, which returns at once if the change
        has not been rendered yet.
    type: str
  timeout:
    description:
      - Maximum seconds to wait for the whole rollout. Real pools take minutes per node (drain and reboot).
    type: int
    default: 3600
  poll_interval:
    description:
      - Seconds between two reads of the pool.
    type: int
    default: 10
  render_timeout:
    description:
      - Seconds to wait for a new rendered configuration when O(previous_configuration) is given.
      - When nothing is rendered in that time the task fails with an explanation (the change did not select the pool,
        changed nothing, or the Machine Config Operator is not running), except for a pool with no machines
        (the worker pool of a single-node or compact cluster), which has nothing to roll out; then it returns with a
        warning.
    type: int
    default: 120
  allow_paused:
    description:
      - A paused pool (C(spec.paused=true)) with pending changes never rolls out by itself. By default the module then
        fails with a clear message; set to V(true) to keep waiting until someone else unpauses the pool.
    type: bool
    default: false
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
    details: Everything runs in the action plugin on the controller; no module is sent to the target host.
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: In check mode nothing is read or waited for (nothing was changed, so nothing rolls out); the task is skipped.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Pools without machines (the C(worker) pool of single-node and compact clusters) are updated as soon as the new
    configuration is rendered.
  - Hosted control plane (HCP) clusters have no Machine Config Operator and no MachineConfigPools; the module fails
    with a clear message there.
  - Credentials are never printed; progress lines only contain pool counts and configuration names.
requirements:
  - kubernetes >= 24.2.0 (Python library, on the controller)
  - the kubernetes.core collection
seealso:
  - name: MachineConfigPool API
    description: OpenShift MachineConfigPool reference.
    link: https://docs.redhat.com/en/documentation/openshift_container_platform/4.18/html/machine_apis/machineconfigpool-machineconfiguration-openshift-io-v1
"""

EXAMPLES = r"""
- name: Record the worker pool's rendered configuration before changing it
  kubernetes.core.k8s_info:
    api_version: machineconfiguration.openshift.io/v1
    kind: MachineConfigPool
    name: worker
  register: worker_pool_before

- name: Apply a MachineConfig for the worker pool
  kubernetes.core.k8s:
    state: present
    definition: "{{ lookup('ansible.builtin.file', '90-worker-example.yaml') | from_yaml }}"
  register: worker_mc

- name: Wait for the worker pool to roll the change out
  ocpv.density.mcp_wait:
    name: worker
    previous_configuration: "{{ worker_pool_before.resources[0].spec.configuration.name }}"
    timeout: 7200
  when: worker_mc is changed
  register: worker_rollout

- name: Show the new rendered configuration
  ansible.builtin.debug:
    msg: "worker now runs {{ worker_rollout.configuration }} ({{ worker_rollout.elapsed }} s)"

- name: Wait for the master pool with an explicit kubeconfig, tolerating a paused pool
  ocpv.density.mcp_wait:
    name: master
    kubeconfig: /path/to/kubeconfig
    allow_paused: true
    poll_interval: 30
"""

RETURN = r"""
changed:
  description: Always V(false); waiting changes nothing.
  returned: always
  type: bool
  sample: false
msg:
  description: Summary of the outcome.
  returned: always
  type: str
  sample: MachineConfigPool worker is updated to rendered-worker-5f1e2d
phase:
  description:
    - Last phase seen, one of V(waiting-for-render), V(paused), V(updating), V(degraded), V(done).
  returned: when the pool was read
  type: str
  sample: done
configuration:
  description:
    - The rendered configuration the pool targets (C(spec.configuration.name)); on success also the one it runs.
  returned: when the pool was read
  type: str
  sample: rendered-worker-5f1e2d
pool:
  description: C(status) of the MachineConfigPool as last read.
  returned: when the pool was read
  type: dict
  sample:
    configuration:
      name: rendered-worker-5f1e2d
    machineCount: 4
    updatedMachineCount: 4
    readyMachineCount: 4
    unavailableMachineCount: 0
    degradedMachineCount: 0
    observedGeneration: 7
elapsed:
  description: Seconds spent waiting.
  returned: always
  type: float
  sample: 312.4
progress_log:
  description: The progress lines printed while waiting, one per change, prefixed with the elapsed time.
  returned: always
  type: list
  elements: str
  sample:
    - "[0:00] worker: 4/4 updated, 0 unavailable, 0 degraded (rendered-worker-0a1b2c) - waiting for a new rendered config"
    - "[0:05] worker: 0/4 updated, 1 unavailable, 0 degraded (rendered-worker-5f1e2d)"
    - "[5:12] worker: 4/4 updated, 0 unavailable, 0 degraded (rendered-worker-5f1e2d)"
degraded_nodes:
  description: Names of the nodes reported degraded.
  returned: when the pool is degraded
  type: list
  elements: str
  sample: [worker-1]
"""
