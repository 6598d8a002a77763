# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""What preflight reads from the cluster, and what it makes of it: the one place.

``read_plan`` says which objects to read, in order (a read that needs an earlier answer - the
HyperConverged CR needs the API version its CRD serves - comes only once that answer is there);
``slim`` keeps only the fields used (a 500-node cluster's Node objects are mostly images and
conditions); ``assess`` turns the objects into the ``preflight_cluster`` contract the roles read,
or into the refusal the user sees. Pure: the module ``ocpv.density.cluster_facts`` does the reads,
its action plugin calls ``assess`` on the controller, and offline rendering (render_dir with
density_profile) calls ``assess`` with no objects, so the contract is written once.

Refusals keep the order in which a run checks them: the first one wins, as later checks build on
earlier facts (no pool is chosen on a cluster that is not OpenShift). A read that failed is a
refusal at its own place in that order: a cluster that is not OpenShift says so even when the
reads after the Infrastructure are forbidden.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.ocpv.density.plugins.module_utils import fields
from ansible_collections.ocpv.density.plugins.module_utils import hco as hco_paths
from ansible_collections.ocpv.density.plugins.module_utils import pools as mco_pools
from ansible_collections.ocpv.density.plugins.module_utils import profiles as profile_table
from ansible_collections.ocpv.density.plugins.module_utils.swap_plan import SwapPlanError, plan_swap
from ansible_collections.ocpv.density.plugins.module_utils.upgrade import swap_pool_refusal

# HCO deploys its own wasp-agent from HCO 1.16 (OpenShift Virtualization 4.20) while the
# overcommit is > 100; from HCO 1.18 (4.22) not when the HyperConverged carries the autopilot
# annotation (../reference/openshift-apis.md §1).
HCO_WASP_CNV_MIN = "4.20"
AUTOPILOT_CNV_MIN = "4.22"
# HCO 1.19 (OpenShift Virtualization 4.23) has no wasp-agent handlers: HCO PR #4528 (CNV-95803,
# cherry-picked to release-1.19 as #4535; #4538 drops the image) "Auto-pilot is now enabled by
# default, and is responsible for WASP" (profiles.yml row autopilot).
HCO_WASP_CNV_END = "4.23"
AUTOPILOT_ANNOTATION = "platform.kubevirt.io/autopilot"
AUTOPILOT_OPT_IN = ("true", "swap-enable")

HCO_CRD = "hyperconvergeds.hco.kubevirt.io"
FIRST_READ = "the Infrastructure, the first request of the run"
COMPACT_NOTICE = ("Compact cluster: the control-plane nodes also carry the worker role and are all in the "
                  "'master' pool (the 'worker' pool has no machines), so swap goes to pool 'master'.")
NOTHING = "Nothing was changed."

# The options of ocpv.density.cluster_facts that assess() reads (the module itself only reads the
# cluster; its action plugin assesses).
ASSESS_ARGUMENT_SPEC = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    overcommit=dict(type="int"),
    density_profile=dict(type="str", default=""),
    swap_pool=dict(type="str", default=""),
    hco_name=dict(type="str", default="kubevirt-hyperconverged"),
    namespace_name=dict(type="str", default="wasp"),
    wasp_agent_image=dict(type="str", default=""),
    swap_disk_check=dict(type="bool", default=True),
    hco_api_version=dict(type="str", default=""),
    offline=dict(type="bool", default=False),
)

# Fields kept per read (slim); reads not listed keep whole objects.
_KEEP = {
    "nodes": (("metadata", "name"), ("metadata", "labels"), ("status", "capacity", "memory"),
              ("status", "capacity", "ephemeral-storage")),
    "csvs": (("metadata", "name"), ("spec", "version"), ("spec", "relatedImages")),
    "wasp_daemonsets": (("metadata", "name"), ("metadata", "namespace")),
    "kubeletconfigs": (("metadata", "name"), ("spec", "machineConfigPoolSelector")),
}


class Refusal(Exception):
    """Preflight refuses the run; the message is the user's."""


def _first(read):
    return ((read or {}).get("resources") or [None])[0]


