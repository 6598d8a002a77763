# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The one validation of every input of the collection, before any write or request.

``refusals(values, roles, mode=..., prefix=..., names=..., hostvars=...)`` returns the messages
(one sentence each, naming the variable, the value given and what is accepted) for the inputs in
``values`` (the variables that are set, by name). It checks, in this order:

1. unknown variables: a role prefix and not in that role's argument specs or defaults, or a near
   miss (a small edit distance) of any public input, ``render_dri`` or ``overcomit`` alike
   (``unknown_problems``);
2. types, from the roles' argument specs (``int``, ``bool``, ``str``, ``dict``, ``list``, choices);
3. shape and range (``CHECKS``: DNS-1123 names, label maps, paths, URLs, seconds...), and the names
   *derived* from the inputs (``90-<pool>-swap``, the label key ``node-role.kubernetes.io/<pool>``);
4. node paths from an allow-list (``node_path_problem``);
5. ``swap_kubelet_config``: typed values, and no override of the swap keys the profile needs;
6. cross-variable rules: one overcommit sizes swap and sets HCO (``hco_overcommit_decoupled``),
   the namespace and ServiceAccount of the namespace and wasp_agent roles agree, render-only inputs
   (``swap_size_mib``) are refused when applying to a cluster.

``mode``: ``apply`` (site.yml against a cluster), ``render`` (``render_dir``) or ``role`` (a role
used on its own: only the variables with ``prefix`` are judged; no unknown-variable check).

Pure Python, no Ansible imports (unit-tested without Ansible). Not for use inside modules.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re

from ansible_collections.ocpv.density.plugins.plugin_utils.inputs import (
    as_integer, input_problem, shown, ROLE_PREFIXES, _DNS_LABEL_RE, _DNS_SUBDOMAIN_RE)
# The one overcommit range (swap_plan.overcommit_in_range), also the swap_size module's.
from ansible_collections.ocpv.density.plugins.module_utils.swap_plan import (
    HCO_OVERCOMMIT_MIN, OVERCOMMIT_MAX, OVERCOMMIT_MIN, overcommit_in_range)

# swap_size_mib: at most 16 TiB per node. Far below the point where byte arithmetic of 64-bit
# integers wraps (~8.8e12 MiB), and above any node's disk the collection has seen.
SWAP_SIZE_MIB_MAX = 16 * 1024 * 1024

