"""The site playbook on every profile, release by release, on ONE local cluster (``profiles``)
that is reset to the release each case emulates: converge + ``changed=0`` rerun per profile,
check mode writes nothing, the upgrade paths 4.16 -> 4.20 -> 4.21 (one reboot per node each,
verify passes after each, HCO's wasp-agent takes over before ours goes), the hand-over from a
manually deployed wasp-agent, native swap (and its refusal next to wasp-agent), and state=absent
restoring a full dump of every object the collection touches. Check mode (with and without
--diff) is run before every first converge and every absent of a profile and must write nothing
(audit log).

Runs are combined: one converge feeds several assertions. The cluster is stopped at the end of
the module unless OCPV_KEEP_CLUSTER=1.
"""

import json
from pathlib import Path

import pytest
from clusterlib import keep_clusters, start_cluster, wait_for
from test_site import (MCFG, WORKERS, apps_api, core_api, counters, create_user_kubeletconfig, custom_api,
                       describe_writes, kubeletconfigs, machineconfig, settled, site)
from localcluster import cluster as localcluster
from localcluster import openshift

ROOT = Path(__file__).resolve().parents[2]

NAME = "profiles"
PREVIOUS_ANNOTATION = "density.ocpv.io/previous-kubelet-config"
DROPIN = "/etc/openshift/kubelet.conf.d/90-swap.conf"
HOOK_JSON = "/etc/containers/oci/hooks.d/swap-for-burstable.json"
# Faster polling than the defaults (the emulator is quick); the values users get are unchanged.
FAST = ["swap_wait_poll_interval=1", "wasp_agent_wait_poll_interval=1", "hco_wait_poll_interval=1"]


@pytest.fixture(scope="module")
def pcluster():
    c = start_cluster(NAME, release="4.16")
    try:
        yield c
    finally:
        if not keep_clusters():
            localcluster.down(NAME, quiet=True)


def fresh(c, release):
    c.reset(release=release)
    wait_for(lambda: settled(c), timeout=120, what="the worker pool to settle after reset")
    return c


def run_site(c, tmp_path, *extra, check=False, diff=False):
    return site(c, "verify_report_dir=%s" % (tmp_path / "reports"), *FAST, *extra, check=check, diff=diff)


def upgrade(c, release):
    openshift.upgrade(str(Path(c.run_dir) / "harness.kubeconfig"), release, run_dir=str(c.run_dir))


def reboots(c):
    return {w: counters(c)["reboots"].get(w, 0) for w in WORKERS}


def alerts(c):
    try:
        return json.loads((Path(c.run_dir) / "emulator" / "alerts.json").read_text()).get("firing", [])
    except (OSError, ValueError):
        return []


def mc_files(c, name="90-worker-swap"):
    mc = machineconfig(c, name)
    return {f["path"] for f in mc["spec"]["config"].get("storage", {}).get("files", [])}, mc


def daemonset_namespaces(c):
    return sorted(ds.metadata.namespace for ds in apps_api(c).list_daemon_set_for_all_namespaces(
        field_selector="metadata.name=wasp-agent").items)


def report(tmp_path):
    return json.loads((tmp_path / "reports" / "density-report.json").read_text())


def converged(run, c, tmp_path, reboots_before=None):
    """Asserts shared by every converge: success, verify ok, pool settled, and (given the reboot
    counters from just before the run) exactly one reboot per worker during the run."""
    assert run.rc == 0, run
    assert run.changed > 0, run
    assert settled(c)
    assert report(tmp_path)["ok"], report(tmp_path)["problems"]
    if reboots_before is not None:
        assert reboots(c) == {w: reboots_before.get(w, 0) + 1 for w in WORKERS}, \
            "each worker reboots exactly once per converge (before %s)" % reboots_before


def noop(run):
    assert run.rc == 0, run
    assert run.changed == 0, run
    assert run.writes == [], describe_writes(run.writes)


# --- full dumps of everything the collection may touch, for state=absent ------------------------

VOLATILE = ("resourceVersion", "generation", "managedFields", "uid", "creationTimestamp", "selfLink")
CLUSTER_CUSTOM = [(MCFG, "v1", "kubeletconfigs"), (MCFG, "v1", "machineconfigs"), (MCFG, "v1", "machineconfigpools"),
                  ("security.openshift.io", "v1", "securitycontextconstraints")]
