# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Input checks of the preflight role (plugins/plugin_utils/inputs.py, lookup role_inputs; the
unknown-name rules are in test_validate.py) and their wiring in roles/preflight/tasks/inputs.yml: every
public variable of every role is checked before any request to the cluster."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_collections.ocpv.density.plugins.plugin_utils import inputs as i
from ansible_collections.ocpv.density.plugins.plugin_utils import validate

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = os.path.join(ROOT, "roles")
PREFLIGHT_VARS = os.path.join(ROLES, "preflight", "vars", "main.yml")
# Site inputs with their own asserts in inputs.yml (messages the site's tests and the AAP surveys
# rely on) or checked by render.yml.
HAND_CHECKED = {"overcommit", "state", "swap_pool", "density_profile", "wasp_agent_image", "namespace_rbac_mode",
                "verify_report_dir", "render_dir", "swap_size_mib"}


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


CHECKS = list(validate.CHECKS)
CHECK_BY_VAR = {c["var"]: c for c in CHECKS}


def check_problem(value, check, maximum=None):
    """input_problem for one entry of validate.CHECKS, as validate.refusals calls it."""
    return i.input_problem(check["var"], value, check["kind"], empty=bool(check.get("empty", False)),
                           minimum=check.get("minimum"),
                           maximum=maximum if check.get("max_var") else check.get("maximum"),
                           maximum_name=check.get("max_var"), choices=check.get("choices"))


def problem(var, value, maximum=None):
    return check_problem(value, CHECK_BY_VAR[var], maximum=maximum)


# ---------------------------------------------------------------------------------------------
# the check list covers every public variable

def test_every_role_option_is_checked_or_needs_only_its_type():
    roles = i.read_role_inputs(ROLES)
    assert [r["name"] for r in roles] == ["alerts", "hco", "namespace", "preflight", "swap", "verify", "wasp_agent"]
    unchecked = []
    for role in roles:
        for name, option in role["options"].items():
            if option.get("type") == "bool" or option.get("choices") or name in HAND_CHECKED:
                continue
            if name not in CHECK_BY_VAR:
                unchecked.append("%s.%s" % (role["name"], name))
    assert unchecked == [], "add these to preflight_input_checks (roles/preflight/vars/main.yml)"


def test_every_check_is_a_public_variable_and_its_documented_default_passes():
    public = {}
    for role in i.read_role_inputs(ROLES):
        for name in role["public"]:
            public.setdefault(name, role)
    for check in CHECKS:
        assert check["var"] in public, check
        option = public[check["var"]]["options"].get(check["var"], {})
        if "default" in option:
            maximum = None
            if check.get("max_var"):
                maximum = public[check["max_var"]]["options"][check["max_var"]]["default"]
            assert check_problem(option["default"], check, maximum=maximum) == "", check


def test_checked_options_say_their_constraint():
    """Where a check adds a constraint, the argument spec's description says so."""
    for role in i.read_role_inputs(ROLES):
        for name, option in role["options"].items():
            check = CHECK_BY_VAR.get(name)
            if not check:
                continue
            text = " ".join(option["description"] if isinstance(option["description"], list) else [option["description"]])
            if check["kind"] == "seconds":
                low = check.get("minimum", 1)
                assert "at least %d" % low in text or "from %d to" % low in text, (role["name"], name, text)
            if check["kind"] in ("dns_label", "dns_subdomain", "rbac_name"):
                assert "DNS-1123" in text, (role["name"], name, text)
            if check["kind"] == "path":
                assert "absolute path" in text, (role["name"], name, text)


def test_rule_set_choices_are_the_alerts_role_rule_sets():
    rule_sets = load(os.path.join(ROLES, "alerts", "files", "rule-sets.yml"))["rule_sets"]
    assert sorted(CHECK_BY_VAR["alerts_rule_set"]["choices"]) == sorted(rule_sets)


# ---------------------------------------------------------------------------------------------
# input_problem, per kind