# What the argument specs cannot express: the shape and range of each role variable, checked
# when the variable is set. empty: '' means automatic; max_var: the variable whose value bounds
# this one (a poll interval is at most its timeout).
CHECKS = (
    {"var": "preflight_hco_name", "kind": "dns_subdomain"},
    {"var": "swap_size_mib", "kind": "integer", "minimum": 0, "maximum": SWAP_SIZE_MIB_MAX},
    # that the kubeconfig file exists: playbooks/tasks/cluster_target.yml, before anything runs
    {"var": "kubeconfig", "kind": "text", "empty": True},
    {"var": "context", "kind": "text", "empty": True},
    {"var": "preflight_kubeconfig", "kind": "text", "empty": True},
    # namespace
    {"var": "namespace_name", "kind": "dns_label"},
    {"var": "namespace_service_account", "kind": "dns_subdomain"},
    {"var": "namespace_cluster_role", "kind": "rbac_name"},
    {"var": "namespace_cluster_admin_binding", "kind": "rbac_name"},
    {"var": "namespace_scc", "kind": "rbac_name"},
    {"var": "namespace_profile", "kind": "profile"},
    # wasp_agent
    {"var": "wasp_agent_namespace", "kind": "dns_label"},
    {"var": "wasp_agent_service_account", "kind": "dns_subdomain"},
    {"var": "wasp_agent_node_selector", "kind": "label_map"},
    {"var": "wasp_agent_hook_script_path", "kind": "path"},
    {"var": "wasp_agent_profile", "kind": "profile"},
    {"var": "wasp_agent_wait_timeout", "kind": "seconds"},
    {"var": "wasp_agent_wait_poll_interval", "kind": "seconds", "max_var": "wasp_agent_wait_timeout"},
    {"var": "wasp_agent_hco_namespace", "kind": "dns_label"},
    # swap
    {"var": "swap_overcommit", "kind": "integer", "minimum": OVERCOMMIT_MIN, "maximum": OVERCOMMIT_MAX},
    {"var": "swap_profile", "kind": "profile"},
    {"var": "swap_kubelet_config", "kind": "kubelet_config"},
    {"var": "swap_ignition_version", "kind": "version", "empty": True},
    {"var": "swap_file", "kind": "path"},
    {"var": "swap_extra_files", "kind": "files"},
    {"var": "swap_machineconfig_name", "kind": "dns_subdomain", "empty": True},
    {"var": "swap_kubeletconfig_name", "kind": "dns_subdomain", "empty": True},
    {"var": "swap_previous_annotation", "kind": "qualified_name"},
    {"var": "swap_wait_timeout", "kind": "seconds"},
    {"var": "swap_wait_poll_interval", "kind": "seconds", "max_var": "swap_wait_timeout"},
    # alerts
    {"var": "alerts_profile", "kind": "profile"},
    {"var": "alerts_rule_set", "kind": "choice", "empty": True,
     "choices": ["NodeSwapping", "NodeHighSwapActivity", "NodeHighSwapActivityCluster"]},
    {"var": "alerts_runbook_url", "kind": "url", "empty": True},
    # hco
    {"var": "hco_overcommit", "kind": "integer", "minimum": HCO_OVERCOMMIT_MIN, "maximum": OVERCOMMIT_MAX},
    {"var": "hco_name", "kind": "dns_subdomain"},
    {"var": "hco_namespace", "kind": "dns_label"},
    {"var": "hco_api_version", "kind": "choice", "empty": True, "choices": ["v1beta1", "v1"]},
    {"var": "hco_wait_timeout", "kind": "seconds"},
    {"var": "hco_wait_poll_interval", "kind": "seconds", "max_var": "hco_wait_timeout"},
    # verify
    {"var": "verify_pool", "kind": "dns_label", "empty": True},
    {"var": "verify_overcommit", "kind": "integer", "minimum": OVERCOMMIT_MIN, "maximum": OVERCOMMIT_MAX},
    {"var": "verify_namespace", "kind": "dns_label"},
    {"var": "verify_daemonset", "kind": "dns_subdomain"},
    {"var": "verify_pod_selector", "kind": "label_selector"},
    {"var": "verify_container", "kind": "dns_label"},
    {"var": "verify_meminfo_command", "kind": "text"},
    {"var": "verify_hco_name", "kind": "dns_subdomain"},
    {"var": "verify_hco_namespace", "kind": "dns_label"},
    {"var": "verify_hco_api_version", "kind": "choice", "choices": ["v1beta1", "v1"]},
    {"var": "verify_swap_machineconfig", "kind": "dns_subdomain", "empty": True},
    {"var": "verify_report_dir", "kind": "text"},
    # playbooks/upgrade.yml (0 = do not wait; upgrade.WAIT_TIMEOUT_MAX)
    {"var": "upgrade_wait_timeout", "kind": "seconds", "minimum": 0, "maximum": 86400},
    {"var": "upgrade_wait_poll_interval", "kind": "seconds", "maximum": 86400},
)
CHECK_BY_VAR = dict((c["var"], c) for c in CHECKS)
# render_dir names each file <kind>-<name>.yaml (plugins/modules/render_files.py): a file name is
# at most 255 bytes (NAME_MAX), the longest kind prefix is securitycontextconstraints-.
RENDER_NAME_MAX = 255 - len("securitycontextconstraints-") - len(".yaml")

