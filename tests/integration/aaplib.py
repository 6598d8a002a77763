"""Run playbooks the way Ansible Automation Platform runs a job, against the local cluster.

AWX/AAP calls ``ansible_runner.interface.run()`` on a private data directory it lays out like
this (awx/main/tasks/jobs.py); these helpers build the same layout:

    <private_data_dir>/
      project/                   the project checkout (here: a copy of playbooks/); the job's cwd
      requirements_collections/  collections of the project (here: ocpv.density -> this checkout)
      inventory/hosts            the job's inventory (localhost, connection local, the EE's Python)
      env/extravars              survey answers + the template's extra vars (JSON)
      env/envvars                what credentials inject: for "OpenShift or Kubernetes API Bearer
                                 Token" K8S_AUTH_HOST, K8S_AUTH_API_KEY, K8S_AUTH_VERIFY_SSL and
                                 K8S_AUTH_SSL_CA_CERT (a file that AWX writes into env/ with
                                 mkstemp, mode 0600 - awx/main/models/credential/injectors.py)
      artifacts/<ident>/         written by ansible-runner: job_events/, stdout, status, rc,
                                 command (the command line, cwd and environment of the run)

Job template settings map to the command line as AWX maps them: job_type check -> --check,
diff_mode -> --diff. set_stats data reaches AWX in the playbook_on_stats event's
``artifact_data`` (ansible-runner's awx_display callback), which AWX stores as the job's artifacts.

``bearer_token_credential(cluster)`` creates what the AAP credential would hold for the local
cluster: a ServiceAccount bound to cluster-admin and a token for it (TokenRequest API), because the
harness's admin kubeconfig authenticates with a client certificate.
"""

import json
import os
import shutil
import stat
import sys
import tempfile
import time
import uuid
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

SA_NAMESPACE = "ocpv-density-aap"
SA_NAME = "aap-job"
SA_USER = f"system:serviceaccount:{SA_NAMESPACE}:{SA_NAME}"  # audit log user.username of the jobs


def _request(api, method, path, body=None):
    """Raw JSON request with the kubernetes ApiClient (no model classes); returns (status, data)."""
    method, url, headers, body, _post_params = api.param_serialize(
        method, path, header_params={"Accept": "application/json", "Content-Type": "application/json"},
        body=body, auth_settings=["BearerToken"])
    resp = api.call_api(method, url, headers, body, _request_timeout=30)
    data = resp.read()
    return resp.status, (json.loads(data) if data else None)


def _ensure(api, path, body):
    status, data = _request(api, "POST", path, body)
    if status == 409:  # already there
        return
    assert 200 <= status < 300, f"POST {path}: HTTP {status}: {data}"


def bearer_token_credential(cluster, expiration_seconds=7200):
    """The inputs of an "OpenShift or Kubernetes API Bearer Token" credential for `cluster`:
    {'host', 'bearer_token', 'verify_ssl', 'ssl_ca_cert'} (ssl_ca_cert = PEM text, as in AAP)."""
    api = cluster.api_client()
    deadline = time.monotonic() + 180
    while True:  # a namespace still being deleted (an earlier test's teardown) cannot take new objects
        status, namespace = _request(api, "GET", f"/api/v1/namespaces/{SA_NAMESPACE}")
        if status == 404 or not (namespace or {}).get("metadata", {}).get("deletionTimestamp"):
            break
        assert time.monotonic() < deadline, f"namespace {SA_NAMESPACE} still terminating"
        time.sleep(1)
    _ensure(api, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": SA_NAMESPACE}})
    _ensure(api, f"/api/v1/namespaces/{SA_NAMESPACE}/serviceaccounts",
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": SA_NAME}})
    _ensure(api, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": f"{SA_NAMESPACE}-{SA_NAME}-cluster-admin"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": SA_NAME, "namespace": SA_NAMESPACE}],
    })
    status, data = _request(api, "POST", f"/api/v1/namespaces/{SA_NAMESPACE}/serviceaccounts/{SA_NAME}/token", {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"expirationSeconds": expiration_seconds},
    })
    assert status == 201, f"TokenRequest: HTTP {status}: {data}"
    kubeconfig = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    cluster_entry = kubeconfig["clusters"][0]["cluster"]
    if "certificate-authority-data" in cluster_entry:
        import base64
        ca = base64.b64decode(cluster_entry["certificate-authority-data"]).decode()
    else:
        ca = Path(cluster_entry["certificate-authority"]).read_text()
    return {"host": cluster_entry["server"], "bearer_token": data["status"]["token"], "verify_ssl": True, "ssl_ca_cert": ca}


