"""The real components the harness and the tests judge with (installed and cached by
real-components.sh): where each one is, and a client for Ignition's own validator.

    tool("promtool")                     -> path of the cached binary (RuntimeError: not built)
    ignition_errors([(config, "3.4"), ...]) -> [None or the library's message, ...]
    k8s_name_errors([("dns1123_label", "wasp"), ...]) -> [[] or apimachinery's messages, ...]
"""

import functools
import json
import subprocess
from pathlib import Path

INSTALLER = Path(__file__).resolve().parent / "real-components.sh"


@functools.lru_cache(maxsize=None)
def tool(name):
    """The cached binary `name`; RuntimeError naming `make real-components` when it is missing."""
    result = subprocess.run(["bash", str(INSTALLER), "--print-path", name], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip() or f"real-components: {name} not found; run: make real-components")
    return result.stdout.strip()


_IGNITION_CACHE = {}  # (spec, canonical config JSON) -> None or message


def ignition_errors(items, timeout=60):
    """For each (config, spec) -- an Ignition config (dict) and the newest spec ('3.4' or '3.5')
    the emulated MCO parses -- None when github.com/coreos/ignition/v2 accepts it, else its
    message worded as MCO words it. One validator process for all configs not seen before."""
    keys = [(spec, json.dumps(config, sort_keys=True)) for config, spec in items]
    return _ask("ignition-validate", _IGNITION_CACHE, keys,
                lambda i, key: {"id": str(i), "spec": key[0], "config": json.loads(key[1])},
                lambda answer: answer["error"] or None, timeout)


def _ask(name, cache, keys, request, result_of, timeout):
    """The answers for `keys` from the line-JSON tool `name` (one request line in, one answer line
    out, in order), asking one process only for the keys not in `cache` yet."""
    todo = list(dict.fromkeys(k for k in keys if k not in cache))
    if todo:
        lines = "".join(json.dumps(request(i, key)) + "\n" for i, key in enumerate(todo))
        result = subprocess.run([tool(name)], input=lines, capture_output=True, text=True,
                                timeout=timeout, check=False)
        answers = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        if result.returncode != 0 or len(answers) != len(todo):
            raise RuntimeError(f"{name} failed (rc {result.returncode}): {result.stderr.strip()}")
        for key, answer in zip(todo, answers):
            cache[key] = result_of(answer)
    return [cache[k] for k in keys]


_K8S_NAMES_CACHE = {}  # (rule, value) -> [messages]
K8S_NAME_RULES = ("dns1123_label", "dns1123_subdomain", "label_key", "label_value", "path_segment")


def k8s_name_errors(items, timeout=60):
    """For each (rule, value) -- rule one of K8S_NAME_RULES -- the messages of Kubernetes' own
    check (k8s.io/apimachinery pkg/api/validate/content: IsDNS1123Label, IsDNS1123Subdomain,
    IsLabelKey, IsLabelValue, IsPathSegmentName; localcluster/k8s-names), [] when valid. One
    process for all pairs not seen before."""
    keys = [tuple(item) for item in items]
    for rule, value in keys:
        if rule not in K8S_NAME_RULES or not isinstance(value, str):
            raise ValueError(f"k8s_name_errors: {rule!r} {value!r}")
    return _ask("k8s-names", _K8S_NAMES_CACHE, keys, lambda _i, key: {"rule": key[0], "value": key[1]},
                lambda answer: list(answer["errors"]), timeout)


def k8s_valid(rule, value):
    """Whether apimachinery's ``rule`` accepts ``value`` (a non-text never is)."""
    return isinstance(value, str) and k8s_name_errors([(rule, value)]) == [[]]
