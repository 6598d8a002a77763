"""roles/alerts/files/rule-sets.yml agrees with upstream's rules on labels and runbook URLs
(wasp-agent release-4.19 pkg/monitoring/rules/alerts; tag v1.0 manifests/prometheus-rules.yaml)."""

from pathlib import Path

import yaml

RULE_SETS = yaml.safe_load((Path(__file__).resolve().parents[2] / "roles/alerts/files/rule-sets.yml").read_text())["rule_sets"]
UPSTREAM_LABELS = {"severity": "warning", "operator_health_impact": "warning",
                   "kubernetes_operator_part_of": "kubevirt", "kubernetes_operator_component": "kubevirt"}


def test_node_high_swap_activity_carries_upstreams_labels_and_runbook():
    for name in ("NodeHighSwapActivity", "NodeHighSwapActivityCluster"):
        (rule,) = RULE_SETS[name]["rules"]
        assert rule["labels"] == UPSTREAM_LABELS, name
        assert rule["annotations"]["runbook_url"] == \
            "https://github.com/openshift-virtualization/wasp-agent/tree/main/docs/runbooks/NodeHighSwapActivity.md"
        assert rule["expr"] == "rate(node_vmstat_pswpout[1m]) > 200 and rate(node_vmstat_pswpin[1m]) > 200"


def test_node_swapping_as_v10():
    (rule,) = RULE_SETS["NodeSwapping"]["rules"]
    assert rule["labels"] == {"severity": "critical"}
    assert rule["annotations"]["runbook_url"].endswith("/v1.0/runbooks/alerts/NodeSwapping.md")


def test_the_wasp_rule_set_lives_in_namespace_wasp():
    # the namespace role labels namespace wasp for cluster monitoring because of this
    assert RULE_SETS["NodeHighSwapActivity"]["namespace"] == "wasp"
