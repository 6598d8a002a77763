# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The density report the verify role writes (density-report.json, the AAP stat): pure logic.

``density_report(reads, settings)`` judges what verify read - the pool's nodes, each node's
``/proc/meminfo`` read in its wasp-agent pod, the wasp-agent DaemonSet, the HyperConverged and
KubeVirt objects, the running VM pods - against the swap plan, and returns the report: one row
per node, totals, the VMs that cannot swap, and every problem in the words the user reads.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.ocpv.density.plugins.module_utils import hco as hco_paths
from ansible_collections.ocpv.density.plugins.plugin_utils import qos
from ansible_collections.ocpv.density.plugins.module_utils.quantity import to_mib

_SWAP_TOTAL = re.compile(r"SwapTotal:\s+([0-9]+)")


def _get(obj, *path, **kw):
    default = kw.get("default")
    for key in path:
        if not isinstance(obj, dict) or obj.get(key) is None:
            return default
        obj = obj[key]
    return obj


def _truncate(text, length=200, end="...", leeway=5):
    """Jinja's truncate: cut at a word boundary, only past ``length + leeway`` characters."""
    if len(text) <= length + leeway:
        return text
    return text[:length - len(end)].rsplit(" ", 1)[0] + end


def swap_total_mib(meminfo):
    """SwapTotal of a /proc/meminfo text in whole MiB, or None when it has none."""
    found = _SWAP_TOTAL.search(meminfo or "")
    return int(found.group(1)) // 1024 if found else None


def _exec_problem(read, pod):
    """Why a pods_exec read of /proc/meminfo failed, or None."""
    rc = read.get("rc", read.get("return_code", 0))
    if not read.get("failed") and rc == 0:
        return None
    why = read["msg"] if "msg" in read else read.get("stderr", "exec failed")
    return "cannot read /proc/meminfo in pod %s: %s" % (pod, _truncate(str(why)))


def _agent_problems(settings, daemonset, node_count, swap_mc_rolled_out):
    if not settings["agent"]:
        if not swap_mc_rolled_out:
            return ["pool %s has not rolled out a configuration with the swap MachineConfig" % settings["pool"]]
        return []
    if not daemonset:
        return ["DaemonSet %s/%s does not exist" % (settings["namespace"], settings["daemonset"])]
    status = daemonset.get("status") or {}
    desired, ready, updated = (status.get(k, 0) for k in ("desiredNumberScheduled", "numberReady", "updatedNumberScheduled"))
    if not desired == ready == updated == node_count:
        return ["DaemonSet %s: desired %s, updated %s, ready %s, pool nodes %s"
                % (settings["daemonset"], desired, updated, ready, node_count)]
    return []


def _node_row(node, settings, plan, pod_by_node, reads):
    name = node["metadata"]["name"]
    alloc = to_mib(_get(node, "status", "allocatable", "memory", default=0))
    pod = pod_by_node.get(name)
    read = reads.get(pod or "", {})
    swap_mib = swap_total_mib(read.get("stdout"))
    want = plan.get(name, {}).get("swap_mib")
    problem = None
    if settings["agent"]:
        if pod is None:
            problem = "no running wasp-agent pod on the node"
        else:
            problem = _exec_problem(read, pod)
            if problem is None and swap_mib is None:
                problem = "no SwapTotal in /proc/meminfo"
            elif problem is None and swap_mib != want:
                problem = "swap %s MiB, planned %s MiB" % (swap_mib, want)
    return dict(name=name, memory_mib=plan.get(name, {}).get("memory_mib"), swap_planned_mib=want, swap_mib=swap_mib,
                allocatable_memory_mib=alloc, schedulable_vm_memory_mib=alloc * settings["overcommit"] // 100,
                wasp_agent_pod=pod, ok=problem is None, problem=problem)


def _vm_name(pod):
    metadata = pod.get("metadata") or {}
    return ((metadata.get("labels") or {}).get("vm.kubevirt.io/name")
            or (metadata.get("annotations") or {}).get("kubevirt.io/domain") or metadata.get("name"))


