# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""How the Python parts scale: plan_swap on 500 / 5,000 nodes, qos_class and swap_eligible on
10,000 / 100,000 virt-launcher pods. Linear code shows a growth ratio near 10 for 10x the input.

Run from the checkout:  .venv/bin/python benchmarks/python_scaling.py [--repeat N] [--markdown]
Not part of the test pass/fail; results are recorded in benchmarks/README.md ("Python parts").
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import argparse
import gc
import os
import platform
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, '.collections'))

from ansible_collections.ocpv.density.plugins.plugin_utils.qos import qos_class, swap_eligible  # noqa: E402 pylint: disable=wrong-import-position
from ansible_collections.ocpv.density.plugins.module_utils.swap_plan import plan_swap  # noqa: E402 pylint: disable=wrong-import-position

# MemTotal-like capacities (Ki) of common worker sizes, and disk sizes.
NODE_MEMORY_KI = ('16265948Ki', '32761280Ki', '65531212Ki', '131890176Ki', '263842500Ki', '527981732Ki')
NODE_DISK_KI = ('125293548Ki', '250587096Ki', '502084400Ki', '1003900512Ki')


def make_node(index, rng):
    """A Node as kubernetes.core.k8s_info returns it (the parts a real one carries in bulk)."""
    name = 'worker-{0:05d}'.format(index)
    capacity = {
        'cpu': str(rng.choice((16, 32, 64, 128))), 'devices.kubevirt.io/kvm': '1k', 'ephemeral-storage': rng.choice(NODE_DISK_KI),
        'hugepages-1Gi': '0', 'hugepages-2Mi': '0', 'memory': rng.choice(NODE_MEMORY_KI), 'pods': '250',
    }
    return {
        'apiVersion': 'v1', 'kind': 'Node',
        'metadata': {
            'name': name, 'uid': '{0:032x}'.format(rng.getrandbits(128)), 'resourceVersion': str(rng.randint(1, 10 ** 8)),
            'labels': {'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64',
                       'node-role.kubernetes.io/worker': '', 'kubevirt.io/schedulable': 'true'},
            'annotations': {'machineconfiguration.openshift.io/currentConfig': 'rendered-worker-0123456789abcdef',
                            'machineconfiguration.openshift.io/state': 'Done'},
        },
        'spec': {'providerID': 'baremetal://' + name},
        'status': {
            'capacity': capacity, 'allocatable': dict(capacity),
            'conditions': [{'type': 'Ready', 'status': 'True', 'reason': 'KubeletReady'}],
            'nodeInfo': {'kubeletVersion': 'v1.29.8+f10c92d', 'containerRuntimeVersion': 'cri-o://1.29.8'},
        },
    }


