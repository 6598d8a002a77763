# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Unit tests for plugins/module_utils/swap_plan.py: sizing, summary, problems and input errors."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type


import pytest

from ansible_collections.ocpv.density.plugins.module_utils.swap_plan import (
    SwapPlanError,
    disk_reserve_mib,
    plan_swap,
    swap_mib_for,
)

GIB = 1024 ** 3


def node_object(name, memory, ephemeral=None, **extra_capacity):
    """A Node as kubernetes.core.k8s_info returns it (trimmed to what matters)."""
    capacity = {'cpu': '16', 'pods': '250', 'hugepages-1Gi': '0'}
    if memory is not None:
        capacity['memory'] = memory
    if ephemeral is not None:
        capacity['ephemeral-storage'] = ephemeral
    capacity.update(extra_capacity)
    return {
        'apiVersion': 'v1',
        'kind': 'Node',
        'metadata': {'name': name, 'labels': {'node-role.kubernetes.io/worker': ''}},
        'status': {'capacity': capacity, 'allocatable': dict(capacity)},
    }


def by_name(plan):
    return {entry['name']: entry for entry in plan['nodes']}


def test_150_percent_is_half_of_ram():
    plan = plan_swap([node_object('worker-0', '16Gi')], 150)
    assert plan['nodes'] == [{'name': 'worker-0', 'memory_mib': 16384, 'swap_mib': 8192, 'ephemeral_storage_mib': None}]
    assert plan['problems'] == []


def test_101_percent_is_one_hundredth():
    plan = plan_swap([{'name': 'n', 'memory': '100Gi'}], 101)
    assert plan['nodes'][0]['swap_mib'] == 1024


def test_1000_percent_is_nine_times_ram():
    plan = plan_swap([{'name': 'n', 'memory': '16Gi'}], 1000)
    assert plan['nodes'][0]['swap_mib'] == 9 * 16384


def test_swap_is_floored_exactly_not_by_float():
    # 1 GiB + 1 byte at 150 %: 536870912.5 bytes = 512 MiB and a bit -> 512.
    assert swap_mib_for(GIB + 1, 150) == 512
    # 1 MiB short of 2 MiB of swap stays at 1.
    assert swap_mib_for(4 * 1024 * 1024 - 2, 150) == 1
    # A kubelet-style capacity in Ki, not a whole number of MiB.
    plan = plan_swap([node_object('w', '16265948Ki')], 150)
    assert plan['nodes'][0]['memory_mib'] == 15884
    assert plan['nodes'][0]['swap_mib'] == 16265948 * 1024 * 50 // 100 // (1024 * 1024)


def test_matches_the_node_side_formula_for_meminfo_kb():
    # The MachineConfig script: size_mib = MemTotal_kB * (P - 100) / 100 / 1024 (integer floor).
    for mem_kb in (16265948, 32761280, 65531212, 263842500):
        for percent in (101, 125, 150, 175, 200, 333, 1000):
            node_side = mem_kb * (percent - 100) // 100 // 1024
            assert plan_swap([{'name': 'n', 'memory': '{0}Ki'.format(mem_kb)}], percent)['nodes'][0]['swap_mib'] == node_side


def test_heterogeneous_pool_summary():
    nodes = [node_object('worker-{0}'.format(i), mem) for i, mem in enumerate(('16Gi', '32Gi', '64Gi', '256Gi'))]
    plan = plan_swap(nodes, 150)
    assert [entry['swap_mib'] for entry in plan['nodes']] == [8192, 16384, 32768, 131072]
    assert plan['summary'] == {
        'node_count': 4, 'min_swap_mib': 8192, 'max_swap_mib': 131072, 'total_swap_mib': 188416, 'heterogeneous': True,
    }


def test_homogeneous_pool_summary():
    plan = plan_swap([{'name': 'a', 'memory': '32Gi'}, {'name': 'b', 'memory': '32Gi'}], 200)
    assert plan['summary'] == {
        'node_count': 2, 'min_swap_mib': 32768, 'max_swap_mib': 32768, 'total_swap_mib': 65536, 'heterogeneous': False,
    }


def test_mixed_input_forms_and_quantity_notations():
    nodes = [
        node_object('api-node', '17179869184'),
        {'name': 'mapping-bi', 'memory': '16Gi', 'ephemeral_storage': '120Gi'},
        {'name': 'mapping-int', 'memory': 16 * GIB},
        {'name': 'mapping-dec', 'memory': '17.179869184G'},
        {'name': 'mapping-exp', 'memory': '17179869184e0'},
        {'name': 'mapping-ki', 'memory': '16777216Ki'},
    ]
    plan = plan_swap(nodes, 150)
    assert {entry['swap_mib'] for entry in plan['nodes']} == {8192}
    assert by_name(plan)['mapping-bi']['ephemeral_storage_mib'] == 122880
    assert plan['summary']['heterogeneous'] is False


