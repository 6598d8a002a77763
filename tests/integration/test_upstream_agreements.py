"""Where the collection and the emulator follow upstream rather than each other (issue 14):
the alert rule is loaded by the platform Prometheus, and the hand-over to HCO's wasp-agent says
when HCO's agent cannot run on the pool's nodes.
"""

import json
from pathlib import Path

from clusterlib import wait_for
from test_site import custom_api, settled, site


def rules(cluster):
    doc = json.loads((Path(cluster.run_dir) / "emulator" / "alerts.json").read_text())
    return ({(r["kind"], r["namespace"], r["name"]): r["alerts"] for r in doc.get("loaded", [])},
            {(r["kind"], r["namespace"], r["name"]): r["reason"] for r in doc.get("ignored", [])})


def namespace_labels(cluster, name):
    import kubernetes
    try:
        return kubernetes.client.CoreV1Api(cluster.api_client()).read_namespace(name).metadata.labels or {}
    except kubernetes.client.exceptions.ApiException as e:
        if e.status == 404:
            return None
        raise


def test_the_manual_417_alert_rule_is_loaded_and_absent_takes_the_label_back(cluster, tmp_path):
    """manual-4.17 puts PrometheusRule wasp-rules in namespace wasp: the namespace gets
    openshift.io/cluster-monitoring=true, so the platform Prometheus reads the rule (in the
    emulator: alerts.json `loaded`); state=absent removes both."""
    cluster.reset("4.17")
    try:
        wait_for(lambda: settled(cluster), timeout=120, what="the worker pool to settle after reset")
        run = site(cluster, "overcommit=150", "wasp_agent_wait_timeout=90", "verify_report_dir=%s" % tmp_path)
        assert run.rc == 0, run
        loaded = wait_for(lambda: rules(cluster)[0].get(("PrometheusRule", "wasp", "wasp-rules")), timeout=30,
                          what="wasp-rules to be loaded by the platform Prometheus")
        assert loaded == ["NodeHighSwapActivity"]
        assert namespace_labels(cluster, "wasp").get("openshift.io/cluster-monitoring") == "true"
        assert rules(cluster)[1] == {}
        again = site(cluster, "overcommit=150")
        assert again.rc == 0 and again.writes == [], again
        gone = site(cluster, "state=absent")
        assert gone.rc == 0, gone
        assert namespace_labels(cluster, "wasp") is None
        wait_for(lambda: rules(cluster) == ({}, {}), timeout=30, what="no rule left")
    finally:
        cluster.reset()


def test_handover_says_when_hcos_node_placement_keeps_its_agent_off_the_pool(cluster, tmp_path):
    """4.20 (hco-managed): HCO copies spec.infra.nodePlacement into its wasp-agent DaemonSet. An
    infra-only placement keeps it off the workers; the hand-over must say so at once, naming the
    nodes and the placement, instead of waiting out its timeout."""
    cluster.reset("4.20")
    try:
        wait_for(lambda: settled(cluster), timeout=120, what="the worker pool to settle after reset")
        custom_api(cluster).patch_namespaced_custom_object(
            "hco.kubevirt.io", "v1beta1", "openshift-cnv", "hyperconvergeds", "kubevirt-hyperconverged",
            {"spec": {"infra": {"nodePlacement": {"nodeSelector": {"node-role.kubernetes.io/infra": ""}}}}})
        run = site(cluster, "overcommit=150", "wasp_agent_wait_timeout=60", "verify_report_dir=%s" % tmp_path)
        assert run.rc != 0, run
        assert "spec.infra.nodePlacement" in run.output and "worker-0" in run.output, run
        assert "nodeSelector node-role.kubernetes.io/infra= does not match" in run.output, run
        assert "Wait until HCO's wasp-agent runs on every node" not in run.output, run  # no silent wait
    finally:
        cluster.reset()