NAMESPACED_CUSTOM = [("hco.kubevirt.io", None, "hyperconvergeds"), ("kubevirt.io", "v1", "kubevirts"),
                     ("monitoring.openshift.io", "v1", "alertingrules"), ("monitoring.coreos.com", "v1", "prometheusrules")]


def _clean(obj):
    obj = json.loads(json.dumps(obj, default=str))
    obj.pop("status", None)
    meta = obj.get("metadata", {})
    for key in VOLATILE:
        meta.pop(key, None)
    return obj


def dump(c):
    """{kind/namespace/name: object without status and server-set metadata}."""
    import kubernetes
    api = custom_api(c)
    out = {}
    hco_version = c.info.release and ("v1" if c.info.release >= "4.22" else "v1beta1")
    for group, version, plural in CLUSTER_CUSTOM:
        for item in api.list_cluster_custom_object(group, version, plural)["items"]:
            if plural == "machineconfigs" and item["metadata"]["name"].startswith("rendered-"):
                continue  # the MCO keeps old rendered configs; not the collection's
            out["%s//%s" % (plural, item["metadata"]["name"])] = _clean(item)
    for group, version, plural in NAMESPACED_CUSTOM:
        for item in api.list_cluster_custom_object(group, version or hco_version, plural)["items"]:
            out["%s/%s/%s" % (plural, item["metadata"]["namespace"], item["metadata"]["name"])] = _clean(item)
    client = c.api_client()
    rbac = kubernetes.client.RbacAuthorizationV1Api(client)
    for kind, items in (("clusterroles", rbac.list_cluster_role().items),
                        ("clusterrolebindings", rbac.list_cluster_role_binding().items)):
        for item in items:
            if not item.metadata.name.startswith("system:") or "scc" in item.metadata.name:
                out["%s//%s" % (kind, item.metadata.name)] = _clean(client.sanitize_for_serialization(item))
    for item in rbac.list_role_binding_for_all_namespaces().items:
        out["rolebindings/%s/%s" % (item.metadata.namespace, item.metadata.name)] = _clean(client.sanitize_for_serialization(item))
    for item in core_api(c).list_namespace().items:
        out["namespaces//%s" % item.metadata.name] = _clean(client.sanitize_for_serialization(item))
    for item in apps_api(c).list_daemon_set_for_all_namespaces().items:
        out["daemonsets/%s/%s" % (item.metadata.namespace, item.metadata.name)] = _clean(client.sanitize_for_serialization(item))
    return out


def dump_diff(before, after):
    lines = []
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            lines.append("%s:\n  before %s\n  after  %s" % (key, json.dumps(before.get(key))[:600], json.dumps(after.get(key))[:600]))
    return "\n".join(lines)


# --- tests ----------------------------------------------------------------------------------------

