# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""The profile table (plugins/module_utils/profiles.yml) and its loader/lookup."""

import pytest

from ansible_collections.ocpv.density.plugins.module_utils import profiles as p

ROWS = ("tp-4.16", "manual-4.17", "hco-managed", "dropin-4.21", "native", "autopilot")


def test_table_has_the_design_rows_with_every_key():
    table = p.load_profiles()
    assert tuple(table) == ROWS
    for name, row in table.items():
        for key in ("description", "implemented", "auto", "ocp", "wasp_agent", "kubelet_config",
                    "kubelet_dropin", "ignition_version", "alerts"):
            assert key in row, (name, key)
        for key in ("deploy", "image", "image_from_csv", "env", "hook_in_machineconfig"):
            assert key in row["wasp_agent"], (name, key)


def test_tp_4_16_is_the_documented_procedure():
    row = p.get_profile("tp-4.16")
    assert row["name"] == "tp-4.16"
    assert row["implemented"] is True
    assert row["kubelet_config"] == {"failSwapOn": False, "evictionSoft": {"memory.available": "1Gi"},
                                     "evictionSoftGracePeriod": {"memory.available": "10s"}}
    assert row["ignition_version"] == "3.4.0"
    assert row["wasp_agent"]["image"] == "registry.redhat.io/container-native-virtualization/wasp-agent-rhel9:v4.16"
    assert row["wasp_agent"]["env"] == [{"name": "FSROOT", "value": "/host"}]
    assert row["alerts"]["rule_set"] == "NodeSwapping"


@pytest.mark.parametrize("version,name", [
    ("4.16.0", "tp-4.16"), ("4.16", "tp-4.16"), ("v4.16.12", "tp-4.16"),
    ("4.17.3", "manual-4.17"), ("4.19.0-rc.1", "manual-4.17"),
    ("4.20.1", "hco-managed"), ("4.21.0", "dropin-4.21"), ("4.30.0", "dropin-4.21"),
])
def test_detect(version, name):
    assert p.detect_profile(version)["name"] == name


def test_native_is_explicit_only_and_no_row_for_old_releases():
    assert all(p.detect_profile(v)["name"] != "native" for v in ("4.21.0", "4.22.0"))
    with pytest.raises(p.ProfileError, match="no profile for OpenShift 4.15"):
        p.detect_profile("4.15.2")
    with pytest.raises(p.ProfileError, match="cannot read"):
        p.detect_profile("latest")


def test_unknown_name_lists_the_profiles():
    with pytest.raises(p.ProfileError) as err:
        p.get_profile("tp-4.15")
    for name in ROWS:
        assert name in str(err.value)


def test_rows_are_copies():
    row = p.get_profile("tp-4.16")
    row["kubelet_config"]["failSwapOn"] = True
    assert p.get_profile("tp-4.16")["kubelet_config"]["failSwapOn"] is False


def run_lookup(expression):
    """Evaluate a Jinja expression with the lookup in a real ansible run (the plugin loader
    needs the collection installed, as .collections/ provides it)."""
    import json
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(root, "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="json",
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_NOCOLOR="1")
    ansible = os.path.join(os.path.dirname(sys.executable), "ansible")
    proc = subprocess.run([ansible, "localhost", "-m", "ansible.builtin.debug", "-a", "msg={{ %s }}" % expression],
                          cwd=root, env=env, capture_output=True, text=True, check=False)
    out = json.loads(proc.stdout)
    return out["plays"][0]["tasks"][0]["hosts"]["localhost"]


def test_lookup():
    assert run_lookup("query('ocpv.density.profile', 'tp-4.16') | map(attribute='name')")["msg"] == ["tp-4.16"]
    assert run_lookup("query('ocpv.density.profile', ocp_version='4.18.1') | map(attribute='name')")["msg"] == ["manual-4.17"]
    assert run_lookup("query('ocpv.density.profile') | map(attribute='name')")["msg"] == list(ROWS)
    assert run_lookup("query('ocpv.density.profile', ocp_version='4.10.0', errors='ignore')")["msg"] == []
    failed = run_lookup("query('ocpv.density.profile', 'nope')")
    assert failed.get("failed") and "unknown profile 'nope'" in failed["msg"]


# --- HyperConverged API version: chosen from the served versions, never from the stored one ----

def _crd(*versions):
    return {"spec": {"versions": [{"name": n, "served": served, "storage": storage} for n, served, storage in versions]}}


@pytest.mark.parametrize("crd,expected", [
    (_crd(("v1beta1", True, True)), "v1beta1"),                          # HCO <= 1.17
    (_crd(("v1", True, False), ("v1beta1", True, True)), "v1"),          # HCO 1.18: v1 served, v1beta1 stored
    (_crd(("v1", True, True), ("v1beta1", True, False)), "v1"),          # HCO 1.19+: v1 stored
    (_crd(("v1", True, False), ("v1beta1", False, True)), "v1"),         # harness 4.22: v1beta1 stored, not served
    (_crd(("v1", False, False), ("v1beta1", True, True)), "v1beta1"),    # v1 listed but not served
    (_crd(("v2", True, True)), ""),                                      # nothing the collection knows
    ({}, ""),
], ids=["1.17", "1.18", "1.19", "harness-4.22", "v1-unserved", "unknown", "no-crd"])
def test_hco_api_version_follows_the_served_versions(crd, expected):
    assert p.hco_api_version(crd) == expected
    assert p.hco_api_version(crd["spec"]["versions"] if crd else []) == expected