# ---------------------------------------------------------------------------------------------
# images: the reference grammar of distribution/reference (reference.go, regexp.go):
# [domain[:port]/]path-component(/path-component)*[:tag][@digest], at most 255 characters in the
# name. Matched with fullmatch (a trailing newline is not accepted).
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = _ALNUM + r"(?:" + _SEPARATOR + _ALNUM + r")*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = _DOMAIN_COMPONENT + r"(?:\." + _DOMAIN_COMPONENT + r")*(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
IMAGE_RE = re.compile(r"(?P<name>(?:%s/)?%s(?:/%s)*)(?::%s)?(?:@%s)?" % (_DOMAIN, _PATH_COMPONENT, _PATH_COMPONENT, _TAG, _DIGEST),
                      re.ASCII)
IMAGE_TEXT = ("an image reference such as registry.redhat.io/container-native-virtualization/wasp-agent-rhel9:v4.16 "
              "(or empty to use the OpenShift Virtualization CSV's image)")


def image_problem(name, value):
    """Why ``value`` is not an image reference for ``name``, or ''."""
    if value == "":
        return ""
    match = IMAGE_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None or len(match.group("name")) > 255:
        return "%s must be %s, got %s" % (name, IMAGE_TEXT, shown(value))
    return ""


# ---------------------------------------------------------------------------------------------
# node paths: where the collection may put a file on a node, and what it must never touch.

# The swap script, its environment file and the kubelet drop-in the swap MachineConfig writes
# (roles/swap/vars/main.yml), and the hook JSON of the wasp_agent role (roles/wasp_agent/vars).
MACHINECONFIG_PATHS = (
    "/usr/local/sbin/ocpv-density-swap.sh",
    "/etc/ocpv-density/swap.env",
    "/etc/openshift/kubelet.conf.d/90-swap.conf",
)
HOOKS_DIR = "/etc/containers/oci/hooks.d"
# Under /var, the directories the OS and the node's services own: systemd-tmpfiles cleans /var/tmp
# by age (issue 14), /var/lib holds kubelet, CRI-O and etcd, /var/usrlocal is /usr/local on RHCOS.
VAR_OWNED = ("/var/tmp", "/var/lib", "/var/log", "/var/run", "/var/lock", "/var/usrlocal", "/var/home",
             "/var/roothome", "/var/opt", "/var/srv", "/var/mnt", "/var/cache", "/var/spool", "/var/mail",
             "/var/empty", "/var/crash", "/var/db")
SCRIPT_ROOTS = ("/usr/local/bin", "/usr/local/sbin", "/usr/local/libexec", "/usr/local/lib")


def _under(path, root):
    return path == root or path.startswith(root.rstrip("/") + "/")


def node_path_problem(name, value, where, owned=()):
    """Why ``value`` is not a node path allowed for ``where`` (swap_file, script, extra_file), or ''.

    swap_file: a file under /var, not under what the OS owns there (/var/tmp, /var/lib, ...).
    script: a file under /usr/local/{bin,sbin,libexec,lib}. extra_file: a script root or a .json
    in the CRI-O hooks directory. Never a path of ``owned`` (what the MachineConfig writes itself)."""
    if not isinstance(value, str) or not value.startswith("/"):
        return ""  # the shape check says so
    path = posixpath.normpath(value)
    if where == "swap_file":
        roots = "a file under /var (not under %s)" % ", ".join(VAR_OWNED)
        allowed = _under(path, "/var") and path.count("/") >= 2 and not any(_under(path, r) for r in VAR_OWNED)
    elif where == "script":
        roots = "a file under %s" % ", ".join(SCRIPT_ROOTS)
        allowed = any(_under(path, r) and path != r for r in SCRIPT_ROOTS)
    else:
        roots = "a file under %s, or a .json file in %s" % (", ".join(SCRIPT_ROOTS), HOOKS_DIR)
        allowed = (any(_under(path, r) and path != r for r in SCRIPT_ROOTS)
                   or (posixpath.dirname(path) == HOOKS_DIR and path.endswith(".json")))
    if not allowed:
        return "%s must be %s, got %s" % (name, roots, shown(value))
    if path in owned:
        return "%s must not be %s, a file the swap MachineConfig itself writes, got %s" % (name, path, shown(value))
    return ""


# ---------------------------------------------------------------------------------------------
# swap_kubelet_config

# Field types of KubeletConfiguration (k8s.io/kubelet/config/v1beta1 types.go) for the fields a
# user plausibly sets next to swap. Other camelCase fields pass with their name checked only.
_KUBELET_BOOL = ("failSwapOn", "serializeImagePulls", "cpuCFSQuota", "protectKernelDefaults",
                 "enableControllerAttachDetach", "makeIPTablesUtilChains", "kernelMemcgNotification",
                 "localStorageCapacityIsolation", "enableSystemLogHandler", "enableDebuggingHandlers",
                 "rotateCertificates", "serverTLSBootstrap")
_KUBELET_INT = ("maxPods", "podPidsLimit", "imageGCHighThresholdPercent", "imageGCLowThresholdPercent",
                "evictionMaxPodGracePeriod", "kubeAPIQPS", "kubeAPIBurst", "registryPullQPS", "registryBurst",
                "maxOpenFiles", "containerLogMaxFiles", "maxParallelImagePulls", "eventRecordQPS", "eventBurst")
_KUBELET_STRING_MAP = ("evictionSoft", "evictionHard", "evictionSoftGracePeriod", "evictionMinimumReclaim",
                       "systemReserved", "kubeReserved")
_KUBELET_STRING = ("cpuManagerPolicy", "topologyManagerPolicy", "memoryManagerPolicy", "containerLogMaxSize",
                   "evictionPressureTransitionPeriod", "imageMinimumGCAge", "shutdownGracePeriod",
                   "shutdownGracePeriodCriticalPods", "systemReservedCgroup", "kubeReservedCgroup")
# The swap keys: failSwapOn must stay false (the profile's KubeletConfig or drop-in sets it); the
# swap behaviour (memorySwap.swapBehavior) is the profile's: wasp-agent and the kubelet's own
# NodeSwap are mutually exclusive (wasp-agent docs/configuration.md), and the drop-in rows set it.
SWAP_KEYS = ("failSwapOn", "memorySwap")


def kubelet_config_problem(name, value):
    """Why ``value`` is not a valid ``swap_kubelet_config``, or ''."""
    if not isinstance(value, dict):
        return ""  # the shape check says so
    for key in sorted(value, key=str):
        item = value[key]
        if key == "failSwapOn":
            if item is not False:
                return ("%s.failSwapOn must be the boolean false (swap on the node needs it; unquoted, not the "
                        "text \"false\") or left out, got %s" % (name, shown(item)))
        elif key == "memorySwap":
            return ("%s must not set memorySwap: the swap behaviour is the profile's (wasp-agent, or the profile's "
                    "kubelet drop-in), got %s" % (name, shown(item)))
        elif key in _KUBELET_BOOL and not isinstance(item, bool):
            return "%s.%s must be a boolean (true or false, unquoted), got %s" % (name, key, shown(item))
        elif key in _KUBELET_INT and (isinstance(item, bool) or not isinstance(item, int)):
            return "%s.%s must be a whole number (unquoted), got %s" % (name, key, shown(item))
        elif key in _KUBELET_STRING and not isinstance(item, str):
            return "%s.%s must be a text, got %s" % (name, key, shown(item))
        elif key in _KUBELET_STRING_MAP and not (isinstance(item, dict)
                                                 and all(isinstance(k, str) and isinstance(v, str) for k, v in item.items())):
            return ("%s.%s must be a mapping of texts such as {memory.available: 1Gi} (quote numbers), got %s"
                    % (name, key, shown(item)))
    return ""


def _deep_merge(base, override):
    merged = dict(base)
    for key, item in override.items():
        if isinstance(item, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], item)
        else:
            merged[key] = item
    return merged


