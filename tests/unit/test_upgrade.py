# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Release gates of plugins/module_utils/upgrade.py: which pool's kubelet reads the swap drop-in
(profile row data), and the refusal preflight gives before any write."""

import pytest

from ansible_collections.ocpv.density.plugins.module_utils import profiles as p
from ansible_collections.ocpv.density.plugins.module_utils import upgrade as u


def test_the_rows_say_from_which_release_each_pool_reads_the_dropin():
    rows = {name: p.get_profile(name) for name in p.load_profiles()}
    for name in ("dropin-4.21", "native"):
        since = rows[name]["kubelet_dropin_read_since"]
        assert since["default"] == "4.21" and since["master"] == "4.23" and since["arbiter"] == "4.23", name
        assert u.dropin_read_since(rows[name], "master") == "4.23"
        assert u.dropin_read_since(rows[name], "worker") == "4.21"
        assert u.dropin_read_since(rows[name], "infra") == "4.21"   # custom pools: worker templates
    for name in ("tp-4.16", "manual-4.17", "hco-managed"):   # no drop-in: the KubeletConfig carries failSwapOn
        assert rows[name]["kubelet_dropin"] is None
        assert u.dropin_read_since(rows[name], "master") == ""


@pytest.mark.parametrize("version", ["4.21.1", "4.22.0", "4.22.9"])
@pytest.mark.parametrize("profile", ["dropin-4.21", "native"])
def test_master_pool_is_refused_on_421_and_422(version, profile):
    message = u.swap_pool_refusal(p.get_profile(profile), "master", version)
    assert "swap_pool=master" in message and version in message and profile in message
    assert "4.23" in message                                   # the release that lifts it
    assert "--config-dir" in message and "failSwapOn" in message and "NotReady" in message
    assert "Nothing was changed" in message


@pytest.mark.parametrize("profile,pool,version", [
    ("dropin-4.21", "master", "4.23.0"), ("dropin-4.21", "master", "4.24.2"), ("dropin-4.21", "worker", "4.21.1"),
    ("native", "worker", "4.22.0"), ("dropin-4.21", "infra", "4.21.1"),
    # 4.16-4.20 put failSwapOn: false into the master pool's KubeletConfig: compact clusters work
    ("tp-4.16", "master", "4.16.38"), ("manual-4.17", "master", "4.19.9"), ("hco-managed", "master", "4.20.3"),
])
def test_allowed_where_the_kubelet_reads_its_swap_setting(profile, pool, version):
    assert u.swap_pool_refusal(p.get_profile(profile), pool, version) == ""


def test_state_absent_is_never_refused():
    assert u.swap_pool_refusal(p.get_profile("dropin-4.21"), "master", "4.21.1", state="absent") == ""


def test_a_forced_profile_on_an_older_release_is_judged_by_the_release():
    # density_profile=dropin-4.21 forced on 4.20: no master kubelet there reads the drop-in either.
    assert "4.23" in u.swap_pool_refusal(p.get_profile("dropin-4.21"), "master", "4.20.3")


def test_an_unreadable_version_is_an_error():
    with pytest.raises(p.ProfileError):
        u.swap_pool_refusal(p.get_profile("dropin-4.21"), "master", "banana")


# --- ClusterVersion and the upgrade step ------------------------------------------------------------

def cv(desired, history, progressing):
    return {"status": {"desired": {"version": desired},
                       "history": [{"version": v, "state": s} for v, s in history],
                       "conditions": [{"type": "Progressing", "status": "True" if progressing else "False"}]}}


def test_cluster_version_mid_upgrade():
    state = u.cluster_version_state(cv("4.21.1", [("4.21.1", "Partial"), ("4.20.3", "Completed")], True))
    assert state == {"desired": "4.21.1", "current": "4.20.3", "upgrading": True, "from_minor": "4.20", "to_minor": "4.21"}


@pytest.mark.parametrize("clusterversion", [
    cv("4.21.1", [("4.21.1", "Completed"), ("4.20.3", "Completed")], False),   # done
    cv("4.20.3", [("4.20.3", "Completed")], False),                            # installed, never upgraded
    cv("4.20.3", [("4.20.3", "Completed")], True),                             # reconciling, same release
    {"status": {"desired": {"version": "4.20.3"}}},                            # no history yet
])
def test_cluster_version_not_upgrading(clusterversion):
    state = u.cluster_version_state(clusterversion)
    assert state["upgrading"] is False
    assert state["to_minor"] == state["from_minor"] == state["desired"][:4]


def test_a_failed_upgrade_still_counts_as_under_way():
    # Partial with Progressing False: halted or failed half-way; the old release is what completed.
    state = u.cluster_version_state(cv("4.21.1", [("4.21.1", "Partial"), ("4.20.3", "Completed")], False))
    assert state["upgrading"] and state["current"] == "4.20.3"


def rows(a, b):
    return p.get_profile(a), p.get_profile(b)


UP_420_421 = u.cluster_version_state(cv("4.21.1", [("4.21.1", "Partial"), ("4.20.3", "Completed")], True))
UP_419_420 = u.cluster_version_state(cv("4.20.3", [("4.20.3", "Partial"), ("4.19.9", "Completed")], True))


def test_no_upgrade_converges_like_site():
    state = u.cluster_version_state(cv("4.20.3", [("4.20.3", "Completed")], False))
    step = u.upgrade_step(state, *rows("hco-managed", "hco-managed"), pool="worker")
    assert step["action"] == "converge" and step["profile"] == ""


def test_420_to_421_waits_for_the_control_plane_then_moves_failswapon():
    early = u.upgrade_step(UP_420_421, *rows("hco-managed", "dropin-4.21"), pool="worker",
                           control_plane_version="", cnv_version="4.20.2", swap_keys_in_kubelet_config=True)
    assert early["action"] == "wait" and "control plane" in early["message"] and "Nothing was changed" in early["message"]
    stale = u.upgrade_step(UP_420_421, *rows("hco-managed", "dropin-4.21"), pool="worker",
                           control_plane_version="4.20.3", cnv_version="4.20.2", swap_keys_in_kubelet_config=True)
    assert stale["action"] == "wait"
    ready = u.upgrade_step(UP_420_421, *rows("hco-managed", "dropin-4.21"), pool="worker",
                           control_plane_version="4.21.1", cnv_version="4.20.2", swap_keys_in_kubelet_config=True)
    assert ready["action"] == "converge" and ready["profile"] == "dropin-4.21"


def test_420_to_421_without_swap_keys_left_converges_at_once():
    step = u.upgrade_step(UP_420_421, *rows("hco-managed", "dropin-4.21"), pool="worker",
                          cnv_version="4.20.2", swap_keys_in_kubelet_config=False)
    assert step == {"action": "converge", "profile": "dropin-4.21", "message": step["message"]}


def test_420_to_421_with_swap_on_the_masters_is_refused():
    step = u.upgrade_step(UP_420_421, *rows("hco-managed", "dropin-4.21"), pool="master",
                          control_plane_version="4.21.1", cnv_version="4.20.2", swap_keys_in_kubelet_config=True)
    assert step["action"] == "refuse" and "4.23" in step["message"] and "state=absent" in step["message"]


def test_419_to_420_waits_for_openshift_virtualization_then_hands_over():
    early = u.upgrade_step(UP_419_420, *rows("manual-4.17", "hco-managed"), pool="worker", cnv_version="4.19.4")
    assert early["action"] == "wait" and "4.19.4" in early["message"] and "stays" in early["message"]
    ready = u.upgrade_step(UP_419_420, *rows("manual-4.17", "hco-managed"), pool="worker", cnv_version="4.20.2")
    assert ready["action"] == "converge" and ready["profile"] == "hco-managed"


def test_an_upgrade_within_one_profile_needs_nothing():
    state = u.cluster_version_state(cv("4.18.14", [("4.18.14", "Partial"), ("4.17.29", "Completed")], True))
    step = u.upgrade_step(state, *rows("manual-4.17", "manual-4.17"), pool="worker", cnv_version="4.17.9")
    assert step["action"] == "wait" and "needs nothing" in step["message"]


def test_422_to_423_says_hco_drops_its_agent_instead_of_needing_nothing():
    """4.22 -> 4.23: both releases pick dropin-4.21 by version, but HCO 1.19 deploys no wasp-agent
    and removes HCO's on upgrade (HCO #4528 / #4535), and virt-platform-autopilot's
    90-worker-swap-online then writes the drop-in path ours writes. Seen to fail before: the step
    said the upgrade needs nothing from ocpv.density."""
    state = u.cluster_version_state(cv("4.23.0", [("4.23.0", "Partial"), ("4.22.0", "Completed")], True))
    step = u.upgrade_step(state, *rows("dropin-4.21", "dropin-4.21"), pool="worker", cnv_version="4.22.0")
    assert step["action"] == "refuse", step
    text = step["message"]
    assert "HCO 1.19" in text and "#4528" in text and "90-worker-swap-online" in text and "state=absent" in text
    assert "Nothing was changed" in text


WAIT = {"action": "wait", "profile": "", "message": "the control plane has not finished updating."}


@pytest.mark.parametrize("step,waited,timeout,action", [
    (WAIT, 0, 0, "wait"),            # 0: today's one-shot behaviour
    (WAIT, 0, 3600, "poll"),
    (WAIT, 3599, 3600, "poll"),
    (WAIT, 3600, 3600, "timeout"),
    ({"action": "converge", "profile": "dropin-4.21", "message": "go"}, 3700, 3600, "converge"),
    ({"action": "refuse", "profile": "", "message": "no"}, 10, 3600, "refuse"),
])
def test_wait_outcome(step, waited, timeout, action):
    assert u.wait_outcome(step, waited, timeout)["action"] == action


def test_wait_timeout_says_what_it_waited_for_and_that_nothing_was_written():
    message = u.wait_outcome(WAIT, 4000, 3600)["message"]
    assert "upgrade_wait_timeout=3600s" in message and "nothing was written" in message
    assert WAIT["message"] in message


@pytest.mark.parametrize("value,ok", [(0, True), (3600, True), (u.WAIT_TIMEOUT_MAX, True),
                                      (-1, False), (u.WAIT_TIMEOUT_MAX + 1, False), ("soon", False)])
def test_upgrade_wait_timeout_range(value, ok):
    from ansible_collections.ocpv.density.plugins.plugin_utils import validate
    check = validate.CHECK_BY_VAR["upgrade_wait_timeout"]
    from ansible_collections.ocpv.density.plugins.plugin_utils.inputs import input_problem
    problem = input_problem("upgrade_wait_timeout", value, check["kind"], minimum=check.get("minimum"),
                            maximum=check.get("maximum"))
    assert (problem == "") is ok, problem
    if not ok:
        assert "upgrade_wait_timeout" in problem and "86400" in problem
