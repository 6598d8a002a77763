"""Least privilege, proven against the API server's own authorizer (RBAC) and audit log.

- The automation user: a ServiceAccount bound only to rbac/automation-clusterrole.yml runs the
  site playbook (converge, state=absent) with no request denied, and cannot read secrets or
  change nodes.
- The wasp-agent ServiceAccount gets only what its agent version needs by default (4.16: use of
  the privileged SCC in its namespace and nothing else; 4.17-4.19: also nodes and pods as the
  v1.1 agent uses them, granted by an automation user that holds them); nothing else.
"""

import contextlib
import json

import pytest
import yaml
from clusterlib import wait_for
from test_site import ROOT, settled, site

NAMESPACE = "ocpv-automation"
SA = "runner"
USER = "system:serviceaccount:%s:%s" % (NAMESPACE, SA)
WASP_SA = "system:serviceaccount:wasp:wasp"


def can(cluster, user, verb, resource, group="", namespace=None, name=None, subresource=None):
    import kubernetes
    attrs = {"verb": verb, "resource": resource, "group": group}
    for key, value in (("namespace", namespace), ("name", name), ("subresource", subresource)):
        if value:
            attrs[key] = value
    review = kubernetes.client.AuthorizationV1Api(cluster.api_client()).create_subject_access_review(
        {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
         "spec": {"user": user, "groups": ["system:serviceaccounts", "system:authenticated"],
                  "resourceAttributes": attrs}})
    return review.status.allowed


@contextlib.contextmanager
def automation_user(cluster, tmp_path, release=None, role_files=("automation-clusterrole.yml",)):
    """A kubeconfig for a ServiceAccount bound only to the automation ClusterRole(s) in rbac/,
    on a cluster reset to `release` (default: its own)."""
    import kubernetes
    cluster.reset(release)
    wait_for(lambda: settled(cluster), timeout=120, what="the worker pool to settle after reset")
    client = cluster.api_client()
    core = kubernetes.client.CoreV1Api(client)
    rbac = kubernetes.client.RbacAuthorizationV1Api(client)
    roles = [yaml.safe_load((ROOT / "rbac" / name).read_text()) for name in role_files]
    wait_for(lambda: NAMESPACE not in {n.metadata.name for n in core.list_namespace().items}, timeout=120,
             what="namespace %s of an earlier test to be gone" % NAMESPACE)
    core.create_namespace({"metadata": {"name": NAMESPACE}})
    try:
        core.create_namespaced_service_account(NAMESPACE, {"metadata": {"name": SA}})
        for role in roles:
            rbac.create_cluster_role(role)
            rbac.create_cluster_role_binding({
                "metadata": {"name": "test-" + role["metadata"]["name"]},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role["metadata"]["name"]},
                "subjects": [{"kind": "ServiceAccount", "name": SA, "namespace": NAMESPACE}]})
        token = core.create_namespaced_service_account_token(
            SA, NAMESPACE, {"spec": {"expirationSeconds": 3600}}).status.token
        admin = yaml.safe_load(open(cluster.kubeconfig, encoding="utf-8"))
        kubeconfig = {
            "apiVersion": "v1", "kind": "Config",
            "clusters": admin["clusters"],
            "users": [{"name": SA, "user": {"token": token}}],
            "contexts": [{"name": SA, "context": {"cluster": admin["clusters"][0]["name"], "user": SA}}],
            "current-context": SA,
        }
        path = tmp_path / "automation.kubeconfig"
        path.write_text(yaml.safe_dump(kubeconfig))
        path.chmod(0o600)
        yield path
    finally:
        for role in roles:
            for delete in (lambda: rbac.delete_cluster_role_binding("test-" + role["metadata"]["name"]),
                           lambda: rbac.delete_cluster_role(role["metadata"]["name"])):
                try:
                    delete()
                except kubernetes.client.exceptions.ApiException:
                    pass
        try:
            core.delete_namespace(NAMESPACE)
        except kubernetes.client.exceptions.ApiException:
            pass
        cluster.reset()


@pytest.fixture
def automation_kubeconfig(cluster, tmp_path):
    with automation_user(cluster, tmp_path) as kubeconfig:
        yield kubeconfig


def denied(cluster, marker):
    return ["%s %s %s" % (e["verb"], e["requestURI"], e.get("responseStatus", {}).get("code"))
            for e in cluster.audit_events(marker, user=USER)
            if e.get("responseStatus", {}).get("code") == 403]


