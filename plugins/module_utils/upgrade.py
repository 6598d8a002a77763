# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Release gates: what a release (or an upgrade between two) allows, decided from data.

- ``swap_pool_refusal``: swap on a pool whose kubelet does not read the profile's drop-in
  (``kubelet_dropin_read_since`` in profiles.yml: on 4.21/4.22 the master kubelet has no
  ``--config-dir`` and keeps ``failSwapOn: true``) is refused before any write.

Pure Python, no Ansible imports; unit-tested in tests/unit/test_upgrade.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ocpv.density.plugins.module_utils.profiles import parse_minor

DROPIN_DIR = "/etc/openshift/kubelet.conf.d"
# OpenShift (and OpenShift Virtualization) minor whose HCO (1.19) deploys no wasp-agent.
HCO_WITHOUT_WASP = (4, 23)


def dropin_read_since(profile, pool):
    """The OpenShift minor ('4.23') from which the kubelet of ``pool`` reads the profile's drop-in,
    or '' when the profile writes no drop-in (the KubeletConfig carries the swap keys)."""
    if not profile.get("kubelet_dropin"):
        return ""
    since = profile.get("kubelet_dropin_read_since") or {}
    return str(since.get(pool, since.get("default", "")) or "")


def swap_pool_refusal(profile, pool, ocp_version, state="present"):
    """Why swap on ``pool`` must be refused on OpenShift ``ocp_version`` with ``profile``, or ''.

    With a drop-in profile the swap keys (failSwapOn: false) reach the kubelet only through
    /etc/openshift/kubelet.conf.d; a kubelet started without --config-dir keeps its template's
    failSwapOn: true and refuses to start once swap is on (the node goes NotReady). state=absent
    is never refused: taking swap out is what such a cluster needs.
    """
    if state == "absent":
        return ""
    since = dropin_read_since(profile, pool)
    minor = parse_minor(ocp_version)
    if not since or minor >= parse_minor(since):
        return ""
    return (
        "swap_pool=%(pool)s is refused on OpenShift %(version)s (profile %(profile)s): the kubelet "
        "of pool '%(pool)s' does not read %(dir)s on this release (the Machine Config Operator starts "
        "it without --config-dir until OpenShift %(since)s) and its template keeps failSwapOn: true, "
        "which the MCO no longer accepts in a KubeletConfig. With swap provisioned, every node of "
        "pool '%(pool)s' would stop its kubelet and go NotReady (on a compact cluster: the whole "
        "control plane). Swap on pool '%(pool)s' needs OpenShift %(since)s or later (up to 4.20 it "
        "works through the KubeletConfig). Nothing was changed."
        % {"pool": pool, "version": ocp_version, "profile": profile.get("name", "?"), "dir": DROPIN_DIR,
           "since": since}
    )


# ClusterVersion (openshift/api config/v1 ClusterVersionStatus, openshift-apis.md §6): status.desired
# is the release the cluster reconciles to; status.history is newest first, an entry is Completed
# once its rollout finished and Partial while it is under way (or failed); condition Progressing is
# True while the cluster works towards desired.
RELEASE_IMAGE_VERSION = "machineconfiguration.openshift.io/release-image-version"


def _minor_text(version):
    major, minor = parse_minor(version)
    return "%d.%d" % (major, minor)


def cluster_version_state(clusterversion):
    """{desired, current, upgrading, from_minor, to_minor} of a ClusterVersion object.

    ``current`` is the newest Completed history entry (what every component ran last);
    ``upgrading`` is True while desired differs from it and the history's newest entry is Partial
    or Progressing is True.
    """
    status = (clusterversion or {}).get("status") or {}
    desired = str((status.get("desired") or {}).get("version") or "")
    history = status.get("history") or []
    current = next((str(h.get("version") or "") for h in history if h.get("state") == "Completed"), "")
    progressing = any(c.get("type") == "Progressing" and c.get("status") == "True"
                      for c in status.get("conditions") or [])
    partial = bool(history) and history[0].get("state") == "Partial"
    upgrading = bool(desired and current and desired != current and (partial or progressing))
    return {
        "desired": desired,
        "current": current or desired,
        "upgrading": upgrading,
        "from_minor": _minor_text(current or desired) if (current or desired) else "",
        "to_minor": _minor_text(desired) if desired else "",
    }


def _step(action, message, profile=""):
    return {"action": action, "profile": profile, "message": message}


