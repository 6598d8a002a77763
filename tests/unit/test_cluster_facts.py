"""cluster_facts: what preflight reads and what it makes of it, without a cluster.

Every refusal of preflight has a case here; the objects are shaped as kubernetes.core.k8s_info
returns them (``{'api_found', 'resources'}`` per read)."""

import copy

from ansible_collections.ocpv.density.plugins.module_utils import cluster_facts as cf

GIB = 1024 ** 3


def node(name, role="worker", memory="16Gi", disk="120Gi", extra_labels=None):
    labels = {"node-role.kubernetes.io/%s" % role: ""}
    labels.update(extra_labels or {})
    return {"metadata": {"name": name, "labels": labels, "annotations": {"big": "x" * 100}},
            "status": {"capacity": {"memory": memory, "ephemeral-storage": disk, "cpu": "8"},
                       "images": [{"names": ["quay.io/x"]}]}}


def pool(name, paused=False, conditions=None, degraded=0, machines=2):
    return {"metadata": {"name": name, "labels": {"pools.operator.machineconfiguration.openshift.io/%s" % name: ""}},
            "spec": {"nodeSelector": {"matchLabels": {"node-role.kubernetes.io/%s" % name: ""}}, "paused": paused,
                     "configuration": {"name": "rendered-%s-1" % name}},
            "status": {"conditions": conditions or [], "degradedMachineCount": degraded, "machineCount": machines}}


def found(*resources):
    return {"api_found": True, "resources": list(resources)}


def cluster(version="4.16.3", csv="4.16.5", topology="HighlyAvailable", served=("v1beta1",), nodes=None):
    """The objects of a healthy 4.16 cluster with two workers."""
    return {
        "infrastructure": found({"status": {"controlPlaneTopology": topology}}),
        "clusterversion": found({"status": {"desired": {"version": version}}}),
        "pools": found(pool("master"), pool("worker")),
        "hco_crd": found({"spec": {"versions": [{"name": v, "served": True} for v in served]}}),
        "hcos": found({"metadata": {"name": "kubevirt-hyperconverged", "namespace": "openshift-cnv"},
                       "spec": {"higherWorkloadDensity": {"memoryOvercommitPercentage": 120}}}),
        "csvs": found({"metadata": {"name": "kubevirt-hyperconverged-operator.v%s" % csv},
                       "spec": {"version": csv, "relatedImages": [
                           {"name": "wasp-agent", "image": "registry.redhat.io/wasp@sha256:1"}]}}),
        "autopilot_mcs": found(),
        "wasp_daemonsets": found(),
        "nodes": found(*(nodes if nodes is not None else [node("master-0", "master"), node("worker-0"), node("worker-1")])),
        "kubeletconfigs": found(),
    }


INPUTS = {"state": "present", "overcommit": 150, "density_profile": "", "swap_pool": "",
          "hco_name": "kubevirt-hyperconverged", "namespace_name": "wasp", "wasp_agent_image": "",
          "swap_disk_check": True}


def assess(objects, **inputs):
    return cf.assess(objects, dict(INPUTS, **inputs))


def refusal(objects, **inputs):
    facts, refusals, _notices = assess(objects, **inputs)
    assert facts is None and len(refusals) == 1, (facts, refusals)
    return refusals[0]


# --- the contract ----------------------------------------------------------------------------

