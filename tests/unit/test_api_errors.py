# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""plugins/module_utils/api_errors.py and the filter api_error_message: what the user reads when a
request to the API server fails. The error texts are the ones kubernetes.core and the kubernetes
client gave against the local cluster (a closed port, a server whose CA is not given, a token the
server does not know, a user without permissions)."""

import pytest
from ansible_collections.ocpv.density.plugins.filter.api import FilterModule
from ansible_collections.ocpv.density.plugins.module_utils.api_errors import (
    api_error_message, cluster_target_problem, unreachable, unreachable_message)

URLLIB3_REFUSED = ("HTTPSConnectionPool(host='127.0.0.1', port=39581): Max retries exceeded with url: "
                   "/apis/machineconfiguration.openshift.io/v1/kubeletconfigs/x (Caused by "
                   "NewConnectionError(\"HTTPSConnection(host='127.0.0.1', port=39581): Failed to establish a "
                   "new connection: [Errno 111] Connection refused\"))")
UNTRUSTED = ("Exception 'HTTPSConnectionPool(host='127.0.0.1', port=38821): Max retries exceeded with url: "
             "/apis/config.openshift.io/v1/infrastructures/cluster (Caused by SSLError(SSLCertVerificationError(1, "
             "'[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate "
             "(_ssl.c:1006)')))' raised while trying to get resource using {'name': 'cluster'}")
UNAUTHORIZED = ("Exception '401\nReason: Unauthorized\nHTTP response headers: HTTPHeaderDict({'Audit-Id': "
                "'e06d3e9f', 'Content-Type': 'application/json'})\nHTTP response body: "
                '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized",'
                '"reason":"Unauthorized","code":401}\nOriginal traceback:\n  File "client.py", line 54, in inner')
FORBIDDEN = ("Exception '403\nReason: Forbidden\nHTTP response headers: HTTPHeaderDict({'Audit-Id': 'a1'})\n"
             'HTTP response body: {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":'
             '"infrastructures.config.openshift.io \\"cluster\\" is forbidden: User \\"system:serviceaccount:x:y\\" '
             'cannot get resource \\"infrastructures\\" in API group \\"config.openshift.io\\" at the cluster '
             'scope","reason":"Forbidden","details":{"name":"cluster"},"code":403}\nOriginal traceback:\n  x')
DOING = "reading the Infrastructure (nothing was changed)"


def test_a_refused_connection_names_the_address_and_the_reason():
    assert unreachable(URLLIB3_REFUSED)
    text = unreachable_message(URLLIB3_REFUSED, "reading KubeletConfig x (nothing was changed)")
    assert text.startswith("Cannot reach the Kubernetes API server at 127.0.0.1:39581 (Connection refused) "
                           "while reading KubeletConfig x (nothing was changed).")
    assert "KUBECONFIG / K8S_AUTH_HOST" in text


@pytest.mark.parametrize("text", [
    "('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))",
    "HTTPSConnectionPool(host='api.example', port=6443): Read timed out. (read timeout=30)",
    "[Errno -2] Name or service not known",
])
def test_other_connection_failures_count_as_unreachable(text):
    assert unreachable(text)
    assert unreachable_message(text, "connecting").startswith("Cannot reach the Kubernetes API server")


def test_an_api_answer_is_not_unreachable():
    assert not unreachable("(403) Reason: Forbidden: kubeletconfigs is forbidden")
    assert not unreachable(UNAUTHORIZED) and not unreachable(FORBIDDEN)


def test_an_untrusted_certificate_says_to_check_the_ca_not_whether_the_server_is_up():
    assert unreachable(UNTRUSTED)
    assert api_error_message(UNTRUSTED, DOING) == (
        "The Kubernetes API server at 127.0.0.1:38821 is not trusted (certificate verify failed: unable to get "
        "local issuer certificate) while reading the Infrastructure (nothing was changed). Check the certificate "
        "authority in KUBECONFIG (certificate-authority-data) or K8S_AUTH_SSL_CA_CERT.")


def test_refused_credentials_say_to_log_in_again():
    text = api_error_message(UNAUTHORIZED, DOING)
    assert text.startswith("The Kubernetes API server refused the credentials (401 Unauthorized) while "
                           "reading the Infrastructure (nothing was changed). Log in again")
    assert "Audit-Id" not in text and "traceback" not in text


def test_forbidden_quotes_the_server_and_names_the_automation_clusterrole():
    text = api_error_message(FORBIDDEN, DOING)
    assert text == (
        'Forbidden (403) while reading the Infrastructure (nothing was changed): infrastructures.config.openshift.io '
        '"cluster" is forbidden: User "system:serviceaccount:x:y" cannot get resource "infrastructures" in API '
        'group "config.openshift.io" at the cluster scope. The permissions the collection needs are the '
        'ClusterRole ocpv-density-automation (rbac/automation-clusterrole.yml in the collection).')


@pytest.mark.parametrize("text", [
    "Failed to find exact match for config.openshift.io/v1.Infrastructure by [kind, name, singularName, shortNames]",
    "Exception '404\nReason: Not Found\nHTTP response body: not json",
    "",
])
def test_other_errors_pass_unchanged(text):
    assert api_error_message(text, DOING) == text


def test_the_filter_is_the_same_function():
    assert FilterModule().filters()["api_error_message"] is api_error_message


def test_a_connection_cut_mid_request_is_named_by_the_clients_server():
    """The API server dies while the response is on its way: urllib3's text names no address; the
    module gives the client's server URL."""
    text = "('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))"
    assert unreachable_message(text, "writing (patch) MachineConfigPool worker", server="https://127.0.0.1:48369") \
        .startswith("Cannot reach the Kubernetes API server at 127.0.0.1:48369 (('Connection aborted.'")
    assert unreachable_message(URLLIB3_REFUSED, "x", server="https://10.0.0.1:6443").startswith(
        "Cannot reach the Kubernetes API server at 127.0.0.1:39581 ")  # the text's own address first
    assert unreachable_message(text, "x").startswith("Cannot reach the Kubernetes API server (")


