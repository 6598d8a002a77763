# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""The one validation of every input (plugins/plugin_utils/validate.py), table-driven per class of
issue 21 (careless and hostile input) and issue 20 item 4 (one sentence per wrong input).

Oracle for names and label keys: the ``kubernetes`` Python client (37.x) has no name validators
(its models only check required fields), so Kubernetes' own Go functions judge: k8s.io/apimachinery
v0.36.3 pkg/api/validate/content IsDNS1123Label, IsDNS1123Subdomain, IsLabelKey, IsLabelValue,
through localcluster/k8s-names (realtools.k8s_name_errors; built by ``make real-components``), not
a regex of ours."""

import os
import sys

import pytest

from ansible_collections.ocpv.density.plugins.plugin_utils import inputs as i
from ansible_collections.ocpv.density.plugins.plugin_utils import validate as v
from ansible_collections.ocpv.density.plugins.module_utils.profiles import load_profiles

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = i.read_role_inputs(os.path.join(ROOT, "roles"))
sys.path.insert(0, os.path.join(ROOT, "localcluster"))

import realtools  # noqa: E402


# --- the oracle (apimachinery, see the module docstring) --------------------------------------
def k8s_dns1123_label(value):
    return realtools.k8s_valid("dns1123_label", value)


def k8s_dns1123_subdomain(value):
    return realtools.k8s_valid("dns1123_subdomain", value)


def k8s_label_key(value):
    return realtools.k8s_valid("label_key", value)


def k8s_label_value(value):
    return realtools.k8s_valid("label_value", value)


@pytest.mark.parametrize("rule,value,valid", [
    ("dns1123_label", "worker", True), ("dns1123_label", "worker\n", False), ("dns1123_label", "a" * 64, False),
    ("dns1123_subdomain", "90-worker-swap", True), ("dns1123_subdomain", "a..b", False),
    ("label_key", "node-role.kubernetes.io/worker", True), ("label_key", "node-role.kubernetes.io/" + "a" * 64, False),
    ("label_value", "", True), ("label_value", "a b", False),
])
def test_the_oracle_is_apimachinery_and_answers(rule, value, valid):
    """The oracle runs (a missing tool would raise, not pass) and says what apimachinery says."""
    assert realtools.k8s_valid(rule, value) is valid


def refusals(values, mode="apply", **kwargs):
    return v.refusals(values, ROLES, mode=mode, **kwargs)


def one_sentence_naming(messages, var, value=None):
    """The first refusal is one sentence (no newline, no traceback, no spec dump) that names the
    variable and, shortened, the value given."""
    assert messages, "accepted, but should be refused: %s" % var
    first = messages[0]
    assert "\n" not in first and "Traceback" not in first and "argument_spec" not in first, first
    assert var in first, first
    if value is not None:
        assert i.shown(value)[:40].rstrip(".") in first, first
    assert len(first) < 600, first
    return first


# --- 1. unknown variables: near misses of any public input -----------------------------------
@pytest.mark.parametrize("name,value,suggested", [
    ("render_dri", "out", "render_dir"),
    ("renderdir", "out", "render_dir"),
    ("Render_Dir", "out", "render_dir"),
    ("rendr_dir", "/tmp/x", "render_dir"),
    ("overcomit", 150, "overcommit"),
    ("hco_wait_timout", 5, "hco_wait_timeout"),
    ("swap_pol", "worker", "swap_pool"),
    ("density_profil", "tp-4.16", "density_profile"),
    ("swap_wait_poll_intervall", 30, "swap_wait_poll_interval"),
    ("wasp_agent_node_selectors", {"a": "b"}, "wasp_agent_node_selector"),
    ("namespace_nmae", "wasp", "namespace_name"),
    ("verify_reportdir", "out", "verify_report_dir"),
    ("density_profiles", "tp-4.16", "density_profile"),
    ("preflight_swap_disk_checks", False, "preflight_swap_disk_check"),
    ("overcommmit", 150, "overcommit"), ("Overcommit", "150", "overcommit"), ("ovrcommit", 150, "overcommit"),
    ("State", "absent", "state"), ("sate", "absent", "state"), ("stae", "present", "state"),
])
def test_near_misses_of_any_public_input_are_refused_with_the_close_name(name, value, suggested):
    messages = refusals({"overcommit": 150}, names=[name, "overcommit"], hostvars={name: value})
    first = one_sentence_naming(messages, name)
    assert "did you mean %s" % suggested in first


@pytest.mark.parametrize("name,value", [
    ("stats", {"a": 1}), ("estate", "rural"), ("render", True), ("inventory_dir", "/x"), ("role_path", "/x"),
    ("ansible_python_interpreter", "/usr/bin/python3"), ("my_overcommit_note", "x"), ("render_dir_old", 5),
])
def test_names_of_the_user_and_of_ansible_are_not_judged(name, value):
    assert refusals({"overcommit": 150}, names=[name], hostvars={name: value}) == []


def test_a_role_prefix_not_in_the_argument_specs_is_unknown_whatever_the_tasks_set():
    """The rule is the prefix and the argument specs (and defaults): a name the swap role's tasks
    set internally (as __swap_settings) is no input of it when a user gives it."""
    first = one_sentence_naming(refusals({"overcommit": 150}, names=["swap_settings"], hostvars={}), "swap_settings")
    assert first.startswith("swap_settings is not a variable of ocpv.density (the swap_* variables are ")
    assert "swap_pool" in first and "swap_settings," not in first


@pytest.mark.parametrize("name", ["__swap_settings", "__preflight_input_roles", "__site_lock", "__upgrade_reads",
                                  "__fleet_result", "preflight_cluster", "wasp_agent_node_files"])
def test_internal_names_and_the_documented_outputs_are_not_judged(name):
    assert refusals({"overcommit": 150}, names=[name], hostvars={name: {"x": 1}}) == []


def test_edit_distance_counts_a_transposition_once():
    assert v.edit_distance("render_dri", "render_dir") == 1
    assert v.edit_distance("renderdir", "render_dir") == 1
    assert v.edit_distance("abc", "abc") == 0


@pytest.mark.parametrize("name,value,suggested", [
    ("render_dri", 2024, "render_dir"), ("renderdir", True, "render_dir"), ("rendr_dir", 1.5, "render_dir"),
    ("kubeconfg", 7, "kubeconfig"),
])
def test_near_misses_of_a_text_input_are_refused_whatever_scalar_they_hold(name, value, suggested):
    """A vars file's render_dri: 2024 (a YAML number) takes the apply path as much as a text does.
    Seen to fail before the fix: only a text value was taken for a render_dir typo."""
    messages = refusals({"overcommit": 150}, names=[name, "overcommit"], hostvars={name: value})
    assert "did you mean %s" % suggested in one_sentence_naming(messages, name)


# --- 2. render-only and unbounded sizes --------------------------------------------------------
@pytest.mark.parametrize("values,var", [
    ({"overcommit": 150, "swap_size_mib": 1}, "swap_size_mib"),
    ({"overcommit": 150, "swap_size_mib": 4096}, "swap_size_mib"),
    ({"overcommit": 150, "swap_size_mib": "10"}, "swap_size_mib"),
])
def test_render_only_inputs_are_refused_when_applying(values, var):
    one_sentence_naming(refusals(values), var, values[var])
    assert refusals(dict(values, render_dir="out"), mode="render") == []


@pytest.mark.parametrize("size", [10 ** 13, 8_800_000_000_000, v.SWAP_SIZE_MIB_MAX + 1, -1, "1e3", True, 1.5])
def test_swap_size_mib_is_bounded_and_whole(size):
    one_sentence_naming(refusals({"render_dir": "out", "swap_size_mib": size}, mode="render"), "swap_size_mib")


# --- 4. node paths from an allow-list -------------------------------------------------------------
@pytest.mark.parametrize("var,path", [
    ("swap_file", "/etc/passwd"),
    ("swap_file", "/dev/sda"),
    ("swap_file", "/usr/local/sbin/ocpv-density-swap.sh"),
    ("swap_file", "/var/tmp/other-swap"),
    ("swap_file", "/var/lib/kubelet/swap"),
    ("swap_file", "/var/log/swap"),
    ("swap_file", "/var"),
    ("wasp_agent_hook_script_path", "/etc/passwd"),
    ("wasp_agent_hook_script_path", "/usr/local/sbin/ocpv-density-swap.sh"),
    ("wasp_agent_hook_script_path", "/usr/bin/oci-hook"),
    ("wasp_agent_hook_script_path", "/usr/local/bin"),
])
def test_node_paths_outside_the_allowed_roots_are_refused(var, path):
    first = one_sentence_naming(refusals({"overcommit": 150, var: path}), var, path)
    assert "/var" in first or "/usr/local" in first  # the allowed roots are named


@pytest.mark.parametrize("files", [
    [{"path": "/etc/passwd", "mode": 420, "contents": "x"}],
    [{"path": "/etc/containers/oci/hooks.d/x.sh", "mode": 493, "contents": "x"}],
    [{"path": "/usr/local/sbin/ocpv-density-swap.sh", "mode": 493, "contents": "x"}],
    [{"path": "/var/swapfile", "mode": 420, "contents": "x"}],
])
def test_extra_files_outside_the_allowed_roots_are_refused(files):
    one_sentence_naming(refusals({"overcommit": 150, "swap_file": "/var/swapfile", "swap_extra_files": files}),
                        "swap_extra_files")


@pytest.mark.parametrize("var,path", [
    ("swap_file", "/var/swapfile"), ("swap_file", "/var/swap/node.swap"), ("swap_file", "/var/ocpswap.file"),
    ("wasp_agent_hook_script_path", "/usr/local/bin/oci-hook-swap.sh"),
    ("wasp_agent_hook_script_path", "/usr/local/libexec/hook.sh"),
])
def test_allowed_node_paths_pass(var, path):
    assert refusals({"overcommit": 150, var: path}) == []


# --- 5. swap_kubelet_config: typed, merged, swap keys kept ------------------------------------------
@pytest.mark.parametrize("config,key", [
    ({"failSwapOn": "false"}, "failSwapOn"),
    ({"failSwapOn": True}, "failSwapOn"),
    ({"failSwapOn": 0}, "failSwapOn"),
    ({"memorySwap": {"swapBehavior": "LimitedSwap"}}, "memorySwap"),
    ({"maxPods": "300"}, "maxPods"),
    ({"evictionSoft": {"memory.available": 1}}, "evictionSoft"),
    ({"serializeImagePulls": "no"}, "serializeImagePulls"),
])
def test_kubelet_config_values_are_typed_and_swap_keys_kept(config, key):
    first = one_sentence_naming(refusals({"overcommit": 150, "swap_kubelet_config": config}), "swap_kubelet_config")
    assert key in first


def test_kubelet_config_merges_into_the_profile_keys():
    profiles = load_profiles()
    merged = v.kubelet_config_merge(profiles["tp-4.16"], {"maxPods": 300, "evictionSoft": {"nodefs.available": "10%"}})
    assert merged["failSwapOn"] is False and merged["maxPods"] == 300
    assert merged["evictionSoft"] == {"memory.available": "1Gi", "nodefs.available": "10%"}
    assert merged["evictionSoftGracePeriod"] == profiles["tp-4.16"]["kubelet_config"]["evictionSoftGracePeriod"]
    # the profile's swap key wins, whatever came in
    assert v.kubelet_config_merge(profiles["tp-4.16"], {"failSwapOn": True})["failSwapOn"] is False
    # a drop-in profile keeps failSwapOn out of the KubeletConfig (its MCO refuses it there)
    assert "failSwapOn" not in v.kubelet_config_merge(profiles["dropin-4.21"], {"failSwapOn": False, "maxPods": 9})
    assert v.kubelet_config_merge(profiles["tp-4.16"], {}) == profiles["tp-4.16"]["kubelet_config"]


# --- 6. overcommit values that disagree ------------------------------------------------------------
@pytest.mark.parametrize("values,var", [
    ({"overcommit": 110, "hco_overcommit": 300}, "hco_overcommit"),
    ({"overcommit": 110, "hco_overcommit": 300, "hco_overcommit_decoupled": True}, "hco_overcommit"),
    ({"overcommit": 150, "hco_overcommit": 120}, "hco_overcommit"),
    ({"overcommit": 110, "swap_overcommit": 300}, "swap_overcommit"),
    ({"render_dir": "out", "swap_size_mib": 1024, "hco_overcommit": 300}, "hco_overcommit"),
])
def test_overcommits_that_disagree_are_refused(values, var):
    mode = "render" if "render_dir" in values else "apply"
    one_sentence_naming(refusals(values, mode=mode), var)


@pytest.mark.parametrize("values", [
    {"overcommit": 150},
    {"overcommit": 150, "hco_overcommit": 150},
    {"overcommit": 150, "hco_overcommit": 120, "hco_overcommit_decoupled": True},
    {"overcommit": 150, "hco_overcommit": 100, "hco_overcommit_decoupled": "true"},
    {"overcommit": 150, "swap_overcommit": "150"},
])
def test_one_overcommit_or_a_lower_decoupled_hco_value_passes(values):
    assert refusals(values) == []


# --- 7. trailing newlines and other shapes: fullmatch ---------------------------------------------
@pytest.mark.parametrize("var,value", [
    ("swap_pool", "worker\n"),
    ("wasp_agent_image", "quay.io/openshift-virtualization/wasp-agent:v1\n"),
    ("wasp_agent_image", "quay.io/a/b:v1 --privileged"),
    ("wasp_agent_image", "Quay.io/UPPER/case"),
    ("namespace_name", "wasp\n"),
    ("hco_name", "kubevirt-hyperconverged\n"),
    ("verify_pool", "worker\n"),
    ("alerts_runbook_url", "https://example.com/rb\n"),
])
def test_a_trailing_newline_or_bad_shape_is_refused(var, value):
    one_sentence_naming(refusals({"overcommit": 150, var: value}), var, value)


@pytest.mark.parametrize("image", [
    "registry.redhat.io/container-native-virtualization/wasp-agent-rhel9:v4.16",
    "quay.io/openshift-virtualization/wasp-agent@sha256:" + "a" * 64,
    "localhost:5000/wasp_agent__x/a-b:1.0",
    "wasp-agent",
])
def test_valid_images_pass(image):
    assert refusals({"overcommit": 150, "wasp_agent_image": image}) == []


def test_an_image_name_over_255_characters_is_refused():
    one_sentence_naming(refusals({"overcommit": 150, "wasp_agent_image": "a/" * 128 + "b"}), "wasp_agent_image")


# --- 8. names that become part of names and label keys: the derived names, by the oracle -----------
POOLS = ["worker", "master", "virt-1", "a", "a" * 63, "a" * 64, "a" * 253, "a..b", "a.b", "Worker", "-a", "a-",
         "a_b", "", "worker\n", "90", "x" * 62 + "y"]


@pytest.mark.parametrize("pool", POOLS)
def test_swap_pool_is_accepted_exactly_when_every_derived_name_is_valid(pool):
    valid = pool == "" or (k8s_dns1123_label(pool)
                           and k8s_label_key("node-role.kubernetes.io/" + pool)
                           and k8s_label_key("pools.operator.machineconfiguration.openshift.io/" + pool)
                           and k8s_dns1123_subdomain("90-%s-swap" % pool)
                           and k8s_dns1123_subdomain("ocpv-density-%s" % pool)
                           and k8s_label_value(pool))  # the MachineConfig's role label value
    messages = refusals({"overcommit": 150, "swap_pool": pool})
    if valid:
        assert messages == []
    else:
        one_sentence_naming(messages, "swap_pool")


@pytest.mark.parametrize("var,value,rule", [
    ("namespace_name", "a" * 64, "dns1123_label"), ("namespace_name", "wasp.x", "dns1123_label"),
    ("namespace_name", "density-1", "dns1123_label"), ("namespace_name", "wasp\n", "dns1123_label"),
    ("namespace_service_account", "a" * 254, "dns1123_subdomain"),
    ("namespace_service_account", "a.b-c", "dns1123_subdomain"),
    ("swap_machineconfig_name", "A-swap", "dns1123_subdomain"),
    ("swap_machineconfig_name", "99-x.swap", "dns1123_subdomain"),
    ("hco_namespace", "openshift_cnv", "dns1123_label"), ("hco_namespace", "openshift-cnv", "dns1123_label"),
    ("verify_pool", "a" * 64, "dns1123_label"), ("hco_name", "kubevirt-hyperconverged", "dns1123_subdomain"),
])
def test_names_follow_the_oracle(var, value, rule):
    """Refused exactly when apimachinery refuses the name."""
    messages = refusals({"overcommit": 150, var: value})
    if realtools.k8s_valid(rule, value):
        assert messages == []
    else:
        one_sentence_naming(messages, var)


@pytest.mark.parametrize("selector", [
    {"node-role.kubernetes.io/worker": ""}, {"kubernetes.io/os": "linux"}, {"cnv": "true"},
    {"a/b/c": "x"}, {"-x": "y"}, {"x": "y\n"}, {"x": "a" * 64}, {"UPPER.example.com/x": "y"}, {"x_y.z": "-v"},
])
def test_node_selector_labels_follow_the_oracle(selector):
    """wasp_agent_node_selector becomes the DaemonSet's nodeSelector: refused exactly when a key or
    value is one apimachinery refuses."""
    valid = all(k8s_label_key(k) and k8s_label_value(val) for k, val in selector.items())
    messages = refusals({"overcommit": 150, "wasp_agent_node_selector": selector})
    if valid:
        assert messages == []
    else:
        one_sentence_naming(messages, "wasp_agent_node_selector")


# --- 9. namespaces and ServiceAccounts that agree ---------------------------------------------------
@pytest.mark.parametrize("values,var", [
    ({"wasp_agent_namespace": "other"}, "wasp_agent_namespace"),
    ({"namespace_name": "density", "wasp_agent_namespace": "wasp"}, "wasp_agent_namespace"),
    ({"wasp_agent_service_account": "agent"}, "wasp_agent_service_account"),
    ({"namespace_service_account": "a", "wasp_agent_service_account": "b"}, "wasp_agent_service_account"),
])
def test_namespaces_and_service_accounts_that_disagree_are_refused(values, var):
    one_sentence_naming(refusals(dict(values, overcommit=150)), var)


@pytest.mark.parametrize("values", [
    {"namespace_name": "density"},
    {"namespace_name": "density", "wasp_agent_namespace": "density"},
    {"namespace_service_account": "agent", "wasp_agent_service_account": "agent"},
])
def test_namespaces_that_agree_pass(values):
    assert refusals(dict(values, overcommit=150)) == []


# --- types: one sentence, never a spec dump (issue 20 item 4) -------------------------------------
@pytest.mark.parametrize("var,value", [
    ("overcommit", "150%"), ("overcommit", [150]), ("overcommit", True), ("overcommit", 1001),
    ("swap_pool", ["worker"]), ("swap_pool", 5), ("verify_fail", "maybe"), ("swap_wait_timeout", "x"),
    ("state", "enabled"), ("namespace_rbac_mode", "admin"), ("wasp_agent_node_selector", "a=b"),
    ("swap_kubelet_config", "failSwapOn=false"), ("swap_extra_files", {"path": "/usr/local/bin/x"}),
    ("density_profile", "nope"), ("render_dir", 5),
])
def test_wrong_types_and_values_give_one_sentence(var, value):
    values = {"overcommit": 150, var: value}
    one_sentence_naming(refusals(values), var)


def test_long_values_are_shortened_in_the_message():
    first = one_sentence_naming(refusals({"overcommit": 150, "swap_pool": "x" * 5000}), "swap_pool")
    assert len(first) < 500


# --- render mode --------------------------------------------------------------------------------
@pytest.mark.parametrize("values,var", [
    ({"render_dir": "out", "state": "absent"}, "state"),
    ({"render_dir": "out"}, "swap_size_mib"),
    ({"render_dir": "", "overcommit": 150}, "render_dir"),
])
def test_render_refusals(values, var):
    one_sentence_naming(refusals(values, mode="render"), var)


@pytest.mark.parametrize("var", ["swap_machineconfig_name", "swap_kubeletconfig_name", "hco_name",
                                 "namespace_service_account", "namespace_cluster_role"])
def test_a_name_too_long_for_a_render_file_is_refused_in_render_mode(var):
    """A valid 250-character object name makes render_dir's file <kind>-<name>.yaml longer than a
    file name may be (255 bytes). Seen to fail before the fix: accepted, then the render stopped
    with "File name too long" naming no variable; when applying it stays accepted."""
    name = "a" * 250
    values = {"render_dir": "out", "swap_size_mib": 1024, var: name}
    first = one_sentence_naming(refusals(values, mode="render"), var)
    assert "render_dir" in first
    assert refusals({"render_dir": "out", "swap_size_mib": 1024, var: "a" * v.RENDER_NAME_MAX},
                    mode="render") == []
    assert [m for m in refusals({"overcommit": 150, var: name}) if "render_dir" in m] == []


def test_role_mode_judges_only_its_prefix_and_the_unset_overcommit_of_absent():
    assert refusals({"swap_overcommit": 0, "hco_name": "X"}, mode="role", prefix="swap_") == []
    one_sentence_naming(refusals({"swap_file": "/etc/passwd"}, mode="role", prefix="swap_"), "swap_file")
    # the namespace of the wasp_agent role defaults to namespace_name: no false refusal alone
    assert refusals({"namespace_name": "d", "wasp_agent_namespace": "d"}, mode="role", prefix="wasp_agent_") == []


# --- the one overcommit range (swap_plan.overcommit_in_range) and the roles' filter ------------
@pytest.mark.parametrize("value,minimum,expected", [
    (150, 101, True), ("150", 101, True), (" 150 ", 101, True), ("0150", 101, True), (101, 101, True),
    (1000, 101, True), (100, 101, False), (100, 100, True), ("100", 100, True), (99, 100, False),
    (1001, 101, False), ("1001", 100, False), (True, 101, False), (False, 100, False), (150.0, 101, False),
    ("150.0", 101, False), ("+150", 101, False), ("1e3", 101, False), ("", 101, False), (None, 101, False),
    ([150], 101, False), ({"a": 150}, 101, False), ("9" * 5000, 101, False), ("15 0", 101, False),
])
def test_the_roles_overcommit_check_reads_as_their_assert_did(value, minimum, expected):
    """The swap, verify and hco roles asserted: not a boolean; an integer, or digits once trimmed;
    as int from minimum to 1000. The filter is that, on the one range of swap_plan."""
    from ansible_collections.ocpv.density.plugins.filter.inputs import overcommit_in_range

    assert overcommit_in_range(value, minimum) is expected
    if minimum == 101:
        assert overcommit_in_range(value) is expected


def test_every_overcommit_range_is_the_one_of_swap_plan():
    from ansible_collections.ocpv.density.plugins.module_utils import swap_plan

    assert (v.OVERCOMMIT_MIN, v.OVERCOMMIT_MAX, v.HCO_OVERCOMMIT_MIN) == (101, 1000, 100)
    assert v.overcommit_in_range is swap_plan.overcommit_in_range
    for var, low in (("swap_overcommit", 101), ("verify_overcommit", 101), ("hco_overcommit", 100)):
        check = v.CHECK_BY_VAR[var]
        assert (check["minimum"], check["maximum"]) == (low, swap_plan.OVERCOMMIT_MAX)
    assert [swap_plan.overcommit_in_range(n) for n in (100, 101, 1000, 1001, True)] == [False, True, True, False, False]
    for path, var in (("swap/tasks/settings.yml", "swap_overcommit"), ("verify/tasks/verify.yml", "verify_overcommit"),
                      ("hco/tasks/hco.yml", "__hco_target")):
        with open(os.path.join(ROOT, "roles", path)) as handle:
            text = handle.read()
        assert "%s | ocpv.density.overcommit_in_range" % var in text and "<= 1000" not in text, path
