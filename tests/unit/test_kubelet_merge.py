# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""module_utils/kubelet_merge.py: what the swap role writes to a pool, without a cluster. Each
refusal with the message the user reads, each KubeletConfig mode, when the pool rolls out, and
round trips (present then absent gives the user's KubeletConfig back, a rerun writes nothing)."""

import copy
import json

import pytest

from ansible_collections.ocpv.density.plugins.module_utils import kubelet_merge as km
from ansible_collections.ocpv.density.plugins.module_utils.k8s_object import merge_patch

ANNOTATION = km.DEFAULT_ANNOTATION
LABEL = "pools.operator.machineconfiguration.openshift.io/worker"
KEYS_416 = {"failSwapOn": False, "evictionSoft": {"memory.available": "1Gi"},
            "evictionSoftGracePeriod": {"memory.available": "10s"}}
FORBIDDEN_421 = ["failSwapOn", "memorySwap"]


def pool(paused=False, labels=None, spec_config="rendered-worker-1", status_config="rendered-worker-1", updated=True):
    return {"metadata": {"name": "worker", "labels": {LABEL: ""} if labels is None else labels},
            "spec": {"paused": paused, "configuration": {"name": spec_config}},
            "status": {"configuration": {"name": status_config},
                       "conditions": [{"type": "Updated", "status": "True" if updated else "False"}]}}


def user_kc(name="custom-config", kubelet_config=None, annotations=None, labels=None):
    return {"apiVersion": km.MCO_API, "kind": "KubeletConfig",
            "metadata": {"name": name, "resourceVersion": "7", "annotations": annotations or {}, "labels": labels or {}},
            "spec": {"machineConfigPoolSelector": {"matchLabels": {"custom-kubelet": "enabled"}},
                     "kubeletConfig": kubelet_config if kubelet_config is not None else {"maxPods": 300}}}


USER_POOL_LABELS = {LABEL: "", "custom-kubelet": "enabled"}


def mc(files="v1", labels=None):
    return {"apiVersion": km.MCO_API, "kind": "MachineConfig",
            "metadata": {"name": "90-worker-swap", "labels": {km.MANAGED_BY: km.MANAGER} if labels is None else labels},
            "spec": {"config": {"storage": {"files": [files]}}}}


def present(pool_obj, kcs, current_mc, keys=None, forbidden=(), wanted=None):
    keys = KEYS_416 if keys is None else keys
    return km.plan_present(pool_obj, kcs, current_mc, "worker", wanted or mc(), keys,
                           kubelet_config_forbidden=forbidden, kubeletconfig_name="")


def apply_writes(kcs, plan):
    """The KubeletConfigs after the plan's KubeletConfig writes, as the API server makes them."""
    result = {kc["metadata"]["name"]: copy.deepcopy(kc) for kc in kcs}
    for write in plan["writes"]:
        kind = write.get("kind") or write["definition"]["kind"]
        if kind != "KubeletConfig":
            continue
        if write.get("state") == "absent":
            del result[write["name"]]
        elif write.get("apply"):
            result[write["definition"]["metadata"]["name"]] = copy.deepcopy(write["definition"])
        else:
            patch = copy.deepcopy(write["definition"])
            patch["metadata"].pop("resourceVersion")
            name = patch["metadata"]["name"]
            result[name] = merge_patch(result[name], patch)
    return list(result.values())


class TestPoolRefusals:
    def test_missing_pool(self):
        assert present(None, [], None)["refusal"] == (
            "MachineConfigPool worker does not exist (swap_pool). Nothing was changed.")
        assert km.plan_absent(None, [], None, "worker")["refusal"] == (
            "MachineConfigPool worker does not exist. Nothing was changed.")

    def test_paused_pool(self):
        message = "MachineConfigPool worker is paused by someone else; unpause it first. Nothing was changed."
        assert present(pool(paused=True), [], None)["refusal"] == message
        assert km.plan_absent(pool(paused=True), [], None, "worker")["refusal"] == message

    def test_two_kubeletconfigs_select_the_pool(self):
        kcs = [user_kc("a"), user_kc("b")]
        plan = present(pool(labels=USER_POOL_LABELS), kcs, None)
        assert plan["refusal"] == (
            "MachineConfigPool worker is selected by more than one KubeletConfig (a, b). The MCO does not merge "
            "them (the last one wins wholesale); combine them into one first. Nothing was changed.")
        assert plan["writes"] == [] and not plan["rollout"]

    def test_own_kubeletconfig_needs_the_pool_label(self):
        plan = present(pool(labels={"custom": "x"}), [], None)
        assert plan["refusal"] == (
            "MachineConfigPool worker has no label %s, so a KubeletConfig cannot select it. Label it "
            "(oc label mcp worker %s=) or give it a KubeletConfig. Nothing was changed." % (LABEL, LABEL))

    def test_no_label_is_fine_without_keys(self):
        assert present(pool(labels={"custom": "x"}), [], None, keys={})["refusal"] == ""


class TestPresentOwn:
    def test_new_pool_creates_ours_and_the_machineconfig_in_one_rollout(self):
        plan = present(pool(), [], None)
        assert plan["refusal"] == "" and plan["mode"] == "own" and plan["kubeletconfig"] == "ocpv-density-worker"
        assert [w["what"] for w in plan["writes"]] == ["our KubeletConfig", "MachineConfig"]
        assert plan["writes"][0]["definition"] == {
            "apiVersion": km.MCO_API, "kind": "KubeletConfig",
            "metadata": {"name": "ocpv-density-worker", "labels": {km.MANAGED_BY: km.MANAGER}},
            "spec": {"machineConfigPoolSelector": {"matchLabels": {LABEL: ""}}, "kubeletConfig": KEYS_416}}
        assert plan["rollout"] and plan["wait"] and plan["previous_configuration"] == "rendered-worker-1"

    def test_rerun_without_change_does_not_roll_out(self):
        ours = km.own_kubeletconfig("ocpv-density-worker", "worker", KEYS_416)
        plan = present(pool(), [ours], mc())
        assert plan["mode"] == "own" and not plan["rollout"] and not plan["wait"]
        # the objects are still applied (a no-op for the API server; the report lists them as kept)
        assert [w["what"] for w in plan["writes"]] == ["our KubeletConfig", "MachineConfig"]

    def test_an_unfinished_rollout_is_waited_for(self):
        ours = km.own_kubeletconfig("ocpv-density-worker", "worker", KEYS_416)
        plan = present(pool(status_config="rendered-worker-0", updated=False), [ours], mc())
        assert not plan["rollout"] and plan["wait"]

    def test_changed_keys_roll_out(self):
        ours = km.own_kubeletconfig("ocpv-density-worker", "worker", {"failSwapOn": False})
        assert present(pool(), [ours], mc())["rollout"]

    def test_machineconfig_content_rolls_out_metadata_does_not(self):
        ours = km.own_kubeletconfig("ocpv-density-worker", "worker", KEYS_416)
        assert present(pool(), [ours], mc(files="v0"))["rollout"]
        assert not present(pool(), [ours], mc(labels={}))["rollout"]

    def test_a_renamed_own_kubeletconfig_keeps_its_name(self):
        ours = km.own_kubeletconfig("old-name", "worker", KEYS_416)
        plan = present(pool(), [ours], mc())
        assert plan["writes"][0]["definition"]["metadata"]["name"] == "old-name"

    def test_ours_is_deleted_when_the_profile_sets_no_keys(self):
        # 4.21+: the swap keys live in the kubelet drop-in; our KubeletConfig has nothing left to set.
        ours = km.own_kubeletconfig("ocpv-density-worker", "worker", KEYS_416)
        plan = present(pool(), [ours], mc(), keys={})
        assert plan["mode"] == "delete" and plan["rollout"]
        assert plan["writes"][0] == dict(what="delete our KubeletConfig (this profile sets no KubeletConfig keys)",
                                         state="absent", api_version=km.MCO_API, kind="KubeletConfig",
                                         name="ocpv-density-worker")

    def test_no_keys_and_no_kubeletconfig_writes_only_the_machineconfig(self):
        plan = present(pool(), [], None, keys={})
        assert plan["mode"] == "none" and [w["what"] for w in plan["writes"]] == ["MachineConfig"]


class TestPresentMerge:
    def test_keys_are_merged_and_the_old_values_recorded(self):
        kc = user_kc(kubelet_config={"maxPods": 300, "evictionSoft": {"nodefs.available": "10%"}})
        plan = present(pool(labels=USER_POOL_LABELS), [kc], mc())
        assert plan["mode"] == "merge" and plan["kubeletconfig"] == "custom-config" and plan["rollout"]
        write = plan["writes"][0]
        assert write["state"] == "patched" and write["merge_type"] == "merge"
        assert write["definition"]["metadata"]["resourceVersion"] == "7"
        assert write["definition"]["spec"]["kubeletConfig"] == KEYS_416
        assert json.loads(write["definition"]["metadata"]["annotations"][ANNOTATION]) == {
            "failSwapOn": None, "evictionSoft": {"memory.available": None}, "evictionSoftGracePeriod": None}

    def test_another_managers_label_makes_it_the_users(self):
        # Helm, Argo CD and others set app.kubernetes.io/managed-by too: only ours is ours.
        kc = user_kc(labels={km.MANAGED_BY: "Helm"})
        assert present(pool(labels=USER_POOL_LABELS), [kc], mc())["mode"] == "merge"
        assert not km.is_ours(kc)

    def test_rerun_writes_nothing_to_the_users_kubeletconfig(self):
        kc = user_kc()
        first = present(pool(labels=USER_POOL_LABELS), [kc], mc())
        after = apply_writes([kc], first)
        second = present(pool(labels=USER_POOL_LABELS), after, mc())
        assert second["mode"] == "merge" and not second["rollout"]
        assert [w["what"] for w in second["writes"]] == ["MachineConfig"]

    def test_forbidden_keys_are_removed_and_the_recorded_values_kept(self):
        # 4.17 run, then an upgrade to 4.21: the swap keys leave the KubeletConfig (the MCO refuses
        # them there); the user's own values recorded under 4.17 stay recorded.
        kc = user_kc(kubelet_config={"maxPods": 300, "failSwapOn": True})
        after = apply_writes([kc], present(pool(labels=USER_POOL_LABELS), [kc], mc(), keys={"failSwapOn": False}))
        plan = present(pool(labels=USER_POOL_LABELS), after, mc(), keys={}, forbidden=FORBIDDEN_421)
        write = plan["writes"][0]
        assert write["definition"]["spec"]["kubeletConfig"] == {"failSwapOn": None, "memorySwap": None}
        # nothing is left to restore: the annotation goes
        assert write["definition"]["metadata"]["annotations"] == {ANNOTATION: None}
        assert plan["rollout"]
        final = apply_writes(after, plan)[0]
        assert final["spec"]["kubeletConfig"] == {"maxPods": 300}

    def test_a_profile_change_restores_the_users_value_first(self):
        # The recorded value is the user's, whatever profile wrote the current one.
        kc = user_kc(kubelet_config={"evictionSoft": {"memory.available": "500Mi"}})
        after = apply_writes([kc], present(pool(labels=USER_POOL_LABELS), [kc], mc()))
        plan = present(pool(labels=USER_POOL_LABELS), after, mc(), keys={"failSwapOn": False})
        final = apply_writes(after, plan)[0]
        assert final["spec"]["kubeletConfig"] == {"evictionSoft": {"memory.available": "500Mi"}, "failSwapOn": False}
        assert json.loads(final["metadata"]["annotations"][ANNOTATION]) == {"failSwapOn": None}

    def test_an_annotation_that_is_not_json_is_refused_by_name(self):
        kc = user_kc(annotations={ANNOTATION: "{not json"})
        with pytest.raises(ValueError, match="KubeletConfig custom-config: annotation .* is not JSON"):
            present(pool(labels=USER_POOL_LABELS), [kc], mc())


class TestAbsent:
    def test_nothing_of_ours_writes_nothing(self):
        plan = km.plan_absent(pool(labels=USER_POOL_LABELS), [user_kc()], mc(labels={}), "worker")
        assert plan["writes"] == [] and not plan["rollout"] and not plan["wait"] and plan["mode"] == "none"

    def test_ours_are_deleted_in_one_rollout(self):
        ours = km.own_kubeletconfig("ocpv-density-worker", "worker", KEYS_416)
        plan = km.plan_absent(pool(), [ours], mc(), "worker")
        assert [(w["kind"], w["name"], w["state"]) for w in plan["writes"]] == [
            ("KubeletConfig", "ocpv-density-worker", "absent"), ("MachineConfig", "90-worker-swap", "absent")]
        assert plan["rollout"] and plan["wait"] and plan["mode"] == "delete"

    def test_another_managers_kubeletconfig_and_a_hand_made_machineconfig_stay(self):
        helm = user_kc(labels={km.MANAGED_BY: "Helm"})
        plan = km.plan_absent(pool(labels=USER_POOL_LABELS), [helm], mc(labels={km.MANAGED_BY: "Helm"}), "worker")
        assert plan["writes"] == [] and not plan["rollout"]

    def test_round_trip_gives_the_users_kubeletconfig_back(self):
        original = user_kc(kubelet_config={"maxPods": 300, "evictionSoft": {"nodefs.available": "10%"},
                                           "failSwapOn": True})
        after = apply_writes([original], present(pool(labels=USER_POOL_LABELS), [original], mc()))
        plan = km.plan_absent(pool(labels=USER_POOL_LABELS), after, mc(), "worker")
        assert plan["mode"] == "merge" and plan["rollout"]
        restored = apply_writes(after, plan)[0]
        assert restored["spec"] == original["spec"]
        assert ANNOTATION not in restored["metadata"]["annotations"]

    def test_forbidden_keys_are_not_put_back(self):
        original = user_kc(kubelet_config={"maxPods": 300, "failSwapOn": True})
        after = apply_writes([original], present(pool(labels=USER_POOL_LABELS), [original], mc()))
        plan = km.plan_absent(pool(labels=USER_POOL_LABELS), after, mc(), "worker", kubelet_config_forbidden=FORBIDDEN_421)
        assert apply_writes(after, plan)[0]["spec"]["kubeletConfig"] == {"maxPods": 300}

    def test_a_recorded_annotation_with_nothing_to_change_is_removed_without_a_rollout(self):
        kc = user_kc(annotations={ANNOTATION: json.dumps({"maxPods": 300})})
        plan = km.plan_absent(pool(labels=USER_POOL_LABELS), [kc], None, "worker")
        assert [w["what"] for w in plan["writes"]] == ["restore the user's KubeletConfig keys"]
        assert not plan["rollout"]


class TestCombine:
    def test_matches_ansible_recursive_combine(self):
        assert km._combine({"a": {"b": 1, "c": 2}, "d": 1}, {"a": {"b": None}, "d": {"x": 1}}) == {
            "a": {"b": None, "c": 2}, "d": {"x": 1}}
