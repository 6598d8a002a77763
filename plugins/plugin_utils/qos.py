# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Pod QoS class and swap eligibility, by Kubernetes' and wasp-agent's rules. Pure Python.

``qos_class`` follows ``GetPodQOS``/``ComputePodQOS`` (k8s.io/kubernetes
pkg/apis/core/helper/qos): ``status.qosClass`` wins when set; otherwise containers plus
init containers (never ephemeral containers), cpu and memory only, quantities <= 0
ignored; pod-level ``spec.resources`` replaces the container values when present.

The input may be an API object (already defaulted by the apiserver) or a hand-written pod
(e.g. a template). Kubernetes' pod defaulting is applied first so both agree: a container
limit without a request means request == limit, and pod-level requests default from
pod-level limits (``SetDefaults_Pod``). Defaulting is idempotent, so defaulted objects are
unaffected.

``swap_eligible`` answers "does at least one container of this pod get swap?" with the
kubelet's ``GetContainerSwapBehavior`` (LimitedSwap) rule, which wasp-agent copies:
a container may swap only if the pod is Burstable, the pod is not critical, and the
container's memory request differs from its memory limit. The share of swap is
proportional to the memory request, so a container needs a request > 0 to get any; with
requests never above limits (API validation) that is: request > 0 and (no limit, or
request < limit).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.ocpv.density.plugins.module_utils.quantity import (
    QuantityError,
    nanos_of_string,
    to_nanos,
)

GUARANTEED = 'Guaranteed'
BURSTABLE = 'Burstable'
BEST_EFFORT = 'BestEffort'
QOS_CLASSES = (GUARANTEED, BURSTABLE, BEST_EFFORT)

QOS_RESOURCES = ('cpu', 'memory')
# scheduling.SystemCriticalPriority; system-cluster-critical is exactly this value,
# system-node-critical is 2000001000.
SYSTEM_CRITICAL_PRIORITY = 2000000000
CRITICAL_PRIORITY_CLASSES = ('system-node-critical', 'system-cluster-critical')
MIRROR_ANNOTATION = 'kubernetes.io/config.mirror'
SOURCE_ANNOTATION = 'kubernetes.io/config.source'
API_SOURCE = 'api'


class PodError(ValueError):
    """A pod object is malformed; the message says what is wrong and which pod."""


def pod_label(pod):
    """``namespace/name`` (or what is known of it) for error messages."""
    metadata = pod.get('metadata') if isinstance(pod, dict) else None
    if not isinstance(metadata, dict):
        return 'pod (no metadata)'
    name = metadata.get('name') or metadata.get('generateName') or '<unnamed>'
    namespace = metadata.get('namespace')
    return 'pod {0}/{1}'.format(namespace, name) if namespace else 'pod {0}'.format(name)


def _fail(pod, message):
    return PodError('{0}: {1}'.format(pod_label(pod), message))