def test_upgrade_path_4_16_to_4_20_to_4_21_then_absent(pcluster, tmp_path):
    """tp-4.16: check mode writes nothing, converge, rerun changed=0. Upgrade to 4.20
    (hco-managed): one run hands wasp-agent over to HCO (ours removed only after HCO's is ready,
    DuplicateWaspAgentDSDetected no longer firing), KubeletConfig and MachineConfig follow the
    profile, one reboot per node; rerun changed=0. Upgrade to 4.21 (dropin-4.21): swap keys move
    out of the KubeletConfig into the drop-in, one reboot per node; rerun changed=0. Then absent:
    a full dump of every touched object equals the one before the first run; absent again is a
    no-op."""
    c = fresh(pcluster, "4.16")
    before = dump(c)

    check = run_site(c, tmp_path, "overcommit=150", check=True, diff=True)
    assert check.rc == 0, check
    assert check.all_writes == [], describe_writes(check.all_writes)
    assert "kind: AlertingRule" in check.output and "evictionSoft" in check.output, check

    run = run_site(c, tmp_path, "overcommit=150")
    converged(run, c, tmp_path, {})
    assert "profile tp-4.16" in run.output
    assert daemonset_namespaces(c) == ["wasp"]
    noop(run_site(c, tmp_path, "overcommit=150"))
    refused = run_site(c, tmp_path, "overcommit=150", "density_profile=native")
    assert refused.rc != 0 and "density_profile=native" in refused.output and "wasp" in refused.output, refused
    assert refused.writes == [], describe_writes(refused.writes)

    # 4.16 -> 4.20: HCO 1.16 deploys its own agent at once (overcommit is 150 already), so the
    # duplicate alert fires until the collection hands over. The upgrade itself rolls the pool out
    # (the 4.20 MCO re-generates our KubeletConfig's MachineConfig with Ignition 3.5.0) and
    # upgrade() returns once that is done, as a real upgrade does: that reboot is the upgrade's,
    # the run below must add exactly one.
    upgrade(c, "4.20")
    assert settled(c)
    wait_for(lambda: daemonset_namespaces(c) == ["openshift-cnv", "wasp"], timeout=60, what="HCO's wasp-agent")
    wait_for(lambda: "DuplicateWaspAgentDSDetected" in alerts(c), timeout=30, what="the duplicate alert")
    marker, start = c.audit_marker(), reboots(c)
    run = run_site(c, tmp_path, "overcommit=150")
    converged(run, c, tmp_path, start)
    assert "profile hco-managed" in run.output
    assert daemonset_namespaces(c) == ["openshift-cnv"]
    assert "wasp" not in [ns.metadata.name for ns in core_api(c).list_namespace().items]
    wait_for(lambda: "DuplicateWaspAgentDSDetected" not in alerts(c), timeout=30, what="the duplicate alert to stop")
    # Order: HCO's DaemonSet was read (ready) before ours was deleted.
    events = c.audit_events(marker, verbs=("get", "delete"), settle=0)
    hco_reads = [i for i, e in enumerate(events) if e["verb"] == "get" and e["objectRef"].get("resource") == "daemonsets"
                 and e["objectRef"].get("namespace") == "openshift-cnv"]
    our_delete = [i for i, e in enumerate(events) if e["verb"] == "delete" and e["objectRef"].get("resource") == "daemonsets"
                  and e["objectRef"].get("namespace") == "wasp"]
    assert hco_reads and our_delete and hco_reads[0] < our_delete[0], "ours deleted before HCO's agent was checked"
    kcs = kubeletconfigs(c)
    assert [kc["spec"]["kubeletConfig"] for kc in kcs] == [{"failSwapOn": False}], kcs
    files, mc = mc_files(c)
    assert mc["spec"]["config"]["ignition"]["version"] == "3.5.0"
    assert HOOK_JSON not in files, "HCO's agent brings its own hook"
    assert [r["kind"] for r in custom_api(c).list_cluster_custom_object("monitoring.openshift.io", "v1", "alertingrules")["items"]] == []
    assert report(tmp_path)["wasp_agent"]["ready"] == len(WORKERS)
    noop(run_site(c, tmp_path, "overcommit=150"))

    # 4.20 -> 4.21: the MCO refuses failSwapOn in a KubeletConfig from now on.
    upgrade(c, "4.21")
    start = reboots(c)
    run = run_site(c, tmp_path, "overcommit=150")
    converged(run, c, tmp_path, start)
    assert "profile dropin-4.21" in run.output
    assert kubeletconfigs(c) == [], "our KubeletConfig only carried swap keys: gone"
    files, mc = mc_files(c)
    assert DROPIN in files
    dropin = (Path(c.node_dir("worker-0")) / "root" / DROPIN.lstrip("/")).read_text()
    assert "failSwapOn: false" in dropin
    noop(run_site(c, tmp_path, "overcommit=150"))

    check_absent = run_site(c, tmp_path, "state=absent", check=True, diff=True)
    assert check_absent.rc == 0, check_absent
    assert check_absent.all_writes == [], describe_writes(check_absent.all_writes)
    start = reboots(c)
    absent = run_site(c, tmp_path, "state=absent")
    assert absent.rc == 0, absent
    assert reboots(c) == {w: start[w] + 1 for w in WORKERS}, "absent is one reboot cycle"
    wait_for(lambda: daemonset_namespaces(c) == [], timeout=60, what="HCO to remove its wasp-agent")
    after = dump(c)
    # The upgrade itself changed the release's objects (CSV, ClusterVersion are not dumped; the
    # HyperConverged keeps its spec): everything the collection touched is back.
    assert before == after, dump_diff(before, after)
    noop(run_site(c, tmp_path, "state=absent"))


