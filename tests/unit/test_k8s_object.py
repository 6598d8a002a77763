# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""plugins/module_utils/k8s_object.py: the outcome that decides whether a write is needed, the one
write request that makes it (and all that check mode reports)."""

import json

import pytest
from ansible_collections.kubernetes.core.plugins.module_utils.apply import apply_patch
from ansible_collections.ocpv.density.plugins.module_utils.k8s_object import (
    LAST_APPLIED, for_display as _for_display, identity, merge_patch, plan)


def planned_object(state, apply, existing, definition):
    result = plan(state, apply, existing, definition, apply_patch)
    return result.after, result.method


DESIRED = {
    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
    "metadata": {"name": "ocpv-density-wasp-agent", "labels": {"app.kubernetes.io/managed-by": "ocpv.density"}},
    "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}],
}


def applied(obj, **server_fields):
    """What the API server returns after a client-side apply of obj."""
    live = json.loads(json.dumps(obj))
    live["metadata"]["annotations"] = {LAST_APPLIED: json.dumps(obj, separators=(",", ":"), sort_keys=True)}
    live["metadata"].update(uid="u1", resourceVersion="7", creationTimestamp="2026-01-01T00:00:00Z",
                            managedFields=[{"manager": "x"}])
    live.update(server_fields)
    return live


def test_apply_of_an_unchanged_object_with_lists_changes_nothing():
    # kubernetes.core's own apply would PATCH here (its list handling always yields a patch).
    live = applied(DESIRED)
    after, method = planned_object("present", True, live, DESIRED)
    assert method == "apply"
    assert after == live


def test_apply_detects_a_changed_list_and_server_defaults_do_not_count():
    live = applied(DESIRED)
    live["metadata"]["labels"]["added-by-someone"] = "x"  # not ours: kept, no change
    assert planned_object("present", True, live, DESIRED)[0] == live
    wanted = json.loads(json.dumps(DESIRED))
    wanted["rules"][0]["verbs"] = ["get", "list"]
    after = planned_object("present", True, live, wanted)[0]
    assert after != live
    assert after["rules"][0]["verbs"] == ["get", "list"]
    assert after["metadata"]["labels"]["added-by-someone"] == "x"


def test_apply_adopts_an_object_without_last_applied():
    live = json.loads(json.dumps(DESIRED))
    after = planned_object("present", True, live, DESIRED)[0]
    assert LAST_APPLIED in after["metadata"]["annotations"]


def test_create():
    after, method = planned_object("present", True, None, DESIRED)
    assert method == "create"
    assert after["rules"] == DESIRED["rules"]
    after, method = planned_object("present", False, None, DESIRED)
    assert after == DESIRED


def test_merge_patch_removes_nulls_and_merges_maps():
    live = {"apiVersion": "v1", "kind": "X", "metadata": {"name": "a", "annotations": {"k": "v", "keep": "1"}},
            "spec": {"kubeletConfig": {"maxPods": 300, "failSwapOn": False, "evictionSoft": {"memory.available": "1Gi"}}}}
    patch = {"metadata": {"name": "a", "annotations": {"k": None}},
             "spec": {"kubeletConfig": {"failSwapOn": True, "evictionSoft": None}}}
    after, method = planned_object("patched", False, live, patch)
    assert method == "patch"
    assert after["metadata"]["annotations"] == {"keep": "1"}
    assert after["spec"]["kubeletConfig"] == {"maxPods": 300, "failSwapOn": True}
    assert planned_object("patched", False, None, patch) == (None, "patch")


def test_delete():
    assert planned_object("absent", False, applied(DESIRED), DESIRED) == (None, "delete")


def test_display_drops_noise_only():
    shown = _for_display(applied(DESIRED, status={"x": 1}))
    assert "managedFields" not in shown["metadata"] and "annotations" not in shown["metadata"]
    assert "status" not in shown
    assert shown["rules"] == DESIRED["rules"]
    assert _for_display(None) == {}


def test_the_write_sent_produces_the_planned_object():
    live = applied(DESIRED)
    wanted = json.loads(json.dumps(DESIRED))
    wanted["rules"][0]["verbs"] = ["get"]
    step = plan("present", True, live, wanted, apply_patch)
    assert step.changed and step.method == "apply"
    assert merge_patch(live, step.body) == step.after  # the API server applies the merge patch
    assert not plan("present", True, live, DESIRED, apply_patch).changed
    assert plan("present", True, live, DESIRED, apply_patch).body is None  # no write at all


def test_update_and_patched_send_the_definition_as_merge_patch():
    live = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"x": "1"}}
    step = plan("present", False, live, {"metadata": {"name": "a"}, "data": {"y": "2"}})
    assert step.method == "update" and step.after["data"] == {"x": "1", "y": "2"}
    assert plan("patched", False, live, {"data": {"x": "1"}}).changed is False
    assert plan("absent", False, None, live).changed is False
    assert plan("absent", False, live, live).changed is True


def test_bad_state_and_incomplete_definitions_are_named():
    with pytest.raises(ValueError, match="state must be one of present, absent, patched"):
        plan("gone", False, None, DESIRED)
    with pytest.raises(ValueError, match="metadata.name is required"):
        identity({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})
    with pytest.raises(ValueError, match="kind is required"):
        identity({"apiVersion": "v1", "metadata": {"name": "a"}})
    with pytest.raises(ValueError, match="single object"):
        identity([DESIRED])
    assert identity(DESIRED) == ("rbac.authorization.k8s.io/v1", "ClusterRole", "ocpv-density-wasp-agent", None)


KC = {"apiVersion": "machineconfiguration.openshift.io/v1", "kind": "KubeletConfig",
      "metadata": {"name": "user-tuning", "resourceVersion": "41"},
      "spec": {"kubeletConfig": {"maxPods": 300, "failSwapOn": True}}}


def test_resource_version_is_a_precondition_sent_with_the_patch():
    wanted = {"metadata": {"name": "user-tuning", "resourceVersion": "41"},
              "spec": {"kubeletConfig": {"failSwapOn": False}}}
    step = plan("patched", False, KC, wanted)
    assert step.changed and step.method == "patch"
    assert step.body == {"metadata": {"name": "user-tuning", "resourceVersion": "41"},
                         "spec": {"kubeletConfig": {"failSwapOn": False}}}
    assert step.after["metadata"]["resourceVersion"] == "41"  # the live one, not compared
    assert wanted["metadata"]["resourceVersion"] == "41"  # the caller's definition is untouched


def test_resource_version_alone_is_no_change():
    """Another writer moved the object on (version 42) but our keys are already there: no write,
    no spurious conflict."""
    live = json.loads(json.dumps(KC))
    live["metadata"]["resourceVersion"] = "42"
    live["spec"]["kubeletConfig"]["failSwapOn"] = False
    step = plan("patched", False, live, {"metadata": {"name": "user-tuning", "resourceVersion": "41"},
                                         "spec": {"kubeletConfig": {"failSwapOn": False}}})
    assert not step.changed and step.body is None


def test_stale_resource_version_is_sent_so_the_server_refuses():
    live = json.loads(json.dumps(KC))
    live["metadata"]["resourceVersion"] = "42"
    step = plan("patched", False, live, {"metadata": {"name": "user-tuning", "resourceVersion": "41"},
                                         "spec": {"kubeletConfig": {"failSwapOn": False}}})
    assert step.changed and step.body["metadata"]["resourceVersion"] == "41"


def test_create_and_delete_carry_no_precondition():
    step = plan("present", False, None, {"metadata": {"name": "a", "resourceVersion": "5"}, "data": {}})
    assert step.method == "create" and "resourceVersion" not in step.body["metadata"]
    assert plan("absent", False, KC, {"metadata": {"name": "user-tuning", "resourceVersion": "41"}}).body == {}


def _machineconfig(files):
    import base64
    return {"apiVersion": "machineconfiguration.openshift.io/v1", "kind": "MachineConfig",
            "metadata": {"name": "90-worker-swap"},
            "spec": {"config": {"ignition": {"version": "3.4.0"}, "storage": {"files": [
                {"path": path, "mode": 420, "contents": {"source": source if source.startswith("data:") else
                                                         "data:text/plain;charset=utf-8;base64," + base64.b64encode(source.encode()).decode()}}
                for path, source in files.items()]}}}}


def test_machineconfig_diff_shows_each_changed_file_as_text():
    """--check --diff: the files of a MachineConfig are reviewed as text, decoded from their data:
    URLs (base64 or percent-encoded), one diff per file that changes; unchanged files are not repeated."""
    from ansible_collections.ocpv.density.plugins.module_utils.k8s_object import display_diff
    before = _machineconfig({"/etc/ocpv/swap.env": "OCPV_SWAP_OVERCOMMIT_PERCENT=150\n",
                             "/usr/local/bin/s.sh": "#!/bin/bash\necho old\n"})
    after = _machineconfig({"/etc/ocpv/swap.env": "OCPV_SWAP_OVERCOMMIT_PERCENT=200\n",
                            "/usr/local/bin/s.sh": "#!/bin/bash\necho old\n",
                            "/etc/openshift/kubelet.conf.d/90-swap.conf": "data:,failSwapOn%3A%20false%0A"})
    diffs = display_diff(before, after, "MachineConfig 90-worker-swap")
    assert diffs[0]["after"]["kind"] == "MachineConfig"
    files = {d["after_header"]: (d["before"], d["after"]) for d in diffs[1:]}
    assert files == {
        "MachineConfig 90-worker-swap file /etc/ocpv/swap.env (decoded)":
            ("OCPV_SWAP_OVERCOMMIT_PERCENT=150\n", "OCPV_SWAP_OVERCOMMIT_PERCENT=200\n"),
        "MachineConfig 90-worker-swap file /etc/openshift/kubelet.conf.d/90-swap.conf (decoded)": ("", "failSwapOn: false\n"),
    }
    created = display_diff(None, after, "MachineConfig 90-worker-swap")
    assert len(created) == 4 and created[0]["before"] == {}
    assert display_diff(after, None, "x")[1]["after"] == ""


def test_diff_of_other_kinds_and_undecodable_files_is_the_object_only():
    from ansible_collections.ocpv.density.plugins.module_utils.k8s_object import display_diff
    assert len(display_diff(applied(DESIRED), None, "x")) == 1
    binary = _machineconfig({"/bin/blob": "data:;base64,//79"})
    assert len(display_diff(None, binary, "MachineConfig x")) == 1  # not text: shown in the object only
