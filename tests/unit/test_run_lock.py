# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""plugins/module_utils/run_lock.py: when a run may take the lock, the Lease it writes, what the
refusal says. (The message for an API server that does not answer: test_api_errors.py.)"""

import datetime

import pytest
from ansible_collections.ocpv.density.plugins.module_utils import run_lock

NOW = datetime.datetime(2026, 11, 23, 12, 0, 0, tzinfo=datetime.timezone.utc)


def lease(holder="alice@bastion/1a2b3c4d", renewed=NOW - datetime.timedelta(minutes=5), seconds=3600, **spec):
    body = run_lock.lease_body("ocpv-density-run", "openshift-cnv", holder, renewed, seconds, "41")
    body["spec"].update(spec)
    return body


def test_no_lease_is_created():
    assert run_lock.decide(None, NOW) == "create"


def test_a_held_lease_refuses():
    assert run_lock.decide(lease(), NOW) == "held"


@pytest.mark.parametrize("stale", [
    lease(renewed=NOW - datetime.timedelta(hours=2)),                   # time is up (killed run)
    lease(renewed=NOW - datetime.timedelta(seconds=3600)),              # up exactly now
    lease(holderIdentity=""),                                           # nobody holds it
    lease(renewTime=None, acquireTime=None),                            # no times
    lease(leaseDurationSeconds=None),                                   # no duration
], ids=["expired", "expires-now", "no-holder", "no-times", "no-duration"])
def test_a_stale_lease_is_taken_over(stale):
    assert run_lock.decide(stale, NOW) == "take_over"


def test_acquire_time_counts_when_there_is_no_renew_time():
    assert run_lock.decide(lease(renewTime=None), NOW) == "held"


def test_the_lease_body_is_a_micro_time_lease_with_the_precondition():
    body = run_lock.lease_body("ocpv-density-run", "openshift-cnv", "me", NOW, 21600, resource_version="7")
    assert body["metadata"]["resourceVersion"] == "7"
    assert body["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "ocpv.density"}
    assert body["spec"] == {"holderIdentity": "me", "leaseDurationSeconds": 21600,
                            "acquireTime": "2026-11-23T12:00:00.000000Z", "renewTime": "2026-11-23T12:00:00.000000Z"}
    assert "resourceVersion" not in run_lock.lease_body("n", "ns", "me", NOW, 60)["metadata"]


def test_micro_time_round_trip_and_second_precision():
    assert run_lock.from_micro_time(run_lock.to_micro_time(NOW)) == NOW
    assert run_lock.from_micro_time("2026-11-23T12:00:00Z") == NOW
    assert run_lock.from_micro_time("yesterday") is None


def test_the_refusal_names_holder_times_and_the_way_out():
    text = run_lock.held_message(lease(), "ocpv-density-run", "openshift-cnv")
    assert "held by alice@bastion/1a2b3c4d since 2026-11-23T11:55:00.000000Z" in text
    assert "until 2026-11-23T12:55:00.000000Z at the latest" in text
    assert "Nothing was changed" in text
    assert text.endswith("oc delete lease -n openshift-cnv ocpv-density-run")
