"""A small dict-in, dict-out Kubernetes REST client for the harness (openshift.py, emulator.py).

Built on the kubernetes client's ApiClient (TLS, client certificates from the kubeconfig) but
without its model classes: the emulator polls a few times a second and plain JSON is both faster
and closer to what the apiserver actually returns.
"""

import json
import time
from urllib.parse import quote

import kubernetes


class ApiError(Exception):
    def __init__(self, status, method, path, body):
        self.status = status
        self.body = body
        try:
            message = json.loads(body).get("message", body)
        except (ValueError, AttributeError):
            message = body
        super().__init__(f"{method} {path}: HTTP {status}: {message}")


def path(group_version, plural, name=None, namespace=None, subresource=None):
    """path('v1', 'nodes', 'worker-0') -> /api/v1/nodes/worker-0;
    path('apps/v1', 'daemonsets', 'x', 'ns') -> /apis/apps/v1/namespaces/ns/daemonsets/x."""
    p = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
    if namespace:
        p += f"/namespaces/{namespace}"
    p += f"/{plural}"
    if name:
        p += f"/{quote(name, safe='')}"
    if subresource:
        p += f"/{subresource}"
    return p


def dig_status(obj, key):
    return ((obj or {}).get("status") or {}).get(key)


class Kube:
    def __init__(self, kubeconfig, timeout=30):
        self.api = kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
        self.timeout = timeout
        self.writes = 0  # write requests sent (the emulator slows down while it has nothing to write)

    def request(self, method, url_path, body=None, query=None, content_type="application/json", write=None):
        """`write`: whether the request counts as a write (default: every method but GET; a
        SubjectAccessReview is a POST that changes nothing)."""
        headers = {"Accept": "application/json", "Content-Type": content_type}
        if write if write is not None else method != "GET":
            self.writes += 1
        method, url, headers, body = self.api.param_serialize(
            method, url_path, query_params=list((query or {}).items()), header_params=headers,
            body=body, auth_settings=["BearerToken"])[:4]
        resp = self.api.call_api(method, url, headers, body, _request_timeout=self.timeout)
        data = resp.read()
        if not 200 <= resp.status < 300:
            raise ApiError(resp.status, method, url_path, data.decode(errors="replace"))
        return json.loads(data) if data else None

    def close(self):
        """Close the connection pool (best effort: the client may already be gone)."""
        try:
            self.api.close()
        except Exception:  # noqa: BLE001 pylint: disable=broad-except
            pass

    # --- verbs -----------------------------------------------------------------------------
    def get(self, url_path, default=...):
        """The object, or `default` when it does not exist (404) if a default is given."""
        try:
            return self.request("GET", url_path)
        except ApiError as e:
            if e.status == 404 and default is not ...:
                return default
            raise

    def list(self, url_path, **query):
        return self.request("GET", url_path, query=query).get("items", [])

    def create(self, url_path, body):
        return self.request("POST", url_path, body)

    def replace(self, url_path, body):
        return self.request("PUT", url_path, body)

    def merge_patch(self, url_path, patch):
        return self.request("PATCH", url_path, patch, content_type="application/merge-patch+json")

    def replace_status(self, url_path, status):
        """PUT the whole status (a merge patch cannot set a field to null)."""
        obj = self.get(url_path)
        obj["status"] = status
        return self.replace(f"{url_path}/status", obj)

    def json_patch(self, url_path, ops):
        return self.request("PATCH", url_path, ops, content_type="application/json-patch+json")

    def delete(self, url_path, missing_ok=True, **query):
        try:
            return self.request("DELETE", url_path, query=query)
        except ApiError as e:
            if e.status == 404 and missing_ok:
                return None
            raise

    def allowed(self, user, groups, verb, resource, group=""):
        """Whether `user` may `verb` `resource`, as the API server's authorizer (RBAC) answers a
        SubjectAccessReview for that user; not counted as a write."""
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                  "spec": {"user": user, "groups": list(groups),
                           "resourceAttributes": {"verb": verb, "resource": resource, "group": group}}}
        result = self.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review, write=False)
        return bool(dig_status(result, "allowed"))

    def apply(self, url_path, body):
        """Create, or replace keeping resourceVersion (whole-object update, no field manager games)."""
        name = body["metadata"]["name"]
        current = self.get(f"{url_path}/{quote(name, safe='')}", default=None)
        if current is None:
            return self.create(url_path, body)
        body = dict(body, metadata=dict(body["metadata"], resourceVersion=current["metadata"]["resourceVersion"]))
        return self.replace(f"{url_path}/{quote(name, safe='')}", body)

    def wait(self, predicate, timeout=60, interval=0.2, what="condition"):
        """Poll predicate() until it returns something truthy; return it."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(interval)