def upgrade_step(state, from_profile, to_profile, pool, control_plane_version="", cnv_version="",
                 swap_keys_in_kubelet_config=False):
    """What playbooks/upgrade.yml does now. Returns {action, profile, message}:

    - converge: run the site procedure with ``profile`` ('' = detect as site.yml does);
    - wait: nothing to do yet, nothing written; run again once the message's condition holds;
    - refuse: the upgrade leads somewhere the collection must not go (nothing written).

    ``state`` comes from cluster_version_state; ``from_profile``/``to_profile`` are the automatic
    rows of the current and the desired release; ``control_plane_version`` is the
    release-image-version of the rendered config the master pool has fully rolled out ('' when
    it is still updating); ``cnv_version`` the OpenShift Virtualization CSV version;
    ``swap_keys_in_kubelet_config``: the pool's KubeletConfig still holds keys the target
    release's MCO refuses (failSwapOn).
    """
    if not state.get("upgrading"):
        return _step("converge", "No OpenShift upgrade in progress (ClusterVersion at %s): the site "
                     "procedure runs as site.yml does." % (state.get("desired") or "?"))
    desired, current = state["desired"], state["current"]
    moving = "OpenShift is upgrading from %s to %s" % (current, desired)
    # -> 4.23: HCO 1.19 (OpenShift Virtualization 4.23) has no wasp-agent handlers and removes the
    # agent an earlier HCO deployed (kubevirt/hyperconverged-cluster-operator #4528, on release-1.19
    # #4535); virt-platform-autopilot, on by default, writes 90-worker-swap-online with the drop-in
    # path the collection's drop-in rows write (profiles.yml row autopilot).
    if (to_profile.get("wasp_agent") or {}).get("provider") == "hco" and \
            parse_minor(desired) >= HCO_WITHOUT_WASP and parse_minor(current) < HCO_WITHOUT_WASP:
        return _step("refuse", "%s. OpenShift Virtualization %s (HCO 1.19) deploys no wasp-agent and removes "
                     "HCO's on its upgrade (HCO PR #4528); virt-platform-autopilot manages swap instead, and its "
                     "MachineConfig 90-worker-swap-online writes /etc/openshift/kubelet.conf.d/90-swap.conf, the "
                     "file profile %s writes too (the later name wins). ocpv.density does not implement the "
                     "autopilot profile yet. Take our swap out (site.yml -e state=absent) and provision the swap "
                     "the autopilot enables (/var/tmp/ocpswap.file or a partition labelled OCPSWAP), or, after "
                     "the upgrade, opt the autopilot out of 90-worker-swap-online and use "
                     "density_profile=native. Nothing was changed."
                     % (moving, state["to_minor"], to_profile.get("name")))
    if from_profile.get("name") == to_profile.get("name"):
        return _step("wait", "%s; both use profile %s, so the upgrade needs nothing from ocpv.density. "
                     "Nothing was changed; run site.yml (or this playbook) once the upgrade has completed."
                     % (moving, to_profile.get("name")))
    refusal = swap_pool_refusal(to_profile, pool, desired)
    if refusal:
        return _step("refuse", "%s. After it, %s Take swap off pool '%s' first (site.yml -e state=absent), "
                     "or keep the cluster below 4.21 until 4.23." % (moving, refusal.replace(" Nothing was changed.", ""), pool))
    # 4.20 -> 4.21/4.22 (CNV-75837, CNV-89504 release notes): failSwapOn leaves the KubeletConfig
    # after the control plane has updated - before, the old MCO renders the workers' kubelet with
    # failSwapOn true and no --config-dir, and their kubelets would not start with swap.
    if swap_keys_in_kubelet_config:
        if not control_plane_version or _minor_text(control_plane_version) != state["to_minor"]:
            return _step("wait", "%s; the control plane has not finished updating (the master pool has not "
                         "rolled out a %s rendered config yet). failSwapOn must stay in the KubeletConfig "
                         "until then (the %s Machine Config Operator would start the workers' kubelets "
                         "with failSwapOn: true). Nothing was changed; run this playbook again once "
                         "'oc get mcp master' shows UPDATED True." % (moving, state["to_minor"], state["from_minor"]))
        return _step("converge", "%s and the control plane has updated: failSwapOn moves from the "
                     "KubeletConfig to the kubelet drop-in (profile %s), one rollout of pool '%s'."
                     % (moving, to_profile["name"], pool), to_profile["name"])
    # 4.19 -> 4.20: HCO >= 1.16 (CNV 4.20) runs its own wasp-agent as soon as the overcommit is
    # above 100; ours stays until HCO's is ready on every node (the site procedure's hand-over).
    need_cnv = (to_profile.get("cnv") or {}).get("min") or ""
    if need_cnv and (not cnv_version or parse_minor(cnv_version) < parse_minor(need_cnv)):
        return _step("wait", "%s; profile %s needs OpenShift Virtualization %s or later, %s is installed. "
                     "The wasp-agent in place stays until HCO's own is ready on every node. Nothing was "
                     "changed; run this playbook again once OpenShift Virtualization is upgraded."
                     % (moving, to_profile["name"], need_cnv, cnv_version or "none"))
    return _step("converge", "%s: converging to profile %s." % (moving, to_profile["name"]), to_profile["name"])


# upgrade_wait_timeout (playbooks/upgrade.yml): 0 keeps the one-shot behaviour (a 'wait' step writes
# nothing and says so); above 0 the playbook polls and decides again until the step can be taken.
# A day at most: an OpenShift upgrade that takes longer needs a look, not a longer wait.
WAIT_TIMEOUT_MAX = 86400


def wait_outcome(step, waited, timeout):
    """What upgrade.yml does after deciding ``step`` (upgrade_step) having waited ``waited`` seconds
    of ``timeout``. Returns {action, message}: action 'poll' (decide again after the poll interval),
    'timeout' (fail: nothing was written) or the step's own action (converge, refuse, wait)."""
    action = step.get("action")
    if action != "wait" or not timeout:
        return {"action": action, "message": step.get("message", "")}
    if waited < timeout:
        return {"action": "poll", "message": "Waiting (%ds of upgrade_wait_timeout=%ds): %s"
                % (waited, timeout, step.get("message", ""))}
    return {"action": "timeout", "message": (
        "Timed out after upgrade_wait_timeout=%ds: the upgrade step still cannot be taken and nothing "
        "was written. Waited for: %s" % (timeout, step.get("message", "")))}
