"""The emulated nodes of each cluster topology: one table, read by cluster.py (which creates the
Node objects and their <run>/nodes/<node>/proc/meminfo) and by anyone who needs to know what a
topology looks like (tests, docs).

    ha       3 masters (tainted NoSchedule) + 4 workers of varied RAM   (a usual OpenShift cluster)
    compact  3 masters that are also workers, untainted                 (three-node cluster)
    sno      1 node, master + worker, untainted                         (single-node OpenShift)
    hcp      4 workers, no masters (the control plane is hosted)        (HyperShift / HCP)

Labels and taints are what OpenShift 4.x puts on its nodes (kubelet well-known labels, the
installer's node-role labels, `node.openshift.io/os_id`; openshift/installer, openshift/api).
"""

TOPOLOGIES = ("ha", "compact", "sno", "hcp")
KUBELET_VERSION = "v1.36.3"  # what the built control plane is; kwok reports it as the kubelet's

# name, roles, cpu, memory, ephemeral-storage, max pods
_WORKERS = (
    ("worker-0", ("worker",), "8", "16Gi", "120Gi", "250"),
    ("worker-1", ("worker",), "8", "32Gi", "120Gi", "250"),
    ("worker-2", ("worker",), "16", "64Gi", "240Gi", "250"),
    ("worker-3", ("worker",), "64", "256Gi", "480Gi", "250"),
)
_MASTERS = tuple((f"master-{i}", ("master",), "8", "16Gi", "120Gi", "250") for i in range(3))
_COMPACT = tuple((f"master-{i}", ("master", "worker"), "16", "64Gi", "240Gi", "250") for i in range(3))
_SNO = (("master-0", ("master", "worker"), "32", "128Gi", "480Gi", "250"),)

_TABLE = {
    "ha": _MASTERS + _WORKERS,
    "compact": _COMPACT,
    "sno": _SNO,
    "hcp": _WORKERS,
}

MASTER_TAINT = {"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"}


class NodeSpec:
    def __init__(self, name, roles, cpu, memory, ephemeral_storage, pods):
        self.name, self.roles = name, tuple(roles)
        self.cpu, self.memory, self.ephemeral_storage, self.pods = cpu, memory, ephemeral_storage, pods

    @property
    def schedulable_worker(self):
        """Ordinary workload pods (and a DaemonSet without tolerations) land here."""
        return "worker" in self.roles and not self.taints

    @property
    def taints(self):
        # OpenShift taints masters unless they are also workers (compact, SNO).
        return [dict(MASTER_TAINT)] if "master" in self.roles and "worker" not in self.roles else []

    @property
    def labels(self):
        labels = {
            "kubernetes.io/hostname": self.name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux",
            "beta.kubernetes.io/arch": "amd64",
            "node.openshift.io/os_id": "rhcos",
        }
        if "master" in self.roles:
            labels["node-role.kubernetes.io/master"] = ""
            labels["node-role.kubernetes.io/control-plane"] = ""
        if "worker" in self.roles:
            labels["node-role.kubernetes.io/worker"] = ""
        return labels

    @property
    def memory_bytes(self):
        return _bytes(self.memory)

    def resources(self):
        return {"cpu": self.cpu, "memory": self.memory, "ephemeral-storage": self.ephemeral_storage,
                "pods": self.pods}

    def node_object(self):
        """The Node as a kubelet would register it (status included; kwok keeps it Ready)."""
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.name,
                "labels": self.labels,
                "annotations": {"node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake"},
            },
            "spec": {"taints": self.taints} if self.taints else {},
            "status": {
                "capacity": self.resources(),
                "allocatable": self.resources(),
                "nodeInfo": {
                    "kubeletVersion": KUBELET_VERSION,
                    "kubeProxyVersion": KUBELET_VERSION,
                    "architecture": "amd64",
                    "operatingSystem": "linux",
                    "osImage": "Red Hat Enterprise Linux CoreOS (emulated by ocpv.density localcluster)",
                    "containerRuntimeVersion": "cri-o://emulated",
                    "kernelVersion": "5.14.0-emulated",
                    "machineID": "", "systemUUID": "", "bootID": "",
                },
            },
        }

    def meminfo(self, swap_kb=0):
        """Initial /proc/meminfo of the emulated node: MemTotal from capacity, no swap."""
        total = self.memory_bytes // 1024
        free = total * 9 // 10
        return (f"MemTotal:       {total:>10} kB\n"
                f"MemFree:        {free:>10} kB\n"
                f"MemAvailable:   {free:>10} kB\n"
                f"SwapCached:     {0:>10} kB\n"
                f"SwapTotal:      {swap_kb:>10} kB\n"
                f"SwapFree:       {swap_kb:>10} kB\n")

    def __repr__(self):
        return f"NodeSpec({self.name}, {'+'.join(self.roles)}, {self.memory})"


def _bytes(quantity):
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return int(quantity[:-2]) * factor
    return int(quantity)


def nodes(topology):
    """[NodeSpec] for a topology."""
    if topology not in _TABLE:
        raise ValueError(f"unknown topology {topology!r}; choose one of {', '.join(TOPOLOGIES)}")
    return [NodeSpec(*row) for row in _TABLE[topology]]


def schedulable_workers(topology):
    return [n.name for n in nodes(topology) if n.schedulable_worker]
