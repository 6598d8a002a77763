"""Pure functions of the local cluster's operator emulator (localcluster/emulator.py): no cluster."""

import base64
import gzip
import json
import urllib.parse

import pytest
import yaml
from localcluster import apiobjects
from localcluster import hco
from localcluster import mco
from localcluster import monitoring
from localcluster import nodes
from localcluster import openshift
from localcluster import releases


GiB_KB = 1024 * 1024


def mc(name, files=(), units=(), version="3.4.0", role="worker", **spec):
    config = {"ignition": {"version": version}}
    if files:
        config["storage"] = {"files": [{"path": p, "mode": 0o644, "contents": {"source": apiobjects.data_url(t)}} for p, t in files]}
    if units:
        config["systemd"] = {"units": [{"name": n, "enabled": True, "contents": c} for n, c in units]}
    return {"metadata": {"name": name, "labels": {mco.ROLE_LABEL: role}}, "spec": {"config": config, **spec}}


# --- render ----------------------------------------------------------------------------------

def test_render_hash_is_content_addressed_and_order_independent():
    a, b = mc("00-worker", files=[("/etc/a", "1")]), mc("90-worker-swap", files=[("/etc/b", "2")])
    one = mco.rendered_name("worker", mco.merge_configs([a, b]))
    two = mco.rendered_name("worker", mco.merge_configs([b, a]))
    assert one == two
    assert one.startswith("rendered-worker-") and len(one.rsplit("-", 1)[1]) == 32
    changed = mc("90-worker-swap", files=[("/etc/b", "3")])
    assert mco.rendered_name("worker", mco.merge_configs([a, changed])) != one


def test_merge_later_name_wins_per_path_and_unit():
    merged = mco.merge_configs([
        mc("99-x", files=[("/etc/f", "late")], units=[("u.service", "late")], kernelArguments=["b"]),
        mc("00-x", files=[("/etc/f", "early"), ("/etc/g", "g")], units=[("u.service", "early")], kernelArguments=["a"],
           version="3.2.0"),
    ])
    files = nodes.config_files(merged["config"])
    assert files == {"/etc/f": "late", "/etc/g": "g"}
    assert nodes.enabled_units(merged["config"]) == {"u.service": "late"}
    assert merged["kernelArguments"] == ["a", "b"]
    assert merged["config"]["ignition"]["version"] == "3.4.0"


def test_seed_rendered_names_do_not_depend_on_release():
    base = openshift.base_machine_config("worker")
    assert mco.rendered_name("worker", mco.merge_configs([base])) == \
        mco.rendered_name("worker", mco.merge_configs([json.loads(json.dumps(base))]))


# --- ignition version check ------------------------------------------------------------------

@pytest.mark.parametrize("release,version,ok", [
    ("4.16", "3.4.0", True), ("4.16", "3.5.0", False), ("4.18", "3.5.0", False),
    ("4.19", "3.5.0", True), ("4.22", "3.5.0", True), ("4.22", "3.6.0", False),
    ("4.16", "3.0.0", True), ("4.16", "2.2.0", True), ("4.16", "2.3.0", False),
    ("4.16", "3.4", False), ("4.16", "banana", False), ("4.16", None, False), ("4.16", "3.4.0-experimental", False),
])
def test_ignition_version_support_per_release(release, version, ok):
    error = mco.ignition_error({"ignition": {"version": version}}, releases.get(release).ignition_max)
    assert (error is None) is ok, error


@pytest.mark.parametrize("release,config,expected", [
    ("4.16", {"storage": {"files": [{"path": "etc/x"}]}}, "path not absolute"),
    ("4.22", {"systemd": {"units": [{"name": "swap", "contents": "[Unit]"}]}}, "invalid systemd unit extension"),
    ("4.22", {"storage": {"files": [{"path": "/etc/x", "mode": 0o4755}]}}, "invalid mode 04755 for /etc/x"),
    ("4.16", {"storage": {"files": [{"path": "/etc/x", "contents": {"source": "no-scheme"}}]}}, "invalid url"),
])
def test_ignition_library_judges_the_content(release, config, expected):
    """Ignition's own validator (localcluster/ignition-validate, coreos/ignition/v2 v2.20.0 as
    MCO vendors it) refuses content a version check lets through. Seen to fail on the emulator's
    own version-only ignition_error() (it returned None for all four)."""
    version = ".".join(map(str, releases.get(release).ignition_max))
    error = mco.ignition_error({"ignition": {"version": version}, **config}, releases.get(release).ignition_max)
    assert error is not None and expected in error, error