def kubelet_config_merge(profile_row, user):
    """The KubeletConfig keys for a pool: the profile's ``kubelet_config`` with ``user``'s merged
    in (nested mappings merged key by key). The profile's swap keys win over the user's, and keys
    the profile moves into its drop-in (``kubelet_config_forbidden``) are left out."""
    profile_keys = dict((profile_row or {}).get("kubelet_config") or {})
    forbidden = set((profile_row or {}).get("kubelet_config_forbidden") or [])
    merged = _deep_merge(profile_keys, dict(user or {}))
    for key in SWAP_KEYS:
        if key in profile_keys:
            merged[key] = profile_keys[key]
    return dict((k, v) for k, v in merged.items() if k not in forbidden)


# ---------------------------------------------------------------------------------------------
# unknown variables

# The facts a role hands on to the others and to the user (documented in the roles' READMEs):
# set by the roles, so a variable of a run, but no input of any argument spec.
OUTPUTS = ("preflight_cluster", "wasp_agent_node_files")

# The internal names of the roles and playbooks (registered results, facts, role vars): the
# redhat-cop convention __<role>_, never a user's variable.
INTERNAL_PREFIXES = tuple("__" + p for p in ROLE_PREFIXES + ("site_", "upgrade_", "report_", "fleet_"))