def test_a_healthy_cluster_gives_the_contract():
    facts, refusals, notices = assess(cluster())
    assert refusals == [] and notices == []
    assert facts["profile"]["name"] == "tp-4.16" and facts["ocp_version"] == "4.16.3"
    assert facts["pool"] == "worker" and facts["nodes"] == ["worker-0", "worker-1"]
    assert facts["topology"] == "HighlyAvailable" and facts["compact"] is False
    assert facts["overcommit"] == 150 and facts["state"] == "present"
    assert facts["plan"]["summary"]["min_swap_mib"] == 8192 and facts["plan"]["summary"]["total_swap_mib"] == 16384
    assert facts["pool_configuration"] == "rendered-worker-1"
    assert facts["pool_labels"] == {"pools.operator.machineconfiguration.openshift.io/worker": ""}
    assert facts["hco"] == {"name": "kubevirt-hyperconverged", "namespace": "openshift-cnv", "api_version": "v1beta1",
                            "path": ["spec", "higherWorkloadDensity", "memoryOvercommitPercentage"], "current": 120,
                            "csv_version": "4.16.5"}
    assert facts["kubevirt"] == {"name": "kubevirt-kubevirt-hyperconverged", "namespace": "openshift-cnv"}
    assert facts["wasp_agent"] == {"provider": "collection", "namespace": "wasp", "pod_selector": "name=wasp",
                                   "daemonset_namespaces": []}
    assert facts["wasp_agent_image"] == "registry.redhat.io/wasp@sha256:1"  # the CSV's, image_from_csv


def test_absent_plans_no_swap_and_keeps_no_overcommit():
    facts, refusals, _notices = assess(cluster(), state="absent", overcommit=None)
    assert refusals == [] and facts["plan"] == {} and facts["overcommit"] is None and facts["state"] == "absent"


def test_a_given_image_wins_and_hco_provider_uses_hco_namespace():
    objects = cluster(version="4.20.1", csv="4.20.2")
    facts, _refusals, _notices = assess(objects, wasp_agent_image="quay.io/me/wasp:1")
    assert facts["profile"]["name"] == "hco-managed" and facts["wasp_agent_image"] == "quay.io/me/wasp:1"
    assert facts["wasp_agent"]["namespace"] == "openshift-cnv" and facts["wasp_agent"]["pod_selector"] == "name=wasp-agent"


def test_v1_is_chosen_when_served_and_its_path_read():
    objects = cluster(version="4.22.0", csv="4.22.0", served=("v1beta1", "v1"))
    objects["hcos"]["resources"][0]["spec"] = {"virtualization": {"higherWorkloadDensity": {"memoryOvercommitPercentage": 130}}}
    facts, refusals, _notices = assess(objects)
    assert refusals == [] and facts["hco"]["api_version"] == "v1" and facts["hco"]["current"] == 130


def test_the_named_hyperconverged_is_chosen_among_several():
    objects = cluster()
    other = copy.deepcopy(objects["hcos"]["resources"][0])
    other["metadata"] = {"name": "second", "namespace": "elsewhere"}
    objects["hcos"]["resources"].insert(0, other)
    assert assess(objects)[0]["hco"]["namespace"] == "openshift-cnv"
    assert assess(objects, hco_name="none-such")[0]["hco"]["name"] == "second"


def test_a_compact_cluster_goes_to_master_with_a_notice():
    objects = cluster(nodes=[node("m%d" % i, "master", extra_labels={"node-role.kubernetes.io/worker": ""})
                             for i in range(3)])
    facts, refusals, notices = assess(objects)
    assert refusals == [] and facts["pool"] == "master" and facts["compact"] is True
    assert notices == [cf.COMPACT_NOTICE]


def test_the_version_falls_back_to_history():
    objects = cluster()
    objects["clusterversion"] = found({"status": {"history": [{"version": "4.17.2"}, {"version": "4.16.9"}]}})
    assert assess(objects)[0]["profile"]["name"] == "manual-4.17"


# --- offline ---------------------------------------------------------------------------------

def test_offline_is_the_same_contract_from_the_inputs():
    facts, refusals, notices = cf.assess(None, {"density_profile": "manual-4.17", "overcommit": 150,
                                                "swap_pool": "infra", "hco_api_version": "v1"})
    assert refusals == [] and notices == []
    assert facts["pool"] == "infra" and facts["nodes"] == [] and facts["overcommit"] == 150
    assert facts["pool_node_selector"] == {"matchLabels": {"node-role.kubernetes.io/infra": ""}}
    assert facts["hco"]["api_version"] == "v1" and facts["hco"]["namespace"] == "openshift-cnv"
    assert facts["wasp_agent_image"] == facts["profile"]["wasp_agent"]["image"]
    online, _refusals, _notices = assess(cluster())
    assert set(facts) == set(online) and set(facts["hco"]) == set(online["hco"])
    assert set(facts["wasp_agent"]) == set(online["wasp_agent"])


