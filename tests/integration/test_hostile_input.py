"""Careless and hostile input (issue 21), offline: site.yml in render mode, or refused before its
first request (the kubeconfig points at a closed port, so a request would fail the run with a
connection error instead of the message). Each variant is either refused in one sentence naming the
variable, with nothing written, or rendered into objects that validate against the upstream CRDs
(localcluster/crds/upstream, a structural check of each object's schema with jsonschema) and Kubernetes' own
name and label rules.

Oracle for names and labels: the kubernetes Python client has no name validators, so Kubernetes'
own Go functions judge (k8s.io/apimachinery v0.36.3 pkg/api/validate/content IsDNS1123Label,
IsDNS1123Subdomain, IsLabelKey, IsLabelValue, IsPathSegmentName for RBAC names, as the API
server's ObjectMeta validation calls them), through localcluster/k8s-names
(realtools.k8s_name_errors, built by ``make real-components``), not a regex of ours."""

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CRDS = ROOT / "localcluster" / "crds" / "upstream"  # in the checkout, with SOURCES.md
RBAC_KINDS = {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
sys.path.insert(0, str(ROOT / "localcluster"))

import realtools  # noqa: E402


def dns_label(value):
    return realtools.k8s_valid("dns1123_label", value)


def dns_subdomain(value):
    return realtools.k8s_valid("dns1123_subdomain", value)


def label_key(value):
    return realtools.k8s_valid("label_key", value)


def label_value(value):
    return realtools.k8s_valid("label_value", value)


def crd_schemas():
    schemas = {}
    for path in CRDS.glob("*.yaml"):
        crd = yaml.safe_load(path.read_text())
        for version in crd["spec"]["versions"]:
            key = ("%s/%s" % (crd["spec"]["group"], version["name"]), crd["spec"]["names"]["kind"])
            schemas[key] = version["schema"]["openAPIV3Schema"]
    return schemas


SCHEMAS = crd_schemas()


def test_the_oracle_refuses_what_the_api_server_refuses():
    """check_object's name rules run apimachinery (a missing tool raises) and can fail."""
    bad = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "wasp\n"}}
    with pytest.raises(AssertionError):
        check_object(bad)
    with pytest.raises(AssertionError):
        check_object({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": "x", "labels": {"node-role.kubernetes.io/" + "a" * 64: ""}}})
    check_object({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                  "metadata": {"name": "system:openshift:scc:privileged"}})


def test_the_upstream_crd_schemas_are_read():
    """check_object judges kinds it has a schema for: without these it would judge none of ours."""
    kinds = {kind for _version, kind in SCHEMAS}
    assert {"MachineConfig", "KubeletConfig", "HyperConverged", "AlertingRule", "PrometheusRule"} <= kinds, kinds


def check_object(obj):
    """The object is one the API server would take: names and labels by Kubernetes' rules, and
    the CRD schema of its kind (when the kind is a CRD of localcluster/crds/upstream)."""
    meta = obj["metadata"]
    if obj["kind"] in RBAC_KINDS:
        name_ok = realtools.k8s_valid("path_segment", meta["name"])  # ValidateRBACName
    elif obj["kind"] == "Namespace":
        name_ok = dns_label(meta["name"])  # ValidateNamespaceName
    else:
        name_ok = dns_subdomain(meta["name"])  # NameIsDNSSubdomain
    assert name_ok, (obj["kind"], meta["name"])
    if "namespace" in meta:
        assert dns_label(meta["namespace"]), meta["namespace"]
    for key, value in (meta.get("labels") or {}).items():
        assert label_key(key) and label_value(value), (obj["kind"], key, value)
    if obj["kind"] == "DaemonSet":
        template = obj["spec"]["template"]
        for key, value in (template["spec"].get("nodeSelector") or {}).items():
            assert label_key(key) and label_value(value), (key, value)
        for key, value in (template["metadata"].get("labels") or {}).items():
            assert label_key(key) and label_value(value), (key, value)
    if obj["kind"] == "MachineConfig":
        for key in obj["metadata"]["labels"]:
            assert label_key(key)
    schema = SCHEMAS.get((obj["apiVersion"], obj["kind"]))
    if schema is not None:
        # structural check (Go regex syntax such as (?i) mid-pattern is not Python's: no metaschema check)
        jsonschema.Draft7Validator(schema).validate(obj)


def run(tmp_path, values, *args):
    varfile = tmp_path / "vars.json"
    varfile.write_text(json.dumps(values))
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "playbooks/site.yml", "-e", "@%s" % varfile, *args]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
           "K8S_AUTH_HOST": "https://127.0.0.1:1", "KUBECONFIG": str(tmp_path / "no-such-kubeconfig")}
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def failure_message(stdout):
    """The msg of the failed task (the YAML callback prints it as 'msg: ...' over lines)."""
    match = re.search(r"^\s+msg: (.*?)(?:\n\s*\n|\n\S|\Z)", stdout, re.S | re.M)
    assert match, stdout[-3000:]
    text = " ".join(match.group(1).split())
    for quote in ("'", '"'):
        if len(text) > 1 and text[0] == quote and text[-1] == quote:
            text = text[1:-1].replace(quote * 2, quote) if quote == "'" else json.loads(text)
    return text


