"""The job templates of aap/controller/templates.yml, run the way Ansible Automation Platform runs
them: ``ansible_runner.interface.run()`` on a private data directory laid out as AWX lays it out,
with the "OpenShift or Kubernetes API Bearer Token" credential injected as AWX injects it
(K8S_AUTH_* environment, CA in a file) - against the local cluster (fixture ``cluster``).

Order matters (one module, one cluster state): check (writes nothing) -> apply -> report
(read-only) -> upgrade (no upgrade under way: converged already) -> remove. The cluster is reset before and after.

What ansible-runner records, and what is asserted on:
- job events (artifacts/<ident>/job_events/*.json, also ``runner.events``): the
  ``playbook_on_stats`` event has no failures, and its ``artifact_data`` holds what the playbook
  returned with set_stats - the density report (``density_report``). That is where AWX takes a
  job's artifacts from; ansible-runner writes set_stats nowhere else (not in fact_cache/).
- the token: no event, no stdout, no report and no other artifact file contains it. The one
  exception is ansible-runner's own ``artifacts/<ident>/command`` (mode 0600), its record of the
  command line, cwd and environment of the run, which includes the injected K8S_AUTH_API_KEY as
  it includes any credential env var; AWX deletes the private data directory after the job.
- audit log: every request of the jobs comes from the ServiceAccount of the token (not the
  harness's admin certificate), and the check and report jobs send no write request.
"""

import os
import stat

import pytest
import yaml

from aaplib import (SA_USER, aap_environment, bearer_token_credential, delete_bearer_token_identity, failure_text,
                    files_containing, job_template, launch_extra_vars, private_data_dir, run_job, stats_event)


@pytest.fixture(autouse=True)
def aap_like_environment(monkeypatch):
    aap_environment(monkeypatch)


@pytest.fixture(scope="module")
def credential(cluster):
    cluster.reset()
    credential = bearer_token_credential(cluster)
    yield credential
    cluster.reset()
    delete_bearer_token_identity(cluster)


def launch(tmp_path, name, credential, answers=None):
    """Launch job template `name` with its survey defaults (+ answers); returns (runner, pdd)."""
    template = job_template(name)
    pdd = private_data_dir(tmp_path, launch_extra_vars(template, answers), credential)
    runner = run_job(pdd, template["playbook"], job_type=template["job_type"], diff_mode=template.get("diff_mode", False))
    return runner, pdd


def assert_successful(runner):
    assert (runner.status, runner.rc) == ("successful", 0), failure_text(runner)
    stats = stats_event(runner)
    assert stats["failures"] == {} and stats["dark"] == {}, failure_text(runner)
    return stats


def assert_token_not_leaked(runner, pdd, token):
    artifacts = runner.config.artifact_dir
    leaked = files_containing(artifacts, token)
    assert set(leaked) <= {"command"}, f"token found in artifact files {leaked}"
    if "command" in leaked:  # ansible-runner's record of the run's environment: private to the owner
        assert stat.S_IMODE(os.stat(os.path.join(artifacts, "command")).st_mode) == 0o600
    for event in runner.events:
        assert token not in repr(event), f"token in event {event.get('event')} ({event.get('uuid')})"
    assert files_containing(pdd / "project", token) == [], "token in the project directory (reports)"


def stats_artifact_on_disk(runner):
    """The playbook_on_stats event as ansible-runner wrote it to artifacts/<ident>/job_events/."""
    events_dir = os.path.join(runner.config.artifact_dir, "job_events")
    for name in os.listdir(events_dir):
        if name.endswith(".json"):
            with open(os.path.join(events_dir, name), encoding="utf-8") as handle:
                event = yaml.safe_load(handle)
            if event.get("event") == "playbook_on_stats":
                return event["event_data"]
    raise AssertionError("no playbook_on_stats event in job_events/")