def test_offline_defaults_to_worker_and_v1beta1():
    facts, _refusals, _notices = cf.assess(None, {"density_profile": "tp-4.16"})
    assert facts["pool"] == "worker" and facts["hco"]["api_version"] == "v1beta1" and facts["overcommit"] is None


# --- every refusal ---------------------------------------------------------------------------

def test_not_openshift():
    objects = cluster()
    objects["infrastructure"] = {"api_found": False, "resources": []}
    assert refusal(objects).startswith("This is not an OpenShift cluster: the config.openshift.io/v1 Infrastructure")


def test_hosted_control_plane():
    assert refusal(cluster(topology="External")).startswith("This is a hosted control plane (HCP/HyperShift) cluster")


def test_unknown_version():
    objects = cluster()
    objects["clusterversion"] = found()
    assert refusal(objects) == ("Cannot read the OpenShift version (ClusterVersion 'version' status.desired.version "
                                "is empty or the ClusterVersion is missing).")


def test_no_machineconfig_api():
    objects = cluster()
    objects["pools"] = {"api_found": False, "resources": []}
    assert refusal(objects).startswith("The MachineConfig API is not available")


def test_no_hyperconverged_crd():
    objects = cluster()
    objects["hco_crd"] = found()
    assert refusal(objects).startswith("OpenShift Virtualization is not installed: the HyperConverged CRD "
                                       "(hyperconvergeds.hco.kubevirt.io) does not exist.")


def test_unknown_hyperconverged_version():
    assert refusal(cluster(served=("v2",))) == (
        "The HyperConverged CRD serves version(s) v2; ocpv.density knows the memoryOvercommitPercentage path for "
        "v1beta1, v1 only. Nothing was changed.")


def test_no_hyperconverged_cr():
    objects = cluster()
    objects["hcos"] = found()
    assert refusal(objects).startswith("OpenShift Virtualization is installed but no HyperConverged CR exists")


def test_virtualization_too_old_for_the_profile():
    message = refusal(cluster(version="4.20.1", csv="4.19.3"))
    assert message.startswith("OpenShift 4.20.1 uses profile hco-managed (")
    assert "needs OpenShift Virtualization 4.20 or later, but 4.19.3 is installed" in message
    assert "tp-4.16, manual-4.17, hco-managed" in message


def test_no_profile_fits():
    message = refusal(cluster(version="4.15.2"))
    assert message.startswith("No profile fits OpenShift 4.15.2. Set density_profile to one of: tp-4.16 (OpenShift 4.16)")
    assert "dropin-4.21 (OpenShift 4.21+)" in message and "native (OpenShift 4.21+, explicit only)" in message
    assert message.endswith("(plugins/module_utils/profiles.yml). Nothing was changed.")


def test_an_unknown_profile_name():
    assert "unknown profile 'nope'" in refusal(cluster(), density_profile="nope")


def test_a_profile_not_implemented():
    objects = cluster(version="4.22.0", csv="4.22.0")
    objects["autopilot_mcs"] = found({"metadata": {"name": "90-worker-swap-online"}})
    message = refusal(objects)
    assert message.startswith("Profile autopilot (") and "not implemented by this version of ocpv.density" in message