def test_manual_4_17_with_user_kubeletconfig_and_absent(pcluster, tmp_path):
    """manual-4.17 on 4.18: the user's KubeletConfig gets failSwapOn merged (not evictionSoft),
    our DaemonSet has the 4.17+ env and /rootfs, the image comes from the CSV, the alert is the
    PrometheusRule; rerun changed=0; absent restores the dump exactly (one reboot per node)."""
    c = fresh(pcluster, "4.18")
    create_user_kubeletconfig(c, {"maxPods": 300, "failSwapOn": True})
    before, start = dump(c), reboots(c)

    check = run_site(c, tmp_path, "overcommit=200", check=True, diff=True)
    assert check.rc == 0 and check.all_writes == [], describe_writes(check.all_writes) or check
    assert "kind: PrometheusRule" in check.output, check

    run = run_site(c, tmp_path, "overcommit=200")
    converged(run, c, tmp_path, start)
    assert "profile manual-4.17" in run.output
    kc = kubeletconfigs(c)[0]
    assert kc["spec"]["kubeletConfig"] == {"maxPods": 300, "failSwapOn": False}
    assert json.loads(kc["metadata"]["annotations"][PREVIOUS_ANNOTATION]) == {"failSwapOn": True}
    ds = apps_api(c).read_namespaced_daemon_set("wasp-agent", "wasp")
    container = ds.spec.template.spec.containers[0]
    assert {e.name for e in container.env} >= {"NODE_NAME", "SWAP_UTILIZATION_THRESHOLD_FACTOR", "AVERAGE_WINDOW_SIZE_SECONDS"}
    assert {m.mount_path for m in container.volume_mounts} == {"/host", "/rootfs"}
    assert "@sha256:" in container.image, "image from the CSV's relatedImages"
    rules = custom_api(c).list_namespaced_custom_object("monitoring.coreos.com", "v1", "wasp", "prometheusrules")["items"]
    assert [r["metadata"]["name"] for r in rules] == ["wasp-rules"]
    noop(run_site(c, tmp_path, "overcommit=200"))

    check_absent = run_site(c, tmp_path, "state=absent", check=True)
    assert check_absent.rc == 0 and check_absent.all_writes == [], describe_writes(check_absent.all_writes) or check_absent
    absent = run_site(c, tmp_path, "state=absent")
    assert absent.rc == 0, absent
    assert reboots(c) == {w: start[w] + 2 for w in WORKERS}
    after = dump(c)
    assert before == after, dump_diff(before, after)
    noop(run_site(c, tmp_path, "state=absent"))