def delete_bearer_token_identity(cluster):
    api = cluster.api_client()
    _request(api, "DELETE", f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{SA_NAMESPACE}-{SA_NAME}-cluster-admin")
    _request(api, "DELETE", f"/api/v1/namespaces/{SA_NAMESPACE}")


def inject_bearer_token(credential, env_dir):
    """awx/main/models/credential/injectors.py kubernetes_bearer_token(), into a dict of env vars."""
    env = {"K8S_AUTH_HOST": str(credential["host"]), "K8S_AUTH_API_KEY": str(credential["bearer_token"])}
    if credential.get("verify_ssl") and credential.get("ssl_ca_cert"):
        env["K8S_AUTH_VERIFY_SSL"] = "True"
        handle, path = tempfile.mkstemp(dir=env_dir)
        with os.fdopen(handle, "w") as f:
            os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
            f.write(str(credential["ssl_ca_cert"]))
        env["K8S_AUTH_SSL_CA_CERT"] = path
    else:
        env["K8S_AUTH_VERIFY_SSL"] = "False"
    return env


def private_data_dir(base, extravars, credential=None, inventory=None, extra_env=None):
    """Lay out an AAP job's private data directory under `base`; returns its path."""
    pdd = Path(tempfile.mkdtemp(prefix="awx_job_", dir=base))
    project = pdd / "project"
    project.mkdir()
    shutil.copytree(ROOT / "playbooks", project / "playbooks")
    collections = pdd / "requirements_collections" / "ansible_collections" / "ocpv"
    collections.mkdir(parents=True)
    os.symlink(ROOT, collections / "density")
    (pdd / "inventory").mkdir()
    (pdd / "inventory" / "hosts").write_text(inventory or (
        "localhost ansible_connection=local ansible_python_interpreter='{{ ansible_playbook_python }}'\n"))
    env_dir = pdd / "env"
    env_dir.mkdir(mode=0o700)
    (env_dir / "extravars").write_text(json.dumps(extravars))
    envvars = {
        # As AWX sets it: the project's collections first, then the EE's (here: the ansible package's).
        "ANSIBLE_COLLECTIONS_PATH": str(pdd / "requirements_collections"),
        "ANSIBLE_FORCE_COLOR": "False",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "PYTHONUNBUFFERED": "1",
    }
    if credential:
        envvars.update(inject_bearer_token(credential, env_dir))
    envvars.update(extra_env or {})
    (env_dir / "envvars").write_text(json.dumps(envvars))
    os.chmod(env_dir / "envvars", 0o600)
    return pdd


def run_job(pdd, playbook, job_type="run", diff_mode=True, verbosity=0):
    """ansible_runner.interface.run() as AWX calls it for a job template; returns the Runner.
    ansible-playbook is taken from PATH (see aap_environment())."""
    import ansible_runner

    cmdline = []
    if job_type == "check":
        cmdline.append("--check")
    if diff_mode:
        cmdline.append("--diff")
    return ansible_runner.interface.run(
        private_data_dir=str(pdd),
        playbook=playbook,
        ident=uuid.uuid4().hex[:12],
        cmdline=" ".join(cmdline) or None,
        verbosity=verbosity,
        quiet=True,
    )


def aap_environment(monkeypatch):
    """The job's process environment: nothing of the developer's or the Makefile's Ansible or
    Kubernetes settings (the job gets the cluster from its credential only), this venv's
    ansible-playbook first on PATH (in AAP: the execution environment's)."""
    for var in ("KUBECONFIG", "K8S_AUTH_KUBECONFIG", "K8S_AUTH_HOST", "K8S_AUTH_API_KEY", "K8S_AUTH_VERIFY_SSL",
                "K8S_AUTH_SSL_CA_CERT", "K8S_AUTH_CONTEXT", "ANSIBLE_CONFIG", "ANSIBLE_COLLECTIONS_PATH",
                "ANSIBLE_COLLECTIONS_PATHS", "ANSIBLE_INVENTORY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PATH", str(BIN) + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def stats_event(runner):
    events = [e for e in runner.events if e.get("event") == "playbook_on_stats"]
    assert len(events) == 1, [e.get("event") for e in runner.events][-5:]
    return events[0]["event_data"]


def failure_text(runner):
    """The failed tasks' messages and the end of stdout, for assertion messages."""
    lines = []
    for event in runner.events:
        if event.get("event") in ("runner_on_failed", "runner_on_unreachable") and not event["event_data"].get("ignore_errors"):
            data = event["event_data"]
            lines.append(f"{data.get('host')}: {data.get('task')}: {data.get('res', {}).get('msg')}")
    try:
        tail = runner.stdout.read()[-4000:]
    except Exception:  # noqa: BLE001 - best effort for a message
        tail = ""
    return "\n".join(lines) + "\n--- stdout (end) ---\n" + tail


def files_containing(directory, needle):
    """Paths (relative to `directory`) of the files whose bytes contain `needle`."""
    needle = needle.encode() if isinstance(needle, str) else needle
    found = []
    for path in Path(directory).rglob("*"):
        if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
            found.append(str(path.relative_to(directory)))
    return sorted(found)


# --- job templates as code (aap/controller/templates.yml) ---------------------------------------

def job_template(name):
    with open(ROOT / "aap" / "controller" / "templates.yml", encoding="utf-8") as handle:
        templates = {t["name"]: t for t in yaml.safe_load(handle)["controller_templates"]}
    return templates[name]


def launch_extra_vars(template, answers=None):
    """Extra vars of a launch that accepts every survey default (AWX: JT extra_vars, then survey
    defaults that are valid answers, then the answers given; unanswered optional questions with no
    default are not sent)."""
    extra = dict(template.get("extra_vars") or {})
    for question in (template.get("survey_spec") or {}).get("spec", []) if template.get("survey_enabled") else []:
        default = question.get("default")
        if default is None:
            continue
        if question["type"] in ("multiplechoice",) and default not in question.get("choices", []):
            continue  # AWX drops a default that is not a valid answer
        extra[question["variable"]] = default
    extra.update(answers or {})
    return extra