BASE = {"density_profile": "manual-4.17", "swap_size_mib": 1024}
LONG = "a" * 64

# (id, values over BASE + render_dir, the variable a refusal names); render_dir=None: none given.
REFUSED = [
    # 1. a misspelt render_dir would apply instead of render
    ("render_dri", {"render_dir": None, "render_dri": "OUT", "overcommit": 150}, "render_dri"),
    ("renderdir", {"render_dir": None, "renderdir": "OUT", "overcommit": 150}, "renderdir"),
    ("Render_dir", {"render_dir": None, "Render_dir": "OUT", "overcommit": 150}, "Render_dir"),
    # 2. render-only and unbounded sizes
    ("size-when-applying", {"render_dir": None, "overcommit": 150}, "swap_size_mib"),
    ("size-huge", {"swap_size_mib": 9 * 10 ** 12}, "swap_size_mib"),
    ("size-negative", {"swap_size_mib": -5}, "swap_size_mib"),
    # 4. node paths
    ("swap-file-passwd", {"swap_file": "/etc/passwd"}, "swap_file"),
    ("swap-file-device", {"swap_file": "/dev/sda"}, "swap_file"),
    ("swap-file-script", {"swap_file": "/usr/local/sbin/ocpv-density-swap.sh"}, "swap_file"),
    ("hook-passwd", {"wasp_agent_hook_script_path": "/etc/passwd"}, "wasp_agent_hook_script_path"),
    ("hook-swap-script", {"wasp_agent_hook_script_path": "/usr/local/sbin/ocpv-density-swap.sh"},
     "wasp_agent_hook_script_path"),
    ("hook-usr-bin", {"wasp_agent_hook_script_path": "/usr/bin/oci-hook"}, "wasp_agent_hook_script_path"),
    # 5. swap_kubelet_config that drops or mistypes the swap keys
    ("kubelet-string-false", {"swap_kubelet_config": {"failSwapOn": "false"}}, "swap_kubelet_config"),
    ("kubelet-true", {"swap_kubelet_config": {"failSwapOn": True}}, "swap_kubelet_config"),
    ("kubelet-swap-behavior", {"swap_kubelet_config": {"memorySwap": {"swapBehavior": "LimitedSwap"}}},
     "swap_kubelet_config"),
    # 6. overcommits that disagree
    ("hco-above-swap", {"swap_size_mib": 0, "overcommit": 110, "hco_overcommit": 300}, "hco_overcommit"),
    ("hco-decoupled-above", {"swap_size_mib": 0, "overcommit": 110, "hco_overcommit": 300,
                             "hco_overcommit_decoupled": True}, "hco_overcommit"),
    ("swap-overcommit-differs", {"swap_size_mib": 0, "overcommit": 110, "swap_overcommit": 300}, "swap_overcommit"),
    # 7. trailing newlines
    ("pool-newline", {"swap_pool": "worker\n"}, "swap_pool"),
    ("image-newline", {"wasp_agent_image": "quay.io/openshift-virtualization/wasp-agent:v1\n"}, "wasp_agent_image"),
    ("namespace-newline", {"namespace_name": "wasp\n"}, "namespace_name"),
    # 8. names that become label keys and object names
    ("pool-64", {"swap_pool": LONG}, "swap_pool"),
    ("pool-dots", {"swap_pool": "a..b"}, "swap_pool"),
    ("pool-253", {"swap_pool": "a" * 253}, "swap_pool"),
    # valid object names too long for render_dir's file names (<kind>-<name>.yaml, 255 bytes)
    ("mc-name-250", {"swap_machineconfig_name": "a" * 250}, "swap_machineconfig_name"),
    ("hco-name-250", {"hco_name": "a" * 250}, "hco_name"),
    ("account-250", {"namespace_service_account": "a" * 250, "wasp_agent_service_account": "a" * 250},
     "namespace_service_account"),
    # 9. namespaces and ServiceAccounts that disagree
    ("agent-namespace", {"wasp_agent_namespace": "other"}, "wasp_agent_namespace"),
    ("agent-account", {"wasp_agent_service_account": "agent"}, "wasp_agent_service_account"),
    ("agent-namespace-vs-name", {"namespace_name": "density", "wasp_agent_namespace": "wasp"}, "wasp_agent_namespace"),
    # types (issue 20 item 4)
    ("overcommit-percent", {"swap_size_mib": 0, "overcommit": "150%"}, "overcommit"),
    ("pool-list", {"swap_pool": ["worker"]}, "swap_pool"),
    ("bool-maybe", {"verify_fail": "maybe"}, "verify_fail"),
]