@pytest.mark.parametrize("var,value", [
    ("hco_wait_timeout", 1), ("hco_wait_timeout", "300"), ("hco_wait_timeout", 7200.0), ("hco_wait_timeout", " 5 "),
    ("swap_size_mib", 0), ("swap_size_mib", "8192"),
    ("hco_overcommit", 100), ("hco_overcommit", "1000"), ("swap_overcommit", 150), ("verify_overcommit", "101"),
    ("namespace_name", "wasp"), ("namespace_name", "a" * 63), ("namespace_name", "my-ns-1"),
    ("namespace_service_account", "wasp.agent"), ("hco_name", "kubevirt-hyperconverged"),
    ("namespace_cluster_role", "system:openshift:scc:privileged"), ("namespace_scc", "restricted-v2"),
    ("swap_machineconfig_name", ""), ("swap_machineconfig_name", "90-worker-swap"), ("verify_pool", ""),
    ("wasp_agent_node_selector", {}), ("wasp_agent_node_selector", {"node-role.kubernetes.io/worker": ""}),
    ("wasp_agent_node_selector", {"cnv": "true", "example.com/tier_1.a": "A-b_c.d"}),
    ("swap_file", "/var/tmp/swapfile"), ("swap_file", "/var/lib/swap-1.img"), ("wasp_agent_hook_script_path", "/usr/local/bin/hook.sh"),
    ("wasp_agent_profile", "tp-4.16"), ("namespace_profile", "manual-4.17"), ("swap_profile", "dropin-4.21"), ("alerts_profile", "native"),
    ("alerts_rule_set", ""), ("alerts_rule_set", "NodeHighSwapActivity"),
    ("alerts_runbook_url", ""), ("alerts_runbook_url", "https://runbooks.example.com/ocpv/NodeSwapping.md#top"),
    ("hco_api_version", ""), ("hco_api_version", "v1"), ("verify_hco_api_version", "v1beta1"),
    ("swap_ignition_version", ""), ("swap_ignition_version", "3.5.0"),
    ("swap_kubelet_config", {}), ("swap_kubelet_config", {"failSwapOn": False, "evictionSoft": {"memory.available": "1Gi"}}),
    ("swap_extra_files", []), ("swap_extra_files", [{"path": "/etc/x.conf", "mode": 420, "contents": "a=1\n"}]),
    ("swap_previous_annotation", "density.ocpv.io/previous-kubelet-config"), ("swap_previous_annotation", "plain"),
    ("verify_pod_selector", "name=wasp"), ("verify_pod_selector", "app in (a, b),tier!=db,!canary,kubevirt.io==virt-launcher"),
    ("verify_meminfo_command", "sh -c 'grep -E \"^(MemTotal|SwapTotal):\" /host/proc/meminfo'"),
])
def test_valid_values_pass(var, value):
    assert problem(var, value) == ""


