"""The Machine Config Operator's behaviour: kubelet-config, render and node controllers and the
machine-config-daemon's update of a node (openshift/machine-config-operator)."""

import copy
import hashlib
import json
import logging
import re
import time

try:  # imported as localcluster.mco (tests) or run as a script from localcluster/
    from . import realtools
    from .apiobjects import MCFG, annotations, atomic_write, condition, data_url, dig, keep_transition_times, selector_matches, without_times
    from .kubeapi import ApiError, path
    from .nodes import KUBELET_CONF, NodeDisk, kubelet_dependency_error, kubelet_down_conditions, kubelet_swap_error, node_mem_total_kb
except ImportError:
    import realtools
    from apiobjects import MCFG, annotations, atomic_write, condition, data_url, dig, keep_transition_times, selector_matches, without_times
    from kubeapi import ApiError, path
    from nodes import KUBELET_CONF, NodeDisk, kubelet_dependency_error, kubelet_down_conditions, kubelet_swap_error, node_mem_total_kb

log = logging.getLogger("emulator")

ROLE_LABEL = "machineconfiguration.openshift.io/role"
GENERATED_BY = "machineconfiguration.openshift.io/generated-by-controller-version"
MC_NAME_SUFFIX = "machineconfiguration.openshift.io/mc-name-suffix"
RELEASE_IMAGE_VERSION = "machineconfiguration.openshift.io/release-image-version"
CURRENT_CONFIG = "machineconfiguration.openshift.io/currentConfig"
DESIRED_CONFIG = "machineconfiguration.openshift.io/desiredConfig"
NODE_STATE = "machineconfiguration.openshift.io/state"
NODE_REASON = "machineconfiguration.openshift.io/reason"
DEGRADE_ANNOTATION = "localcluster.ocpv.io/degrade"      # test-only fault injection on a pool
KUBELET_ANNOTATION = "localcluster.ocpv.io/kubelet"      # why an emulated kubelet did not start
DISK_FREE_ANNOTATION = "localcluster.ocpv.io/disk-free-mib"  # test-only: free MiB on a node's /var
CONTROLLER_VERSION = "localcluster-emulator"
FORBIDDEN_KUBELET_KEYS = ("cgroupDriver", "clusterDNS", "clusterDomain", "featureGates", "staticPodPath")


def pool_for_node(node_labels, pools):
    """The pool a node belongs to, by MCO's rule (pkg/helpers GetPoolsForNode): a node matching
    master belongs to master; otherwise a single custom pool wins over worker; two or more custom
    pools is an error in MCO (-> None here)."""
    matching = [p["metadata"]["name"] for p in pools if selector_matches(dig(p, "spec", "nodeSelector"), node_labels)]
    if "master" in matching:
        return "master"
    custom = [name for name in matching if name != "worker"]
    if len(custom) == 1:
        return custom[0]
    if not custom and "worker" in matching:
        return "worker"
    return None


def parse_ignition_version(text):
    """'3.4.0' -> (3, 4, 0); ValueError for anything Ignition would not parse."""
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)(-experimental)?", str(text or ""))
    if not m or m.group(4):
        raise ValueError(f"invalid ignition version {text!r}")
    return tuple(int(g) for g in m.groups()[:3])


def ignition_error(config, ignition_max):
    """Why MCO would refuse this Ignition config, or None. Spec 3 configs are judged by Ignition's
    own parser and validator, the library MCO vendors (github.com/coreos/ignition/v2 v2.20.0,
    openshift/machine-config-operator release-4.19..4.22 go.mod; common/helpers.go
    IgnParseWrapper + ValidateIgnition), parsing up to release.ignition_max. Spec 2 configs (MCO
    parses them with the older github.com/coreos/ignition v0.35.0, not built here) only pass the
    version check: 2.2.0 is accepted. UNSURE: 4.16-4.18's MCO vendored an older v2 release; the
    validator uses v2.20.0's config/v3_4 package for them."""
    if config is None:  # no spec.config at all: MCO's ValidateMachineConfig skips it
        return None
    try:
        version = parse_ignition_version(dig(config, "ignition", "version"))
    except ValueError:
        version = None
    if version is not None and version[0] == 2:
        if version == (2, 2, 0):
            return None
        supported = ".".join(map(str, ignition_max))
        return (f"parsing Ignition config failed: unsupported config version "
                f"{'.'.join(map(str, version))} (newest supported: {supported})")
    spec = f"{ignition_max[0]}.{ignition_max[1]}"
    return realtools.ignition_errors([(config if isinstance(config, dict) else {}, spec)])[0]


def merge_configs(mcs):
    """Merge MachineConfigs (sorted by name, later wins) into one rendered spec, like MCO's
    MergeMachineConfigs: files by path and units by name are replaced by later configs,
    kernelArguments appended, extensions unioned. The rendered Ignition version is the newest
    of the inputs (MCO converts to its own spec version; the emulator keeps names stable across
    releases instead)."""
    files, units, kargs, extensions = {}, {}, [], []
    version, fips, kernel_type, os_image = (3, 0, 0), False, "", ""
    for mc in sorted(mcs, key=lambda m: m["metadata"]["name"]):
        spec = mc.get("spec") or {}
        config = spec.get("config") or {}
        try:
            version = max(version, parse_ignition_version(dig(config, "ignition", "version")))
        except ValueError:
            pass
        for f in dig(config, "storage", "files", default=[]) or []:
            files[f["path"]] = f
        for u in dig(config, "systemd", "units", default=[]) or []:
            units[u["name"]] = u
        kargs += spec.get("kernelArguments") or []
        extensions += [e for e in spec.get("extensions") or [] if e not in extensions]
        fips = fips or bool(spec.get("fips"))
        kernel_type = spec.get("kernelType") or kernel_type
        os_image = spec.get("osImageURL") or os_image
    config = {"ignition": {"version": ".".join(map(str, version))}}
    if files:
        config["storage"] = {"files": [files[p] for p in sorted(files)]}
    if units:
        config["systemd"] = {"units": [units[n] for n in sorted(units)]}
    merged = {"config": config, "kernelArguments": kargs, "extensions": extensions, "fips": fips}
    if kernel_type:
        merged["kernelType"] = kernel_type
    if os_image:
        merged["osImageURL"] = os_image
    return merged


def file_conflicts(mcs):
    """Files that more than one MachineConfig writes: [{path, winner, overridden}], the winner
    being the last by name, as MCO's MergeMachineConfigs applies them (openshift/machine-config-
    operator release-4.22 9027c94cd, pkg/controller/common/helpers.go: configs sorted by name,
    Ignition merge replaces a file of the same path). The MCO says nothing about it; the
    emulator records it in emulator/conflicts.json so the tests can."""
    writers = {}
    for mc in sorted(mcs, key=lambda m: m["metadata"]["name"]):
        for f in dig(mc, "spec", "config", "storage", "files", default=[]) or []:
            writers.setdefault(f["path"], []).append(mc["metadata"]["name"])
    return [{"path": p, "winner": names[-1], "overridden": names[:-1]}
            for p, names in sorted(writers.items()) if len(names) > 1]


def rendered_name(pool, merged_spec):
    """rendered-<pool>-<md5 of the merged spec> (MCO hashes the merged config the same way)."""
    digest = hashlib.md5(json.dumps(merged_spec, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return f"rendered-{pool}-{digest}"


def kubelet_config_error(kubelet_config, release):
    """MCO's validateUserKubeletConfig: why a KubeletConfig is refused, or None."""
    kc = kubelet_config or {}
    for key in FORBIDDEN_KUBELET_KEYS:
        if key in kc:
            return f"KubeletConfiguration: {key} is not allowed to be set, but contains: {kc[key]}"
    if release.swap_keys_rejected:
        if "failSwapOn" in kc:
            return f"KubeletConfiguration: failSwapOn is not allowed to be set, but contains: {str(kc['failSwapOn']).lower()}"
        behavior = dig(kc, "memorySwap", "swapBehavior")
        if behavior:
            return f"KubeletConfiguration: swapBehavior is not allowed to be set, but contains: {behavior}"
    return None


def kubelet_template(release, pool):
    """The parts of MCO's kubelet.conf template that matter here (the rest is elided)."""
    conf = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
            "cgroupDriver": "systemd", "maxPods": 250, "systemReserved": {"cpu": "500m", "memory": "1Gi"}}
    if release.minor >= (4, 21):
        conf["failSwapOn"] = pool == "master"
        conf["memorySwap"] = {"swapBehavior": "NoSwap"}
    return conf


def max_unavailable(value, machine_count):
    """Pool maxUnavailable (int or 'N%', default 1; 0 -> 1 as MCO does)."""
    if value is None:
        return 1
    if isinstance(value, str) and value.endswith("%"):
        value = int(machine_count * int(value[:-1]) / 100)
    return max(int(value), 1)


def ensure_rendered(kube, pool, selected_mcs, existing=None, release_version=None):
    """Create rendered-<pool>-<hash> for these MachineConfigs if needed and point the pool's
    spec.configuration at it. Returns (rendered name, whether anything was written). A new
    rendered config carries the release-image-version annotation of the MCO that rendered it
    (MCO release-4.21 pkg/controller/render/render_controller.go, db84d8368)."""
    pool_name = pool["metadata"]["name"]
    merged = merge_configs(selected_mcs)
    name = rendered_name(pool_name, merged)
    changed = False
    if existing is None or name not in existing:
        changed = True
        body = {"apiVersion": MCFG, "kind": "MachineConfig",
                "metadata": {"name": name, "annotations": {GENERATED_BY: CONTROLLER_VERSION,
                                                           **({RELEASE_IMAGE_VERSION: release_version} if release_version else {})},
                             "ownerReferences": [{"apiVersion": MCFG, "kind": "MachineConfigPool", "name": pool_name,
                                                  "uid": pool["metadata"]["uid"], "controller": True,
                                                  "blockOwnerDeletion": True}]},
                "spec": merged}
        try:
            kube.create(path(MCFG, "machineconfigs"), body)
        except ApiError as e:
            if e.status != 409:
                raise
    configuration = {"name": name, "source": [{"apiVersion": MCFG, "kind": "MachineConfig", "name": mc["metadata"]["name"]}
                                              for mc in sorted(selected_mcs, key=lambda m: m["metadata"]["name"])]}
    if dig(pool, "spec", "configuration") != configuration:
        kube.merge_patch(path(MCFG, "machineconfigpools", pool_name), {"spec": {"configuration": configuration}})
        log.info("pool %s retargeted to %s", pool_name, name)
        changed = True
    return name, changed


class MachineConfigOperator:
    """The MCO's controllers (mixin of emulator.Emulator)."""

    # --- MCO: kubelet-config controller --------------------------------------------------------
    def sync_kubelet_configs(self, release, pools, kcs, mcs):
        """KubeletConfig -> 99-<pool>-generated-kubelet[-N]; returns True if MCs changed."""
        changed = False
        mcs_by_name = {mc["metadata"]["name"]: mc for mc in mcs}
        for kc in kcs:
            name, meta = kc["metadata"]["name"], kc["metadata"]
            kc_path = path(MCFG, "kubeletconfigs", name)
            if meta.get("deletionTimestamp"):  # MCO's finalizer: delete the generated MCs first
                for mc_name in meta.get("finalizers") or []:
                    self.kube.delete(path(MCFG, "machineconfigs", mc_name))
                self.kube.merge_patch(kc_path, {"metadata": {"finalizers": None}})
                changed = True
                continue
            spec = kc.get("spec") or {}
            matched = [p for p in pools if selector_matches(spec.get("machineConfigPoolSelector"), p["metadata"].get("labels"))]
            error = kubelet_config_error(spec.get("kubeletConfig"), release)
            if not error and not matched:
                error = f"could not find any MachineConfigPool set for KubeletConfig {name}"
            suffix = dig(meta, "annotations", MC_NAME_SUFFIX)
            if not error and suffix is None:
                suffix = self._free_kubelet_suffix(kcs, matched)
                if suffix is None:
                    error = "max number of supported kubelet config (10) has been reached. Please delete old kubelet configs before retrying"
            if error:  # MCO leaves an already generated MC in place
                self._set_kc_status(kc, condition("Failure", "False", message=f"Error: {error}"))
                continue
            mc_names = []
            for pool in matched:
                pool_name = pool["metadata"]["name"]
                mc_name = f"99-{pool_name}-generated-kubelet" + (f"-{suffix}" if suffix else "")
                mc_names.append(mc_name)
                conf = kubelet_template(release, pool_name)
                conf.update(spec.get("kubeletConfig") or {})
                body = {
                    "apiVersion": MCFG, "kind": "MachineConfig",
                    "metadata": {"name": mc_name, "labels": {ROLE_LABEL: pool_name},
                                 "annotations": {GENERATED_BY: CONTROLLER_VERSION},
                                 "ownerReferences": [{"apiVersion": MCFG, "kind": "KubeletConfig", "name": name,
                                                      "uid": meta["uid"], "controller": True}]},
                    "spec": {"config": {"ignition": {"version": ".".join(map(str, release.ignition_max))},
                                        "storage": {"files": [{"path": KUBELET_CONF, "overwrite": True, "mode": 0o644,
                                                               "contents": {"source": data_url(json.dumps(conf, indent=2))}}]}}},
                }
                existing = mcs_by_name.get(mc_name)
                if existing is None:
                    self.kube.create(path(MCFG, "machineconfigs"), body)
                    changed = True
                elif existing.get("spec") != body["spec"]:
                    self.kube.merge_patch(path(MCFG, "machineconfigs", mc_name), {"spec": body["spec"]})
                    changed = True
            finalizers = sorted(set(meta.get("finalizers") or []) | set(mc_names))
            if dig(meta, "annotations", MC_NAME_SUFFIX) != suffix or (meta.get("finalizers") or []) != finalizers:
                self.kube.merge_patch(kc_path, {"metadata": {"annotations": {MC_NAME_SUFFIX: suffix}, "finalizers": finalizers}})
            self._set_kc_status(kc, condition("Success", "True", message="Success"))
        return changed

    @staticmethod
    def _free_kubelet_suffix(kcs, pools):
        """'' for the first KubeletConfig of a pool, then '1'..'9' (MCO's mc-name-suffix)."""
        pool_labels = [p["metadata"].get("labels") for p in pools]
        used = {dig(k, "metadata", "annotations", MC_NAME_SUFFIX) for k in kcs
                if any(selector_matches(dig(k, "spec", "machineConfigPoolSelector"), labels) for labels in pool_labels)}
        for candidate in [""] + [str(i) for i in range(1, 10)]:
            if candidate not in used:
                return candidate
        return None

    def _set_kc_status(self, kc, cond):
        status = kc.get("status") or {}
        if status.get("observedGeneration") == kc["metadata"]["generation"] and \
                without_times(status.get("conditions"))[-1:] == without_times([cond]):
            return
        self.kube.merge_patch(path(MCFG, "kubeletconfigs", kc["metadata"]["name"], subresource="status"),
                              {"status": {"observedGeneration": kc["metadata"]["generation"], "conditions": [cond]}})

    # --- MCO: render controller ----------------------------------------------------------------
    def sync_render(self, release, pools, mcs):
        """Merge each pool's MachineConfigs into rendered-<pool>-<hash> and retarget the pool
        (also while paused: pausing only stops the node controller). True if anything changed.
        Files written by more than one of a pool's MachineConfigs go to emulator/conflicts.json."""
        changed, conflicts = False, {}
        for pool in pools:
            name = pool["metadata"]["name"]
            selected = [mc for mc in mcs if selector_matches(dig(pool, "spec", "machineConfigSelector"), mc["metadata"].get("labels"))
                        and not mc["metadata"].get("deletionTimestamp")]
            # MCO validates the pool's configs sorted by name and fails on the first invalid one
            # (release-4.21 db84d8368 render_controller.go syncMachineConfigPool,
            # generateRenderedMachineConfig; the message is syncFailingStatus').
            errors = [f"could not generate rendered MachineConfig: {err}"
                      for mc in sorted(selected, key=lambda m: m["metadata"]["name"])
                      if (err := ignition_error(dig(mc, "spec", "config"), release.ignition_max))][:1]
            if not selected:
                errors = [f"no MachineConfigs found matching selector for pool {name}"]
            if errors:
                self.render_errors[name] = f"Failed to render configuration for pool {name}: " + "; ".join(errors)
                continue
            self.render_errors.pop(name, None)
            found = file_conflicts(selected)
            if found:
                conflicts[name] = found
            changed |= ensure_rendered(self.kube, pool, selected, existing={mc["metadata"]["name"] for mc in mcs},
                                       release_version=release.ocp_version)[1]
        if conflicts != self._load_json("conflicts.json", {}):
            atomic_write(self.state_dir / "conflicts.json", json.dumps(conflicts, indent=1, sort_keys=True))
        return changed

    # --- MCO: node controller + machine-config-daemon -----------------------------------------
    def sync_nodes(self, release, pools, nodes, mcs_by_name):
        members = {}
        for node in nodes:
            pool = pool_for_node(node["metadata"].get("labels"), pools)
            if pool:
                members.setdefault(pool, []).append(node)
        for pool in pools:
            pool_nodes = sorted(members.get(pool["metadata"]["name"], []), key=lambda n: n["metadata"]["name"])
            self._sync_pool_nodes(release, pool, pool_nodes, mcs_by_name)
            self._write_pool_status(pool, pool_nodes)

    def _sync_pool_nodes(self, release, pool, nodes, mcs_by_name):
        pool_name = pool["metadata"]["name"]
        target = dig(pool, "spec", "configuration", "name")
        if not target or target not in mcs_by_name:
            return
        for node in nodes:
            a, name = annotations(node), node["metadata"]["name"]
            if CURRENT_CONFIG not in a:
                # A node joining the pool boots straight into the pool's target (no reboot counted).
                self._boot(release, pool_name, node, mcs_by_name[target], count=False)
                self._patch_node(node, {CURRENT_CONFIG: target, DESIRED_CONFIG: target, NODE_STATE: "Done", NODE_REASON: None})
            elif a.get(NODE_STATE) == "Working" and name not in self.rebooting:
                self.rebooting[name] = time.monotonic() + self.reboot_seconds  # emulator restarted mid-reboot
            elif a.get(NODE_STATE) == "Working" and time.monotonic() >= self.rebooting[name]:
                desired = a.get(DESIRED_CONFIG)
                if desired not in mcs_by_name:
                    continue
                error = self._boot(release, pool_name, node, mcs_by_name[desired], count=True)
                if error:  # the kubelet does not come back: the node stays Working (MCO waits forever)
                    self.rebooting[name] = float("inf")
                    self._patch_node(node, {KUBELET_ANNOTATION: error})
                    # and NotReady: nothing posts its status (kwok's node-ready stage skips a node
                    # with this annotation; it makes the node Ready again once the annotation goes)
                    self.kube.merge_patch(path("v1", "nodes", name, subresource="status"),
                                          {"status": {"conditions": kubelet_down_conditions(dig(node, "status", "conditions"))}})
                    log.warning("node %s: %s", name, error)
                else:
                    self.rebooting.pop(name, None)
                    self._patch_node(node, {CURRENT_CONFIG: desired, NODE_STATE: "Done", NODE_REASON: None,
                                            KUBELET_ANNOTATION: None}, unschedulable=False)
            elif a.get(NODE_STATE) == "Degraded" and dig(pool, "metadata", "annotations", DEGRADE_ANNOTATION) != "true":
                self._start_update(node, a.get(DESIRED_CONFIG) or target)  # fault removed: retry

        if dig(pool, "spec", "paused"):
            return
        if any(annotations(n).get(NODE_STATE) == "Degraded" for n in nodes):
            return  # MCO stops rolling out a pool with a degraded node
        budget = max_unavailable(dig(pool, "spec", "maxUnavailable"), len(nodes)) - \
            sum(1 for n in nodes if self._unavailable(n))
        updated = sum(1 for n in nodes if annotations(n).get(CURRENT_CONFIG) == target)
        degrade = dig(pool, "metadata", "annotations", DEGRADE_ANNOTATION) == "true"
        for node in (n for n in nodes if annotations(n).get(DESIRED_CONFIG) != target):
            if self.rebooting.get(node["metadata"]["name"]) == float("inf"):
                self._start_update(node, target)  # its kubelet never came back: a new config is its only way out
                continue
            if annotations(node).get(NODE_STATE) == "Working":
                continue  # still rebooting into an older target; it is picked up again when done
            if budget <= 0:
                break
            if degrade and (updated >= 1 or len(nodes) == 1):
                self._patch_node(node, {DESIRED_CONFIG: target, NODE_STATE: "Degraded",
                                        NODE_REASON: "localcluster fault injection: pool annotated " + DEGRADE_ANNOTATION})
                break
            self._start_update(node, target)
            budget -= 1
        working = sum(1 for n in nodes if annotations(n).get(NODE_STATE) == "Working")
        if working > self.counters["max_updating"].get(pool_name, 0):
            self.counters["max_updating"][pool_name] = working

    def _start_update(self, node, target):
        """Cordon, set desiredConfig; the 'reboot' completes after reboot_seconds."""
        self.rebooting[node["metadata"]["name"]] = time.monotonic() + self.reboot_seconds
        self._patch_node(node, {DESIRED_CONFIG: target, NODE_STATE: "Working", NODE_REASON: None}, unschedulable=True)

    def _boot(self, release, pool_name, node, rendered_mc, count):
        name = node["metadata"]["name"]
        config = dig(rendered_mc, "spec", "config", default={})
        disk = NodeDisk(self.run_dir, name)
        free = annotations(node).get(DISK_FREE_ANNOTATION)
        swap = disk.boot(config, node_mem_total_kb(node), int(free) if str(free or "").isdigit() else None)
        if count:
            self.counters["reboots"][name] = self.counters["reboots"].get(name, 0) + 1
            log.info("node %s rebooted into %s (swap %d MiB)", name, rendered_mc["metadata"]["name"], swap)
        return kubelet_dependency_error(config, disk.failed_unit) or \
            (kubelet_swap_error(config, release, pool_name) if swap else None)

    def _patch_node(self, node, changes, unschedulable=None):
        """Patch node annotations (None removes one) and keep the cached object in step."""
        patch = {"metadata": {"annotations": changes}}
        if unschedulable is not None:
            patch["spec"] = {"unschedulable": unschedulable or None}
        updated = self.kube.merge_patch(path("v1", "nodes", node["metadata"]["name"]), patch)
        node["metadata"]["annotations"] = updated["metadata"].get("annotations") or {}
        node["spec"] = updated.get("spec") or {}

    @staticmethod
    def _unavailable(node):
        a = node["metadata"].get("annotations") or {}
        return a.get(NODE_STATE) != "Done" or a.get(CURRENT_CONFIG) != a.get(DESIRED_CONFIG) or \
            bool(dig(node, "spec", "unschedulable"))

    def _write_pool_status(self, pool, nodes):
        """MCO's calculateStatus (pkg/controller/node/status.go)."""
        name = pool["metadata"]["name"]
        spec_conf = dig(pool, "spec", "configuration") or {}
        target = spec_conf.get("name")
        ann = [n["metadata"].get("annotations") or {} for n in nodes]
        machines = len(nodes)
        updated = sum(1 for a in ann if a.get(CURRENT_CONFIG) == target and a.get(NODE_STATE) == "Done")
        degraded_nodes = [(n["metadata"]["name"], a.get(NODE_REASON, "")) for n, a in zip(nodes, ann)
                          if a.get(NODE_STATE) in ("Degraded", "Unreconcilable")]
        unavailable = sum(1 for n in nodes if self._unavailable(n))
        ready = sum(1 for n, a in zip(nodes, ann)
                    if a.get(CURRENT_CONFIG) == target and a.get(NODE_STATE) == "Done" and not dig(n, "spec", "unschedulable"))
        status = dict(pool.get("status") or {})
        old_conditions = status.get("conditions")
        all_updated = bool(target) and updated == machines and ready == machines and unavailable == 0
        if all_updated:
            conditions = [condition("Updated", "True", message=f"All nodes are updated with MachineConfig {target}"),
                          condition("Updating", "False")]
            previous = dig(status, "configuration", "name")
            if previous and previous != target:
                self.counters["rollouts"][name] = self.counters["rollouts"].get(name, 0) + 1
                log.info("pool %s rolled out %s", name, target)
            status["configuration"] = copy.deepcopy(spec_conf)
        else:
            conditions = [condition("Updated", "False")]
            if dig(pool, "spec", "paused"):
                conditions.append(condition("Updating", "False", message=f"Pool is paused; will not update to {target}"))
            else:
                conditions.append(condition("Updating", "True", message=f"All nodes are updating to MachineConfig {target}"))
        if degraded_nodes:
            node_message = ", ".join(f'Node {n} is reporting: "{r}"' for n, r in degraded_nodes)
            conditions.append(condition("NodeDegraded", "True", f"{len(degraded_nodes)} nodes are reporting degraded status on sync", node_message))
        else:
            conditions.append(condition("NodeDegraded", "False"))
        render_error = self.render_errors.get(name)
        conditions.append(condition("RenderDegraded", "True", "MachineConfigRenderFailed", render_error) if render_error
                          else condition("RenderDegraded", "False"))
        degraded = [c for c in conditions[-2:] if c["status"] == "True"]
        conditions.append(condition("Degraded", "True", degraded[0]["reason"], degraded[0]["message"]) if degraded
                          else condition("Degraded", "False"))
        status.update(observedGeneration=pool["metadata"]["generation"], machineCount=machines,
                      updatedMachineCount=updated, readyMachineCount=ready, unavailableMachineCount=unavailable,
                      degradedMachineCount=len(degraded_nodes),
                      conditions=keep_transition_times(conditions, old_conditions))
        if status != (pool.get("status") or {}):
            self.save_counters()  # whoever sees the pool Updated must also see its reboots counted
            self.kube.merge_patch(path(MCFG, "machineconfigpools", name, subresource="status"), {"status": status})
