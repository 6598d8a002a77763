# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""The implemented profile rows against the reference (wasp-agent.md §2, openshift-apis.md §3/§4),
and detection with the OpenShift Virtualization version."""

import pytest

from ansible_collections.ocpv.density.plugins.module_utils import profiles as p


def test_every_row_is_implemented_and_complete():
    for name, row in p.load_profiles().items():
        # autopilot: data only until the swap role can write the file-only MachineConfig
        assert row["implemented"] is (name != "autopilot"), name
        for key in ("provider", "volumes", "remove_manual", "exclusive"):
            assert key in row["wasp_agent"], (name, key)
        assert "kubelet_config_forbidden" in row and "cnv" in row, name
        assert row["wasp_agent"]["deploy"] == (row["wasp_agent"]["provider"] == "collection"), name


def test_rows_follow_the_reference():
    rows = {name: p.get_profile(name) for name in p.load_profiles()}
    assert rows["manual-4.17"]["kubelet_config"] == {"failSwapOn": False}
    assert rows["manual-4.17"]["alerts"]["rule_set"] == "NodeHighSwapActivity"
    assert {e["name"] for e in rows["manual-4.17"]["wasp_agent"]["env"]} >= {"NODE_NAME", "SWAP_UTILIZATION_THRESHOLD_FACTOR"}
    # Ignition 3.5.0 only from 4.19 (openshift-apis.md §4): rows starting before 4.19 use 3.4.0.
    for name, row in rows.items():
        if p.parse_minor(row["ocp"]["min"]) < (4, 19):
            assert row["ignition_version"] == "3.4.0", name
    assert rows["hco-managed"]["wasp_agent"]["provider"] == "hco"
    assert rows["hco-managed"]["wasp_agent"]["remove_manual"] is True
    # MCO 4.21+ refuses the swap keys in a KubeletConfig (openshift-apis.md §3).
    for name in ("dropin-4.21", "native"):
        assert rows[name]["kubelet_config"] == {}
        assert set(rows[name]["kubelet_config_forbidden"]) == {"failSwapOn", "memorySwap"}
        assert "failSwapOn: false" in rows[name]["kubelet_dropin"]
    assert "swapBehavior: LimitedSwap" in rows["native"]["kubelet_dropin"]
    assert rows["native"]["wasp_agent"]["exclusive"] is True and rows["native"]["auto"] is False


def test_hook_scope_follows_each_agent():
    """Only an agent with a limited-swap manager may get the broad hook: 4.16's v1.0 agent has none
    (wasp-agent v1.0 contrib/hook.sh, c6071e0, lifts virt-launcher pods only)."""
    rows = {name: p.get_profile(name) for name in p.load_profiles()}
    assert rows["tp-4.16"]["wasp_agent"]["hook_scope"] == "virt-launcher"
    assert rows["manual-4.17"]["wasp_agent"]["hook_scope"] == "burstable"
    for name, row in rows.items():
        if row["wasp_agent"]["hook_in_machineconfig"]:
            assert row["wasp_agent"]["hook_scope"] in ("virt-launcher", "burstable"), name


@pytest.mark.parametrize("ocp,cnv,name", [
    ("4.20.3", "4.20.2", "hco-managed"), ("4.20.3", "", "hco-managed"), ("4.21.1", "4.21.0", "dropin-4.21"),
    ("4.18.14", "4.18.6", "manual-4.17"), ("4.16.38", None, "tp-4.16"),
])
def test_detect_with_cnv(ocp, cnv, name):
    assert p.detect_profile(ocp, cnv_version=cnv)["name"] == name


def test_cnv_too_old_for_the_profile_is_explained():
    with pytest.raises(p.ProfileError) as err:
        p.detect_profile("4.20.3", cnv_version="4.19.4")
    text = str(err.value)
    assert "hco-managed" in text and "4.19.4" in text and "density_profile" in text and "manual-4.17" in text