def test_site_runs_as_a_user_bound_only_to_the_automation_role(cluster, automation_kubeconfig, tmp_path):
    """Converge and state=absent as the runner: nothing denied, nothing done as the admin. In
    between, what the wasp-agent ServiceAccount was given."""
    as_runner = {"KUBECONFIG": str(automation_kubeconfig), "K8S_AUTH_KUBECONFIG": str(automation_kubeconfig)}
    marker = cluster.audit_marker()
    run = site(cluster, "overcommit=150", "verify_report_dir=%s" % tmp_path, env=as_runner)
    assert run.rc == 0, run
    assert json.loads((tmp_path / "density-report.json").read_text())["ok"]

    # 4.16 (tp-4.16): the v1.0 agent is a bash script that makes no API request, so no ClusterRole
    assert not can(cluster, WASP_SA, "list", "pods")
    assert not can(cluster, WASP_SA, "list", "nodes")
    assert can(cluster, WASP_SA, "use", "securitycontextconstraints", group="security.openshift.io",
               namespace="wasp", name="privileged")
    assert not can(cluster, WASP_SA, "use", "securitycontextconstraints", group="security.openshift.io",
                   namespace="default", name="privileged")
    assert not can(cluster, WASP_SA, "create", "pods", namespace="wasp")
    assert not can(cluster, WASP_SA, "delete", "pods", namespace="wasp")
    assert not can(cluster, WASP_SA, "get", "secrets", namespace="wasp")
    assert not can(cluster, WASP_SA, "get", "configmaps", namespace="wasp")
    assert not can(cluster, WASP_SA, "patch", "nodes")

    gone = site(cluster, "state=absent", env=as_runner)
    assert gone.rc == 0, gone
    assert denied(cluster, marker) == []
    # the requests really were the runner's, not the admin's
    assert len(cluster.audit_events(marker, user=USER, verbs=("create", "patch", "delete"))) >= 10
    # ocpv-admin wrote nothing (its only requests are this test's own SubjectAccessReviews)
    assert [e["requestURI"] for e in cluster.write_events(marker)
            if e.get("objectRef", {}).get("resource") != "subjectaccessreviews"] == []
    # and the role does not reach beyond the collection's needs
    assert not can(cluster, USER, "get", "secrets", namespace="openshift-cnv")
    assert not can(cluster, USER, "list", "secrets")
    assert not can(cluster, USER, "delete", "nodes")
    assert not can(cluster, USER, "patch", "nodes")
    assert not can(cluster, USER, "bind", "clusterroles", group="rbac.authorization.k8s.io", name="cluster-admin")
    assert not can(cluster, USER, "escalate", "clusterroles", group="rbac.authorization.k8s.io")
    # the run lock's Lease, and no other (an operator's leader-election Lease stays out of reach)
    assert can(cluster, USER, "update", "leases", group="coordination.k8s.io", namespace="openshift-cnv",
               name="ocpv-density-run")
    for verb in ("update", "delete", "get"):
        assert not can(cluster, USER, verb, "leases", group="coordination.k8s.io", namespace="openshift-cnv",
                       name="kubevirt-hyperconverged-operator-lock")


def test_manual_417_agent_gets_what_its_version_needs(cluster, tmp_path):
    """4.17-4.19 (profile manual-4.17, wasp-agent v1.1): the agent lists, watches and patches
    nodes and deletes pods (wasp-agent release-4.19 pkg/wasp/resources/operator/operator.go), and
    tolerates the taint it sets (manifests/openshift/ds.yaml). With less, the emulated agent
    crash-loops (SubjectAccessReview as its ServiceAccount) and the rollout never completes.
    Run as the automation user holding the extra role the grant needs (RBAC escalation rules)."""
    roles = ("automation-clusterrole.yml", "automation-clusterrole-manual-agent.yml")
    with automation_user(cluster, tmp_path, "4.17", roles) as kubeconfig:
        as_runner = {"KUBECONFIG": str(kubeconfig), "K8S_AUTH_KUBECONFIG": str(kubeconfig)}
        marker = cluster.audit_marker()
        run = site(cluster, "overcommit=150", "wasp_agent_wait_timeout=90", "verify_report_dir=%s" % tmp_path, env=as_runner)
        assert run.rc == 0, run
        assert json.loads((tmp_path / "density-report.json").read_text())["ok"]
        for verb, resource in (("list", "nodes"), ("watch", "nodes"), ("patch", "nodes"), ("update", "nodes"),
                               ("list", "pods"), ("watch", "pods"), ("delete", "pods")):
            assert can(cluster, WASP_SA, verb, resource), (verb, resource)
        assert not can(cluster, WASP_SA, "delete", "nodes")
        assert not can(cluster, WASP_SA, "create", "pods", namespace="wasp")
        assert not can(cluster, WASP_SA, "get", "secrets", namespace="wasp")
        import kubernetes
        ds = kubernetes.client.AppsV1Api(cluster.api_client()).read_namespaced_daemon_set("wasp-agent", "wasp")
        assert [(t.key, t.effect) for t in ds.spec.template.spec.tolerations or []] == [("waspEvictionTaint", "NoSchedule")]
        gone = site(cluster, "state=absent", env=as_runner)
        assert gone.rc == 0, gone
        assert denied(cluster, marker) == []
        assert not can(cluster, WASP_SA, "list", "nodes")


def test_cluster_admin_mode_still_works_and_switches_back(cluster, tmp_path):
    """namespace_rbac_mode=cluster-admin (the documented binding) on 4.17: the agent runs; a
    later least-privilege run replaces the binding with the agent's own ClusterRole."""
    import kubernetes
    cluster.reset("4.17")
    try:
        wait_for(lambda: settled(cluster), timeout=120, what="the worker pool to settle after reset")
        run = site(cluster, "overcommit=150", "namespace_rbac_mode=cluster-admin", "wasp_agent_wait_timeout=90",
                   "verify_report_dir=%s" % tmp_path)
        assert run.rc == 0, run
        rbac = kubernetes.client.RbacAuthorizationV1Api(cluster.api_client())
        names = {b.metadata.name for b in rbac.list_cluster_role_binding().items}
        assert "wasp" in names and "ocpv-density-wasp-agent" not in names
        assert can(cluster, WASP_SA, "patch", "nodes") and can(cluster, WASP_SA, "get", "secrets", namespace="wasp")
        again = site(cluster, "overcommit=150", "wasp_agent_wait_timeout=90")
        assert again.rc == 0, again
        names = {b.metadata.name for b in rbac.list_cluster_role_binding().items}
        assert "wasp" not in names and "ocpv-density-wasp-agent" in names
        assert can(cluster, WASP_SA, "patch", "nodes") and not can(cluster, WASP_SA, "get", "secrets", namespace="wasp")
    finally:
        cluster.reset()