def test_hco_api_version_ignores_the_storage_flag():
    served_both = [("v1", True, False), ("v1beta1", True, True)]
    flipped = [("v1", True, True), ("v1beta1", True, False)]
    assert p.hco_api_version(_crd(*served_both)) == p.hco_api_version(_crd(*flipped)) == "v1"
    assert p.hco_api_version(_crd(*served_both), known=("v1beta1",)) == "v1beta1"


def test_hco_api_version_prefers_the_newest_whatever_the_order_of_known():
    crd = _crd(("v1beta1", True, True), ("v1", True, False), ("v1alpha1", True, False))
    assert p.hco_api_version(crd, known=["v1beta1", "v1", "v1alpha1"]) == "v1"
    assert p.hco_api_version(crd, known=["v1alpha1", "v1beta1"]) == "v1beta1"
    assert p.hco_api_version(_crd(("v1beta2", True, False), ("v1beta1", True, True)), known=["v1beta1", "v1beta2"]) == "v1beta2"


# --- the autopilot era: detected from virt-platform-autopilot's swap MachineConfig ------------

AUTOPILOT_MC = {"metadata": {"name": "90-worker-swap-online",
                             "labels": {"machineconfiguration.openshift.io/role": "worker"}}}


def test_autopilot_machineconfig_is_recognised_by_name_or_by_its_label_and_path():
    assert p.autopilot_swap_machineconfig([AUTOPILOT_MC]) == "90-worker-swap-online"
    labelled = {"metadata": {"name": "91-worker-swap", "labels": {"platform.kubevirt.io/managed-by": "virt-platform-autopilot"}},
                "spec": {"config": {"storage": {"files": [{"path": "/etc/openshift/kubelet.conf.d/90-swap.conf"}]}}}}
    assert p.autopilot_swap_machineconfig([labelled]) == "91-worker-swap"
    ours = {"metadata": {"name": "90-worker-swap"},
            "spec": {"config": {"storage": {"files": [{"path": "/etc/openshift/kubelet.conf.d/90-swap.conf"}]}}}}
    assert p.autopilot_swap_machineconfig([ours]) == ""
    other_autopilot_mc = {"metadata": {"name": "04-psi", "labels": {"platform.kubevirt.io/managed-by": "virt-platform-autopilot"}}}
    assert p.autopilot_swap_machineconfig([other_autopilot_mc]) == ""
    going = {"metadata": dict(AUTOPILOT_MC["metadata"], deletionTimestamp="2026-01-01T00:00:00Z")}
    assert p.autopilot_swap_machineconfig([going]) == ""
    assert p.autopilot_swap_machineconfig([]) == p.autopilot_swap_machineconfig(None) == ""


@pytest.mark.parametrize("version", ["4.16.3", "4.21.1", "4.22.0", "4.30.0"])
def test_autopilot_row_is_chosen_from_what_the_cluster_shows_not_the_version(version):
    assert p.detect_profile(version, autopilot=True)["name"] == "autopilot"


def test_without_the_autopilot_the_version_decides():
    assert p.detect_profile("4.22.0")["name"] == "dropin-4.21"
    assert p.detect_profile("4.22.0", autopilot=False)["name"] == "dropin-4.21"


def test_autopilot_row_provisions_only_what_the_autopilot_enables():
    row = p.get_profile("autopilot")
    assert row["auto"] is False and row["detect"] == "autopilot"
    assert row["implemented"] is False, "the swap role cannot write the file-only MachineConfig yet"
    assert row["kubelet_dropin"] is None and row["kubelet_config"] == {}
    assert row["wasp_agent"]["provider"] == "autopilot" and row["wasp_agent"]["deploy"] is False
    assert row["swap_file"] == "/var/tmp/ocpswap.file"


def test_rows_that_write_the_dropin_refuse_the_autopilot():
    for name, row in p.load_profiles().items():
        if row.get("kubelet_dropin") or row["wasp_agent"].get("provider") == "hco" and row["ocp"]["min"] >= "4.21":
            assert row.get("autopilot_compatible") is False, name
    assert "UNSUPPORTED" in p.get_profile("native")["unsupported"]


def test_lookup_detects_the_autopilot():
    out = run_lookup("query('ocpv.density.profile', ocp_version='4.22.0', machineconfigs=[dict(metadata="
                     "dict(name='90-worker-swap-online'))]) | map(attribute='name')")
    assert out["msg"] == ["autopilot"], out