def values_for(tmp_path, change):
    out = tmp_path / "out"
    values = dict(BASE, render_dir=str(out))
    for key, value in change.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = str(out) if value == "OUT" else value
    if values.get("swap_size_mib") == 0:
        values.pop("swap_size_mib")
    return values, out


@pytest.mark.parametrize("change,var", [(c, v) for _i, c, v in REFUSED], ids=[i for i, _c, _v in REFUSED])
def test_hostile_input_is_refused_in_one_sentence_and_nothing_written(tmp_path, change, var):
    values, out = values_for(tmp_path, change)
    proc = run(tmp_path, values)
    assert proc.returncode != 0, proc.stdout[-3000:]
    message = failure_message(proc.stdout)
    assert re.match(re.escape(var) + r"[ .]", message), message
    assert message.endswith("Nothing was changed."), message
    assert message.count(". ") <= 1, "one sentence: " + message
    for word in ("Traceback", "argument_spec", "Connection refused", "Max retries"):
        assert word not in proc.stdout + proc.stderr, word
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def rendered(out):
    objects = {}
    for path in sorted(out.iterdir()):
        [doc] = list(yaml.safe_load_all(path.read_text()))
        check_object(doc)
        objects[path.name] = doc
    return objects


# (id, values over BASE + render_dir, a check of the rendered objects). hco-same, hco-default,
# pool-63, pool-digits and swap-file-var are controls: valid input that must stay accepted (they
# passed before the validation too; they fail if it over-refuses).
def _kubelet_merged(objects):
    spec = objects["kubeletconfig-ocpv-density-worker.yaml"]["spec"]["kubeletConfig"]
    assert spec["failSwapOn"] is False and spec["maxPods"] == 300


def _kubelet_nested_merged(objects):
    spec = objects["kubeletconfig-ocpv-density-worker.yaml"]["spec"]["kubeletConfig"]
    assert spec["failSwapOn"] is False and spec["evictionHard"] == {"memory.available": "500Mi"}


def _kubelet_redundant(objects):
    spec = objects["kubeletconfig-ocpv-density-worker.yaml"]["spec"]["kubeletConfig"]
    # tp-4.16's other keys stay (the override used to replace them)
    assert spec["failSwapOn"] is False and spec["evictionSoft"] == {"memory.available": "1Gi"}