# --- pool membership ---------------------------------------------------------------------------

POOLS = [openshift.seed_pool("master"), openshift.seed_pool("worker"),
         {"metadata": {"name": "infra"}, "spec": {"nodeSelector": {"matchLabels": {"node-role.kubernetes.io/infra": ""}}}}]
WORKER = {"node-role.kubernetes.io/worker": ""}
MASTER = {"node-role.kubernetes.io/master": "", "node-role.kubernetes.io/control-plane": ""}


@pytest.mark.parametrize("labels,pool", [
    (WORKER, "worker"),
    (MASTER, "master"),
    ({**MASTER, **WORKER}, "master"),                       # SNO / compact: master wins
    ({**WORKER, "node-role.kubernetes.io/infra": ""}, "infra"),  # a custom pool wins over worker
    ({"kubernetes.io/os": "linux"}, None),
])
def test_pool_membership(labels, pool):
    assert mco.pool_for_node(labels, POOLS) == pool


def test_two_custom_pools_is_an_error():
    pools = POOLS + [{"metadata": {"name": "db"}, "spec": {"nodeSelector": {"matchLabels": {"db": ""}}}}]
    assert mco.pool_for_node({**WORKER, "node-role.kubernetes.io/infra": "", "db": ""}, pools) is None


def test_selector_semantics():
    assert apiobjects.selector_matches(None, {"a": "1"}) is False   # nil selects nothing (KubeletConfig)
    assert apiobjects.selector_matches({}, {"a": "1"}) is True
    sel = {"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]},
                                {"key": "b", "operator": "DoesNotExist"}]}
    assert apiobjects.selector_matches(sel, {"a": "2"})
    assert not apiobjects.selector_matches(sel, {"a": "2", "b": ""})
    assert not apiobjects.selector_matches({"matchLabels": {"a": "1"}}, {})


@pytest.mark.parametrize("value,count,expected", [(None, 4, 1), (1, 4, 1), (2, 4, 2), (0, 4, 1), ("50%", 4, 2), ("10%", 4, 1), ("100%", 3, 3)])
def test_max_unavailable(value, count, expected):
    assert mco.max_unavailable(value, count) == expected


# --- swap provisioning -------------------------------------------------------------------------

CONTRACT_ENV = "OCPV_SWAP_OVERCOMMIT_PERCENT=150\nOCPV_SWAP_FILE=/var/tmp/swapfile\n"
CONTRACT_UNIT = ("[Unit]\nConditionFirstBoot=no\n[Service]\nType=oneshot\nRemainAfterExit=yes\n"
                 "ExecStart=/usr/local/sbin/ocpv-density-swap.sh\n[Install]\nRequiredBy=kubelet-dependencies.target\n")

DOC_416 = ('[Unit]\nDescription=Provision and enable swap\nConditionFirstBoot=no\n[Service]\nType=oneshot\n'
           'Environment=SWAP_SIZE_MB=5000\nExecStart=/bin/sh -c "sudo dd if=/dev/zero of=/var/tmp/swapfile '
           'count=${SWAP_SIZE_MB} bs=1M && sudo chmod 600 /var/tmp/swapfile && sudo mkswap /var/tmp/swapfile && '
           'sudo swapon /var/tmp/swapfile && free -h && sudo systemctl set-property --runtime system.slice '
           'MemorySwapMax=0 IODeviceLatencyTargetSec=\\"/ 50ms\\""\n[Install]\nRequiredBy=kubelet-dependencies.target\n')