@pytest.mark.parametrize("var,value,says", [
    ("hco_wait_timeout", 0, "from 1"), ("hco_wait_timeout", -5, "from 1"), ("hco_wait_timeout", "abc", "whole number"),
    ("hco_wait_timeout", True, "whole number"), ("hco_wait_timeout", 1.5, "whole number"), ("hco_wait_timeout", "", "whole"),
    ("swap_size_mib", -1, "from 0"), ("hco_overcommit", 99, "from 100 to 1000"), ("swap_overcommit", 100, "from 101 to 1000"),
    ("verify_overcommit", 1001, "from 101 to 1000"), ("swap_overcommit", "150%", "whole number"),
    ("namespace_name", "", "DNS-1123 label"), ("namespace_name", "Wasp", "DNS-1123 label"), ("namespace_name", "a" * 64, "at most 63"),
    ("namespace_name", "wasp\nkind: Secret", "DNS-1123"), ("namespace_name", "wasp\n", "DNS-1123"),
    ("namespace_name", "wasp.ns", "DNS-1123 label"), ("namespace_name", "-wasp", "DNS-1123"), ("namespace_name", ["wasp"], "DNS"),
    ("namespace_service_account", "wasp_sa", "DNS-1123"), ("hco_name", "{{ lookup('env','HOME') }}", "DNS-1123"),
    ("hco_name", "a" * 254, "253"), ("namespace_cluster_role", "admin; rm -rf /", "DNS-1123"), ("namespace_scc", "", "DNS"),
    ("swap_machineconfig_name", "90 worker", "or empty"), ("verify_pool", "$(id)", "DNS-1123"),
    ("wasp_agent_node_selector", "node-role=worker", "mapping"), ("wasp_agent_node_selector", {"cnv": True}, "not a text"),
    ("wasp_agent_node_selector", {"cnv": 1}, "not a text"), ("wasp_agent_node_selector", {"bad key": "x"}, "key"),
    ("wasp_agent_node_selector", {"UPPER.example/x": "y"}, "prefix"), ("wasp_agent_node_selector", {"a/b/c": "y"}, "prefix"),
    ("wasp_agent_node_selector", {"/x": "y"}, "empty prefix"), ("wasp_agent_node_selector", {"x": "a b"}, "value"),
    ("wasp_agent_node_selector", {"x": "v" * 64}, "value"), ("wasp_agent_node_selector", {"x": "$(id)"}, "value"),
    ("swap_file", "", "absolute path"), ("swap_file", "var/tmp/swapfile", "absolute path"), ("swap_file", "/var/tmp/swap file", "whitespace"),
    ("swap_file", "/var/tmp/x;rm -rf /", "metacharacters"), ("swap_file", "/var/tmp/$(id)", "absolute"), ("swap_file", "/var/tmp/`id`", "absolute"),
    ("swap_file", "/var/tmp/../../etc/passwd", "'..'"), ("swap_file", "/var/tmp/", "absolute path"), ("swap_file", "/var/tmp/x\n", "absolute"),
    ("swap_file", "/var/tmp/'x'", "quotes"), ("wasp_agent_hook_script_path", "/usr/local/bin/{{ x }}", "absolute path"),
    ("wasp_agent_profile", "tp-4.15", "tp-4.16"), ("namespace_profile", "4.17", "manual-4.17"),
    ("swap_profile", "", "one of"), ("alerts_profile", 416, "one of"),
    ("alerts_rule_set", "nodeswapping", "NodeSwapping"), ("hco_api_version", "v2", "v1beta1, v1"),
    ("verify_hco_api_version", "", "v1beta1, v1"),
    ("alerts_runbook_url", "ftp://example.com/x", "http(s) URL"), ("alerts_runbook_url", "https://x.example/a b", "URL"),
    ("alerts_runbook_url", "https://x.example/\"><script>", "URL"), ("alerts_runbook_url", "https://x.example/{{ x }}", "URL"),
    ("swap_ignition_version", "3.4", "3.4.0"), ("swap_ignition_version", "latest", "version"),
    ("swap_kubelet_config", "failSwapOn: false", "mapping"), ("swap_kubelet_config", {"fail swap": False}, "camelCase"),
    ("swap_kubelet_config", {"failSwapOn\nkind": False}, "camelCase"),
    ("swap_extra_files", {"path": "/etc/x"}, "list of files"), ("swap_extra_files", [{"path": "/etc/x", "mode": 420}], "item 0"),
    ("swap_extra_files", [{"path": "etc/x", "mode": 420, "contents": ""}], "path"),
    ("swap_extra_files", [{"path": "/etc/x", "mode": "0644", "contents": ""}], ""),  # '0644' reads as 644: fine
    ("swap_extra_files", [{"path": "/etc/x", "mode": 99999, "contents": ""}], "mode"),
    ("swap_extra_files", [{"path": "/etc/x", "mode": 420, "contents": {"a": 1}}], "contents"),
    ("swap_previous_annotation", "", "annotation key"), ("swap_previous_annotation", "a b/c", "annotation key"),
    ("verify_pod_selector", "", "label selector"), ("verify_pod_selector", "name=wasp; rm -rf /", "label selector"),
    ("verify_pod_selector", "name=wasp\nx", "label selector"), ("verify_pod_selector", "app in (a,b", "label selector"),
    ("verify_pod_selector", "name=wasp,", "label selector"),
    ("verify_container", "wasp_agent", "DNS-1123 label"), ("verify_meminfo_command", " ", "non-empty"),
    ("verify_meminfo_command", ["sh"], "non-empty"),
])
def test_invalid_values_are_refused_naming_the_variable(var, value, says):
    message = problem(var, value)
    if var == "swap_extra_files" and says == "":
        assert message == ""
        return
    assert message.startswith(var + " must be"), message
    assert says in message, message
    assert "got " in message or "item" in message or "key" in message or "value" in message


def test_poll_interval_is_at_most_its_timeout():
    check = CHECK_BY_VAR["hco_wait_poll_interval"]
    assert check_problem(5, check, maximum=300) == ""
    assert check_problem(300, check, maximum="300") == ""
    message = check_problem(301, check, maximum=300)
    assert message == "hco_wait_poll_interval must be a whole number of seconds from 1 to hco_wait_timeout (300), got 301"
    assert "from 1" in check_problem(0, check, maximum=300)
    # An invalid timeout is refused by its own check; the interval is then only checked from 1.
    assert check_problem(5, check, maximum="abc") == ""
    assert check_problem(5, check, maximum=0) == ""