def _mapping(pod, value, where):
    """A nested mapping that may be absent (None -> {}), but must be a dict when present."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(pod, '{0} must be a mapping, got {1}'.format(where, type(value).__name__))
    return value


def _pod_spec(pod):
    if not isinstance(pod, dict):
        raise PodError('expected a pod (a mapping with spec.containers), got {0}'.format(type(pod).__name__))
    spec = pod.get('spec')
    if spec is None:
        raise _fail(pod, 'spec is missing')
    return _mapping(pod, spec, 'spec')


def _containers(pod, spec):
    """Containers then init containers as (key, index, container); ephemeral containers never count."""
    if 'containers' not in spec:
        raise _fail(pod, 'spec.containers is missing')
    result = []
    for key in ('containers', 'initContainers'):
        items = spec.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            raise _fail(pod, 'spec.{0} must be a list, got {1}'.format(key, type(items).__name__))
        for index, container in enumerate(items):
            if not isinstance(container, dict):
                raise _fail(pod, 'spec.{0}[{1}] must be a mapping, got {2}'.format(key, index, type(container).__name__))
            result.append((key, index, container))
    return result


def _location(where):
    """Field path for an error message; ``where`` is a path string or (key, index, container, suffix).

    Built only when something is wrong: formatting a path for every container of 100,000 pods
    would cost more than the QoS computation itself.
    """
    if isinstance(where, str):
        return where
    key, index, container, suffix = where
    name = container.get('name')
    return 'spec.{0}[{1}]{2}.resources{3}'.format(key, index, ' ({0})'.format(name) if name else '', suffix)


def _quantities(pod, resource_list, where):
    """cpu/memory of a requests/limits mapping in nano units (other resources are ignored)."""
    if resource_list is None:
        return {}
    if not isinstance(resource_list, dict):
        raise _fail(pod, '{0} must be a mapping, got {1}'.format(_location(where), type(resource_list).__name__))
    values = {}
    for resource in QOS_RESOURCES:
        if resource in resource_list:
            quantity = resource_list[resource]
            try:
                values[resource] = nanos_of_string(quantity) if type(quantity) is str else to_nanos(quantity)  # pylint: disable=unidiomatic-typecheck
            except QuantityError as exc:
                raise _fail(pod, '{0}.{1}: {2}'.format(_location(where), resource, exc))
    return values


def _container_resources(pod, spec):
    """[(key, index, container, requests, limits)] for containers and init containers, with
    Kubernetes' defaulting: a limit without a request means request == limit."""
    result = []
    for key, index, container in _containers(pod, spec):
        resources = container.get('resources')
        if not resources:
            if resources is not None and not isinstance(resources, dict):
                raise _fail(pod, '{0} must be a mapping, got {1}'.format(_location((key, index, container, '')), type(resources).__name__))
            result.append((key, index, container, {}, {}))
            continue
        if not isinstance(resources, dict):
            raise _fail(pod, '{0} must be a mapping, got {1}'.format(_location((key, index, container, '')), type(resources).__name__))
        requests = _quantities(pod, resources.get('requests'), (key, index, container, '.requests'))
        limits = _quantities(pod, resources.get('limits'), (key, index, container, '.limits'))
        for resource, limit in limits.items():
            requests.setdefault(resource, limit)
        result.append((key, index, container, requests, limits))
    return result


def _effective_container_requests(containers):
    """Pod's effective container requests (AggregateContainerRequests): regular and sidecar
    containers add up; a regular init container runs alone (plus earlier sidecars), so the
    pod needs the maximum of the two."""
    total, sidecars, init_peak = {}, {}, {}
    for key, _index, container, requests, _limits in containers:
        if key == 'containers':
            _add(total, requests)
        elif container.get('restartPolicy') == 'Always':
            _add(total, requests)
            _add(sidecars, requests)
            _max(init_peak, sidecars)
        else:
            running = dict(sidecars)
            _add(running, requests)
            _max(init_peak, running)
    _max(total, init_peak)
    return total


def _add(target, values):
    for resource, value in values.items():
        target[resource] = target.get(resource, 0) + value


def _max(target, values):
    for resource, value in values.items():
        if resource not in target or value > target[resource]:
            target[resource] = value


def _pod_level_resources(pod, spec, containers):
    """(requests, limits) from spec.resources with defaultPodRequests applied."""
    resources = _mapping(pod, spec.get('resources'), 'spec.resources')
    requests = _quantities(pod, resources.get('requests'), 'spec.resources.requests')
    limits = _quantities(pod, resources.get('limits'), 'spec.resources.limits')
    if resources.get('limits'):
        # Any pod-level limit (hugepages too) triggers defaulting: requests left unset default
        # to what the containers request, else to the pod limit.
        for resource, value in _effective_container_requests(containers).items():
            requests.setdefault(resource, value)
        for resource, value in limits.items():
            requests.setdefault(resource, value)
    return requests, limits


def _positive(values):
    return {resource: value for resource, value in values.items() if value > 0}