DOC_PROVISION = ('[Unit]\nDescription=Provision and enable swap\nConditionFirstBoot=no\n'
                 'ConditionPathExists=!/var/tmp/swapfile\n[Service]\nType=oneshot\nEnvironment=SWAP_SIZE_MB=5000\n'
                 'ExecStart=/bin/sh -c "sudo fallocate -l ${SWAP_SIZE_MB}M /var/tmp/swapfile && sudo chmod 600 '
                 '/var/tmp/swapfile && sudo mkswap /var/tmp/swapfile && sudo swapon /var/tmp/swapfile && free -h"\n'
                 '[Install]\nRequiredBy=kubelet-dependencies.target\n')
DOC_ENABLE = ('[Unit]\nDescription=Enable swap\nConditionPathExists=/var/tmp/swapfile\n[Service]\nType=oneshot\n'
              'ExecStart=/bin/sh -c "sudo swapon /var/tmp/swapfile"\n[Install]\nRequiredBy=kubelet-dependencies.target\n')


def config(files=(), units=()):
    return mc("x", files=files, units=units)["spec"]["config"]


def test_contract_sizes_swap_from_memtotal():
    cfg = config(files=[(nodes.SWAP_ENV_FILE, CONTRACT_ENV)], units=[("swap-provision.service", CONTRACT_UNIT)])
    assert nodes.boot_swap(cfg, 16 * GiB_KB, None) == (8192, 8192)        # 16 GiB at 150 % -> 8 GiB
    assert nodes.boot_swap(cfg, 16 * GiB_KB, 8192) == (8192, 8192)        # every boot, same file
    assert nodes.boot_swap(cfg, 16 * GiB_KB + 3, None) == (8192, 8192)    # integer floor


def test_contract_needs_the_unit_enabled():
    cfg = config(files=[(nodes.SWAP_ENV_FILE, CONTRACT_ENV)])
    assert nodes.boot_swap(cfg, 16 * GiB_KB, None) == (0, None)


def test_contract_at_100_percent_gives_no_swap():
    cfg = config(files=[(nodes.SWAP_ENV_FILE, "OCPV_SWAP_OVERCOMMIT_PERCENT=100\n")],
                 units=[("swap-provision.service", CONTRACT_UNIT)])
    assert nodes.boot_swap(cfg, 16 * GiB_KB, None) == (0, None)
    assert nodes.boot_swap(cfg, 16 * GiB_KB, 8192) == (0, None)   # the script removes the old file


def test_documented_416_single_unit_runs_every_boot():
    cfg = config(units=[("swap-provision.service", DOC_416)])
    assert nodes.boot_swap(cfg, 16 * GiB_KB, None) == (5000, 5000)
    assert nodes.boot_swap(cfg, 16 * GiB_KB, 5000) == (5000, 5000)


def test_documented_two_unit_mc_loses_swap_on_second_boot():
    """4.17-4.19 docs: ConditionPathExists=!/var/tmp/swapfile and nothing else runs swapon."""
    cfg = config(units=[("swap-provision.service", DOC_PROVISION)])
    assert nodes.boot_swap(cfg, 16 * GiB_KB, None) == (5000, 5000)
    assert nodes.boot_swap(cfg, 16 * GiB_KB, 5000) == (0, 5000)


def test_documented_421_swap_enable_unit_keeps_swap():
    cfg = config(units=[("swap-provision.service", DOC_PROVISION), ("swap-enable.service", DOC_ENABLE)])
    assert nodes.boot_swap(cfg, 16 * GiB_KB, None) == (5000, 5000)
    assert nodes.boot_swap(cfg, 16 * GiB_KB, 5000) == (5000, 5000)


def test_no_swap_unit_no_swap_but_file_stays():
    assert nodes.boot_swap(config(), 16 * GiB_KB, 5000) == (0, 5000)


@pytest.mark.parametrize("text,expected", [
    ("ExecStart=/bin/sh -c 'fallocate -l 2048M /var/tmp/swapfile && mkswap /var/tmp/swapfile'", (2048, "/var/tmp/swapfile")),
    ("Environment=SWAP_SIZE_MB=300\nExecStart=dd if=/dev/zero of=/var/tmp/swapfile bs=1M count=$SWAP_SIZE_MB; mkswap x", (300, "/var/tmp/swapfile")),
    ("ExecStart=fallocate -l 2G /var/tmp/swapfile && mkswap /var/tmp/swapfile", None),   # only MiB sizes are understood
    ("ExecStart=/usr/bin/true", None),
])
def test_fixed_swap_unit_parsing(text, expected):
    assert nodes.fixed_swap_unit(text) == expected


# --- kubelet ------------------------------------------------------------------------------------

def test_kubeletconfig_swap_keys_refused_from_421():
    assert mco.kubelet_config_error({"failSwapOn": False}, releases.get("4.20")) is None
    assert mco.kubelet_config_error({"failSwapOn": False}, releases.get("4.21")) == \
        "KubeletConfiguration: failSwapOn is not allowed to be set, but contains: false"
    assert "swapBehavior" in mco.kubelet_config_error({"memorySwap": {"swapBehavior": "LimitedSwap"}}, releases.get("4.22"))
    assert "featureGates" in mco.kubelet_config_error({"featureGates": {"X": True}}, releases.get("4.16"))


def test_kubelet_refuses_swap_unless_allowed():
    kc_mc = config(files=[(nodes.KUBELET_CONF, json.dumps({"failSwapOn": False}))])
    assert nodes.kubelet_swap_error(config(), releases.get("4.16"), "worker")
    assert nodes.kubelet_swap_error(kc_mc, releases.get("4.16"), "worker") is None
    assert nodes.kubelet_swap_error(config(), releases.get("4.21"), "worker") is None   # template default from 4.21
    assert nodes.kubelet_swap_error(config(), releases.get("4.21"), "master")
    dropin = config(files=[(nodes.KUBELET_CONF_DIR + "/90-swap.conf", "failSwapOn: true\n")])
    assert nodes.kubelet_swap_error(dropin, releases.get("4.21"), "worker")


@pytest.mark.parametrize("release,worker,master", [
    ("4.20", False, False), ("4.21", True, False), ("4.22", True, False), ("4.23", True, True),
])
def test_kubelet_reads_the_dropin_directory_per_pool(release, worker, master):
    """MCO kubelet.service templates: --config-dir=/etc/openshift/kubelet.conf.d for workers (and
    custom pools, rendered from the worker templates) from release-4.21 (fc21115e5), for masters
    and arbiters only from release-4.23 (36c7cead4); the master template keeps failSwapOn: true."""
    rel = releases.get(release)
    assert nodes.kubelet_reads_dropins(rel, "worker") is worker
    assert nodes.kubelet_reads_dropins(rel, "infra") is worker
    assert nodes.kubelet_reads_dropins(rel, "master") is master
    assert nodes.kubelet_reads_dropins(rel, "arbiter") is master
    dropin = config(files=[(nodes.KUBELET_CONF_DIR + "/90-swap.conf", "failSwapOn: false\n")])
    assert (nodes.kubelet_swap_error(dropin, rel, "master") is None) is master
    if rel.minor >= (4, 21):
        assert mco.kubelet_template(rel, "master")["failSwapOn"] is True
        assert nodes.kubelet_swap_error(config(), rel, "master")  # the template alone: swap refused


def test_a_kubelet_that_does_not_start_leaves_its_node_not_ready():
    """Nothing posts the node's status any more: the node lifecycle controller turns every
    condition Unknown (NodeStatusUnknown, "Kubelet stopped posting node status.")."""
    conditions = [{"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"},
                  {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}]
    down = nodes.kubelet_down_conditions(conditions)
    assert [(c["type"], c["status"], c["reason"], c["message"]) for c in down] == [
        ("MemoryPressure", "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."),
        ("Ready", "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."),
    ]
    assert all(c["lastTransitionTime"] for c in down)
    assert nodes.kubelet_down_conditions([])[0]["type"] == "Ready"


# --- file contents, quantities, meminfo ---------------------------------------------------------

def test_decode_file_contents_forms():
    assert nodes.decode_file_contents({"contents": {"source": "data:," + urllib.parse.quote("a b\n")}}) == b"a b\n"
    assert nodes.decode_file_contents({"contents": {"source": apiobjects.data_url("x")}}) == b"x"
    gz = base64.b64encode(gzip.compress(b"zipped")).decode()
    assert nodes.decode_file_contents({"contents": {"source": "data:;base64," + gz, "compression": "gzip"}}) == b"zipped"


@pytest.mark.parametrize("text,value", [("16Gi", 16 * 2**30), ("17179869184", 17179869184), ("64G", 64 * 10**9), ("512Mi", 2**29)])
def test_quantity_bytes(text, value):
    assert apiobjects.quantity_bytes(text) == value


def test_meminfo_is_what_verify_greps():
    text = nodes.meminfo(16 * GiB_KB, 8192 * 1024)
    fields = dict(line.split(":") for line in text.splitlines())
    assert fields["MemTotal"].split() == [str(16 * GiB_KB), "kB"]
    assert fields["SwapTotal"].split() == ["8388608", "kB"]


def test_node_disk_boot_writes_and_removes_config_files(tmp_path):
    disk = nodes.NodeDisk(tmp_path, "worker-0")
    first = config(files=[("/etc/containers/oci/hooks.d/swap-for-burstable.json", "{}"), (nodes.SWAP_ENV_FILE, CONTRACT_ENV)],
                   units=[("swap-provision.service", CONTRACT_UNIT)])
    assert disk.boot(first, 16 * GiB_KB) == 8192
    root = tmp_path / "nodes/worker-0/root"
    assert (root / "etc/containers/oci/hooks.d/swap-for-burstable.json").read_text() == "{}"
    assert (root / "etc/systemd/system/swap-provision.service").exists()
    assert "SwapTotal:         8388608 kB" in (tmp_path / "nodes/worker-0/proc/meminfo").read_text()
    assert disk.boot(config(), 16 * GiB_KB) == 0          # MC removed: files gone, swap off, file stays
    assert not (root / "etc/containers/oci/hooks.d/swap-for-burstable.json").exists()
    assert disk.swapfile_mib() == 8192
    assert "SwapTotal:               0 kB" in (tmp_path / "nodes/worker-0/proc/meminfo").read_text()


NEW_ENV = "OCPV_SWAP_OVERCOMMIT_PERCENT=150\nOCPV_SWAP_FILE=/var/ocpswap.file\n"
WANTED_UNIT = CONTRACT_UNIT.replace("RequiredBy=", "WantedBy=")


@pytest.mark.parametrize("unit", [CONTRACT_UNIT, WANTED_UNIT], ids=["RequiredBy", "WantedBy"])
def test_the_contract_script_that_cannot_fit_its_file_leaves_swap_off_and_its_unit_ok(tmp_path, unit):
    """Issue 21: ocpv-density-swap.sh exits 0 with swap off when the file cannot fit, so its unit
    does not fail and holds no kubelet back, whatever its [Install]. Seen to fail while the model
    failed the unit (the script then exited 1)."""
    disk = nodes.NodeDisk(tmp_path, "worker-0")
    cfg = config(files=[(nodes.SWAP_ENV_FILE, NEW_ENV)], units=[("swap-provision.service", unit)])
    assert disk.boot(cfg, 16 * GiB_KB, disk_free_mib=1024) == 0
    assert disk.failed_unit is None
    assert not (tmp_path / "nodes/worker-0/root/var/ocpswap.file").exists()
    assert disk.boot(cfg, 16 * GiB_KB, disk_free_mib=9000) == 8192 and disk.failed_unit is None


@pytest.mark.parametrize("unit,blocked", [(DOC_PROVISION, True), (DOC_PROVISION.replace("RequiredBy=", "WantedBy="), False)],
                         ids=["RequiredBy", "WantedBy"])
def test_a_documented_unit_whose_file_does_not_fit_fails(tmp_path, unit, blocked):
    """Issue 14 fact 5: the documented fallocate unit fails when its file does not fit, and a
    *required* failed unit keeps the kubelet down."""
    disk = nodes.NodeDisk(tmp_path, "worker-0")
    cfg = config(units=[("swap-provision.service", unit)])
    assert disk.boot(cfg, 16 * GiB_KB, disk_free_mib=1024) == 0
    assert disk.failed_unit == "swap-provision.service"
    error = nodes.kubelet_dependency_error(cfg, disk.failed_unit)
    assert bool(error) is blocked and (not error or "swap-provision.service" in error)


def test_the_contract_removes_an_old_var_tmp_swapfile(tmp_path):
    disk = nodes.NodeDisk(tmp_path, "worker-0")
    old = tmp_path / "nodes/worker-0/root/var/tmp/swapfile"
    old.parent.mkdir(parents=True)
    old.write_text("5000 MiB swap file (emulated marker)\n")
    cfg = config(files=[(nodes.SWAP_ENV_FILE, NEW_ENV)], units=[("swap-provision.service", WANTED_UNIT)])
    assert disk.boot(cfg, 16 * GiB_KB) == 8192
    assert not old.exists() and disk.swapfile_mib("/var/ocpswap.file") == 8192


# --- releases and CRDs ---------------------------------------------------------------------------

def test_release_table():
    assert list(releases.SUPPORTED) == ["4.16", "4.17", "4.18", "4.19", "4.20", "4.21", "4.22", "4.23"]
    assert (releases.get("4.23").hco, releases.get("4.23").hco_api_version) == ((1, 19), "v1")
    assert releases.get("4.16").wasp_agent_image is None
    assert releases.get("4.17").wasp_agent_image.startswith("registry.redhat.io/container-native-virtualization/wasp-agent-rhel9@sha256:")
    assert len(releases.get("4.17").wasp_agent_image.rsplit(":", 1)[1]) == 64
    assert releases.from_cluster_version("4.20.3").name == "4.20"
    assert [releases.get(r).hco_deploys_wasp for r in ("4.19", "4.20")] == [False, True]
    assert releases.get("4.22").overcommit_path == ("spec", "virtualization", "higherWorkloadDensity", "memoryOvercommitPercentage")
    with pytest.raises(ValueError):
        releases.get("4.15")


def test_crds_are_valid_yaml_and_hcp_has_no_mco():
    names = {c["metadata"]["name"] for c in openshift.crd_bodies(releases.get("4.16"), "ha")}
    assert {"machineconfigs.machineconfiguration.openshift.io", "hyperconvergeds.hco.kubevirt.io",
            "securitycontextconstraints.security.openshift.io"} <= names
    hcp = {c["metadata"]["name"] for c in openshift.crd_bodies(releases.get("4.16"), "hcp")}
    assert not any(n.endswith("machineconfiguration.openshift.io") for n in hcp)


def test_hco_crd_variant_per_release():
    def versions(release):
        return [(v["name"], v["served"], v["storage"]) for v in openshift.hco_crd(releases.get(release))["spec"]["versions"]]
    assert versions("4.21") == [("v1beta1", True, True)]
    # HCO 1.18 serves v1 and stores v1beta1 (release-1.18 de5270c09); v1beta1 unserved here (no webhook)
    assert versions("4.22") == [("v1", True, False), ("v1beta1", False, True)]
    assert [releases.get(r).hco_storage_version for r in ("4.21", "4.22")] == ["v1beta1", "v1beta1"]

    def minimum(release):
        spec = openshift.hco_crd(releases.get(release))["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        return spec["properties"]["higherWorkloadDensity"]["properties"]["memoryOvercommitPercentage"]["minimum"]
    assert (minimum("4.18"), minimum("4.19")) == (1, 10)


def test_crd_files_parse():
    for file in sorted(openshift.CRD_DIR.rglob("*.yaml")):
        crd = yaml.safe_load(file.read_text())
        assert crd["kind"] == "CustomResourceDefinition", file


@pytest.mark.parametrize("image, release_minor, version", [
    ("registry.redhat.io/container-native-virtualization/wasp-agent-rhel9:v4.16", (4, 17), "v1.0"),
    ("quay.io/openshift-virtualization/wasp-agent:v4.17", (4, 16), "v1.1"),
    (releases.get("4.19").wasp_agent_image, (4, 22), "v1.1"),   # the 4.19 CSV's image, wherever it runs
    (releases.get("4.20").wasp_agent_image, (4, 17), "v1.2"),
    ("registry.invalid/wasp-agent:test", (4, 16), "v1.0"),     # unknown image: the cluster's release
    ("registry.invalid/wasp-agent:test", (4, 18), "v1.1"),
    ("registry.invalid/wasp-agent:test", (4, 21), "v1.2"),
])
def test_wasp_agent_version_of_an_image(image, release_minor, version):
    csv_images = {r.wasp_agent_image: r.minor for r in map(releases.get, releases.SUPPORTED) if r.wasp_agent_image}
    assert nodes.wasp_agent_version(image, release_minor, csv_images) == version


def test_wasp_agent_needs_follow_upstream_per_version():
    assert nodes.WASP_AGENT_NEEDS["v1.0"] == ()
    assert {("list", "nodes"), ("watch", "nodes"), ("patch", "nodes"), ("delete", "pods")} <= set(nodes.WASP_AGENT_NEEDS["v1.1"])
    assert set(nodes.WASP_AGENT_NEEDS["v1.2"]) == {("list", "pods"), ("watch", "pods")}


def test_agent_pod_status_crash_loops_and_recovers():
    pod = {"spec": {"containers": [{"name": "wasp-agent", "image": "x"}]},
           "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}],
                      "containerStatuses": [{"name": "wasp-agent", "restartCount": 0, "state": {"running": {}}}]}}
    assert not nodes.pod_crash_looping(pod)
    crashed = dict(pod, status=dict(pod["status"], **nodes.agent_pod_status(pod, [("list", "nodes")], "v1.1")))
    assert nodes.pod_crash_looping(crashed)
    status = crashed["status"]
    assert {c["type"]: c["status"] for c in status["conditions"]} == {"Ready": "False", "PodScheduled": "True"}
    assert status["containerStatuses"][0]["ready"] is False and status["containerStatuses"][0]["restartCount"] == 1
    assert "list nodes" in status["containerStatuses"][0]["state"]["waiting"]["message"]
    healed = dict(crashed, status=dict(status, **nodes.agent_pod_status(crashed, [], "v1.1")))
    assert not nodes.pod_crash_looping(healed)
    assert healed["status"]["containerStatuses"][0]["ready"] is True
    assert {c["type"]: c["status"] for c in healed["status"]["conditions"]}["Ready"] == "True"


@pytest.mark.parametrize("kind, namespace, monitored, loaded", [
    ("PrometheusRule", "wasp", set(), False),
    ("PrometheusRule", "wasp", {"wasp", "openshift-monitoring"}, True),
    ("PrometheusRule", "openshift-monitoring", {"openshift-monitoring"}, True),
    ("AlertingRule", "openshift-monitoring", {"openshift-monitoring"}, True),
    ("AlertingRule", "wasp", {"wasp"}, False),
])
def test_rules_load_only_where_platform_monitoring_reads(kind, namespace, monitored, loaded):
    ok, why = monitoring.rule_loaded(kind, namespace, monitored)
    assert ok is loaded
    assert bool(why) is not loaded


def test_rule_alerts_lists_alert_names():
    obj = {"spec": {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "1"}, {"record": "r", "expr": "1"}]}]}}
    assert monitoring.rule_alerts(obj) == ["A"]


# --- MCO merge of one path from two MachineConfigs; the emulated autopilot ---------------------

def _mc(name, *paths):
    return {"metadata": {"name": name}, "spec": {"config": {"ignition": {"version": "3.5.0"}, "storage": {
        "files": [{"path": p, "contents": {"source": apiobjects.data_url(name)}} for p in paths]}}}}


def test_a_later_name_wins_and_the_conflict_is_listed():
    mcs = [_mc("90-worker-swap-online", "/etc/openshift/kubelet.conf.d/90-swap.conf"),
           _mc("90-worker-swap", "/etc/openshift/kubelet.conf.d/90-swap.conf", "/etc/ocpv-density/swap.env")]
    merged = mco.merge_configs(mcs)
    files = nodes.config_files(merged["config"])
    assert files["/etc/openshift/kubelet.conf.d/90-swap.conf"] == "90-worker-swap-online"
    assert mco.file_conflicts(mcs) == [{"path": "/etc/openshift/kubelet.conf.d/90-swap.conf",
                                        "winner": "90-worker-swap-online", "overridden": ["90-worker-swap"]}]
    assert mco.file_conflicts(mcs[1:]) == []


def test_hco_1_19_deploys_no_wasp_agent_and_ships_no_wasp_image():
    """HCO PR #4528 (CNV-95803, cherry-picked to release-1.19 as #4535) drops the wasp-agent
    handlers; #4538 removes the wasp-agent image from release-1.19. Seen to fail before: the
    emulated 4.23 (HCO 1.19) deployed HCO's wasp-agent and its CSV carried the image."""
    assert [releases.get(r).hco_deploys_wasp for r in ("4.19", "4.20", "4.22", "4.23")] == [False, True, True, False]
    assert releases.get("4.22").wasp_agent_image and releases.get("4.23").wasp_agent_image is None


@pytest.mark.parametrize("previous,release,removed", [
    ("4.22.0", "4.23", True),    # HCO 1.18 -> 1.19: its wasp operands are leftovers now
    ("4.20.2", "4.23", True),
    ("4.19.4", "4.23", False),   # HCO 1.15 never deployed an agent
    ("", "4.23", False),         # fresh install: no known version
    ("4.23.0", "4.23", False),   # already upgraded: once only
    ("4.21.0", "4.22", False),   # 1.18 still has the handlers
])
def test_hco_removes_its_wasp_leftovers_on_the_upgrade_to_1_19(previous, release, removed):
    """HCO #4528 'also removes the leftover resources on upgrade' (HCO's objectsToBeRemoved,
    removed by name when the HyperConverged's known operator version is in range,
    controllers/hyperconverged/hyperconverged_controller.go removeLeftover, release-1.19
    7313576e6). Seen to fail before: the emulator had no such removal."""
    hc = {"status": {"versions": [{"name": "operator", "version": previous}]}} if previous else {}
    assert hco.hco_removes_wasp_leftovers(hc, releases.get(release)) is removed


@pytest.mark.parametrize("release,annotations,wanted", [
    # virt-platform-autopilot cdf87d5 "graduate autopilot to GA (opt-out by default)": on HCO
    # 1.19 (#4528: "Auto-pilot is now enabled by default") only "false" stops it. Seen to fail
    # before: the emulated 4.23 wrote no swap MachineConfig without the opt-in annotation.
    ("4.23", {}, True),
    ("4.23", {"platform.kubevirt.io/autopilot": "false"}, False),
    ("4.23", {"platform.kubevirt.io/autopilot": " false "}, False),
    ("4.23", {"platform.kubevirt.io/autopilot": "true"}, True),
    ("4.23", {"platform.kubevirt.io/disabled-resources": "- kind: MachineConfig\n  name: 90-worker-swap-online\n"}, False),
    ("4.22", {"platform.kubevirt.io/autopilot": "true"}, True),
    ("4.22", {"platform.kubevirt.io/autopilot": "foo, swap-enable"}, True),
    ("4.22", {}, False),
    ("4.21", {"platform.kubevirt.io/autopilot": "true"}, False),
    ("4.22", {"platform.kubevirt.io/autopilot": "true",
              "platform.kubevirt.io/disabled-resources": "- kind: MachineConfig\n  name: 90-worker-swap-online\n"}, False),
    ("4.22", {"platform.kubevirt.io/autopilot": "true",
              "platform.kubevirt.io/disabled-resources": "- kind: KubeDescheduler\n  name: cluster\n"}, True),
])
def test_the_autopilot_manages_swap_when_opted_in(release, annotations, wanted):
    hc = {"metadata": {"annotations": annotations}}
    assert hco.autopilot_swap_wanted(hc, releases.get(release)) is wanted


def test_the_autopilot_machineconfig_enables_only_existing_swap():
    config = hco.autopilot_swap_machineconfig()["spec"]["config"]
    files = nodes.config_files(config)
    assert "swapBehavior: LimitedSwap" in files["/etc/openshift/kubelet.conf.d/90-swap.conf"]
    assert nodes.boot_swap(config, 16 * 1024 * 1024, None) == (0, None), "no swap storage: nothing to enable"
