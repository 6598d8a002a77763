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
    todo = list(dict.fromkeys(k for k in keys if k not in _IGNITION_CACHE))
    if todo:
        lines = "".join(json.dumps({"id": str(i), "spec": spec, "config": json.loads(text)}) + "\n"
                        for i, (spec, text) in enumerate(todo))
        result = subprocess.run([tool("ignition-validate")], input=lines, capture_output=True, text=True,
                                timeout=timeout, check=False)
        answers = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        if result.returncode != 0 or len(answers) != len(todo):
            raise RuntimeError(f"ignition-validate failed (rc {result.returncode}): {result.stderr.strip()}")
        for key, answer in zip(todo, answers):
            _IGNITION_CACHE[key] = answer["error"] or None
    return [_IGNITION_CACHE[k] for k in keys]


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
    todo = list(dict.fromkeys(k for k in keys if k not in _K8S_NAMES_CACHE))
    if todo:
        lines = "".join(json.dumps({"rule": rule, "value": value}) + "\n" for rule, value in todo)
        result = subprocess.run([tool("k8s-names")], input=lines, capture_output=True, text=True,
                                timeout=timeout, check=False)
        answers = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        if result.returncode != 0 or len(answers) != len(todo):
            raise RuntimeError(f"k8s-names failed (rc {result.returncode}): {result.stderr.strip()}")
        for key, answer in zip(todo, answers):
            _K8S_NAMES_CACHE[key] = list(answer["errors"])
    return [_K8S_NAMES_CACHE[k] for k in keys]


def k8s_valid(rule, value):
    """Whether apimachinery's ``rule`` accepts ``value`` (a non-text never is)."""
    return isinstance(value, str) and k8s_name_errors([(rule, value)]) == [[]]
