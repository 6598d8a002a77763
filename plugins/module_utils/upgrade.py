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