# Names Ansible itself defines (magic and connection variables) are never judged.
ANSIBLE_NAMES = frozenset((
    "omit", "groups", "group_names", "hostvars", "inventory_hostname", "inventory_hostname_short",
    "inventory_dir", "inventory_file", "playbook_dir", "play_hosts", "role_name", "role_names", "role_path",
    "environment", "vars", "item", "ansible_play_batch", "ansible_play_hosts", "ansible_play_hosts_all",
    "ansible_play_role_names", "ansible_role_names", "ansible_version", "ansible_facts", "ansible_local",
    "ansible_check_mode", "ansible_diff_mode", "ansible_forks", "ansible_limit", "ansible_run_tags",
    "ansible_skip_tags", "ansible_verbosity", "ansible_config_file", "ansible_collection_name",
    "ansible_search_path", "ansible_loop", "ansible_loop_var", "ansible_index_var", "ansible_parent_role_names",
    "ansible_parent_role_paths", "ansible_play_name", "ansible_dependent_role_names", "ansible_role_name",
    "ansible_failed_task", "ansible_failed_result", "ansible_inventory_sources",
))


def edit_distance(left, right):
    """Optimal string alignment distance (a transposition counts one: render_dri ~ render_dir)."""
    rows = [list(range(len(right) + 1))]
    for i in range(1, len(left) + 1):
        row = [i] + [0] * len(right)
        for j in range(1, len(right) + 1):
            cost = 0 if left[i - 1] == right[j - 1] else 1
            row[j] = min(rows[i - 1][j] + 1, row[j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and left[i - 1] == right[j - 2] and left[i - 2] == right[j - 1]:
                row[j] = min(row[j], rows[i - 2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def _normal(name):
    return name.lower().replace("-", "_")


def near_inputs(name, public):
    """The public inputs ``name`` is a near miss of: the same name in other case or with '-' for '_',
    or within an edit distance of 1 (names up to 6 characters) or 2 (longer names), '_' ignored
    too (renderdir)."""
    found = []
    low = _normal(name)
    for target in public:
        if name == target:
            return []
        limit = 1 if len(target) <= 6 else 2
        if (low == target or edit_distance(low, target) <= limit
                or edit_distance(low.replace("_", ""), target.replace("_", "")) <= (limit - 1)):
            found.append(target)
    return sorted(found, key=lambda t: (edit_distance(low, t), t))


def _plausible(target, value, options):
    """Whether ``value`` could be a value of the public input ``target`` (so that a variable of
    the user's named stats or estate is not taken for a typo of state)."""
    if target == "state":
        return isinstance(value, str) and value.strip().lower() in ("present", "absent")
    if target == "overcommit":
        return as_integer(value) is not None
    kind = (options.get(target) or {}).get("type", "raw")
    if kind == "str":  # a scalar is read as text: render_dri: 2024 in a vars file is render_dir's typo
        return isinstance(value, (str, int, float, bool))
    return _type_problem(target, value, options.get(target) or {}) == "" if kind != "raw" else True


def unknown_problems(names, roles, hostvars):
    """Messages for the ``names`` (every variable name of the run) that look meant for the
    collection but that no role knows: a role prefix and not an input of the roles' argument
    specs or defaults (nor one of ``OUTPUTS``), or a near miss of such an input. The roles'
    internal names carry ``__`` in front of their prefix (``INTERNAL_PREFIXES``) and are never
    judged."""
    public, options = set(), {}
    for role in roles:
        public.update(role.get("public") or [])
        options.update(role.get("options") or {})
    known = public | set(OUTPUTS)
    public_sorted = sorted(public)
    messages = []
    for name in sorted(set(names)):
        if (not isinstance(name, str) or name in known or name in ANSIBLE_NAMES or name.startswith("ansible_")
                or name.startswith(INTERNAL_PREFIXES)):
            continue
        prefix = next((p for p in ROLE_PREFIXES if name.startswith(p)), None)
        near = near_inputs(name, public_sorted)
        if prefix is None:
            value = hostvars.get(name) if isinstance(hostvars, dict) else None
            near = [t for t in near if _plausible(t, value, options)]
            if not near:
                continue
        if near:
            hint = "did you mean %s?" % " or ".join(near[:3])
        else:
            same_prefix = [p for p in public_sorted if p.startswith(prefix)]
            hint = "the %s variables are %s" % (prefix + "*", ", ".join(same_prefix)) if same_prefix else ""
        messages.append("%s is not a variable of ocpv.density%s" % (name, " (%s)" % hint if hint else ""))
    return messages


# ---------------------------------------------------------------------------------------------
# types from the argument specs

_TRUE = ("true", "yes", "on", "1", "y", "t")
_FALSE = ("false", "no", "off", "0", "n", "f")


def _type_problem(name, value, option):
    kind = option.get("type", "str")
    choices = option.get("choices")
    if kind == "bool":
        if isinstance(value, bool) or (isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE):
            return ""
        return "%s must be true or false, got %s" % (name, shown(value))
    if kind == "int":
        if as_integer(value) is None:
            return "%s must be a whole number, got %s" % (name, shown(value))
    elif kind == "str":
        if not isinstance(value, str):
            return "%s must be a text, got %s" % (name, shown(value))
    elif kind == "dict":
        if not isinstance(value, dict):
            return "%s must be a mapping, got %s" % (name, shown(value))
    elif kind == "list":
        if not isinstance(value, list):
            return "%s must be a list, got %s" % (name, shown(value))
    if choices and value not in choices:
        return "%s must be one of %s, got %s" % (name, ", ".join(str(c) for c in choices), shown(value))
    return ""


def _truthy(value):
    return value is True or (isinstance(value, str) and value.strip().lower() in _TRUE)


# ---------------------------------------------------------------------------------------------
# the whole validation

def _derived_name_problems(values):
    """The names and label keys made from swap_pool: the MachineConfig 90-<pool>-swap and the
    KubeletConfig ocpv-density-<pool> (DNS-1123 subdomains, at most 253), the label keys
    node-role.kubernetes.io/<pool> and pools.operator.machineconfiguration.openshift.io/<pool>
    (the name part at most 63) and the MachineConfig role label value (at most 63)."""
    pool = values.get("swap_pool", "")
    if not isinstance(pool, str):
        return ["swap_pool must be the name of a MachineConfigPool (lower-case DNS label such as worker or "
                "master) or empty for automatic, got %s" % shown(pool)]
    if pool == "":
        return []
    if len(pool) > 63 or not _DNS_LABEL_RE.fullmatch(pool):
        return ["swap_pool must be the name of a MachineConfigPool (a DNS-1123 label such as worker or master: "
                "lower-case letters, digits and '-', at most 63 characters, as it becomes the label key "
                "node-role.kubernetes.io/<pool>) or empty for automatic, got %s" % shown(pool)]
    problems = []
    for var, derived in (("swap_machineconfig_name", "90-%s-swap" % pool), ("swap_kubeletconfig_name", "ocpv-density-%s" % pool)):
        if values.get(var):
            continue
        if len(derived) > 253 or not _DNS_SUBDOMAIN_RE.fullmatch(derived):
            problems.append("swap_pool %s makes the object name %s, which is not a DNS-1123 name" % (shown(pool), derived))
    return problems


def _overcommit_problems(values, mode):
    problems = []
    state = values.get("state", "present")
    render = mode == "render"
    overcommit = values.get("overcommit")
    has_size = as_integer(values.get("swap_size_mib", 0)) not in (None, 0)
    if state == "present" and mode != "role" and ("overcommit" in values or not (render and has_size)):
        if "overcommit" not in values:
            problems.append("overcommit must be a whole number from %d to %d (percent of node memory offered to "
                            "VMs; 150 gives each node swap of half its RAM), but it is not set (-e overcommit=150)"
                            % (OVERCOMMIT_MIN, OVERCOMMIT_MAX))
        else:
            number = as_integer(overcommit)
            if number is None or not overcommit_in_range(number):
                problems.append("overcommit must be a whole number from %d to %d (percent of node memory offered to "
                                "VMs; 150 gives each node swap of half its RAM), got %s"
                                % (OVERCOMMIT_MIN, OVERCOMMIT_MAX, shown(overcommit)))
    if problems or state != "present":
        return problems
    if mode != "role" and "swap_overcommit" in values and as_integer(values["swap_overcommit"]) != as_integer(overcommit):
        problems.append("swap_overcommit %s differs from overcommit %s, which preflight checks against each node's disk: "
                        "set overcommit only" % (shown(values["swap_overcommit"]), shown(overcommit)))
        return problems
    swap = as_integer(values["swap_overcommit"]) if "swap_overcommit" in values else as_integer(overcommit)
    hco = as_integer(values["hco_overcommit"]) if "hco_overcommit" in values else as_integer(overcommit)
    decoupled = _truthy(values.get("hco_overcommit_decoupled", False))
    if "hco_overcommit" in values and hco is not None:
        if has_size and "swap_overcommit" not in values and mode != "role":
            if hco != as_integer(overcommit):
                problems.append("hco_overcommit %s cannot be checked against a fixed swap_size_mib: leave it out "
                                "(HCO gets overcommit) or set it to overcommit (%s)" % (shown(values["hco_overcommit"]), overcommit))
        elif swap is not None and hco != swap and not decoupled:
            problems.append("hco_overcommit %s differs from the overcommit that sizes swap (%d): set overcommit only, "
                            "or set hco_overcommit_decoupled=true to offer VMs less than the swap covers"
                            % (shown(values["hco_overcommit"]), swap))
        elif swap is not None and hco > swap:
            problems.append("hco_overcommit %s is above the %d %% that the swap covers (swap_overcommit/overcommit): "
                            "HCO would offer VMs memory the nodes cannot back" % (shown(values["hco_overcommit"]), swap))
    if has_size and not render:
        problems.append("swap_size_mib %s is only for render_dir (a fixed size per node, not checked against the "
                        "nodes' disks): leave it out when applying to a cluster, the overcommit sizes swap"
                        % shown(values["swap_size_mib"]))
    return problems


def _agreement_problems(values):
    """The namespace and ServiceAccount the namespace role creates are the ones wasp-agent runs in
    and as (the wasp_agent role's defaults follow namespace_name / namespace_service_account)."""
    problems = []
    for own, theirs, default in (("wasp_agent_namespace", "namespace_name", "wasp"),
                                 ("wasp_agent_service_account", "namespace_service_account", "wasp")):
        if own in values and values[own] != values.get(theirs, default):
            problems.append("%s %s differs from %s %s: the namespace role creates %s and nothing creates the other; "
                            "set %s only" % (own, shown(values[own]), theirs, shown(values.get(theirs, default)),
                                             shown(values.get(theirs, default)), theirs))
    return problems


def refusals(values, roles, mode="apply", prefix="", names=None, hostvars=None, check_unknown=True):
    """Every message for the inputs ``values`` (variables that are set, by name), first the unknown
    names, then per variable; ``roles``: the role_inputs entries (argument spec options and public
    names). See the module docstring for ``mode`` and ``prefix``."""
    every = dict(values or {})
    values = dict((k, v) for k, v in every.items() if k.startswith(prefix)) if prefix else every
    options = {}
    for role in roles or []:
        for name, option in (role.get("options") or {}).items():
            options.setdefault(name, option)
    problems = []
    if check_unknown and mode != "role" and names is not None:
        problems.extend(unknown_problems(names, roles or [], hostvars or {}))
    if mode == "render":
        render_dir = values.get("render_dir")
        if not isinstance(render_dir, str) or not render_dir.strip():
            problems.append("render_dir must be a directory path, got %s" % shown(render_dir))
        if values.get("state", "present") != "present":
            problems.append("render_dir needs state=present (state=absent applies nothing to render), got state=%s"
                            % shown(values.get("state")))
        elif "overcommit" not in values and as_integer(values.get("swap_size_mib", 0)) in (None, 0):
            problems.append("render_dir needs either swap_size_mib (a whole number of MiB per node) or overcommit, "
                            "got swap_size_mib=%s" % shown(values.get("swap_size_mib", "")))
        for check in CHECKS:
            name = values.get(check["var"])
            if (check["kind"] in ("dns_subdomain", "rbac_name") and not check["var"].startswith("verify_")
                    and isinstance(name, str) and len(name) > RENDER_NAME_MAX):
                problems.append("%s must be at most %d characters with render_dir (the file <kind>-<name>.yaml "
                                "must fit a file name), got %s" % (check["var"], RENDER_NAME_MAX, shown(name)))
    typed_bad = set()
    for name in sorted(values):
        option = options.get(name)
        if option is None or name == "overcommit":
            continue
        if name == "state" and values[name] not in ("present", "absent"):
            problems.append("state must be 'present' or 'absent', got %s" % shown(values[name]))
            typed_bad.add(name)
            continue
        problem = _type_problem(name, values[name], option)
        if problem:
            problems.append(problem)
            typed_bad.add(name)
    for check in CHECKS:
        name = check["var"]
        if name not in values or name in typed_bad:
            continue
        if mode == "role" and name in ("swap_overcommit", "verify_overcommit") and as_integer(values[name]) == 0:
            continue  # unset (0) for state=absent; the role checks it where it needs it
        maximum = values.get(check.get("max_var"), (options.get(check.get("max_var")) or {}).get("default")) \
            if check.get("max_var") else None
        problem = input_problem(name, values[name], check["kind"], empty=bool(check.get("empty")),
                                minimum=check.get("minimum"),
                                maximum=maximum if check.get("max_var") else check.get("maximum"),
                                maximum_name=check.get("max_var"), choices=check.get("choices"))
        if problem:
            problems.append(problem)
            typed_bad.add(name)
    if "wasp_agent_image" in values and "wasp_agent_image" not in typed_bad:
        problems.append(image_problem("wasp_agent_image", values["wasp_agent_image"]))
    if "density_profile" in values and values["density_profile"] != "" and "density_profile" not in typed_bad:
        problems.append(input_problem("density_profile", values["density_profile"], "profile", empty=True))
    if ("swap_pool" in values or mode != "role") and "swap_pool" not in typed_bad:
        problems.extend(_derived_name_problems(values))
    owned = MACHINECONFIG_PATHS
    if "swap_file" in values and "swap_file" not in typed_bad:
        problems.append(node_path_problem("swap_file", values["swap_file"], "swap_file", owned))
    hook = values.get("wasp_agent_hook_script_path")
    if hook is not None and "wasp_agent_hook_script_path" not in typed_bad:
        problems.append(node_path_problem("wasp_agent_hook_script_path", hook, "script", owned))
    if isinstance(values.get("swap_extra_files"), list) and "swap_extra_files" not in typed_bad:
        for index, item in enumerate(values["swap_extra_files"]):
            problems.append(node_path_problem("swap_extra_files item %d path" % index, item.get("path"), "extra_file",
                                              owned + ((values.get("swap_file"),) if values.get("swap_file") else ())))
    if "swap_kubelet_config" in values and "swap_kubelet_config" not in typed_bad:
        problems.append(kubelet_config_problem("swap_kubelet_config", values["swap_kubelet_config"]))
    if mode != "role" or prefix in ("swap_", "hco_"):
        problems.extend(_overcommit_problems(every, mode))
    if mode != "role" or prefix == "wasp_agent_":
        problems.extend(_agreement_problems(every))
    seen, unique = set(), []
    for problem in problems:
        if problem and problem not in seen:
            seen.add(problem)
            unique.append(problem)
    return unique