def _get(obj, *path):
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def chosen_hco(hcos, name):
    """The HyperConverged named ``name``, else the first one, else None."""
    hcos = hcos or []
    return next((h for h in hcos if _get(h, "metadata", "name") == name), hcos[0] if hcos else None)


def read_plan(objects, hco_name):
    """The reads, in order, as (key, k8s_info-style arguments). A generator over ``objects`` (the
    answers so far, key -> {'api_found', 'resources'}), which the caller fills in between reads."""
    yield "infrastructure", dict(api_version="config.openshift.io/v1", kind="Infrastructure", name="cluster")
    yield "clusterversion", dict(api_version="config.openshift.io/v1", kind="ClusterVersion", name="version")
    yield "pools", dict(api_version="machineconfiguration.openshift.io/v1", kind="MachineConfigPool")
    yield "hco_crd", dict(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition", name=HCO_CRD)
    crd = _first(objects.get("hco_crd"))
    version = profile_table.hco_api_version(crd, list(hco_paths.OVERCOMMIT_PATHS)) if crd else ""
    if version:
        yield "hcos", dict(api_version="hco.kubevirt.io/" + version, kind="HyperConverged")
    hco = chosen_hco((objects.get("hcos") or {}).get("resources"), hco_name)
    if hco:
        yield "csvs", dict(api_version="operators.coreos.com/v1alpha1", kind="ClusterServiceVersion",
                           namespace=_get(hco, "metadata", "namespace"))
    # virt-platform-autopilot's swap MachineConfig shows that the autopilot manages swap (and HCO
    # deploys no wasp-agent): plugins/module_utils/profiles.yml row autopilot has the sources.
    yield "autopilot_mcs", dict(api_version="machineconfiguration.openshift.io/v1", kind="MachineConfig",
                                name=profile_table.AUTOPILOT_SWAP_MACHINECONFIG)
    # Every DaemonSet named wasp-agent (ours, a manual one, HCO's).
    yield "wasp_daemonsets", dict(api_version="apps/v1", kind="DaemonSet", field_selectors=["metadata.name=wasp-agent"])
    yield "nodes", dict(api_version="v1", kind="Node")
    yield "kubeletconfigs", dict(api_version="machineconfiguration.openshift.io/v1", kind="KubeletConfig")


READ_WHAT = {
    "infrastructure": FIRST_READ,
    "clusterversion": "the ClusterVersion",
    "pools": "the MachineConfigPools",
    "hco_crd": "the HyperConverged CRD",
    "hcos": "the HyperConverged CR",
    "csvs": "the OpenShift Virtualization ClusterServiceVersion",
    "autopilot_mcs": "virt-platform-autopilot's swap MachineConfig",
    "wasp_daemonsets": "the wasp-agent DaemonSets",
    "nodes": "the nodes",
    "kubeletconfigs": "the KubeletConfigs",
}


def slim(key, resources):
    """Only the fields ``assess`` uses of a read's objects."""
    paths = _KEEP.get(key)
    return list(resources) if paths is None else [fields.pick(obj, paths) for obj in resources]


def _at_least(version, minimum):
    try:
        return profile_table.parse_minor(version) >= profile_table.parse_minor(minimum)
    except profile_table.ProfileError:
        return False


def _hco_deploys_wasp(csv_version, hco):
    """OpenShift Virtualization deploys wasp-agent itself once memoryOvercommitPercentage > 100."""
    if not csv_version or not _at_least(csv_version, HCO_WASP_CNV_MIN) or _at_least(csv_version, HCO_WASP_CNV_END):
        return False
    opt_in = str((_get(hco, "metadata", "annotations") or {}).get(AUTOPILOT_ANNOTATION, ""))
    return not (_at_least(csv_version, AUTOPILOT_CNV_MIN) and
                any(part.strip() in AUTOPILOT_OPT_IN for part in opt_in.split(",")))


def _choose_profile(inputs, profiles, ocp_version, csv_version, autopilot_mcs):
    """(the run's profile row or {}, the row OpenShift's version alone picks or {})."""
    if inputs.get("density_profile"):
        try:
            return profile_table.get_profile(inputs["density_profile"], profiles), {}
        except profile_table.ProfileError as exc:
            raise Refusal("%s. %s" % (exc, NOTHING))
    autopilot = bool(profile_table.autopilot_swap_machineconfig(autopilot_mcs))
    rows = []
    for kwargs in (dict(cnv_version=csv_version or None, autopilot=autopilot), {}):
        try:
            rows.append(profile_table.detect_profile(ocp_version, profiles, **kwargs))
        except profile_table.ProfileError:
            rows.append({})
    return rows[0], rows[1]


class _Assessment(object):
    """One assessment: the facts so far, the notices, and each check as a method in run order."""

    def __init__(self, objects, inputs, profiles):
        self.objects = objects
        self.inputs = inputs
        self.profiles = profiles
        self.state = inputs.get("state") or "present"
        self.present = self.state == "present"
        self.notices = []

    def read(self, key):
        """The resources of read ``key``; its failure is the refusal here."""
        error = self.objects.get("read_error") or {}
        if error.get("read") == key:
            raise Refusal(error.get("msg") or "reading %s failed" % READ_WHAT.get(key, key))
        return self.objects.get(key) or {"api_found": False, "resources": []}

    def run(self):
        self.cluster()
        self.hyperconverged()
        self.profile()
        self.pool()
        self.plan()
        return self.facts()

    def cluster(self):
        infrastructure = self.read("infrastructure")
        if not infrastructure["api_found"] or not infrastructure["resources"]:
            raise Refusal("This is not an OpenShift cluster: the config.openshift.io/v1 Infrastructure 'cluster' is "
                          "not served. ocpv.density needs OpenShift with the Machine Config Operator and OpenShift "
                          "Virtualization.")
        self.topology = _get(infrastructure["resources"][0], "status", "controlPlaneTopology") or "HighlyAvailable"
        if self.topology == "External":
            raise Refusal("This is a hosted control plane (HCP/HyperShift) cluster (Infrastructure "
                          "status.controlPlaneTopology is External). Machine configuration is not managed inside a "
                          "hosted cluster: swap and the KubeletConfig go through NodePool.spec.config on the "
                          "management cluster, which ocpv.density does not manage. " + NOTHING)
        cv = _first(self.read("clusterversion")) or {}
        history = _get(cv, "status", "history") or [{}]
        self.ocp_version = str(_get(cv, "status", "desired", "version") or (history[0] or {}).get("version") or "")
        if not self.ocp_version:
            raise Refusal("Cannot read the OpenShift version (ClusterVersion 'version' status.desired.version is "
                          "empty or the ClusterVersion is missing).")
        pools = self.read("pools")
        if not pools["api_found"] or not pools["resources"]:
            raise Refusal("The MachineConfig API is not available (no MachineConfigPools are served or none exist). "
                          "This happens on hosted control planes and on clusters without the Machine Config "
                          "Operator; ocpv.density needs it to provision swap. " + NOTHING)
        self.pools = pools["resources"]

    def hyperconverged(self):
        crd = _first(self.read("hco_crd"))
        if not crd:
            raise Refusal("OpenShift Virtualization is not installed: the HyperConverged CRD (%s) does not exist. "
                          "Install the OpenShift Virtualization operator and create the HyperConverged CR first. %s"
                          % (HCO_CRD, NOTHING))
        known = list(hco_paths.OVERCOMMIT_PATHS)
        # The newest served version the collection knows, never the storage version (profiles.hco_api_version).
        self.hco_api_version = profile_table.hco_api_version(crd, known)
        if not self.hco_api_version:
            served = [v.get("name", "") for v in _get(crd, "spec", "versions") or [] if v.get("served")]
            raise Refusal("The HyperConverged CRD serves version(s) %s; ocpv.density knows the "
                          "memoryOvercommitPercentage path for %s only. %s" % (", ".join(served), ", ".join(known), NOTHING))
        hcos = self.read("hcos")["resources"]
        if not hcos:
            raise Refusal("OpenShift Virtualization is installed but no HyperConverged CR exists; create "
                          "kubevirt-hyperconverged (namespace openshift-cnv) first. " + NOTHING)
        self.hco = chosen_hco(hcos, self.inputs.get("hco_name"))
        csv = next((c for c in self.read("csvs")["resources"]
                    if re.match("kubevirt-hyperconverged", str(_get(c, "metadata", "name") or ""))), {})
        self.csv_version = str(_get(csv, "spec", "version") or "")
        self.csv_wasp_image = next((str(i.get("image", "")) for i in _get(csv, "spec", "relatedImages") or []
                                    if isinstance(i, dict) and re.search("wasp-agent", str(i.get("name", "")))), "")

    def profile(self):
        # state=absent ignores the autopilot's MachineConfig, so what an earlier run wrote is still
        # taken back by its version's profile.
        mcs = [mc for mc in self.read("autopilot_mcs")["resources"] if not _get(mc, "metadata", "deletionTimestamp")]
        autopilot_mcs = mcs if self.present else []
        profiles = self.profiles
        profile, by_ocp = _choose_profile(self.inputs, profiles, self.ocp_version, self.csv_version, autopilot_mcs)
        if not profile and by_ocp:
            raise Refusal("OpenShift %s uses profile %s (%s), which needs OpenShift Virtualization %s or later, but %s "
                          "is installed. Finish the OpenShift Virtualization upgrade, or set density_profile to one "
                          "of: %s. %s" % (self.ocp_version, by_ocp["name"], by_ocp.get("description", ""),
                                          (by_ocp.get("cnv") or {}).get("min", ""), self.csv_version,
                                          ", ".join(profiles), NOTHING))
        if not profile:
            spans = ", ".join("%s (OpenShift %s)" % (name, profile_table.release_span(row))
                              for name, row in profiles.items())
            raise Refusal("No profile fits OpenShift %s. Set density_profile to one of: %s "
                          "(plugins/module_utils/profiles.yml). %s" % (self.ocp_version, spans, NOTHING))
        if not profile.get("implemented"):
            raise Refusal("Profile %s (%s) is in the profile table but not implemented by this version of "
                          "ocpv.density yet; implemented profiles: %s. OpenShift %s. %s"
                          % (profile["name"], profile.get("description", ""),
                             ", ".join(n for n, r in profiles.items() if r.get("implemented")), self.ocp_version,
                             NOTHING))
        if self.present and autopilot_mcs and not profile.get("autopilot_compatible", True):
            raise Refusal("virt-platform-autopilot manages swap on this cluster: its MachineConfig %s writes "
                          "/etc/openshift/kubelet.conf.d/90-swap.conf (LimitedSwap), and HCO deploys no wasp-agent "
                          "next to it. Profile %s would write a second drop-in at that path (the MachineConfig later "
                          "by name wins) or wait for an agent that never comes. Let the autopilot manage swap, or opt "
                          "it out of 90-worker-swap-online (annotation platform.kubevirt.io/disabled-resources on the "
                          "HyperConverged) and use density_profile=native: HCO deploys no wasp-agent while the "
                          "autopilot annotation is set. %s"
                          % (", ".join(_get(mc, "metadata", "name") for mc in autopilot_mcs), profile["name"], NOTHING))
        if profile.get("unsupported"):
            self.notices.append(profile["unsupported"])
        self.profile_row = profile
        wasp = profile.get("wasp_agent") or {}
        # HCO >= 1.18 deploys no wasp-agent once the HyperConverged opts in to the autopilot
        # (profiles.yml row autopilot has the source), also while the autopilot's MachineConfig is
        # opted out or not written yet: a profile that hands the agent to HCO would wait for nothing.
        annotation = (_get(self.hco, "metadata", "annotations") or {}).get(AUTOPILOT_ANNOTATION)
        if self.present and wasp.get("provider") == "hco" and _at_least(self.csv_version, HCO_WASP_CNV_END):
            raise Refusal("OpenShift Virtualization %s deploys no wasp-agent: HCO 1.19 and later has none (HCO PR "
                          "#4528, on release-1.19 #4535; virt-platform-autopilot is responsible for swap and on by "
                          "default), and on upgrade it removes the one an earlier HCO deployed. The autopilot's "
                          "MachineConfig %s is not there (%s). Profile %s hands wasp-agent over to HCO and would "
                          "wait for an agent that never comes. Let the autopilot manage swap (remove that "
                          "annotation; profile autopilot is not implemented by ocpv.density yet), or use "
                          "density_profile=native (kubelet LimitedSwap, no agent; unsupported). %s"
                          % (self.csv_version, profile_table.AUTOPILOT_SWAP_MACHINECONFIG,
                             ("the HyperConverged carries %s=%s, or platform.kubevirt.io/disabled-resources lists it"
                              % (AUTOPILOT_ANNOTATION, annotation)) if annotation is not None else
                             "platform.kubevirt.io/disabled-resources on the HyperConverged lists it, or the "
                             "autopilot has not written it yet", profile["name"], NOTHING))
        if (self.present and wasp.get("provider") == "hco" and _at_least(self.csv_version, HCO_WASP_CNV_MIN)
                and not _hco_deploys_wasp(self.csv_version, self.hco)):
            raise Refusal("OpenShift Virtualization %s deploys no wasp-agent on this cluster: the HyperConverged "
                          "carries the annotation %s=%s (virt-platform-autopilot manages swap), and the autopilot's "
                          "MachineConfig %s is not there (opted out with platform.kubevirt.io/disabled-resources, or "
                          "not written yet). Profile %s hands wasp-agent over to HCO and would wait for an agent that "
                          "never comes. Remove that annotation so that HCO deploys its wasp-agent, or use "
                          "density_profile=native (kubelet LimitedSwap, no agent). %s"
                          % (self.csv_version, AUTOPILOT_ANNOTATION,
                             (_get(self.hco, "metadata", "annotations") or {}).get(AUTOPILOT_ANNOTATION, ""),
                             profile_table.AUTOPILOT_SWAP_MACHINECONFIG, profile["name"], NOTHING))
        self.daemonset_namespaces = [_get(ds, "metadata", "namespace") for ds in self.read("wasp_daemonsets")["resources"]]
        if self.present and wasp.get("exclusive") and (self.daemonset_namespaces or
                                                       _hco_deploys_wasp(self.csv_version, self.hco)):
            if self.daemonset_namespaces:
                why = "wasp-agent runs in namespace(s) " + ", ".join(self.daemonset_namespaces)
            else:
                why = ("OpenShift Virtualization %s (HCO >= 1.16) deploys wasp-agent itself as soon as "
                       "memoryOvercommitPercentage is above 100, unless the HyperConverged carries the annotation "
                       "%s (HCO >= 1.18)" % (self.csv_version, AUTOPILOT_ANNOTATION))
            raise Refusal("density_profile=%s (kubelet LimitedSwap) cannot be combined with wasp-agent (they are "
                          "mutually exclusive), but %s. Remove wasp-agent first (state=absent with the profile that "
                          "deployed it), or use a wasp profile. %s" % (profile["name"], why, NOTHING))

    def pool(self):
        nodes = self.read("nodes")["resources"]
        names = [_get(p, "metadata", "name") for p in self.pools]
        requested = self.inputs.get("swap_pool") or ""
        if requested and requested not in names:
            raise Refusal("swap_pool '%s' is not a MachineConfigPool of this cluster; pools: %s. %s"
                          % (requested, ", ".join(names), NOTHING))
        if self.topology == "SingleReplica" and requested != "master":
            raise Refusal("This is Single Node OpenShift (controlPlaneTopology SingleReplica): its only node is in "
                          "the 'master' pool, and enabling swap reboots it (the API is unavailable meanwhile). Set "
                          "swap_pool=master explicitly to accept that. " + NOTHING)
        workers = mco_pools.pool_nodes(nodes, self.pools, "worker")
        masters = mco_pools.pool_nodes(nodes, self.pools, "master")
        # Compact: no node in the worker pool, and every master-pool node also carries the worker role.
        self.compact = (self.topology != "SingleReplica" and not workers and bool(masters) and
                        all("node-role.kubernetes.io/worker" in (_get(n, "metadata", "labels") or {}) for n in masters))
        self.pool_name = requested or ("master" if self.compact else "worker")
        if self.compact and self.pool_name == "master" and not requested:
            self.notices.append(COMPACT_NOTICE)
        self.pool_object = next((p for p in self.pools if _get(p, "metadata", "name") == self.pool_name), None)
        if self.pool_object is None:
            raise Refusal("MachineConfigPool '%s' does not exist; pools: %s. Set swap_pool. %s"
                          % (self.pool_name, ", ".join(names), NOTHING))
        pool, status = self.pool_object, self.pool_object.get("status") or {}
        self.pool_nodes = mco_pools.pool_nodes(nodes, self.pools, self.pool_name)
        if not self.pool_nodes:
            raise Refusal("MachineConfigPool '%s' has no nodes (machineCount %s); there is nothing to enable swap "
                          "on. %s%s" % (self.pool_name, status.get("machineCount", 0),
                                        "On a compact cluster use swap_pool=master (or leave swap_pool empty). "
                                        if self.compact else "", NOTHING))
        # On 4.21/4.22 the master kubelet reads no drop-in and keeps failSwapOn: true (profile row
        # kubelet_dropin_read_since; plugins/module_utils/upgrade.py decides).
        try:
            refusal = swap_pool_refusal(self.profile_row, self.pool_name, self.ocp_version, self.state)
        except profile_table.ProfileError as exc:
            refusal = "%s. %s" % (exc, NOTHING)
        if refusal:
            raise Refusal(refusal)
        if str(_get(pool, "spec", "paused")).lower() in ("true", "yes", "on", "1"):
            raise Refusal("MachineConfigPool '%s' is paused (spec.paused: true). Someone is holding its updates back; "
                          "unpause it (or finish that work) before enabling swap, which needs one rollout. %s"
                          % (self.pool_name, NOTHING))
        degraded = [c for c in status.get("conditions") or [] if isinstance(c, dict)
                    and c.get("type") in ("Degraded", "NodeDegraded", "RenderDegraded") and c.get("status") == "True"]
        if degraded or int(status.get("degradedMachineCount") or 0) > 0:
            raise Refusal("MachineConfigPool '%s' is degraded (%s: %s; degradedMachineCount %s). Fix the pool first "
                          "(oc describe mcp %s). %s"
                          % (self.pool_name, ", ".join(c["type"] for c in degraded),
                             "; ".join(str(c.get("message", "")) for c in degraded) or "no message",
                             status.get("degradedMachineCount", 0), self.pool_name, NOTHING))
        kubeletconfigs = mco_pools.kubeletconfigs_for_pool(self.read("kubeletconfigs")["resources"],
                                                           _get(pool, "metadata", "labels") or {})
        if len(kubeletconfigs) > 1:
            raise Refusal("MachineConfigPool '%s' is selected by more than one KubeletConfig (%s). The MCO does not "
                          "merge them (the last one wins wholesale), so ocpv.density cannot merge the swap keys "
                          "safely: combine them into one KubeletConfig first. %s"
                          % (self.pool_name, ", ".join(_get(kc, "metadata", "name") for kc in kubeletconfigs), NOTHING))

    def plan(self):
        self.swap_plan = {}
        if not self.present:
            return
        try:
            plan = plan_swap(self.pool_nodes, self.inputs.get("overcommit"))
        except SwapPlanError as exc:
            raise Refusal(str(exc))
        if self.inputs.get("swap_disk_check", True) and plan["problems"]:
            raise Refusal("Swap for overcommit %s does not fit on every node of pool '%s': %s. Lower overcommit or "
                          "add disk. %s" % (self.inputs.get("overcommit"), self.pool_name, "; ".join(plan["problems"]),
                                            NOTHING))
        self.swap_plan = {"nodes": plan["nodes"], "summary": plan["summary"]}

    def facts(self):
        hco = self.hco
        facts = contract(self.inputs, self.profile_row, self.pool_name, hco_name=_get(hco, "metadata", "name"),
                         hco_namespace=_get(hco, "metadata", "namespace"), hco_api_version=self.hco_api_version,
                         csv_wasp_image=self.csv_wasp_image)
        facts.update(
            ocp_version=self.ocp_version, topology=self.topology, compact=self.compact,
            pool_labels=_get(self.pool_object, "metadata", "labels") or {},
            pool_node_selector=_get(self.pool_object, "spec", "nodeSelector") or {},
            pool_configuration=_get(self.pool_object, "spec", "configuration", "name") or "",
            nodes=[_get(n, "metadata", "name") for n in self.pool_nodes],
            plan=self.swap_plan)
        facts["hco"].update(current=hco_paths.hco_overcommit(hco, self.hco_api_version), csv_version=self.csv_version)
        facts["wasp_agent"]["daemonset_namespaces"] = self.daemonset_namespaces
        return facts


def contract(inputs, profile, pool, hco_name, hco_namespace, hco_api_version, csv_wasp_image=""):
    """The ``preflight_cluster`` fact's shape, with what a cluster does not tell filled in neutrally
    (offline rendering uses it as it is)."""
    state = inputs.get("state") or "present"
    wasp = profile.get("wasp_agent") or {}
    provider = wasp.get("provider")
    if inputs.get("wasp_agent_image"):
        image = inputs["wasp_agent_image"]
    elif wasp.get("image_from_csv") and csv_wasp_image:
        image = csv_wasp_image
    else:
        image = wasp.get("image")
    return {
        "state": state,
        "overcommit": inputs.get("overcommit") if state == "present" else None,
        "ocp_version": "",
        "topology": "",
        "compact": False,
        "profile": profile,
        "pool": pool,
        "pool_labels": {"pools.operator.machineconfiguration.openshift.io/" + pool: ""},
        "pool_node_selector": {"matchLabels": {"node-role.kubernetes.io/" + pool: ""}},
        "pool_configuration": "",
        "nodes": [],
        "plan": {},
        "hco": {"name": hco_name, "namespace": hco_namespace, "api_version": hco_api_version,
                "path": list(hco_paths.overcommit_path(hco_api_version)), "current": None, "csv_version": ""},
        "kubevirt": {"name": "kubevirt-%s" % hco_name, "namespace": hco_namespace},
        "wasp_agent": {"provider": provider,
                       "namespace": hco_namespace if provider == "hco" else (inputs.get("namespace_name") or "wasp"),
                       "pod_selector": "name=wasp-agent" if provider == "hco" else "name=wasp",
                       "daemonset_namespaces": []},
        "wasp_agent_image": image,
    }


def offline(inputs, profiles=None):
    """The contract without a cluster (render_dir with density_profile): the named profile, pool
    swap_pool (default worker), HyperConverged kubevirt-hyperconverged in openshift-cnv at
    hco_api_version (v1 when asked, else v1beta1)."""
    profiles = profiles if profiles is not None else profile_table.load_profiles()
    profile = profile_table.get_profile(inputs["density_profile"], profiles)
    api_version = "v1" if inputs.get("hco_api_version") == "v1" else "v1beta1"
    return contract(dict(inputs, state="present"), profile, inputs.get("swap_pool") or "worker",
                    hco_name=inputs.get("hco_name") or "kubevirt-hyperconverged", hco_namespace="openshift-cnv",
                    hco_api_version=api_version)


def assess(objects, inputs, profiles=None):
    """(facts, refusals, notices) for the cluster ``objects`` (read key -> {'api_found', 'resources'},
    and 'read_error': {'read', 'msg'} when a read failed) and the run's ``inputs`` (state, overcommit,
    density_profile, swap_pool, hco_name, namespace_name, wasp_agent_image, swap_disk_check).

    ``objects`` None: offline, the contract from the inputs alone. ``refusals`` holds the first
    refusal (facts are then None); ``notices`` are what the user should read either way.
    """
    profiles = profiles if profiles is not None else profile_table.load_profiles()
    if objects is None:
        return offline(inputs, profiles), [], []
    assessment = _Assessment(objects, inputs, profiles)
    try:
        return assessment.run(), [], assessment.notices
    except Refusal as refusal:
        return None, [str(refusal)], assessment.notices