def test_messages_show_the_value_readably_and_short():
    message = problem("namespace_name", "wasp\nkind: Secret")
    assert '"wasp\\nkind: Secret"' in message
    long = problem("namespace_name", "x" * 500)
    assert len(long) < 400 and long.endswith('..."') is False and "..." in long


def test_as_integer():
    assert [i.as_integer(v) for v in (5, "5", " 5\n", 5.0, "-3")] == [5, 5, 5, 5, -3]
    assert [i.as_integer(v) for v in (True, 5.5, "5.0", "", None, [5], "1e3")] == [None] * 7


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown kind"):
        i.input_problem("x", 1, "nosuchkind")


# ---------------------------------------------------------------------------------------------
# role_inputs

def test_role_inputs_know_the_inputs_of_each_role():
    roles = {r["name"]: r for r in i.read_role_inputs(ROLES)}
    assert "hco_wait_timeout" in roles["hco"]["options"] and roles["hco"]["options"]["hco_wait_timeout"]["type"] == "int"
    assert "preflight_hco_name" in roles["preflight"]["public"]  # a default without a spec option
    assert sorted(roles["swap"]) == ["name", "options", "public"]  # the task files are not read
    assert not [n for r in roles.values() for n in r["public"] if n.startswith("__")]


def _task_names(tasks):
    """register, set_fact keys, loop_var/index_var, task and block vars of a list of tasks."""
    names = set()
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        if isinstance(task.get("register"), str):
            names.add(task["register"])
        names.update(task.get("vars") or {})
        names.update(v for k, v in (task.get("loop_control") or {}).items() if k in ("loop_var", "index_var"))
        names.update(k for k in task.get("ansible.builtin.set_fact") or {} if k != "cacheable")
        for key in ("block", "rescue", "always"):
            names.update(_task_names(task.get(key)))
    return names


def test_the_internal_names_of_each_role_carry_its_prefix():
    """What a role's tasks set and its vars/main.yml hold is __<role>_* (the redhat-cop
    convention), an input of a role (passed on as task vars) or a documented output; so the
    unknown-variable check needs no list of them."""
    inputs = {n for r in i.read_role_inputs(ROLES) for n in r["public"]} | set(validate.OUTPUTS)
    wrong = []
    for role in sorted(os.listdir(ROLES)):
        tasks_dir = os.path.join(ROLES, role, "tasks")
        names = set()
        for task_file in sorted(os.listdir(tasks_dir)):
            with open(os.path.join(tasks_dir, task_file)) as handle:
                names.update(_task_names(yaml.safe_load(handle)))
        role_vars = os.path.join(ROLES, role, "vars", "main.yml")
        if os.path.isfile(role_vars):
            with open(role_vars) as handle:
                names.update(n for n in yaml.safe_load(handle) if not n.startswith("__" + role + "_"))
        wrong.extend("%s: %s" % (role, n) for n in sorted(names)
                     if not n.startswith("__" + role + "_") and n not in inputs)
    assert wrong == []
    for playbook in ("fleet.yml", "report.yml", "site.yml", "upgrade.yml", "tasks/site_procedure.yml",
                     "tasks/upgrade_decide.yml", "tasks/upgrade_wait.yml"):
        with open(os.path.join(ROOT, "playbooks", playbook)) as handle:
            data = yaml.safe_load(handle)
        names = set()
        for item in data:
            plays = [item.get(k) for k in ("pre_tasks", "tasks", "post_tasks")] if "hosts" in item else [[item]]
            for tasks in plays:
                names.update(_task_names(tasks))
        assert not [n for n in names if not n.startswith(validate.INTERNAL_PREFIXES) and n not in inputs], playbook


def test_role_inputs_cache_follows_the_files(tmp_path):
    role = tmp_path / "r" / "defaults"
    role.mkdir(parents=True)
    (tmp_path / "r" / "tasks").mkdir()
    (role / "main.yml").write_text("r_one: 1\n")
    assert i.role_inputs(str(tmp_path))[0]["public"] == ["r_one"]
    os.utime(role / "main.yml", (1, 1))
    (role / "main.yml").write_text("r_two: 2\nr_three: 3\n")
    os.utime(role / "main.yml", (2, 2))
    assert i.role_inputs(str(tmp_path))[0]["public"] == ["r_three", "r_two"]


# ---------------------------------------------------------------------------------------------
# the wiring: roles/preflight/tasks/inputs.yml as ansible-playbook runs it (no cluster: the file
# sends no request)

PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: ocpv.density.preflight
        tasks_from: inputs.yml
"""

# A valid value, different from the default, for every checked variable.
VALID = {
    "overcommit": 150, "preflight_hco_name": "hc", "preflight_refuse_unknown_variables": True,
    "kubeconfig": "/tmp/kubeconfig", "context": "admin", "preflight_kubeconfig": "/tmp/kubeconfig",
    "namespace_name": "density", "namespace_service_account": "agent", "namespace_cluster_role": "my-role",
    "namespace_cluster_admin_binding": "my-binding", "namespace_scc": "privileged", "namespace_deploy": True,
    "wasp_agent_namespace": "density", "wasp_agent_service_account": "agent",
    "wasp_agent_node_selector": {"node-role.kubernetes.io/worker": "", "cnv": "true"},
    "wasp_agent_hook_script_path": "/usr/local/bin/hook.sh", "wasp_agent_profile": "manual-4.17", "namespace_profile": "manual-4.17",
    "wasp_agent_wait": False, "wasp_agent_wait_timeout": 60, "wasp_agent_wait_poll_interval": 60,
    "wasp_agent_hco_namespace": "cnv", "wasp_agent_handover": False,
    "swap_overcommit": 150, "swap_profile": "tp-4.16", "swap_kubelet_config": {"failSwapOn": False},
    "swap_ignition_version": "3.4.0", "swap_file": "/var/swapfile",
    "swap_extra_files": [{"path": "/usr/local/bin/x.sh", "mode": 420, "contents": "x"}],
    "swap_machineconfig_name": "91-worker-swap", "swap_kubeletconfig_name": "swap-kc",
    "swap_previous_annotation": "example.com/previous", "swap_wait_timeout": 100, "swap_wait_poll_interval": 1,
    "alerts_profile": "tp-4.16", "alerts_rule_set": "NodeSwapping", "alerts_runbook_url": "https://example.com/rb",
    "hco_overcommit": 120, "hco_overcommit_decoupled": True, "hco_name": "hc", "hco_namespace": "cnv", "hco_api_version": "v1", "hco_wait": True,
    "hco_wait_timeout": 30, "hco_wait_poll_interval": 30,
    "verify_pool": "worker", "verify_overcommit": 150, "verify_namespace": "density", "verify_daemonset": "agent",
    "verify_pod_selector": "name=agent", "verify_container": "agent", "verify_meminfo_command": "cat /proc/meminfo",
    "verify_hco_name": "hc", "verify_hco_namespace": "cnv", "verify_hco_api_version": "v1", "verify_fail": False,
    "verify_agent": True, "verify_swap_machineconfig": "91-worker-swap", "verify_report_dir": "out",
    "namespace_handover": False, "swap_wait": True, "preflight_swap_disk_check": False,
    "upgrade_wait_timeout": 0, "upgrade_wait_poll_interval": 30,
}


def run_inputs(tmp_path, extra):
    playbook = tmp_path / "inputs.yml"
    playbook.write_text(PLAYBOOK)
    varfile = tmp_path / "vars.json"
    varfile.write_text(json.dumps(extra))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               KUBECONFIG=str(tmp_path / "no-kubeconfig"))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(playbook), "-e", "@%s" % varfile]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False)


def test_valid_values_of_every_variable_pass_the_playbook_checks(tmp_path):
    options = {n for r in i.read_role_inputs(ROLES) for n in r["options"]}
    assert options - set(VALID) <= HAND_CHECKED
    run = run_inputs(tmp_path, VALID)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "failed=0" in run.stdout


def test_bad_input_is_refused_by_the_playbook_checks_with_only_the_message(tmp_path):
    """(The matrix of bad values per variable runs against a cluster in
    tests/integration/test_site.py; here: the argument spec messages and the opt-out.)"""
    run = run_inputs(tmp_path, dict(VALID, verify_fail="maybe", swap_wait_timeout="x"))
    assert run.returncode != 0
    # one sentence naming the variable, the value and what is expected (issue 20 item 4)
    assert 'msg: swap_wait_timeout must be a whole number, got "x". Nothing was changed.' in run.stdout, run.stdout
    assert "argument_spec" not in run.stdout and "Traceback" not in run.stdout, "the message only, not the spec"
    run = run_inputs(tmp_path, dict(VALID, hco_wait_timout=5, preflight_refuse_unknown_variables=False))
    assert run.returncode == 0, run.stdout