def test_hco_managed_hands_over_from_a_manual_wasp_agent(pcluster, tmp_path):
    """hco-managed on a fresh 4.20 where someone followed the 4.19 procedure by hand (namespace
    wasp and DaemonSet wasp-agent without our label): check mode writes nothing; the converge
    removes the manual DaemonSet after HCO's runs, leaves the hand-made namespace (and says so),
    and the duplicate alert stops; rerun changed=0."""
    c = fresh(pcluster, "4.20")
    core, apps = core_api(c), apps_api(c)
    core.create_namespace({"metadata": {"name": "wasp", "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}})
    core.create_namespaced_service_account("wasp", {"metadata": {"name": "wasp"}})
    apps.create_namespaced_daemon_set("wasp", {
        "metadata": {"name": "wasp-agent"},
        "spec": {"selector": {"matchLabels": {"name": "wasp"}},
                 "template": {"metadata": {"labels": {"name": "wasp"}},
                              "spec": {"serviceAccountName": "wasp",
                                       "nodeSelector": {"node-role.kubernetes.io/worker": ""},
                                       "containers": [{"name": "wasp-agent", "image": "quay.io/x/wasp-agent:v4.19"}]}}}})

    check = run_site(c, tmp_path, "overcommit=150", check=True)
    assert check.rc == 0 and check.all_writes == [], check

    run = run_site(c, tmp_path, "overcommit=150")
    converged(run, c, tmp_path, {})
    assert daemonset_namespaces(c) == ["openshift-cnv"]
    assert "was not created by ocpv.density" in run.output
    assert "wasp" in [ns.metadata.name for ns in core.list_namespace().items]
    wait_for(lambda: "DuplicateWaspAgentDSDetected" not in alerts(c), timeout=30, what="the duplicate alert to stop")
    noop(run_site(c, tmp_path, "overcommit=150"))


def test_dropin_fresh_and_native_refused_next_to_wasp(pcluster, tmp_path):
    """dropin-4.21 on a fresh 4.22 (HyperConverged v1): no KubeletConfig at all, the drop-in in
    the MachineConfig, check mode writes nothing, rerun changed=0. Then native is refused while
    HCO runs wasp-agent, with nothing written."""
    c = fresh(pcluster, "4.22")
    check = run_site(c, tmp_path, "overcommit=150", check=True, diff=True)
    assert check.rc == 0 and check.all_writes == [], check
    run = run_site(c, tmp_path, "overcommit=150")
    converged(run, c, tmp_path, {})
    assert "profile dropin-4.21" in run.output
    assert kubeletconfigs(c) == []
    assert DROPIN in mc_files(c)[0]
    noop(run_site(c, tmp_path, "overcommit=150"))

    refused = run_site(c, tmp_path, "overcommit=150", "density_profile=native")
    assert refused.rc != 0, refused
    assert "density_profile=native" in refused.output and "openshift-cnv" in refused.output, refused
    assert refused.writes == [], describe_writes(refused.writes)


def test_native_opt_in(pcluster, tmp_path):
    """native on 4.22 with HCO's autopilot annotation (HCO deploys no wasp-agent) and the
    autopilot's swap MachineConfig opted out (disabled-resources): LimitedSwap
    drop-in, no wasp-agent anywhere, the alert in openshift-monitoring, verify passes on the
    rolled-out MachineConfig; rerun changed=0; absent restores the dump."""
    c = fresh(pcluster, "4.22")
    custom_api(c).patch_namespaced_custom_object("hco.kubevirt.io", "v1", "openshift-cnv", "hyperconvergeds",
                                                 "kubevirt-hyperconverged",
                                                 {"metadata": {"annotations": {
                                                     "platform.kubevirt.io/autopilot": "swap-enable",
                                                     # the autopilot would write the same drop-in; opt it out of that one
                                                     "platform.kubevirt.io/disabled-resources":
                                                         "- kind: MachineConfig\n  name: 90-worker-swap-online\n"}}})
    before = dump(c)
    check = run_site(c, tmp_path, "overcommit=150", "density_profile=native", check=True, diff=True)
    assert check.rc == 0 and check.all_writes == [], describe_writes(check.all_writes) or check
    assert "ocpv-density-swap-rules" in check.output and "kind: MachineConfig" in check.output, check
    run = run_site(c, tmp_path, "overcommit=150", "density_profile=native")
    converged(run, c, tmp_path, {})
    assert "profile native" in run.output
    assert daemonset_namespaces(c) == []
    dropin = (Path(c.node_dir("worker-0")) / "root" / DROPIN.lstrip("/")).read_text()
    assert "swapBehavior: LimitedSwap" in dropin
    rules = custom_api(c).list_namespaced_custom_object("monitoring.coreos.com", "v1", "openshift-monitoring", "prometheusrules")
    assert [r["metadata"]["name"] for r in rules["items"]] == ["ocpv-density-swap-rules"]
    noop(run_site(c, tmp_path, "overcommit=150", "density_profile=native"))

    check_absent = run_site(c, tmp_path, "state=absent", "density_profile=native", check=True)
    assert check_absent.rc == 0 and check_absent.all_writes == [], describe_writes(check_absent.all_writes) or check_absent
    absent = run_site(c, tmp_path, "state=absent", "density_profile=native")
    assert absent.rc == 0, absent
    after = dump(c)
    assert before == after, dump_diff(before, after)


@pytest.mark.parametrize("extra,variable", [
    (["overcommit=150", "density_profile=no-such"], "density_profile"),
    (["overcommit=150", "state=gone"], "state"),
], ids=["unknown-profile", "bad-state"])
def test_bad_input_writes_nothing(pcluster, tmp_path, extra, variable):
    """Refused with a message naming the variable; the audit log shows no write (native next to
    wasp-agent: see the upgrade-path and dropin tests)."""
    run = run_site(pcluster, tmp_path, *extra)
    assert run.rc != 0, run
    assert variable in run.output, run
    assert run.writes == [], describe_writes(run.writes)
    assert "Traceback" not in run.output
    if variable == "density_profile":
        for name in ("tp-4.16", "manual-4.17", "hco-managed", "dropin-4.21", "native"):
            assert name in run.output
