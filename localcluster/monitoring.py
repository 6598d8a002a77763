"""The platform monitoring stack's view of alerting rules: which rule objects it loads."""

import json

try:  # imported as localcluster.monitoring (tests) or run as a script from localcluster/
    from .apiobjects import atomic_write, dig
    from .kubeapi import ApiError, path
except ImportError:
    from apiobjects import atomic_write, dig
    from kubeapi import ApiError, path

# --- alerting rules: which ones the platform Prometheus loads -------------------------------
CLUSTER_MONITORING_LABEL = "openshift.io/cluster-monitoring"
MONITORING_NAMESPACE = "openshift-monitoring"


def rule_loaded(kind, namespace, monitored_namespaces):
    """Whether the platform monitoring stack evaluates a rule object, and if not, why.
    A PrometheusRule is read by the platform Prometheus only in a namespace labelled
    openshift.io/cluster-monitoring=true (wasp-agent docs/configuration.md step 8 at release-4.19
    da5404d: "add the cluster-monitoring label to the wasp namespace"; the 4.17+ docs module,
    aspauldi/openshift-docs@09356ca, has the same step); user-workload monitoring, where enabled,
    scopes a rule's queries to its own namespace, so node metrics never reach it. An AlertingRule
    (monitoring.openshift.io) is honoured in openshift-monitoring only (its CRD description)."""
    if kind == "AlertingRule":
        return (True, "") if namespace == MONITORING_NAMESPACE else (False, f"AlertingRule outside {MONITORING_NAMESPACE}")
    if namespace in monitored_namespaces:
        return True, ""
    return False, f"namespace {namespace} lacks label {CLUSTER_MONITORING_LABEL}=true"


def rule_alerts(obj):
    return [r["alert"] for g in dig(obj, "spec", "groups", default=[]) or [] for r in g.get("rules") or [] if r.get("alert")]


class PlatformMonitoring:
    """Which rule objects Prometheus evaluates, and alerts.json (mixin of emulator.Emulator)."""

    def sync_rules(self):
        """The platform monitoring stack's view of the rule objects (see rule_loaded): `loaded`
        and `ignored` in alerts.json, so tests can tell a rule that would never fire."""
        monitored = {n["metadata"]["name"] for n in self.kube.list(
            path("v1", "namespaces"), labelSelector=f"{CLUSTER_MONITORING_LABEL}=true")}
        loaded, ignored = [], []
        for group_version, plural, kind in (("monitoring.coreos.com/v1", "prometheusrules", "PrometheusRule"),
                                            ("monitoring.openshift.io/v1", "alertingrules", "AlertingRule")):
            try:
                objs = self.kube.list(path(group_version, plural))
            except ApiError as e:
                if e.status == 404:  # CRD not installed (yet)
                    continue
                raise
            for obj in objs:
                ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
                ok, why = rule_loaded(kind, ns, monitored)
                entry = {"kind": kind, "namespace": ns, "name": name, "alerts": rule_alerts(obj)}
                (loaded if ok else ignored).append(entry if ok else dict(entry, reason=why))

        def key(entry):
            return entry["kind"], entry["namespace"], entry["name"]
        self.rules = {"loaded": sorted(loaded, key=key), "ignored": sorted(ignored, key=key)}

    def write_alerts(self):
        doc = {"firing": self.firing, "active_since": dict(self.active_since), **self.rules}
        if doc != self.alerts:
            atomic_write(self.state_dir / "alerts.json", json.dumps(doc))
            self.alerts = doc