def test_check_job_writes_nothing(cluster, credential, tmp_path):
    marker = cluster.audit_marker()
    runner, pdd = launch(tmp_path, "Higher density – check", credential)
    stats = assert_successful(runner)
    assert stats["changed"], "check mode should report what it would change on a fresh cluster"
    assert "density_report" not in stats["artifact_data"], "verify runs only for real"
    assert cluster.write_events(marker, user=SA_USER) == []
    assert cluster.audit_events(marker, user=SA_USER), "the job did not use the injected token"
    assert cluster.audit_events(marker, user="ocpv-admin") == []
    assert_token_not_leaked(runner, pdd, credential["bearer_token"])


def test_apply_job_publishes_the_density_report(cluster, credential, tmp_path):
    marker = cluster.audit_marker()
    runner, pdd = launch(tmp_path, "Higher density – apply", credential)
    assert_successful(runner)
    report = stats_event(runner)["artifact_data"]["density_report"]
    assert report["overcommit"] == 150
    assert report["pool"] == "worker"
    assert report["problems"] == []
    assert sorted(node["name"] for node in report["nodes"]) == ["worker-0", "worker-1", "worker-2", "worker-3"]
    # verify_report_dir is relative to the job's cwd: in AAP the project directory
    assert (pdd / "project" / "reports" / "density-report.md").is_file()
    assert (pdd / "project" / "reports" / "density-report.json").is_file()
    # ansible-runner put it on disk exactly there (the artifact AWX stores), and nowhere else
    assert stats_artifact_on_disk(runner)["artifact_data"]["density_report"] == report
    assert not any(name.startswith("fact_cache") and files_containing(os.path.join(runner.config.artifact_dir, name), "density_report")
                   for name in os.listdir(runner.config.artifact_dir))
    assert cluster.write_events(marker, user=SA_USER), "the writes came from the injected token's identity"
    assert cluster.audit_events(marker, user="ocpv-admin") == []
    assert_token_not_leaked(runner, pdd, credential["bearer_token"])


def test_report_job_is_read_only(cluster, credential, tmp_path):
    marker = cluster.audit_marker()
    runner, pdd = launch(tmp_path, "Higher density – report", credential)
    assert_successful(runner)
    report = stats_event(runner)["artifact_data"]["density_report"]
    assert report["overcommit"] == 150  # read from the HyperConverged CR: no overcommit answer given
    assert report["problems"] == []
    assert cluster.write_events(marker, user=SA_USER) == []
    assert_token_not_leaked(runner, pdd, credential["bearer_token"])


def test_upgrade_job_without_an_upgrade_converges_as_apply(cluster, credential, tmp_path):
    """The upgrade template (survey default upgrade_wait_timeout=3600) on a cluster that is not
    upgrading: no wait, the site procedure as apply, nothing left to change after apply."""
    runner, pdd = launch(tmp_path, "Higher density – upgrade", credential)
    stats = assert_successful(runner)
    assert "No OpenShift upgrade in progress" in runner.stdout.read(), failure_text(runner)
    assert stats["changed"] == {}, "apply already converged the cluster: %s" % stats["changed"]
    assert_token_not_leaked(runner, pdd, credential["bearer_token"])


def test_remove_job_restores_the_cluster(cluster, credential, tmp_path):
    runner, pdd = launch(tmp_path, "Higher density – remove", credential)
    assert_successful(runner)
    api = cluster.api_client()
    import kubernetes
    core = kubernetes.client.CoreV1Api(api)
    with pytest.raises(kubernetes.client.exceptions.ApiException) as missing:
        core.read_namespace("wasp")
    assert missing.value.status == 404
    custom = kubernetes.client.CustomObjectsApi(api)
    hco = custom.get_namespaced_custom_object("hco.kubevirt.io", "v1beta1", "openshift-cnv", "hyperconvergeds",
                                              "kubevirt-hyperconverged")
    assert hco["spec"].get("higherWorkloadDensity", {}).get("memoryOvercommitPercentage", 100) == 100
    with pytest.raises(kubernetes.client.exceptions.ApiException) as missing:
        custom.get_cluster_custom_object("machineconfiguration.openshift.io", "v1", "machineconfigs", "90-worker-swap")
    assert missing.value.status == 404
    assert_token_not_leaked(runner, pdd, credential["bearer_token"])
