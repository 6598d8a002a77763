"""Offline rendering (render_dir) with no cluster reachable at all: every object in its own file
named by kind and name, per profile; and the refusals (not writable, state=absent) that write
nothing. No local cluster is started: the kubeconfig points at a closed port, so any request
would fail the run."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def render(tmp_path, *extra_vars):
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "playbooks/site.yml"]
    for var in extra_vars:
        cmd += ["-e", var]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
           "K8S_AUTH_HOST": "https://127.0.0.1:1", "KUBECONFIG": str(tmp_path / "no-such-kubeconfig")}
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("profile,files,absent", [
    ("tp-4.16", {"namespace-wasp.yaml", "serviceaccount-wasp.yaml", "daemonset-wasp-agent.yaml",
                 "kubeletconfig-ocpv-density-worker.yaml", "machineconfig-90-worker-swap.yaml",
                 "alertingrule-wasp-alerts.yaml"}, set()),
    ("hco-managed", {"kubeletconfig-ocpv-density-worker.yaml", "machineconfig-90-worker-swap.yaml",
                     "hyperconverged-kubevirt-hyperconverged.yaml"}, {"daemonset-wasp-agent.yaml"}),
    ("dropin-4.21", {"machineconfig-90-worker-swap.yaml"}, {"kubeletconfig-ocpv-density-worker.yaml"}),
    ("native", {"machineconfig-90-worker-swap.yaml", "prometheusrule-ocpv-density-swap-rules.yaml"},
     {"daemonset-wasp-agent.yaml", "namespace-wasp.yaml"}),
])
def test_render_without_a_cluster(tmp_path, profile, files, absent):
    out = tmp_path / "out"
    extra = ["overcommit=150"] if profile == "hco-managed" else []
    proc = render(tmp_path, "density_profile=%s" % profile, "swap_size_mib=4096", "render_dir=%s" % out, *extra)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    names = {p.name for p in out.iterdir()}
    assert files <= names, names
    assert not absent & names, names
    for path in out.iterdir():
        docs = list(yaml.safe_load_all(path.read_text()))
        assert len(docs) == 1, path
        doc = docs[0]
        assert path.name == "%s-%s.yaml" % (doc["kind"].lower(), doc["metadata"]["name"].replace(":", "-")), path
    mc = yaml.safe_load((out / "machineconfig-90-worker-swap.yaml").read_text())
    import base64
    contents = {f["path"]: base64.b64decode(f["contents"]["source"].split(",", 1)[1]).decode()
                for f in mc["spec"]["config"]["storage"]["files"]}
    assert "OCPV_SWAP_SIZE_MIB=4096" in contents["/etc/ocpv-density/swap.env"]
    if profile in ("dropin-4.21", "native"):
        assert "/etc/openshift/kubelet.conf.d/90-swap.conf" in contents
        assert mc["spec"]["config"]["ignition"]["version"] == "3.5.0"


def test_render_pool_name(tmp_path):
    out = tmp_path / "out"
    proc = render(tmp_path, "density_profile=manual-4.17", "swap_size_mib=2048", "swap_pool=virt", "render_dir=%s" % out)
    assert proc.returncode == 0, proc.stdout[-3000:]
    mc = yaml.safe_load((out / "machineconfig-90-virt-swap.yaml").read_text())
    assert mc["metadata"]["labels"]["machineconfiguration.openshift.io/role"] == "virt"
    ds = yaml.safe_load((out / "daemonset-wasp-agent.yaml").read_text())
    assert ds["spec"]["template"]["spec"]["nodeSelector"] == {"node-role.kubernetes.io/virt": ""}


@pytest.mark.parametrize("extra,words", [
    (["render_dir=AFILE/out"], ["render_dir", "not a writable directory"]),
    (["state=absent"], ["render_dir", "state=absent"]),
    (["density_profile=nope"], ["density_profile", "tp-4.16"]),
    ([], ["swap_size_mib"]),
], ids=["not-writable", "absent", "unknown-profile", "no-size"])
def test_render_refusals_write_nothing(tmp_path, extra, words):
    out = tmp_path / "out"
    (tmp_path / "afile").write_text("not a directory\n")
    extra = [e.replace("AFILE", str(tmp_path / "afile")) for e in extra]
    args = ["density_profile=tp-4.16", "render_dir=%s" % out, "swap_size_mib=1024"]
    if extra == []:
        args = ["density_profile=tp-4.16", "render_dir=%s" % out]
    args = [a for a in args if not any(a.split("=")[0] == e.split("=")[0] for e in extra)] + extra
    proc = render(tmp_path, *args)
    assert proc.returncode != 0, proc.stdout[-2000:]
    for word in words:
        assert word in proc.stdout, proc.stdout[-3000:]
    assert not out.exists()
    assert (tmp_path / "afile").read_text() == "not a directory\n"
    assert "Traceback" not in proc.stdout + proc.stderr