def _computed_qos(pod, spec, containers):
    if spec.get('resources') is not None:
        # Pod-level resources (KEP-2837): only the pod-level values count.
        pod_requests, pod_limits = _pod_level_resources(pod, spec, containers)
        requests, limits = _positive(pod_requests), _positive(pod_limits)
        # Without positive limits the pod cannot be Guaranteed anyway; with them it needs both.
        guaranteed = set(QOS_RESOURCES) <= set(limits)
    else:
        requests, limits, guaranteed = {}, {}, True
        for _key, _index, _container, container_requests, container_limits in containers:
            for resource, value in container_requests.items():
                if value > 0:
                    requests[resource] = requests.get(resource, 0) + value
            positive_limits = 0
            for resource, value in container_limits.items():
                if value > 0:
                    limits[resource] = limits.get(resource, 0) + value
                    positive_limits += 1
            # Only cpu and memory are kept, so two positive limits mean both are set.
            if positive_limits < len(QOS_RESOURCES):
                guaranteed = False
    if not requests and not limits:
        return BEST_EFFORT
    if guaranteed and len(requests) == len(limits) and all(limits.get(r) == v for r, v in requests.items()):
        return GUARANTEED
    return BURSTABLE


def _recorded_qos(pod):
    """status.qosClass when set (validated), else None."""
    status = _mapping(pod, pod.get('status'), 'status')
    recorded = status.get('qosClass')
    if recorded in (None, ''):
        return None
    if recorded not in QOS_CLASSES:
        raise _fail(pod, 'status.qosClass is {0!r}; expected one of {1}'.format(recorded, ', '.join(QOS_CLASSES)))
    return recorded


def compute_qos_class(pod):
    """QoS class from the pod spec alone (Kubernetes' ComputePodQOS), ignoring status."""
    spec = _pod_spec(pod)
    return _computed_qos(pod, spec, _container_resources(pod, spec))


def qos_class(pod):
    """Kubernetes QoS class of a pod: ``status.qosClass`` when set (GetPodQOS), else computed."""
    if not isinstance(pod, dict):
        raise PodError('expected a pod (a mapping with spec.containers), got {0}'.format(type(pod).__name__))
    return _recorded_qos(pod) or compute_qos_class(pod)


def is_critical_pod(pod):
    """Kubelet's IsCriticalPod: static or mirror pod, or priority >= system-critical.

    ``priorityClassName`` system-node-critical / system-cluster-critical also counts: for a pod
    not yet admitted (a template) the Priority admission plugin would turn it into such a priority.
    """
    spec = _pod_spec(pod)
    metadata = _mapping(pod, pod.get('metadata'), 'metadata')
    annotations = _mapping(pod, metadata.get('annotations'), 'metadata.annotations')
    if MIRROR_ANNOTATION in annotations:
        return True
    source = annotations.get(SOURCE_ANNOTATION)
    if source is not None and source != API_SOURCE:
        return True
    if spec.get('priorityClassName') in CRITICAL_PRIORITY_CLASSES:
        return True
    priority = spec.get('priority')
    if priority is None:
        return False
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise _fail(pod, 'spec.priority must be an integer, got {0!r}'.format(priority))
    return priority >= SYSTEM_CRITICAL_PRIORITY


def container_may_swap(requests, limits):
    """Kubelet LimitedSwap / wasp rule for one container of a Burstable, non-critical pod."""
    request = requests.get('memory', 0)
    limit = limits.get('memory', 0)
    return request > 0 and request != limit


def swap_eligible(pod, container=None):
    """True when at least one container of the pod gets swap (see the module docstring).

    ``container`` limits the question to the container of that name, e.g. ``compute`` of a
    virt-launcher pod: its small helper containers have requests below their limits, so the
    pod as a whole is eligible even when the VM's own container is not.
    """
    if container is not None and not isinstance(container, str):
        raise PodError('container must be a container name (a string), got {0}'.format(type(container).__name__))
    spec = _pod_spec(pod)
    containers = _container_resources(pod, spec)
    selected = containers
    if container is not None:
        selected = [entry for entry in containers if entry[2].get('name') == container]
        if not selected:
            raise _fail(pod, 'no container or init container named {0!r}'.format(container))
    qos = _recorded_qos(pod) or _computed_qos(pod, spec, containers)
    if qos != BURSTABLE or is_critical_pod(pod):
        return False
    return any(container_may_swap(requests, limits) for _k, _i, _c, requests, limits in selected)
