# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Unit tests for plugins/plugin_utils/qos.py: Kubernetes QoS rules and swap eligibility."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy

import pytest

from ansible_collections.ocpv.density.plugins.plugin_utils.qos import (
    PodError,
    compute_qos_class,
    is_critical_pod,
    qos_class,
    swap_eligible,
)


def container(name='c', requests=None, limits=None, **extra):
    result = {'name': name, 'image': 'registry.example/app:1'}
    resources = {}
    if requests is not None:
        resources['requests'] = requests
    if limits is not None:
        resources['limits'] = limits
    if resources:
        result['resources'] = resources
    result.update(extra)
    return result


def pod(*containers, init=None, ephemeral=None, resources=None, status=None, annotations=None, **spec_extra):
    spec = {'containers': list(containers)}
    if init is not None:
        spec['initContainers'] = init
    if ephemeral is not None:
        spec['ephemeralContainers'] = ephemeral
    if resources is not None:
        spec['resources'] = resources
    spec.update(spec_extra)
    result = {'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'name': 'p', 'namespace': 'ns'}, 'spec': spec}
    if annotations is not None:
        result['metadata']['annotations'] = annotations
    if status is not None:
        result['status'] = status
    return result


def launcher_pod(memory_request='4364Mi', memory_limit=None, cpu_request='100m', cpu_limit=None, **kwargs):
    """A KubeVirt virt-launcher pod as the apiserver returns it (compute container + helpers)."""
    compute_limits = {}
    if memory_limit:
        compute_limits['memory'] = memory_limit
    if cpu_limit:
        compute_limits['cpu'] = cpu_limit
    compute = container('compute', requests={'cpu': cpu_request, 'memory': memory_request, 'devices.kubevirt.io/kvm': '1'},
                        limits=dict(compute_limits, **{'devices.kubevirt.io/kvm': '1'}))
    helper = container('guest-console-log', requests={'cpu': '5m', 'memory': '35M'}, limits={'cpu': '15m', 'memory': '60M'})
    init = [container('container-disk-binary', requests={'cpu': '10m', 'memory': '1M'}, limits={'cpu': '100m', 'memory': '40M'})]
    kwargs.setdefault('priority', 0)
    return pod(compute, helper, init=init, **kwargs)


def guaranteed_launcher_pod():
    """A dedicated-CPU VM's launcher: every container has requests == limits."""
    res = {'cpu': '4', 'memory': '4364Mi'}
    helper = {'cpu': '15m', 'memory': '60M'}
    return pod(container('compute', requests=res, limits=res), container('guest-console-log', requests=helper, limits=helper),
               init=[container('container-disk-binary', requests=helper, limits=helper)], priority=0)


# --- BestEffort -----------------------------------------------------------------------------------

def test_best_effort_without_resources():
    assert qos_class(pod(container(), container('d'))) == 'BestEffort'


def test_best_effort_with_empty_resources_and_no_containers():
    assert qos_class(pod(container(resources={}))) == 'BestEffort'
    assert qos_class(pod()) == 'BestEffort'


def test_zero_quantities_are_ignored():
    assert qos_class(pod(container(requests={'cpu': '0', 'memory': '0'}, limits={'cpu': '0m', 'memory': '0Gi'}))) == 'BestEffort'
    # An explicit zero request is kept (defaulting only fills missing keys) and then ignored:
    # no requests, two limits -> not Guaranteed, exactly as Kubernetes computes it.
    assert qos_class(pod(container(requests={'cpu': '0', 'memory': '0'}, limits={'cpu': '1', 'memory': '1Gi'}))) == 'Burstable'


def test_negative_quantities_are_ignored_like_zero():
    assert qos_class(pod(container(requests={'memory': '-1Gi'}))) == 'BestEffort'


def test_extended_resources_are_ignored():
    extended = {'nvidia.com/gpu': '1', 'ephemeral-storage': '1Gi', 'hugepages-2Mi': '1Gi', 'devices.kubevirt.io/kvm': '1'}
    assert qos_class(pod(container(requests=extended, limits=extended))) == 'BestEffort'
    both = dict(extended, cpu='1', memory='1Gi')
    assert qos_class(pod(container(requests=both, limits=dict(both, **{'nvidia.com/gpu': '2'})))) == 'Guaranteed'


# --- Guaranteed -----------------------------------------------------------------------------------

def test_guaranteed_requests_equal_limits():
    res = {'cpu': '1', 'memory': '1Gi'}
    assert qos_class(pod(container(requests=res, limits=res))) == 'Guaranteed'


def test_guaranteed_with_equal_values_in_other_notation():
    assert qos_class(pod(container(requests={'cpu': '1000m', 'memory': '1024Mi'}, limits={'cpu': '1', 'memory': '1Gi'}))) == 'Guaranteed'


def test_guaranteed_needs_every_container_including_init():
    res = {'cpu': '1', 'memory': '1Gi'}
    assert qos_class(pod(container(requests=res, limits=res), init=[container('i', requests=res, limits=res)])) == 'Guaranteed'
    assert qos_class(pod(container(requests=res, limits=res), init=[container('i')])) == 'Burstable'
    assert qos_class(pod(container(requests=res, limits=res), container('second'))) == 'Burstable'


def test_only_limits_defaults_requests_to_limits():
    assert qos_class(pod(container(limits={'cpu': '2', 'memory': '2Gi'}))) == 'Guaranteed'
    # Partial: limit for memory only -> request == limit for memory, but no cpu limit -> Burstable.
    assert qos_class(pod(container(limits={'memory': '2Gi'}))) == 'Burstable'


def test_guaranteed_compares_sums_across_containers():
    a = container('a', requests={'cpu': '1', 'memory': '1Gi'}, limits={'cpu': '1', 'memory': '2Gi'})
    b = container('b', requests={'cpu': '1', 'memory': '2Gi'}, limits={'cpu': '1', 'memory': '1Gi'})
    # Kubernetes compares the summed requests with the summed limits (3Gi == 3Gi).
    assert qos_class(pod(a, b)) == 'Guaranteed'


# --- Burstable ------------------------------------------------------------------------------------

def test_burstable_request_below_limit():
    assert qos_class(pod(container(requests={'cpu': '1', 'memory': '1Gi'}, limits={'cpu': '1', 'memory': '2Gi'}))) == 'Burstable'


def test_burstable_request_without_limit():
    assert qos_class(pod(container(requests={'memory': '1Gi'}))) == 'Burstable'


def test_burstable_cpu_only():
    assert qos_class(pod(container(requests={'cpu': '100m'}))) == 'Burstable'
    assert qos_class(pod(container(requests={'cpu': '1'}, limits={'cpu': '1'}))) == 'Burstable'


def test_burstable_when_only_one_container_has_resources():
    assert qos_class(pod(container('a'), container('b', requests={'memory': '1Mi'}))) == 'Burstable'


def test_burstable_init_container_only():
    assert qos_class(pod(container(), init=[container('i', requests={'cpu': '10m'})])) == 'Burstable'


def test_ephemeral_containers_are_ignored():
    res = {'cpu': '1', 'memory': '1Gi'}
    debug = [{'name': 'debugger', 'image': 'busybox', 'resources': {'requests': {'memory': '1Gi'}}}]
    assert qos_class(pod(container(requests=res, limits=res), ephemeral=debug)) == 'Guaranteed'
    assert qos_class(pod(container(), ephemeral=debug)) == 'BestEffort'
    assert qos_class(pod(container(), ephemeral='not even a list')) == 'BestEffort'


def test_virt_launcher_pod_is_burstable():
    assert qos_class(launcher_pod()) == 'Burstable'


# --- Pod-level resources (KEP-2837) ---------------------------------------------------------------

def test_pod_level_resources_take_precedence():
    res = {'cpu': '1', 'memory': '1Gi'}
    # Containers alone would be BestEffort; pod-level makes it Guaranteed.
    assert qos_class(pod(container(), resources={'requests': res, 'limits': res})) == 'Guaranteed'
    # Containers alone would be Guaranteed; pod-level requests only make it Burstable.
    assert qos_class(pod(container(requests=res, limits=res), resources={'requests': {'memory': '1Gi'}})) == 'Burstable'


def test_pod_level_limits_only_default_requests_to_limits():
    assert qos_class(pod(container(), resources={'limits': {'cpu': '2', 'memory': '4Gi'}})) == 'Guaranteed'


def test_pod_level_limits_default_requests_from_containers():
    # Pod requests default to what the containers request (1Gi), not to the pod limit (4Gi).
    spec_resources = {'limits': {'cpu': '2', 'memory': '4Gi'}}
    assert qos_class(pod(container(requests={'memory': '1Gi'}), resources=spec_resources)) == 'Burstable'
    equal = pod(container(requests={'memory': '4Gi'}), container('b', requests={'cpu': '2'}), resources=spec_resources)
    assert qos_class(equal) == 'Guaranteed'


def test_pod_level_effective_requests_count_init_and_sidecars():
    limits = {'cpu': '2', 'memory': '4Gi'}
    main = container('main', requests={'memory': '1Gi', 'cpu': '1'})
    big_init = container('init', requests={'memory': '4Gi', 'cpu': '2'})
    # A regular init container runs alone: the pod needs max(1Gi, 4Gi) = 4Gi, which equals the limit.
    assert qos_class(pod(main, init=[big_init], resources={'limits': limits})) == 'Guaranteed'
    # A sidecar (restartPolicy Always) runs alongside: 1Gi + 3Gi = 4Gi and 1 + 1 = 2 cpu.
    sidecar = container('sidecar', requests={'memory': '3Gi', 'cpu': '1'}, restartPolicy='Always')
    assert qos_class(pod(main, init=[sidecar], resources={'limits': limits})) == 'Guaranteed'
    small_sidecar = container('sidecar', requests={'memory': '1Gi', 'cpu': '1'}, restartPolicy='Always')
    assert qos_class(pod(main, init=[small_sidecar], resources={'limits': limits})) == 'Burstable'


def test_pod_level_limits_need_cpu_and_memory():
    assert qos_class(pod(container(), resources={'limits': {'memory': '4Gi'}})) == 'Burstable'


def test_pod_level_resources_ignore_extended_and_zero():
    assert qos_class(pod(container(requests={'memory': '1Gi'}), resources={'requests': {'cpu': '0'}})) == 'BestEffort'
    # A hugepages-only pod limit still triggers request defaulting from the containers.
    assert qos_class(pod(container(requests={'memory': '1Gi'}), resources={'limits': {'hugepages-2Mi': '1Gi'}})) == 'Burstable'


def test_pod_level_null_resources_mean_unset():
    res = {'cpu': '1', 'memory': '1Gi'}
    assert qos_class(pod(container(requests=res, limits=res), resources=None)) == 'Guaranteed'
    explicit_null = pod(container(requests=res, limits=res))
    explicit_null['spec']['resources'] = None
    assert qos_class(explicit_null) == 'Guaranteed'


# --- status.qosClass ------------------------------------------------------------------------------

def test_status_qos_class_wins():
    assert qos_class(pod(container(), status={'qosClass': 'Guaranteed'})) == 'Guaranteed'
    assert compute_qos_class(pod(container(), status={'qosClass': 'Guaranteed'})) == 'BestEffort'


def test_empty_status_qos_class_is_computed():
    assert qos_class(pod(container(requests={'memory': '1Gi'}), status={'qosClass': ''})) == 'Burstable'
    assert qos_class(pod(container(requests={'memory': '1Gi'}), status={'phase': 'Pending'})) == 'Burstable'


@pytest.mark.parametrize('bad', ['guaranteed', 'Best-Effort', 3, True])
def test_invalid_status_qos_class(bad):
    with pytest.raises(PodError, match=r"pod ns/p: status.qosClass is .*; expected one of Guaranteed, Burstable, BestEffort"):
        qos_class(pod(container(), status={'qosClass': bad}))


# --- swap_eligible --------------------------------------------------------------------------------

def test_launcher_pod_is_swap_eligible():
    assert swap_eligible(launcher_pod()) is True


def test_request_without_limit_is_eligible():
    assert swap_eligible(pod(container(requests={'memory': '1Gi'}))) is True


def test_request_below_limit_is_eligible():
    assert swap_eligible(pod(container(requests={'memory': '1Gi'}, limits={'memory': '2Gi'}))) is True


def test_request_equal_to_limit_is_not_eligible():
    # Burstable pod (no cpu limit) but the only memory-requesting container has request == limit.
    assert swap_eligible(pod(container(requests={'memory': '1Gi', 'cpu': '1'}, limits={'memory': '1Gi'}))) is False
    assert swap_eligible(pod(container(requests={'memory': '1024Mi'}, limits={'memory': '1Gi'}), container('x'))) is False


def test_memory_limit_only_means_request_equals_limit():
    assert swap_eligible(pod(container(limits={'memory': '1Gi'}))) is False


def test_no_memory_request_is_not_eligible():
    assert swap_eligible(pod(container(requests={'cpu': '1'}))) is False
    assert swap_eligible(pod(container(requests={'cpu': '1', 'memory': '0'}, limits={'memory': '1Gi'}))) is False


def test_one_eligible_container_is_enough():
    equal = container('a', requests={'memory': '1Gi'}, limits={'memory': '1Gi'})
    free = container('b', requests={'memory': '1Gi'})
    assert swap_eligible(pod(equal, free)) is True
    assert swap_eligible(pod(equal, init=[free])) is True


def test_ephemeral_containers_do_not_make_a_pod_eligible():
    debug = [{'name': 'debug', 'resources': {'requests': {'memory': '1Gi'}}}]
    assert swap_eligible(pod(container(requests={'cpu': '1'}), ephemeral=debug)) is False


def test_guaranteed_and_best_effort_are_not_eligible():
    res = {'cpu': '1', 'memory': '1Gi'}
    assert swap_eligible(pod(container(requests=res, limits=res))) is False
    assert swap_eligible(pod(container())) is False
    assert qos_class(guaranteed_launcher_pod()) == 'Guaranteed'
    assert swap_eligible(guaranteed_launcher_pod()) is False


def test_container_argument_narrows_to_one_container():
    # VM memory request == limit, but the Burstable launcher's helper containers may still swap.
    capped = launcher_pod(memory_request='4Gi', memory_limit='4Gi')
    assert qos_class(capped) == 'Burstable'
    assert swap_eligible(capped) is True
    assert swap_eligible(capped, container='compute') is False
    assert swap_eligible(capped, container='guest-console-log') is True
    assert swap_eligible(capped, container='container-disk-binary') is True
    assert swap_eligible(launcher_pod(), container='compute') is True
    # QoS is still decided by the whole pod.
    assert swap_eligible(guaranteed_launcher_pod(), container='compute') is False


def test_container_argument_errors():
    with pytest.raises(PodError, match="pod ns/p: no container or init container named 'comptue'"):
        swap_eligible(launcher_pod(), container='comptue')
    with pytest.raises(PodError, match='container must be a container name'):
        swap_eligible(launcher_pod(), container=['compute'])


def test_status_qos_class_decides_eligibility():
    assert swap_eligible(pod(container(requests={'memory': '1Gi'}), status={'qosClass': 'Guaranteed'})) is False
    assert swap_eligible(launcher_pod(status={'qosClass': 'Burstable'})) is True


@pytest.mark.parametrize('priority_class', ['system-node-critical', 'system-cluster-critical'])
def test_critical_by_priority_class_name(priority_class):
    critical = launcher_pod(priorityClassName=priority_class)
    assert is_critical_pod(critical) is True
    assert swap_eligible(critical) is False


@pytest.mark.parametrize('priority, critical', [(2000000000, True), (2000001000, True), (1999999999, False), (0, False), (-5, False)])
def test_critical_by_priority(priority, critical):
    candidate = launcher_pod()
    candidate['spec']['priority'] = priority
    assert is_critical_pod(candidate) is critical
    assert swap_eligible(candidate) is (not critical)


def test_other_priority_class_names_are_not_critical():
    assert swap_eligible(launcher_pod(priorityClassName='vm-high')) is True


@pytest.mark.parametrize('annotations, critical', [
    ({'kubernetes.io/config.mirror': 'abc123'}, True),
    ({'kubernetes.io/config.mirror': ''}, True),
    ({'kubernetes.io/config.source': 'file'}, True),
    ({'kubernetes.io/config.source': 'http'}, True),
    ({'kubernetes.io/config.source': 'api'}, False),
    ({'kubevirt.io/domain': 'vm1'}, False),
    ({}, False),
])
def test_static_and_mirror_pods_are_critical(annotations, critical):
    candidate = launcher_pod(annotations=annotations)
    assert is_critical_pod(candidate) is critical
    assert swap_eligible(candidate) is (not critical)


# --- malformed pods -------------------------------------------------------------------------------

def spec_with(**spec):
    return {'metadata': {'name': 'p', 'namespace': 'ns'}, 'spec': spec}


@pytest.mark.parametrize('bad, fragment', [
    ('a pod', 'expected a pod (a mapping with spec.containers), got str'),
    (None, 'expected a pod (a mapping with spec.containers), got NoneType'),
    ([], 'expected a pod (a mapping with spec.containers), got list'),
    ({'metadata': {'name': 'p', 'namespace': 'ns'}}, 'pod ns/p: spec is missing'),
    ({'metadata': {'name': 'p', 'namespace': 'ns'}, 'spec': []}, 'pod ns/p: spec must be a mapping, got list'),
    (spec_with(), 'pod ns/p: spec.containers is missing'),
    (spec_with(containers='app'), 'pod ns/p: spec.containers must be a list, got str'),
    (spec_with(containers={'name': 'app'}), 'pod ns/p: spec.containers must be a list, got dict'),
    (spec_with(containers=[], initContainers='x'), 'pod ns/p: spec.initContainers must be a list, got str'),
    (spec_with(containers=['app']), 'pod ns/p: spec.containers[0] must be a mapping, got str'),
    (spec_with(containers=[{'name': 'app', 'resources': []}]), 'pod ns/p: spec.containers[0] (app).resources must be a mapping'),
    (spec_with(containers=[{'name': 'app', 'resources': {'requests': ['1Gi']}}]),
     'pod ns/p: spec.containers[0] (app).resources.requests must be a mapping, got list'),
    (spec_with(containers=[{'name': 'app', 'resources': {'limits': {'memory': '1 GB'}}}]),
     "pod ns/p: spec.containers[0] (app).resources.limits.memory: invalid quantity '1 GB'"),
    (spec_with(containers=[], initContainers=[{'name': 'i', 'resources': {'requests': {'cpu': 'half'}}}]),
     "pod ns/p: spec.initContainers[0] (i).resources.requests.cpu: invalid quantity 'half'"),
    (spec_with(containers=[], resources={'limits': {'memory': True}}), 'pod ns/p: spec.resources.limits.memory: invalid quantity True'),
    (spec_with(containers=[], resources='big'), 'pod ns/p: spec.resources must be a mapping, got str'),
    ({'metadata': {'name': 'p'}, 'spec': {'containers': 'x'}}, 'pod p: spec.containers must be a list'),
    ({'spec': {'containers': 'x'}}, 'pod (no metadata): spec.containers must be a list'),
    ({'metadata': {'generateName': 'virt-launcher-vm1-', 'namespace': 'vms'}, 'spec': {}}, 'pod vms/virt-launcher-vm1-: spec.containers is missing'),
    ({'metadata': {'name': 'p', 'namespace': 'ns'}, 'spec': {'containers': []}, 'status': 'Running'}, 'pod ns/p: status must be a mapping'),
])
def test_malformed_pods(bad, fragment):
    for function in (qos_class, swap_eligible):
        with pytest.raises(PodError) as caught:
            function(copy.deepcopy(bad))
        assert fragment in str(caught.value), (function.__name__, str(caught.value))


def test_extended_resource_with_bad_quantity_is_ignored():
    # Only cpu and memory are parsed, as only they count.
    assert qos_class(pod(container(requests={'example.com/foo': 'not a number'}))) == 'BestEffort'


@pytest.mark.parametrize('bad', ['high', 1.5, True])
def test_bad_priority(bad):
    with pytest.raises(PodError, match='pod ns/p: spec.priority must be an integer'):
        swap_eligible(launcher_pod(priority=bad))


def test_bad_annotations():
    candidate = launcher_pod()
    candidate['metadata']['annotations'] = ['kubernetes.io/config.mirror']
    with pytest.raises(PodError, match='pod ns/p: metadata.annotations must be a mapping'):
        swap_eligible(candidate)


def test_pod_error_is_a_value_error():
    assert issubclass(PodError, ValueError)


def test_input_is_not_modified():
    candidate = pod(container(limits={'cpu': '1', 'memory': '1Gi'}), resources={'limits': {'cpu': '1', 'memory': '1Gi'}})
    before = copy.deepcopy(candidate)
    qos_class(candidate)
    swap_eligible(candidate)
    assert candidate == before


def test_many_pods_classified_consistently():
    # Speed is measured in benchmarks/python_scaling.py (100,000 pods), not asserted here.
    # 64 VM sizes; each pod its own top-level dict and metadata, specs shared (read-only here).
    templates = [launcher_pod(memory_request='{0}Mi'.format(1024 + size)) for size in range(64)]
    pods = [dict(templates[index % 64], metadata={'name': 'virt-launcher-vm{0}'.format(index), 'namespace': 'vms'})
            for index in range(10000)]
    classes = [qos_class(p) for p in pods]
    eligible = sum(1 for p in pods if swap_eligible(p))
    assert set(classes) == {'Burstable'} and eligible == 10000