# --- cluster_target_problem: which cluster the run talks to, as kubernetes.core finds it -------

def _exists(*paths):
    return lambda p: p in paths


@pytest.mark.parametrize("env, variables, files", [
    ({"K8S_AUTH_HOST": "https://api:6443", "K8S_AUTH_API_KEY": "t"}, {}, ()),
    ({"K8S_AUTH_HOST": "https://api:6443", "K8S_AUTH_USERNAME": "u", "K8S_AUTH_PASSWORD": "p"}, {}, ()),
    ({"K8S_AUTH_HOST": "h", "K8S_AUTH_CERT_FILE": "c", "K8S_AUTH_KEY_FILE": "k"}, {}, ()),
    ({}, {"kubeconfig": "/k/config"}, ("/k/config",)),
    ({"K8S_AUTH_KUBECONFIG": "/k/config"}, {}, ("/k/config",)),
    ({"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}, {}, ("/var/run/secrets/kubernetes.io/serviceaccount/token",)),
    ({"KUBECONFIG": "/a:/b"}, {}, ("/b",)),
    ({"HOME": "/home/u"}, {}, ("/home/u/.kube/config",)),
])
def test_a_cluster_the_client_finds_is_no_problem(env, variables, files):
    assert cluster_target_problem(env, exists=_exists(*files), **variables) == ""


@pytest.mark.parametrize("env, variables, files, words", [
    ({"HOME": "/home/u"}, {}, (), ["No cluster to work on", "/home/u/.kube/config", "-e kubeconfig=PATH", "K8S_AUTH_HOST"]),
    ({"K8S_AUTH_HOST": "https://api:6443"}, {}, (), ["No cluster to work on"]),  # a host without credentials
    ({"KUBECONFIG": "/gone"}, {}, (), ["no kubeconfig at /gone"]),
    ({}, {"kubeconfig": "/typo/config"}, (), ["kubeconfig /typo/config does not exist"]),
    ({"K8S_AUTH_KUBECONFIG": "/typo"}, {}, (), ["kubeconfig /typo does not exist"]),
    ({"HOME": "/h"}, {"context": "prod"}, (), ["context prod was given without a kubeconfig"]),
    ({"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443", "HOME": "/h"}, {}, (), ["No cluster"]),
])
def test_no_cluster_is_one_sentence_saying_how_to_point_at_one(env, variables, files, words):
    message = cluster_target_problem(env, exists=_exists(*files), **variables)
    for word in words:
        assert word in message
    assert "\n" not in message and message.count(". ") == 0


def test_the_filter_reads_the_controller_environment(monkeypatch, tmp_path):
    monkeypatch.setattr("os.environ", {"KUBECONFIG": str(tmp_path / "missing"), "HOME": str(tmp_path)})
    problem = FilterModule().filters()["cluster_target_problem"]
    assert "no kubeconfig at %s" % (tmp_path / "missing") in problem({})
    (tmp_path / "kc").write_text("apiVersion: v1\n")
    assert problem({"kubeconfig": str(tmp_path / "kc"), "context": ""}) == ""
