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