def make_launcher_pod(index, rng, with_status):
    """A virt-launcher pod as the apiserver returns it: compute + helper containers, init containers."""
    vm = 'vm-{0:06d}'.format(index)
    guest_mib = rng.choice((1024, 2048, 4096, 8192, 16384, 32768))
    # KubeVirt at 150 %: request = guest * 100 / 150 + overhead, in bytes (many distinct strings).
    request = '{0}'.format(guest_mib * 1024 * 1024 * 100 // 150 + rng.randint(180, 260) * 1024 * 1024)
    helper = {'requests': {'cpu': '5m', 'memory': '35M'}, 'limits': {'cpu': '15m', 'memory': '60M'}}
    init = {'requests': {'cpu': '10m', 'memory': '1M'}, 'limits': {'cpu': '100m', 'memory': '40M'}}
    pod = {
        'apiVersion': 'v1', 'kind': 'Pod',
        'metadata': {
            'name': 'virt-launcher-{0}-{1:05x}'.format(vm, index % 0xfffff), 'namespace': 'vms-{0}'.format(index % 50),
            'labels': {'kubevirt.io': 'virt-launcher', 'kubevirt.io/created-by': '{0:032x}'.format(index), 'vm.kubevirt.io/name': vm},
            'annotations': {'kubevirt.io/domain': vm, 'kubectl.kubernetes.io/default-container': 'compute'},
        },
        'spec': {
            'priority': 0, 'nodeName': 'worker-{0:05d}'.format(index % 500), 'serviceAccountName': 'default',
            'containers': [
                {'name': 'compute', 'image': 'registry.redhat.io/container-native-virtualization/virt-launcher-rhel9:v4.16',
                 'resources': {'requests': {'cpu': '100m', 'memory': request, 'devices.kubevirt.io/kvm': '1',
                                            'devices.kubevirt.io/tun': '1', 'devices.kubevirt.io/vhost-net': '1', 'ephemeral-storage': '50M'},
                               'limits': {'devices.kubevirt.io/kvm': '1', 'devices.kubevirt.io/tun': '1', 'devices.kubevirt.io/vhost-net': '1'}}},
                {'name': 'guest-console-log', 'image': 'registry.redhat.io/container-native-virtualization/virt-launcher-rhel9:v4.16',
                 'resources': helper},
            ],
            'initContainers': [
                {'name': 'container-disk-binary', 'image': 'registry.redhat.io/container-native-virtualization/virt-launcher-rhel9:v4.16',
                 'resources': init},
                {'name': 'volumecontainerdisk-init', 'image': 'quay.io/containerdisks/fedora:40', 'resources': init},
            ],
        },
    }
    if with_status:
        pod['status'] = {'phase': 'Running', 'qosClass': 'Burstable', 'podIP': '10.128.{0}.{1}'.format(index % 250, index % 200)}
    return pod


def best_of(repeat, function, items):
    """Best CPU time of this process over ``repeat`` runs.

    CPU time, not wall time: on a shared machine other processes steal the CPU for seconds at
    a time, which wall time counts and CPU time does not. As ``timeit`` does, the cyclic
    garbage collector is off while timing: otherwise its passes over the 100,000 input pods
    themselves land at random in some runs and not in others.
    """
    best = None
    for _run in range(repeat):
        gc.collect()
        gc.disable()
        try:
            started = time.process_time()
            function(items)
            elapsed = time.process_time() - started
        finally:
            gc.enable()
        best = elapsed if best is None else min(best, elapsed)
    return best


def run_plan(nodes):
    return plan_swap(nodes, 150)


def run_qos(pods):
    return [qos_class(pod) for pod in pods]


def run_swap(pods):
    return [swap_eligible(pod) for pod in pods]


def measure(repeat):
    rng = random.Random(2400)
    nodes = {size: [make_node(i, rng) for i in range(size)] for size in (500, 5000)}
    pods_api = {size: [make_launcher_pod(i, rng, True) for i in range(size)] for size in (10000, 100000)}
    pods_spec = {size: [dict(pod, status={}) for pod in pods_api[size]] for size in (10000, 100000)}
    workloads = [
        ('plan_swap (Node objects)', run_plan, nodes),
        ('qos_class (API pods, status.qosClass set)', run_qos, pods_api),
        ('qos_class (computed from spec)', run_qos, pods_spec),
        ('swap_eligible (API pods)', run_swap, pods_api),
    ]
    rows = []
    for label, function, inputs in workloads:
        previous = None
        for size in sorted(inputs):
            seconds = best_of(repeat, function, inputs[size])
            growth = seconds / previous if previous else None
            rows.append((label, size, seconds, seconds / size * 1e6, growth))
            previous = seconds
    return rows


def table(rows, markdown):
    header = ('workload', 'items', 'CPU time (ms)', 'per item (µs)', 'growth (10x items)')
    lines = []
    formatted = [(label, '{0:,}'.format(size), '{0:.1f}'.format(seconds * 1000), '{0:.2f}'.format(per_item),
                  '{0:.1f}x'.format(growth) if growth else '-') for label, size, seconds, per_item, growth in rows]
    if markdown:
        lines.append('| ' + ' | '.join(header) + ' |')
        lines.append('| --- | ---: | ---: | ---: | ---: |')
        lines.extend('| ' + ' | '.join(row) + ' |' for row in formatted)
    else:
        widths = [max(len(str(row[i])) for row in [header] + formatted) for i in range(len(header))]
        for row in [header] + formatted:
            lines.append('  '.join(str(cell).ljust(width) if i == 0 else str(cell).rjust(width) for i, (cell, width) in enumerate(zip(row, widths))))
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--repeat', type=int, default=7, help='runs per measurement; the best is kept (default 7)')
    parser.add_argument('--markdown', action='store_true', help='print a Markdown table')
    options = parser.parse_args()
    print('Python {0} on {1} ({2}), {3} CPUs, best CPU time of {4} runs, GC off while timing'.format(
        platform.python_version(), platform.machine(), platform.system(), os.cpu_count(), options.repeat))
    print(table(measure(options.repeat), options.markdown))


if __name__ == '__main__':
    main()