def _hco(value):
    def check(objects):
        hco = objects["hyperconverged-kubevirt-hyperconverged.yaml"]
        assert hco["spec"]["higherWorkloadDensity"]["memoryOvercommitPercentage"] == value
    return check


def _namespace_moves_everything(objects):
    namespaced = [o for o in objects.values() if "namespace" in o["metadata"]]
    rule = objects["prometheusrule-wasp-rules.yaml"]
    assert rule["metadata"]["namespace"] == "density"
    ds = objects["daemonset-wasp-agent.yaml"]
    assert ds["metadata"]["namespace"] == "density" and ds["spec"]["template"]["spec"]["serviceAccountName"] == "agent"
    assert {o["metadata"]["namespace"] for o in namespaced} == {"density"}
    assert objects["namespace-density.yaml"] and objects["serviceaccount-agent.yaml"]


def _pool(pool):
    def check(objects):
        mc = objects["machineconfig-90-%s-swap.yaml" % pool]
        assert mc["metadata"]["labels"]["machineconfiguration.openshift.io/role"] == pool
    return check


def _swap_file(path):
    def check(objects):
        import base64
        mc = objects["machineconfig-90-worker-swap.yaml"]
        env = [f for f in mc["spec"]["config"]["storage"]["files"] if f["path"] == "/etc/ocpv-density/swap.env"][0]
        assert "OCPV_SWAP_FILE=%s" % path in base64.b64decode(env["contents"]["source"].split(",", 1)[1]).decode()
    return check


RENDERED = [
    ("kubelet-merge", {"swap_kubelet_config": {"maxPods": 300}}, _kubelet_merged),
    ("kubelet-nested", {"swap_kubelet_config": {"evictionHard": {"memory.available": "500Mi"}}}, _kubelet_nested_merged),
    ("kubelet-failswapon-false", {"density_profile": "tp-4.16", "swap_kubelet_config": {"failSwapOn": False}},
     _kubelet_redundant),
    ("hco-decoupled-lower", {"swap_size_mib": 0, "overcommit": 150, "hco_overcommit": 120,
                             "hco_overcommit_decoupled": True}, _hco(120)),
    ("hco-same", {"swap_size_mib": 0, "overcommit": 150, "hco_overcommit": 150}, _hco(150)),
    ("hco-default", {"swap_size_mib": 0, "overcommit": 130}, _hco(130)),
    ("namespace-moves-rule", {"namespace_name": "density", "namespace_service_account": "agent"},
     _namespace_moves_everything),
    ("pool-63", {"swap_pool": "p" * 63}, _pool("p" * 63)),
    ("pool-digits", {"swap_pool": "virt-01"}, _pool("virt-01")),
    ("swap-file-var", {"swap_file": "/var/swap/swapfile"}, _swap_file("/var/swap/swapfile")),
]


@pytest.mark.parametrize("change,check", [(c, k) for _i, c, k in RENDERED], ids=[i for i, _c, _k in RENDERED])
def test_accepted_input_renders_objects_the_api_server_takes(tmp_path, change, check):
    values, out = values_for(tmp_path, change)
    proc = run(tmp_path, values)
    assert proc.returncode == 0, proc.stdout[-3000:]
    objects = rendered(out)
    assert any(o["kind"] == "MachineConfig" for o in objects.values())
    check(objects)


def test_check_mode_says_would_write_and_writes_nothing(tmp_path):
    values, out = values_for(tmp_path, {})
    proc = run(tmp_path, values, "--check")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "would write" in proc.stdout
    assert not out.exists()


def test_a_render_that_cannot_finish_writes_none_of_its_files(tmp_path):
    """A file that cannot be replaced (a directory in its place): no object is written, not the
    first seven of nine."""
    values, out = values_for(tmp_path, {})
    out.mkdir()
    (out / "machineconfig-90-worker-swap.yaml").mkdir()
    proc = run(tmp_path, values)
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert "Nothing was written" in proc.stdout
    assert sorted(p.name for p in out.iterdir()) == ["machineconfig-90-worker-swap.yaml"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []
