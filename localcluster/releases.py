"""The OpenShift releases the local cluster emulates: one row per minor, the only place that knows
which version of what ships where (openshift.py seeds from it, emulator.py behaves by it).

Sources: kubevirt/hyperconverged-cluster-operator (HCO API versions; the CNV = HCO release mapping;
HCO-managed wasp-agent from HCO 1.16), openshift/machine-config-operator (Ignition support) and
openshift/api machineconfiguration/v1 (KubeletConfig swap keys).
"""

import hashlib

# minor -> (OCP z-stream, CNV/CSV z-stream, HCO minor)
_ROWS = {
    "4.16": ("4.16.38", "4.16.12", (1, 12)),
    "4.17": ("4.17.29", "4.17.9", (1, 13)),
    "4.18": ("4.18.14", "4.18.6", (1, 14)),
    "4.19": ("4.19.9", "4.19.4", (1, 15)),
    "4.20": ("4.20.3", "4.20.2", (1, 16)),
    "4.21": ("4.21.1", "4.21.0", (1, 17)),
    "4.22": ("4.22.0", "4.22.0", (1, 18)),
    # MCO release-4.23 gives the master kubelet --config-dir (36c7cead4); HCO release-1.19 stores
    # HyperConverged v1 (api/v1 +kubebuilder:storageversion, 7313576e6). HCO release-1.19 drops
    # its wasp-agent handlers (kubevirt/hyperconverged-cluster-operator #4535, the cherry-pick of
    # #4528, merged 2026-08-25, after the 7313576e6 snapshot whose controllers/handlers/wasp-agent
    # still deploys it) and the wasp-agent image (#4538): virt-platform-autopilot owns swap.
    "4.23": ("4.23.0", "4.23.0", (1, 19)),
}
SUPPORTED = tuple(_ROWS)
DEFAULT = "4.16"


def minor(version):
    """'4.20.3' or '4.20' -> (4, 20)."""
    parts = str(version).split(".")
    return int(parts[0]), int(parts[1])


class Release:
    """Everything version-dependent about one emulated minor release."""

    def __init__(self, name):
        if name not in _ROWS:
            raise ValueError(f"unsupported release {name!r}; choose one of {', '.join(SUPPORTED)}")
        self.name = name
        self.ocp_version, self.cnv_version, self.hco = _ROWS[name]
        self.minor = minor(name)

    def __repr__(self):
        return f"Release({self.name!r})"

    @property
    def ignition_max(self):
        """Newest Ignition spec MCO parses: 3.4.0 on 4.14-4.18, 3.5.0 from 4.19 (MCO common/helpers.go)."""
        return (3, 5, 0) if self.minor >= (4, 19) else (3, 4, 0)

    @property
    def swap_keys_rejected(self):
        """MCO >= 4.21 refuses failSwapOn / memorySwap.swapBehavior in a KubeletConfig (fc21115e5)."""
        return self.minor >= (4, 21)

    @property
    def hco_deploys_wasp(self):
        """HCO 1.16-1.18 (4.20-4.22) runs its own wasp-agent while the overcommit is > 100; HCO
        1.19 (4.23) has no wasp-agent handlers (#4535 on release-1.19, #4528 on main)."""
        return (1, 16) <= self.hco < (1, 19)

    @property
    def autopilot_by_default(self):
        """virt-platform-autopilot manages the platform without the HyperConverged's opt-in
        annotation; only platform.kubevirt.io/autopilot "false" stops it. HCO #4528 (the reason
        its handlers go on 1.19): "Auto-pilot is now enabled by default"; the autopilot side is
        openshift-virtualization/virt-platform-autopilot cdf87d5 "graduate autopilot to GA
        (opt-out by default)" (PR #326). UNSURE: HCO release-1.19 hack/config pins
        AUTOPILOT_VERSION v0.1.2 at 7313576e6, which is still opt-in (README "disabled by
        default"); the bump that carries cdf87d5 was not seen. The harness follows #4528."""
        return self.hco >= (1, 19)

    @property
    def hco_api_version(self):
        """The HyperConverged version the emulated HCO (and the collection) must use: the newest
        one served (v1 from HCO 1.18), see openshift.hco_crd() for why the harness serves exactly
        one per release."""
        return "v1" if self.hco >= (1, 18) else "v1beta1"

    @property
    def hco_storage_version(self):
        """The version the HyperConverged CRD stores: v1beta1 up to HCO 1.18 (4.22) although 1.18
        serves v1; v1 from 1.19 (kubevirt/hyperconverged-cluster-operator release-1.18 de5270c09
        api/v1beta1 +kubebuilder:storageversion; 485f93528 on release-1.19). No 4.23 row yet."""
        return "v1" if self.hco >= (1, 19) else "v1beta1"

    @property
    def overcommit_path(self):
        """Where memoryOvercommitPercentage lives in the HyperConverged spec."""
        if self.hco_api_version == "v1":
            return ("spec", "virtualization", "higherWorkloadDensity", "memoryOvercommitPercentage")
        return ("spec", "higherWorkloadDensity", "memoryOvercommitPercentage")

    @property
    def overcommit_minimum(self):
        """CRD minimum of memoryOvercommitPercentage: 1 in HCO <= 1.14, 10 from 1.15."""
        return 1 if self.hco <= (1, 14) else 10

    @property
    def csv_name(self):
        return f"kubevirt-hyperconverged-operator.v{self.cnv_version}"

    @property
    def wasp_agent_image(self):
        """wasp-agent image in the CSV's relatedImages; None on 4.16, whose doc used a fixed tag,
        and from HCO 1.19 (4.23), which no longer ships it (#4538 "Remove all the references to
        the WASP agent image" on release-1.19)."""
        if self.minor < (4, 17) or self.hco >= (1, 19):
            return None
        digest = hashlib.sha256(f"wasp-agent-rhel9:{self.cnv_version}".encode()).hexdigest()
        return f"registry.redhat.io/container-native-virtualization/wasp-agent-rhel9@sha256:{digest}"


def get(name):
    return Release(name)


def from_cluster_version(version):
    """ClusterVersion status.desired.version ('4.20.3') -> Release('4.20')."""
    major, minor_ = minor(version)
    return Release(f"{major}.{minor_}")
