# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Ansible Automation Platform content in aap/: the execution environment definition and the
controller configuration (infra.aap_configuration format), checked without a cluster.

- ``ansible-builder create`` (offline) turns aap/execution-environment.yml into a build context
  with a Containerfile and the pinned requirements; ``ansible-builder introspect`` finds the
  collection's own EE metadata (meta/execution-environment.yml) once it is installed.
- Every survey passes AWX's own survey rules (``JobTemplateSurveySpec._validate_spec_data`` in
  awx/api/views and ``SurveyJobTemplateMixin._survey_element_validation`` in
  awx/main/models/mixins.py, re-implemented below), and each survey variable is an input of the
  playbook the template runs, with a compatible type, choices and range.
- The templates, projects, credentials, inventories and EEs refer to each other consistently.
"""

import keyword
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.ocpv.density.plugins.plugin_utils import validate

ROOT = Path(__file__).resolve().parents[2]
AAP = ROOT / "aap"
CONTROLLER = AAP / "controller"
BIN = Path(sys.executable).parent

# The built-in credential type AAP injects as K8S_AUTH_HOST/_API_KEY/_VERIFY_SSL/_SSL_CA_CERT.
BEARER_TOKEN_TYPE = "OpenShift or Kubernetes API Bearer Token"
SITE_INPUT_ROLE = "preflight"  # the role whose argument spec validates the chain's public inputs


# =============================================================================================
# AWX survey rules
# =============================================================================================

# awx/api/views JobTemplateSurveySpec.ALLOWED_TYPES: question type -> type of its default
AWX_ALLOWED_TYPES = {
    "text": str,
    "textarea": str,
    "password": str,
    "multiplechoice": str,
    "multiselect": str,
    "integer": int,
    "float": float,
}


def _choice_list(choices):
    if isinstance(choices, str):
        return [c for c in choices.split("\n") if c.strip() != ""]
    return list(choices)


def awx_element_errors(element, data):
    """SurveyJobTemplateMixin._survey_element_validation(element, data): what AWX says about the
    answer `data` (a dict of variable -> value) to one survey question (password and
    $encrypted$ handling left out: no password questions here)."""
    var = element["variable"]
    errors = []
    if var not in data:
        if element["required"]:
            errors.append("'%s' value missing" % var)
        return errors
    value = data[var]
    qtype = element["type"]
    if qtype in ("textarea", "text", "password"):
        if not isinstance(value, str):
            return ["Value %s for '%s' expected to be a string." % (value, var)]
        if element.get("min") not in ("", None) and len(value) < int(element["min"]):
            errors.append("'%s' value %s is too small (length is %s must be at least %s)." % (var, value, len(value), element["min"]))
        if element.get("max") not in ("", None) and len(value) > int(element["max"]):
            errors.append("'%s' value %s is too large (must be no more than %s)." % (var, value, element["max"]))
    elif qtype == "integer":
        if isinstance(value, bool) or not isinstance(value, int):  # AWX: type(value) != int
            return ["Value %s for '%s' expected to be an integer." % (value, var)]
        if element.get("min") not in ("", None) and value < int(element["min"]):
            errors.append("'%s' value %s is too small (must be at least %s)." % (var, value, element["min"]))
        if element.get("max") not in ("", None) and value > int(element["max"]):
            errors.append("'%s' value %s is too large (must be no more than %s)." % (var, value, element["max"]))
    elif qtype == "float":
        if isinstance(value, bool) or not isinstance(value, (float, int)):  # AWX: type(value) not in (float, int)
            return ["Value %s for '%s' expected to be a numeric type." % (value, var)]
        if element.get("min") not in ("", None) and value < float(element["min"]):
            errors.append("'%s' value %s is too small (must be at least %s)." % (var, value, element["min"]))
        if element.get("max") not in ("", None) and value > float(element["max"]):
            errors.append("'%s' value %s is too large (must be no more than %s)." % (var, value, element["max"]))
    elif qtype == "multiselect":
        if not isinstance(value, list):
            return ["'%s' value is expected to be a list." % var]
        for item in value:
            if item not in _choice_list(element["choices"]):
                errors.append("Value %s for '%s' expected to be one of %s." % (item, var, element["choices"]))
    elif qtype == "multiplechoice":
        if value not in _choice_list(element["choices"]):
            errors.append("Value %s for '%s' expected to be one of %s." % (value, var, element["choices"]))
    return errors


def awx_survey_errors(survey):
    """JobTemplateSurveySpec._validate_spec_data(new_spec) (what AWX refuses to save), plus:
    variable names must be valid Ansible variable names, and a default must be an answer AWX
    accepts (AWX silently drops a default that fails _survey_element_validation at launch)."""
    errors = []
    for field, expected, label in (("name", str, "string"), ("description", str, "string"), ("spec", list, "list of items")):
        if field not in survey:
            errors.append("Field '%s' is missing from survey spec." % field)
        elif not isinstance(survey[field], expected):
            errors.append("Expected %s for field '%s', received %s type." % (label, field, type(survey[field]).__name__))
    if isinstance(survey.get("spec"), list) and len(survey["spec"]) < 1:
        errors.append("'spec' doesn't contain any items.")
    if errors:
        return errors

    variables = set()
    for idx, item in enumerate(survey["spec"]):
        if not isinstance(item, dict):
            errors.append("Survey question %s is not a json object." % idx)
            continue
        missing = False
        for field in ("type", "question_name", "variable", "required"):
            if field not in item:
                errors.append("'%s' missing from survey question %s" % (field, idx))
                missing = True
                continue
            expected, label = (bool, "boolean") if field == "required" else (str, "string")
            if not isinstance(item[field], expected):
                errors.append("'%s' in survey question %s expected to be %s." % (field, idx, label))
                missing = True
        if missing:
            continue
        var = item["variable"]
        if var in variables:
            errors.append("'variable' '%s' duplicated in survey question %s." % (var, idx))
        variables.add(var)
        # Not an AWX API rule, but a survey variable is an Ansible extra var.
        if not var.isidentifier() or keyword.iskeyword(var) or var.startswith("ansible_"):
            errors.append("'variable' '%s' in survey question %s is not a valid Ansible variable name." % (var, idx))

        qtype = item["type"]
        if qtype not in AWX_ALLOWED_TYPES:
            errors.append("'%s' in survey question %s is not one of '%s' allowed question types."
                          % (qtype, idx, ", ".join(AWX_ALLOWED_TYPES)))
            continue
        if "default" in item and item["default"] != "":
            if not isinstance(item["default"], AWX_ALLOWED_TYPES[qtype]) or (qtype == "integer" and isinstance(item["default"], bool)):
                errors.append("Default value %s in survey question %s expected to be %s."
                              % (item["default"], idx, qtype if qtype in ("integer", "float") else "string"))
        for key in ("min", "max"):
            if key in item and item[key] is not None and (not isinstance(item[key], int) or isinstance(item[key], bool)):
                errors.append("The %s limit in survey question %s expected to be integer." % (key, idx))
        if qtype in ("multiselect", "multiplechoice"):
            if "choices" not in item:
                errors.append("Survey question %s of type %s must specify choices." % (idx, qtype))
                continue
            choices = _choice_list(item["choices"])
            if not choices:
                errors.append("Survey question %s of type %s has no choices." % (idx, qtype))
            if "default" in item:
                default = item["default"]
                defaults = [d for d in default.split("\n") if d.strip() != ""] if isinstance(default, str) else list(default)
                if qtype == "multiplechoice" and len(defaults) > 1:
                    errors.append("Multiple Choice (Single Select) can only have one default value.")
                if any(d not in choices for d in defaults):
                    errors.append("Default choice must be answered from the choices listed.")
        if item.get("default") is not None:
            default = item["default"]
            if qtype == "multiselect" and isinstance(default, str):
                default = [d for d in default.split("\n") if d.strip() != ""]
            for problem in awx_element_errors(item, {var: default}):
                errors.append("Default of survey question %s is not an accepted answer: %s" % (idx, problem))
        if qtype == "integer" and all(isinstance(item.get(key), int) for key in ("min", "max")) and item["min"] > item["max"]:
            errors.append("Survey question %s: min %s is above max %s." % (idx, item["min"], item["max"]))
    return errors


def survey_extra_vars(survey, answers=None):
    """The extra vars AWX launches with when the survey is answered with `answers` (unanswered
    questions take their default when it is an accepted answer; others are not sent)."""
    result = {}
    for item in survey["spec"]:
        var = item["variable"]
        if answers and var in answers:
            result[var] = answers[var]
        elif item.get("default") is not None and not awx_element_errors(item, {var: item["default"]}):
            result[var] = item["default"]
    return result


# --- the rules themselves, on surveys AWX refuses -------------------------------------------
GOOD_QUESTION = {"question_name": "Overcommit", "variable": "overcommit", "type": "integer", "required": True,
                 "min": 101, "max": 1000, "default": 150}


@pytest.mark.parametrize("change, message", [
    ({"type": "number"}, "allowed question types"),
    ({"default": "150"}, "expected to be integer"),
    ({"default": 99}, "too small"),
    ({"default": 1001}, "too large"),
    ({"min": "101"}, "limit in survey question 0 expected to be integer"),
    ({"required": "yes"}, "expected to be boolean"),
    ({"variable": "over-commit"}, "not a valid Ansible variable name"),
    ({"variable": "class"}, "not a valid Ansible variable name"),
    ({"type": "multiplechoice", "choices": ["a", "b"], "default": "c"}, "Default choice must be answered"),
    ({"type": "multiplechoice", "choices": ["a", "b"], "default": "a\nb"}, "only have one default"),
    ({"type": "multiplechoice", "default": "a"}, "must specify choices"),
    ({"type": "text", "min": 0, "max": 3, "default": "worker"}, "too large"),
    ({"type": "float", "default": 150}, "expected to be float"),
])
def test_awx_rules_refuse_bad_questions(change, message):
    question = dict(GOOD_QUESTION, **change)
    errors = awx_survey_errors({"name": "s", "description": "", "spec": [question]})
    assert any(message in e for e in errors), errors


def test_awx_rules_refuse_duplicates_and_empty_surveys():
    assert any("duplicated" in e for e in awx_survey_errors({"name": "", "description": "", "spec": [GOOD_QUESTION, GOOD_QUESTION]}))
    assert "'spec' doesn't contain any items." in awx_survey_errors({"name": "", "description": "", "spec": []})
    assert any("'description' is missing" in e for e in awx_survey_errors({"name": "", "spec": [GOOD_QUESTION]}))
    assert awx_survey_errors({"name": "s", "description": "", "spec": [GOOD_QUESTION]}) == []


def test_awx_launch_drops_unanswered_optional_questions():
    optional = {"question_name": "p", "variable": "density_profile", "type": "multiplechoice",
                "choices": ["tp-4.16"], "required": False}
    survey = {"name": "", "description": "", "spec": [GOOD_QUESTION, optional]}
    assert survey_extra_vars(survey) == {"overcommit": 150}
    assert survey_extra_vars(survey, {"density_profile": "tp-4.16"}) == {"overcommit": 150, "density_profile": "tp-4.16"}
    assert awx_element_errors(GOOD_QUESTION, {}) == ["'overcommit' value missing"]


# =============================================================================================
# The controller configuration
# =============================================================================================

def load_controller_config():
    config = {}
    for path in sorted(CONTROLLER.glob("*.yml")):
        with open(path, encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=_UnsafeTagLoader) or {}
        for key, value in data.items():
            assert key not in config, "%s defined twice (again in %s)" % (key, path.name)
            config[key] = value
    return config


class _UnsafeTagLoader(yaml.SafeLoader):
    """SafeLoader that reads Ansible's !unsafe tag as a plain string."""


_UnsafeTagLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))

CONFIG = load_controller_config()
TEMPLATES = {t["name"]: t for t in CONFIG["controller_templates"]}


def argument_spec_options(role, entry="main"):
    with open(ROOT / "roles" / role / "meta" / "argument_specs.yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)["argument_specs"][entry]["options"]


def role_vars(role):
    with open(ROOT / "roles" / role / "vars" / "main.yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def implemented_profiles():
    with open(ROOT / "plugins" / "module_utils" / "profiles.yml", encoding="utf-8") as handle:
        rows = yaml.safe_load(handle)["profiles"]
    return sorted(name for name, row in rows.items() if row.get("implemented"))


def test_config_has_the_expected_templates():
    assert set(TEMPLATES) >= {"Higher density – apply", "Higher density – check", "Higher density – remove",
                              "Higher density – report", "Higher density – upgrade"}
    upgrade = TEMPLATES["Higher density – upgrade"]
    assert (upgrade["playbook"], upgrade["job_type"]) == ("playbooks/upgrade.yml", "run")
    wait = {q["variable"]: q for q in upgrade["survey_spec"]["spec"]}["upgrade_wait_timeout"]
    assert (wait["type"], wait["min"], wait["max"], wait["default"]) == ("integer", 0, validate.CHECK_BY_VAR[
        "upgrade_wait_timeout"]["maximum"], 3600)
    assert TEMPLATES["Higher density – apply"]["job_type"] == "run"
    assert TEMPLATES["Higher density – check"]["job_type"] == "check"
    assert TEMPLATES["Higher density – check"]["survey_spec"] == TEMPLATES["Higher density – apply"]["survey_spec"]
    remove = TEMPLATES["Higher density – remove"]
    assert remove["extra_vars"] == {"state": "absent"}
    assert "overcommit" not in {q["variable"] for q in remove["survey_spec"]["spec"]}
    assert TEMPLATES["Higher density – report"]["playbook"] == "playbooks/report.yml"
    # verify skips itself in check mode: the report must run for real (it writes nothing).
    assert TEMPLATES["Higher density – report"]["job_type"] == "run"


def test_apply_survey_questions():
    spec = {q["variable"]: q for q in TEMPLATES["Higher density – apply"]["survey_spec"]["spec"]}
    assert set(spec) == {"overcommit", "state", "swap_pool", "density_profile"}
    assert spec["overcommit"]["type"] == "integer" and spec["overcommit"]["required"] is True
    assert (spec["overcommit"]["min"], spec["overcommit"]["max"], spec["overcommit"]["default"]) == (101, 1000, 150)
    assert spec["state"]["type"] == "multiplechoice"
    assert _choice_list(spec["state"]["choices"]) == ["present", "absent"] and spec["state"]["default"] == "present"
    assert spec["density_profile"]["type"] == "multiplechoice"
    assert spec["swap_pool"]["type"] in ("text", "multiplechoice")


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_template_is_complete_and_consistent(name):
    template = TEMPLATES[name]
    assert template["job_type"] in ("run", "check")
    assert (ROOT / template["playbook"]).is_file(), template["playbook"]
    assert template["project"] in {p["name"] for p in CONFIG["controller_projects"]}
    assert template["inventory"] in {i["name"] for i in CONFIG["controller_inventories"]}
    assert template["execution_environment"] in {e["name"] for e in CONFIG["controller_execution_environments"]}
    credentials = {c["name"]: c for c in CONFIG["controller_credentials"]}
    for credential in template.get("credentials", []):
        assert credentials[credential]["credential_type"] == BEARER_TOKEN_TYPE
    if template["playbook"] != "playbooks/fleet.yml":
        assert template.get("credentials"), "%s needs the cluster credential" % name
    else:
        # fleet hosts carry their own credentials; K8S_AUTH_* from a credential would override them
        assert not template.get("credentials")
    assert template.get("survey_enabled") is True
    assert not template.get("ask_variables_on_launch"), "only the survey's variables may be set at launch"


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_survey_passes_awx_rules(name):
    assert awx_survey_errors(TEMPLATES[name]["survey_spec"]) == []


def _compatible_type(question, option):
    arg_type = option.get("type", "str")
    if arg_type == "raw":
        return True
    return {
        "integer": ("int",), "float": ("float",), "text": ("str", "path"), "textarea": ("str",),
        "password": ("str",), "multiplechoice": ("str",), "multiselect": ("list",),
    }[question["type"]].__contains__(arg_type)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_survey_variables_are_playbook_inputs(name):
    """Each survey variable is a public input of the chain (validated by the preflight role's
    argument spec before any request to the cluster), with a compatible type, choices and range."""
    options = argument_spec_options(SITE_INPUT_ROLE)
    template = TEMPLATES[name]
    questions = template["survey_spec"]["spec"]
    for question in questions:
        var = question["variable"]
        assert var in options, "survey variable %s of %r is not an input of the playbook" % (var, name)
        option = options[var]
        assert _compatible_type(question, option), (var, question["type"], option.get("type"))
        if option.get("choices"):
            choices = _choice_list(question.get("choices", []))
            assert choices and set(choices) <= set(option["choices"]), (var, choices, option["choices"])
            if question.get("default") not in (None, ""):
                assert question["default"] in option["choices"]
        if var == "overcommit":
            assert question["min"] >= validate.OVERCOMMIT_MIN
            assert question["max"] <= validate.OVERCOMMIT_MAX
        if var == "swap_pool":
            # a DNS-1123 label: it becomes the label key node-role.kubernetes.io/<pool>
            regex = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
            assert question.get("max") is not None and question["max"] <= 63
            default = question.get("default", "")
            assert default == "" or regex.fullmatch(default)
            if question["type"] == "multiplechoice":
                assert all(regex.fullmatch(c) for c in _choice_list(question["choices"]))
        if var == "density_profile":
            # Empty (unanswered) = automatic; a choice must be a profile preflight runs.
            assert question["required"] is False and question.get("default") in (None, "")
            assert sorted(_choice_list(question["choices"])) == implemented_profiles()
    # Extra vars of the template itself (state=absent for remove) are inputs too.
    for var, value in (template.get("extra_vars") or {}).items():
        assert var in options
        if options[var].get("choices"):
            assert value in options[var]["choices"]


def test_survey_defaults_launch_a_valid_run():
    """The extra vars AWX sends for the default answers are what the site playbook accepts."""
    options = argument_spec_options(SITE_INPUT_ROLE)
    extra = survey_extra_vars(TEMPLATES["Higher density – apply"]["survey_spec"])
    assert extra == {"overcommit": 150, "state": "present", "swap_pool": ""}
    assert validate.OVERCOMMIT_MIN <= extra["overcommit"] <= validate.OVERCOMMIT_MAX
    assert validate.refusals(extra, [], mode="apply") == []
    assert extra["state"] in options["state"]["choices"]
    upgrade = survey_extra_vars(TEMPLATES["Higher density – upgrade"]["survey_spec"])
    assert upgrade == {"overcommit": 150, "swap_pool": "", "upgrade_wait_timeout": 3600}
    assert validate.refusals(upgrade, [], mode="apply") == []
    remove = TEMPLATES["Higher density – remove"]
    assert dict(remove["extra_vars"], **survey_extra_vars(remove["survey_spec"])) == {"state": "absent", "swap_pool": ""}


def test_credentials_and_hosts():
    for credential in CONFIG["controller_credentials"]:
        assert credential["credential_type"] == BEARER_TOKEN_TYPE
        assert set(credential["inputs"]) <= {"host", "bearer_token", "verify_ssl", "ssl_ca_cert"}
        # never a literal token in the repository
        assert "{{" in credential["inputs"]["bearer_token"]
    hosts = {h["name"]: h for h in CONFIG["controller_hosts"]}
    assert hosts["localhost"]["variables"]["ansible_connection"] == "local"
    assert hosts["localhost"]["variables"]["ansible_python_interpreter"] == "{{ ansible_playbook_python }}"


def test_fleet_example_inventory():
    with open(AAP / "inventories" / "fleet.example.yml", encoding="utf-8") as handle:
        inventory = yaml.safe_load(handle)
    hosts = inventory["clusters"]["hosts"]
    assert len(hosts) >= 2
    for name, variables in hosts.items():
        assert ("k8s_auth_api_key" in variables and "k8s_auth_host" in variables) or "k8s_auth_kubeconfig" in variables, name


# =============================================================================================
# Execution environment
# =============================================================================================

def _pins(path):
    pins = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)$", line)
        assert match, "%s: not pinned with ==: %r" % (path, line)
        pins[match.group(1).lower()] = match.group(2)
    return pins


def _tool(name):
    path = BIN / name
    return str(path) if path.exists() else (shutil.which(name) or pytest.fail("%s not installed (make setup)" % name))


def _galaxy_version():
    with open(ROOT / "galaxy.yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)["version"]


def test_ee_definition_pins_like_requirements():
    with open(AAP / "execution-environment.yml", encoding="utf-8") as handle:
        ee = yaml.safe_load(handle)
    runtime = _pins(ROOT / "requirements.txt")
    dev = _pins(ROOT / "requirements-dev.txt")
    assert ee["version"] == 3
    assert ee["images"]["base_image"]["name"].startswith("registry.redhat.io/ansible-automation-platform-")
    assert "ee-minimal" in ee["images"]["base_image"]["name"]
    assert ee["dependencies"]["ansible_core"]["package_pip"] == "ansible-core==%s" % runtime["ansible-core"]
    assert ee["dependencies"]["ansible_runner"]["package_pip"] == "ansible-runner==%s" % dev["ansible-runner"]
    assert ee["dependencies"]["system"] == "bindep.txt" and (AAP / "bindep.txt").is_file()
    collection_python = _pins(ROOT / "meta" / "ee-requirements.txt")
    assert collection_python and all(runtime[name] == version for name, version in collection_python.items())
    assert (AAP / ee["dependencies"]["python"]).resolve() == (ROOT / "meta" / "ee-requirements.txt")

    with open(AAP / ee["dependencies"]["galaxy"], encoding="utf-8") as handle:
        galaxy = {c["name"]: c for c in yaml.safe_load(handle)["collections"]}
    # kubernetes.core: the version the pinned ansible package bundles (what the tests run with)
    import ansible_collections.kubernetes.core as kcore  # noqa: E402 - from the installed ansible package
    manifest = Path(list(kcore.__path__)[0]) / "MANIFEST.json"
    bundled = yaml.safe_load(manifest.read_text(encoding="utf-8"))["collection_info"]["version"]
    assert galaxy["kubernetes.core"]["version"] == bundled
    this = galaxy["collections/ocpv-density-%s.tar.gz" % _galaxy_version()]
    assert this["type"] == "file"


def test_collection_ee_metadata():
    with open(ROOT / "meta" / "execution-environment.yml", encoding="utf-8") as handle:
        meta = yaml.safe_load(handle)
    assert (ROOT / meta["dependencies"]["python"]).is_file()
    assert (ROOT / meta["dependencies"]["system"]).is_file()


@pytest.fixture(scope="module")
def collection_tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("built")
    subprocess.run([_tool("ansible-galaxy"), "collection", "build", "--output-path", str(out), "--force", str(ROOT)],
                   check=True, capture_output=True, text=True)
    tarball = out / ("ocpv-density-%s.tar.gz" % _galaxy_version())
    assert tarball.is_file()
    return tarball


def _build_context(tmp_path, collection_tarball):
    """`ansible-builder create` (offline) of aap/execution-environment.yml; returns the context."""
    # The definition refers to ../meta/ee-requirements.txt and aap/collections/: copy that shape.
    shutil.copytree(AAP, tmp_path / "aap", ignore=shutil.ignore_patterns("collections", "context"))
    (tmp_path / "meta").mkdir()
    shutil.copy(ROOT / "meta" / "ee-requirements.txt", tmp_path / "meta")
    (tmp_path / "aap" / "collections").mkdir()
    shutil.copy(collection_tarball, tmp_path / "aap" / "collections")
    context = tmp_path / "context"
    proc = subprocess.run([_tool("ansible-builder"), "create", "-f", str(tmp_path / "aap" / "execution-environment.yml"),
                           "-c", str(context), "--output-filename", "Containerfile"],
                          capture_output=True, text=True, env=dict(os.environ, NO_COLOR="1"), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No matches" not in proc.stdout + proc.stderr
    return context


def test_ansible_builder_create(tmp_path, collection_tarball):
    """`ansible-builder create` works offline and gives a context with a Containerfile, the pinned
    requirements and the collection tarball. The image itself is not built here (no container
    engine); aap/README.md says how to build it."""
    context = _build_context(tmp_path, collection_tarball)
    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    runtime, dev = _pins(ROOT / "requirements.txt"), _pins(ROOT / "requirements-dev.txt")
    assert 'ARG EE_BASE_IMAGE="registry.redhat.io/ansible-automation-platform-25/ee-minimal-rhel9' in containerfile
    base = re.search(r'ARG EE_BASE_IMAGE="[^"]*:([^"]+)"', containerfile).group(1)
    assert base != "latest", "the base image must be pinned to a release tag, or each build gets another image"
    assert 'ARG ANSIBLE_INSTALL_REFS="ansible-core==%s ansible-runner==%s"' % (runtime["ansible-core"], dev["ansible-runner"]) in containerfile
    assert "ansible-galaxy collection install" in containerfile and "introspect" in containerfile
    built = context / "_build"
    assert _pins(built / "requirements.txt") == _pins(ROOT / "meta" / "ee-requirements.txt")
    assert "ca-certificates" in (built / "bindep.txt").read_text(encoding="utf-8")
    galaxy = yaml.safe_load((built / "requirements.yml").read_text(encoding="utf-8"))["collections"]
    tarball_entry = [c for c in galaxy if c.get("type") == "file"][0]
    # The galaxy stage runs in /build, a copy of _build/: the tarball is where requirements.yml says.
    assert (built / tarball_entry["name"]).is_file()


def test_collection_metadata_is_introspected(tmp_path, collection_tarball):
    """Installed in an EE, the collection brings its Python and system requirements
    (meta/execution-environment.yml), as ansible-builder's introspection reads them."""
    subprocess.run([_tool("ansible-galaxy"), "collection", "install", "--no-deps", "--force", "-p", str(tmp_path),
                    str(collection_tarball)],
                   check=True, capture_output=True, text=True)
    proc = subprocess.run([_tool("ansible-builder"), "introspect", str(tmp_path)], capture_output=True, text=True, check=True)
    data = yaml.safe_load(proc.stdout.split("\n", 1)[1])
    python = [line.split("#")[0].strip() for line in data["python"] if "ocpv.density" in line]
    expected = _pins(ROOT / "meta" / "ee-requirements.txt")
    assert sorted(python) == sorted("%s==%s" % item for item in expected.items())
    assert any(line.startswith("ca-certificates") for line in data["system"])


def test_image_requirements_after_introspection(tmp_path, collection_tarball):
    """What the image would get: the introspection the Containerfile runs (its exact arguments,
    exclusions included) over the collections the EE installs (this one and the bundled
    kubernetes.core). A dependency bump that the image could not install fails here, not in a
    build: openshift-clients (kubernetes.core's bindep on RHEL) stays excluded, the CA bundle
    comes in, and every Python requirement is met by the versions requirements.txt pins."""
    from packaging.requirements import Requirement

    context = _build_context(tmp_path / "def", collection_tarball)
    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    line = next(l for l in containerfile.splitlines() if "introspect.py introspect" in l)
    args = [a for a in line.split("introspect.py introspect", 1)[1].split() if not a.startswith("--write-")]

    collections = tmp_path / "collections"
    subprocess.run([_tool("ansible-galaxy"), "collection", "install", "--no-deps", "--force", "-p", str(collections),
                    str(collection_tarball)], check=True, capture_output=True, text=True)
    import ansible_collections.kubernetes.core as kcore  # noqa: E402 - the one the ansible package bundles
    shutil.copytree(list(kcore.__path__)[0], collections / "ansible_collections" / "kubernetes" / "core")
    pip_out, bindep_out = tmp_path / "requirements.txt", tmp_path / "bindep.txt"
    proc = subprocess.run([_tool("ansible-builder"), "introspect", *args, "--write-pip", str(pip_out),
                           "--write-bindep", str(bindep_out), str(collections)],
                          cwd=context / "_build", capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    def lines(path):
        return [l.split("#")[0].strip() for l in path.read_text(encoding="utf-8").splitlines() if l.split("#")[0].strip()]

    system = lines(bindep_out)
    assert not [l for l in system if l.startswith("openshift-clients")], system
    assert any(l.startswith("ca-certificates") for l in system), system
    python = [Requirement(l) for l in lines(pip_out)]
    names = {r.name.lower() for r in python}
    assert {"kubernetes", "jsonpatch", "requests-oauthlib"} <= names, names
    pinned = {name.lower(): version for name, version in _pins(ROOT / "requirements.txt").items()}
    unmet = [str(r) for r in python if r.name.lower() in pinned and not r.specifier.contains(pinned[r.name.lower()])]
    assert not unmet, "requirements.txt pins versions the image's requirements refuse: %s" % unmet


# =============================================================================================
# Fleet: per-cluster credentials reach every module that talks to the cluster
# =============================================================================================

def _modules_used_by_roles():
    used = set()
    pattern = re.compile(r"^\s*-?\s*((?:ocpv\.density|kubernetes\.core)\.[a-z0-9_]+):", re.M)
    for path in [*(ROOT / "roles").glob("*/tasks/*.yml"), *(ROOT / "playbooks").glob("**/*.yml")]:
        used.update(pattern.findall(path.read_text(encoding="utf-8")))
    return used


def _cluster_group():
    """Every action in group/ocpv.density.k8s (meta/runtime.yml), kubernetes.core's k8s group included."""
    import ansible_collections.kubernetes.core as kcore  # noqa: E402 - from the installed ansible package
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text(encoding="utf-8"))
    members = set()
    for entry in runtime["action_groups"]["k8s"]:
        if isinstance(entry, dict):
            assert entry["metadata"]["extend_group"] == ["kubernetes.core.k8s"]
            core = yaml.safe_load((Path(list(kcore.__path__)[0]) / "meta" / "runtime.yml").read_text(encoding="utf-8"))
            members.update("kubernetes.core." + name for name in core["action_groups"]["k8s"])
        else:
            members.add("ocpv.density." + entry)
    return members


@pytest.mark.parametrize("playbook", ["fleet.yml", "site.yml", "report.yml"])
def test_module_defaults_cover_every_cluster_module(playbook):
    """The playbooks hand the kubeconfig / context to modules through module_defaults on
    group/ocpv.density.k8s: every module the roles and the playbooks use that takes
    kubernetes.core's auth options must be in that group, or it would silently talk to the
    cluster of the environment instead."""
    with open(ROOT / "playbooks" / playbook, encoding="utf-8") as handle:
        play = yaml.safe_load(handle)[0]
    defaults = play["module_defaults"]
    assert set(defaults) == {"group/ocpv.density.k8s"}
    members = _cluster_group()
    for module in sorted(_modules_used_by_roles()):
        if module.startswith("kubernetes.core."):
            assert module in members, module
        else:
            source = (ROOT / "plugins" / "modules" / (module.split(".")[-1] + ".py")).read_text(encoding="utf-8")
            if "kubernetes.core.k8s_auth_options" in source:
                assert module in members, "%s takes kubernetes.core's auth options but is not in group/ocpv.density.k8s" % module
    assert set(defaults["group/ocpv.density.k8s"]) == {"kubeconfig", "context"}, "never a token as a module argument"