def test_autopilot_machineconfig_refuses_an_incompatible_profile():
    objects = cluster(version="4.22.0", csv="4.22.0")
    objects["autopilot_mcs"] = found({"metadata": {"name": "90-worker-swap-online"}})
    message = refusal(objects, density_profile="dropin-4.21")
    assert message.startswith("virt-platform-autopilot manages swap on this cluster: its MachineConfig "
                              "90-worker-swap-online writes")
    # state=absent ignores it, and one being deleted does not count
    assert assess(objects, density_profile="dropin-4.21", state="absent", overcommit=None)[1] == []
    objects["autopilot_mcs"]["resources"][0]["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert assess(objects, density_profile="dropin-4.21")[1] == []


def test_autopilot_opt_in_without_its_machineconfig_refuses_a_profile_that_waits_for_hcos_agent():
    """HCO deploys no agent once the HyperConverged opts in to the autopilot, also with the
    autopilot's MachineConfig opted out: dropin-4.21 would wait for it until its timeout (issue 14
    fact 7). Seen to fail before this refusal: the assessment passed."""
    objects = cluster(version="4.22.0", csv="4.22.0", served=("v1",))
    objects["hcos"]["resources"][0]["metadata"]["annotations"] = {
        "platform.kubevirt.io/autopilot": "swap-enable",
        "platform.kubevirt.io/disabled-resources": "- kind: MachineConfig\n  name: 90-worker-swap-online\n"}
    message = refusal(objects)
    assert message.startswith("OpenShift Virtualization 4.22.0 deploys no wasp-agent on this cluster: the "
                              "HyperConverged carries the annotation platform.kubevirt.io/autopilot=swap-enable")
    assert "Profile dropin-4.21 hands wasp-agent over to HCO" in message and message.endswith("Nothing was changed.")
    # native needs no agent, absent takes back what a run wrote, and without the opt-in HCO deploys its agent
    assert assess(objects, density_profile="native")[1] == []
    assert assess(objects, state="absent", overcommit=None)[1] == []
    del objects["hcos"]["resources"][0]["metadata"]["annotations"]["platform.kubevirt.io/autopilot"]
    assert assess(objects)[1] == []


def test_on_4_23_hco_deploys_no_agent_so_a_profile_waiting_for_it_is_refused():
    """HCO release-1.19 (OpenShift Virtualization 4.23) has no wasp-agent handlers (HCO #4535, the
    cherry-pick of #4528): without the autopilot's MachineConfig, the 4.23 profile by version
    (dropin-4.21) would write its objects and wait for an agent that never comes, whatever the
    annotations say. Seen to fail before: the assessment passed (without annotation) or named
    the annotation as the cause."""
    objects = cluster(version="4.23.0", csv="4.23.0", served=("v1",))
    objects["hcos"]["resources"][0]["metadata"]["annotations"] = {cf.AUTOPILOT_ANNOTATION: "false"}
    message = refusal(objects)
    assert message.startswith("OpenShift Virtualization 4.23.0 deploys no wasp-agent: HCO 1.19 and later has none "
                              "(HCO PR #4528"), message
    assert "90-worker-swap-online is not there" in message and "platform.kubevirt.io/autopilot=false" in message
    assert "Profile dropin-4.21 hands wasp-agent over to HCO" in message and message.endswith("Nothing was changed.")
    for profile in ("hco-managed", "dropin-4.21"):
        assert "deploys no wasp-agent" in refusal(objects, density_profile=profile)
    del objects["hcos"]["resources"][0]["metadata"]["annotations"]
    assert "deploys no wasp-agent" in refusal(objects)
    # native needs no agent and HCO 1.19 deploys none: allowed (with its warning); absent always
    facts, refusals, notices = assess(objects, density_profile="native")
    assert refusals == [] and notices[0].startswith("UNSUPPORTED: the native profile"), refusals
    assert assess(objects, state="absent", overcommit=None)[1] == []
    # with the autopilot's MachineConfig the autopilot row is chosen (not implemented yet)
    objects["autopilot_mcs"] = found({"metadata": {"name": "90-worker-swap-online"}})
    assert "Profile autopilot" in refusal(objects)


def test_native_with_a_wasp_agent_daemonset():
    objects = cluster(version="4.21.0", csv="4.21.0")
    objects["wasp_daemonsets"] = found({"metadata": {"name": "wasp-agent", "namespace": "wasp"}})
    message = refusal(objects, density_profile="native")
    assert message.startswith("density_profile=native (kubelet LimitedSwap) cannot be combined with wasp-agent "
                              "(they are mutually exclusive), but wasp-agent runs in namespace(s) wasp.")


def test_native_where_hco_would_deploy_wasp_unless_opted_out():
    objects = cluster(version="4.21.0", csv="4.22.1")
    assert "OpenShift Virtualization 4.22.1 (HCO >= 1.16) deploys wasp-agent itself" in refusal(objects, density_profile="native")
    objects["hcos"]["resources"][0]["metadata"]["annotations"] = {cf.AUTOPILOT_ANNOTATION: "other, swap-enable"}
    facts, refusals, notices = assess(objects, density_profile="native")
    assert refusals == [] and notices and notices[0].startswith("UNSUPPORTED: the native profile")
    # before HCO 1.18 the annotation does not stop HCO
    objects = cluster(version="4.21.0", csv="4.20.3")
    objects["hcos"]["resources"][0]["metadata"]["annotations"] = {cf.AUTOPILOT_ANNOTATION: "true"}
    assert "deploys wasp-agent itself" in refusal(objects, density_profile="native")


def test_unknown_swap_pool():
    assert refusal(cluster(), swap_pool="gpu") == (
        "swap_pool 'gpu' is not a MachineConfigPool of this cluster; pools: master, worker. Nothing was changed.")


def test_single_node_openshift_needs_master_explicitly():
    objects = cluster(topology="SingleReplica", nodes=[node("sno", "master")])
    assert refusal(objects).startswith("This is Single Node OpenShift (controlPlaneTopology SingleReplica)")
    assert assess(objects, swap_pool="master")[0]["pool"] == "master"


def test_a_default_pool_that_does_not_exist():
    objects = cluster()
    objects["pools"] = found(pool("master"))
    assert refusal(objects) == "MachineConfigPool 'worker' does not exist; pools: master. Set swap_pool. Nothing was changed."


def test_a_pool_without_nodes():
    objects = cluster(nodes=[node("master-0", "master")])
    assert refusal(objects) == ("MachineConfigPool 'worker' has no nodes (machineCount 2); there is nothing to enable "
                                "swap on. Nothing was changed.")


def test_a_pool_whose_kubelet_ignores_the_dropin():
    objects = cluster(version="4.21.3", csv="4.21.0",
                      nodes=[node("m%d" % i, "master", extra_labels={"node-role.kubernetes.io/worker": ""})
                             for i in range(3)])
    assert refusal(objects).startswith("swap_pool=master is refused on OpenShift 4.21.3 (profile dropin-4.21)")
    assert assess(objects, state="absent", overcommit=None)[1] == []


def test_a_paused_pool():
    objects = cluster()
    objects["pools"]["resources"][1]["spec"]["paused"] = True
    assert refusal(objects).startswith("MachineConfigPool 'worker' is paused (spec.paused: true).")


def test_a_degraded_pool():
    objects = cluster()
    objects["pools"]["resources"][1]["status"]["conditions"] = [
        {"type": "NodeDegraded", "status": "True", "message": "node worker-1 is reporting: boom"},
        {"type": "Degraded", "status": "False"}]
    objects["pools"]["resources"][1]["status"]["degradedMachineCount"] = 1
    assert refusal(objects) == ("MachineConfigPool 'worker' is degraded (NodeDegraded: node worker-1 is reporting: "
                                "boom; degradedMachineCount 1). Fix the pool first (oc describe mcp worker). "
                                "Nothing was changed.")
    objects["pools"]["resources"][1]["status"]["conditions"] = []
    assert "is degraded (: no message; degradedMachineCount 1)" in refusal(objects)


def test_two_kubeletconfigs_on_the_pool():
    objects = cluster()
    selector = {"matchLabels": {"pools.operator.machineconfiguration.openshift.io/worker": ""}}
    ours_and_users = [{"metadata": {"name": n}, "spec": {"machineConfigPoolSelector": selector}}
                      for n in ("custom-config", "ocpv-density-swap")]
    for_masters = {"metadata": {"name": "for-masters"},
                   "spec": {"machineConfigPoolSelector": {"matchLabels": {"x": "y"}}}}
    objects["kubeletconfigs"] = found(*ours_and_users, for_masters)
    assert refusal(objects).startswith("MachineConfigPool 'worker' is selected by more than one KubeletConfig "
                                       "(custom-config, ocpv-density-swap).")


def test_swap_that_does_not_fit_unless_the_check_is_off():
    objects = cluster(nodes=[node("worker-0", memory="64Gi", disk="40Gi")])
    message = refusal(objects)
    assert message.startswith("Swap for overcommit 150 does not fit on every node of pool 'worker': node worker-0: "
                              "swap of 32768 MiB does not fit on its disk")
    assert message.endswith("Lower overcommit or add disk. Nothing was changed.")
    assert assess(objects, swap_disk_check=False)[1] == []


def test_a_node_the_plan_cannot_read():
    objects = cluster(nodes=[node("worker-0", memory="lots")])
    assert refusal(objects).startswith("nodes[0] (worker-0): status.capacity.memory:")


# --- reads -----------------------------------------------------------------------------------

def test_a_failed_read_is_the_refusal_at_its_place():
    objects = cluster()
    for key in ("pools", "hco_crd", "hcos", "csvs", "autopilot_mcs", "wasp_daemonsets", "nodes", "kubeletconfigs"):
        objects.pop(key)
    objects["read_error"] = {"read": "pools", "msg": "Forbidden (403) while reading the MachineConfigPools"}
    assert refusal(objects) == "Forbidden (403) while reading the MachineConfigPools"
    # a refusal before the failed read comes first
    objects["infrastructure"] = {"api_found": False, "resources": []}
    assert refusal(objects).startswith("This is not an OpenShift cluster")


def _plan(objects, hco_name="kubevirt-hyperconverged"):
    """Drive read_plan as the module does, answering from ``objects``."""
    answered, keys = {}, []
    for key, read in cf.read_plan(answered, hco_name):
        keys.append((key, read))
        answered[key] = objects.get(key, found())
    return keys


def test_read_plan_reads_in_order_and_follows_the_answers():
    keys = _plan(cluster(served=("v1beta1", "v1")))
    assert [k for k, _read in keys] == [
        "infrastructure", "clusterversion", "pools", "hco_crd", "hcos", "csvs",
        "autopilot_mcs", "wasp_daemonsets", "nodes", "kubeletconfigs"]
    reads = dict(keys)
    assert reads["hcos"]["api_version"] == "hco.kubevirt.io/v1"
    assert reads["csvs"]["namespace"] == "openshift-cnv"
    assert reads["wasp_daemonsets"]["field_selectors"] == ["metadata.name=wasp-agent"]


def test_read_plan_skips_what_it_cannot_address():
    objects = cluster()
    objects["hco_crd"] = found()
    keys = [k for k, _read in _plan(objects)]
    assert "hcos" not in keys and "csvs" not in keys and keys[-1] == "kubeletconfigs"
    objects = cluster()
    objects["hcos"] = found()
    assert "csvs" not in [k for k, _read in _plan(objects)]


def test_slim_keeps_only_the_fields_used():
    slim = cf.slim("nodes", [node("worker-0")])
    assert slim == [{"metadata": {"name": "worker-0", "labels": {"node-role.kubernetes.io/worker": ""}},
                     "status": {"capacity": {"memory": "16Gi", "ephemeral-storage": "120Gi"}}}]
    pools = [pool("worker")]
    assert cf.slim("pools", pools) == pools
    assert cf.slim("wasp_daemonsets", [{"metadata": {"name": "wasp-agent", "namespace": "wasp", "uid": "1"},
                                        "spec": {}}]) == [{"metadata": {"name": "wasp-agent", "namespace": "wasp"}}]


def test_slimmed_objects_assess_the_same():
    objects = cluster()
    slimmed = dict((k, {"api_found": v["api_found"], "resources": cf.slim(k, v["resources"])}) for k, v in objects.items())
    assert assess(slimmed) == assess(objects)