def density_report(reads, settings, generated_at):
    """The report.

    ``reads``: ``nodes`` (the pool's Node objects), ``pools``, ``plan`` (swap_size's nodes:
    name, memory_mib, swap_mib), ``daemonset`` (or None), ``agent_pods``, ``meminfo`` (pods_exec
    results, each with ``pod``), ``hco`` and ``kubevirt`` (or None), ``vm_pods``.
    ``settings``: ``overcommit``, ``pool``, ``agent`` (a wasp-agent is expected), ``namespace``,
    ``daemonset``, ``swap_machineconfig``, ``hco_name``, ``hco_namespace``, ``hco_api_version``,
    ``cluster`` (preflight_cluster, may be empty).
    """
    overcommit = int(settings["overcommit"])
    settings = dict(settings, overcommit=overcommit)
    nodes = reads.get("nodes") or []
    plan = dict((row["name"], row) for row in reads.get("plan") or [])
    reads_by_pod = dict((read.get("pod"), read) for read in reads.get("meminfo") or [])
    pod_by_node = dict((_get(pod, "spec", "nodeName"), _get(pod, "metadata", "name"))
                       for pod in reads.get("agent_pods") or [] if _get(pod, "spec", "nodeName"))
    pool = [p for p in reads.get("pools") or [] if _get(p, "metadata", "name") == settings["pool"]]
    pool = pool[0] if pool else {}
    swap_mc_rolled_out = (
        settings["swap_machineconfig"] in [s.get("name") for s in _get(pool, "status", "configuration", "source", default=[])]
        and any(c.get("type") == "Updated" and c.get("status") == "True"
                for c in _get(pool, "status", "conditions", default=[])))

    problems = _agent_problems(settings, reads.get("daemonset"), len(nodes), swap_mc_rolled_out)
    if not nodes:
        problems.append("pool %s has no nodes" % settings["pool"])
    rows = [_node_row(node, settings, plan, pod_by_node, reads_by_pod) for node in nodes]
    problems.extend("node %s: %s" % (row["name"], row["problem"]) for row in rows if row["problem"] is not None)

    hco, kubevirt = reads.get("hco"), reads.get("kubevirt")
    hc_value = hco_paths.hco_overcommit(hco, settings["hco_api_version"]) if hco else None
    kv_value = _get(kubevirt, "spec", "configuration", "developerConfiguration", "memoryOvercommit")
    if not hco:
        problems.append("HyperConverged %s/%s not found" % (settings["hco_namespace"], settings["hco_name"]))
    elif int(hc_value or 100) != overcommit:
        problems.append("HyperConverged memoryOvercommitPercentage is %s, expected %s" % (hc_value, overcommit))
    if int(kv_value or 100) != overcommit:
        problems.append("KubeVirt memoryOvercommit is %s, expected %s" % (kv_value, overcommit))

    vm_pods = reads.get("vm_pods") or []
    not_eligible = []
    for pod in vm_pods:
        if qos.swap_eligible(pod):
            continue
        qos_class, vm = qos.qos_class(pod), _vm_name(pod)
        namespace = _get(pod, "metadata", "namespace")
        not_eligible.append(dict(namespace=namespace, vm=vm, pod=_get(pod, "metadata", "name"),
                                 node=_get(pod, "spec", "nodeName"), qos_class=qos_class,
                                 label="%s/%s (%s)" % (namespace, vm, qos_class)))

    cluster = settings.get("cluster") or {}
    status = (reads.get("daemonset") or {}).get("status") or {}
    return {
        "generated_at": generated_at,
        "cluster": {"ocp_version": cluster.get("ocp_version"), "profile": _get(cluster, "profile", "name"),
                    "topology": cluster.get("topology")},
        "pool": settings["pool"],
        "overcommit": overcommit,
        "hco": {"name": "%s/%s" % (settings["hco_namespace"], settings["hco_name"]),
                "api_version": settings["hco_api_version"],
                "memoryOvercommitPercentage": hc_value, "kubevirt_memoryOvercommit": kv_value},
        "wasp_agent": {"daemonset": "%s/%s" % (settings["namespace"], settings["daemonset"]),
                       "desired": status.get("desiredNumberScheduled", 0),
                       "updated": status.get("updatedNumberScheduled", 0),
                       "ready": status.get("numberReady", 0)},
        "nodes": rows,
        "totals": {"nodes": len(nodes),
                   "memory_mib": sum(int(row["memory_mib"] or 0) for row in rows),
                   "swap_mib": sum(int(row["swap_mib"] or 0) for row in rows),
                   "allocatable_memory_mib": sum(row["allocatable_memory_mib"] for row in rows),
                   "schedulable_vm_memory_mib": sum(row["schedulable_vm_memory_mib"] for row in rows)},
        "vms": {"running": len(vm_pods), "swap_eligible": len(vm_pods) - len(not_eligible),
                "not_swap_eligible": not_eligible},
        "problems": problems,
        "ok": not problems,
    }