def test_node_object_reads_ephemeral_storage():
    plan = plan_swap([node_object('w', '16Gi', '125293548Ki')], 150)
    assert plan['nodes'][0]['ephemeral_storage_mib'] == 122356
    assert plan['problems'] == []


def test_swap_that_does_not_fit_the_disk_is_a_problem():
    # 256 GiB at 300 % needs 512 GiB of swap; a 480 GiB disk keeping 15 % free has 408 GiB.
    plan = plan_swap([node_object('worker-3', '256Gi', '480Gi')], 300)
    assert plan['nodes'][0]['swap_mib'] == 524288
    assert plan['problems'] == [
        'node worker-3: swap of 524288 MiB does not fit on its disk: ephemeral-storage is 491520 MiB and 73728 MiB must '
        'stay free (max of 10240 MiB and 15 %), leaving 417792 MiB'
    ]


def test_disk_margin_boundary_and_minimum():
    # 40 GiB disk: 15 % is 6 GiB, so the 10 GiB minimum applies; 30 GiB usable.
    fits = plan_swap([{'name': 'n', 'memory': '60Gi', 'ephemeral_storage': '40Gi'}], 150)
    assert fits['nodes'][0]['swap_mib'] == 30720 and fits['problems'] == []
    too_big = plan_swap([{'name': 'n', 'memory': '60Gi', 'ephemeral_storage': '40959Mi'}], 150)
    assert len(too_big['problems']) == 1 and 'leaving 30719 MiB' in too_big['problems'][0]


def test_disk_margin_parameters():
    node = {'name': 'n', 'memory': '64Gi', 'ephemeral_storage': '100Gi'}
    # 64 GiB of swap on a 100 GiB disk: the default margin (15 GiB) leaves 85 GiB, so it fits.
    assert plan_swap([node], 200)['problems'] == []
    assert plan_swap([node], 200, disk_margin_percent=0, disk_margin_min_mib=0)['problems'] == []
    assert plan_swap([node], 200, disk_margin_percent=50)['problems'] != []
    assert plan_swap([node], 200, disk_margin_percent=0, disk_margin_min_mib=36 * 1024 + 1)['problems'] != []
    assert plan_swap([node], 200, disk_margin_percent=0, disk_margin_min_mib=36 * 1024)['problems'] == []


def test_disk_reserve_is_the_larger_margin():
    assert disk_reserve_mib(40960, 15, 10240) == 10240
    assert disk_reserve_mib(491520, 15, 10240) == 73728
    assert disk_reserve_mib(1000, 15, 0) == 150


def test_disk_without_room_reports_zero_left():
    plan = plan_swap([{'name': 'n', 'memory': '16Gi', 'ephemeral_storage': '5Gi'}], 150)
    assert 'leaving 0 MiB' in plan['problems'][0]


@pytest.mark.parametrize('node', [
    node_object('w', None),
    node_object('w', '0'),
    {'metadata': {'name': 'w'}},
    {'metadata': {'name': 'w'}, 'status': {}},
    {'metadata': {'name': 'w'}, 'status': {'capacity': None}},
    {'name': 'w', 'memory': None},
    {'name': 'w', 'memory': ''},
    {'name': 'w', 'memory': 0},
])
def test_node_without_memory_capacity_is_a_problem_not_an_error(node):
    plan = plan_swap([node, {'name': 'other', 'memory': '16Gi'}], 150)
    assert plan['nodes'][0] == {'name': 'w', 'memory_mib': None, 'swap_mib': None, 'ephemeral_storage_mib': None}
    assert len(plan['problems']) == 1
    assert plan['problems'][0].startswith('node w reports no memory capacity')
    assert plan['summary'] == {
        'node_count': 2, 'min_swap_mib': 8192, 'max_swap_mib': 8192, 'total_swap_mib': 8192, 'heterogeneous': False,
    }


def test_no_node_sized_gives_null_min_max():
    plan = plan_swap([node_object('w', None)], 150)
    assert plan['summary'] == {
        'node_count': 1, 'min_swap_mib': None, 'max_swap_mib': None, 'total_swap_mib': 0, 'heterogeneous': False,
    }


@pytest.mark.parametrize('overcommit', [True, False, '150', 150.0, 150.5, None, [150], 100, 1001, 0, -150, 99, 10000])
def test_bad_overcommit(overcommit):
    with pytest.raises(SwapPlanError) as caught:
        plan_swap([{'name': 'n', 'memory': '16Gi'}], overcommit)
    message = str(caught.value)
    assert 'overcommit' in message and '101' in message and '1000' in message
    assert repr(overcommit) in message


@pytest.mark.parametrize('overcommit', [101, 1000])
def test_overcommit_bounds_are_inclusive(overcommit):
    assert plan_swap([{'name': 'n', 'memory': '1Gi'}], overcommit)['nodes'][0]['swap_mib'] > 0


@pytest.mark.parametrize('kwargs, name', [
    ({'disk_margin_percent': -1}, 'disk_margin_percent'),
    ({'disk_margin_percent': 100}, 'disk_margin_percent'),
    ({'disk_margin_percent': True}, 'disk_margin_percent'),
    ({'disk_margin_percent': '15'}, 'disk_margin_percent'),
    ({'disk_margin_min_mib': -1}, 'disk_margin_min_mib'),
    ({'disk_margin_min_mib': 1.5}, 'disk_margin_min_mib'),
])
def test_bad_margins(kwargs, name):
    with pytest.raises(SwapPlanError, match=name):
        plan_swap([{'name': 'n', 'memory': '16Gi'}], 150, **kwargs)


@pytest.mark.parametrize('nodes, fragment', [
    ([], 'nodes is empty'),
    (None, 'nodes must be a list'),
    ({'name': 'n', 'memory': '16Gi'}, 'nodes must be a list'),
    ('worker-0', 'nodes must be a list'),
    (['worker-0'], 'nodes[0]: expected a Node object or a mapping with name and memory, got str'),
    ([{'name': 'a', 'memory': '1Gi'}, 42], 'nodes[1]: expected a Node object'),
    ([{'memory': '16Gi'}], 'nodes[0]: missing name'),
    ([{'name': '', 'memory': '16Gi'}], 'nodes[0]: missing name'),
    ([{'name': 'a', 'memory': '1Gi'}, {'name': 'b'}], 'nodes[1] (b): missing memory'),
    ([{'metadata': {}, 'status': {'capacity': {'memory': '1Gi'}}}], 'nodes[0]: Node object has no metadata.name'),
    ([{'metadata': None}], 'nodes[0]: Node object has no metadata.name'),
    ([{'name': 'a', 'memory': '16 GB'}], "nodes[0] (a): memory: invalid quantity '16 GB'"),
    ([node_object('w', '16Gi', 'lots')], "nodes[0] (w): status.capacity.ephemeral-storage: invalid quantity 'lots'"),
    ([node_object('w', '16GiB')], "nodes[0] (w): status.capacity.memory: invalid quantity '16GiB'"),
    ([{'name': 'a', 'memory': True}], 'nodes[0] (a): memory: invalid quantity True'),
    ([{'name': 'a', 'memory': '-1Gi'}], 'nodes[0] (a): memory is negative'),
    ([{'name': 'a', 'memory': '1Gi', 'ephemeral_storage': '-1'}], 'nodes[0] (a): ephemeral_storage is negative'),
])
def test_malformed_input(nodes, fragment):
    with pytest.raises(SwapPlanError) as caught:
        plan_swap(nodes, 150)
    assert fragment in str(caught.value)


def test_duplicate_names_across_forms():
    with pytest.raises(SwapPlanError, match=r'nodes\[1\] \(worker-0\): duplicate node name, already given as nodes\[0\]'):
        plan_swap([node_object('worker-0', '16Gi'), {'name': 'worker-0', 'memory': '16Gi'}], 150)


def test_swap_plan_error_is_a_value_error():
    assert issubclass(SwapPlanError, ValueError)


def test_input_is_not_modified():
    nodes = [node_object('w', '16Gi', '120Gi')]
    before = repr(nodes)
    plan_swap(nodes, 150)
    assert repr(nodes) == before


def test_5000_nodes():
    # Speed and growth are measured in benchmarks/python_scaling.py, not asserted here.
    nodes = [node_object('worker-{0}'.format(i), '{0}Gi'.format(16 * (1 + i % 16)), '480Gi') for i in range(5000)]
    plan = plan_swap(nodes, 150)
    assert plan['summary']['node_count'] == 5000
    assert plan['summary']['min_swap_mib'] == 8192 and plan['summary']['max_swap_mib'] == 131072
