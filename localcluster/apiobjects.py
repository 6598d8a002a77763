"""Helpers on Kubernetes API objects that the emulated operators share (no operator behaviour)."""

import base64
import os
import re
from datetime import datetime, timezone
from pathlib import Path


MCFG = "machineconfiguration.openshift.io/v1"


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def annotations(obj):
    return obj["metadata"].get("annotations") or {}


def dig(obj, *keys, default=None):
    for key in keys:
        if not isinstance(obj, dict) or key not in obj:
            return default
        obj = obj[key]
    return obj


_QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")
_SUFFIX = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
           "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}


def quantity_bytes(text):
    """A node capacity quantity ('16Gi', '17179869184', '16G') in bytes."""
    m = _QUANTITY.match(str(text))
    if not m or m.group(2) not in _SUFFIX:
        raise ValueError(f"cannot parse quantity {text!r}")
    return int(float(m.group(1)) * _SUFFIX[m.group(2)])


def selector_matches(selector, labels):
    """Kubernetes LabelSelector semantics: None selects nothing, {} selects everything."""
    if selector is None:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def data_url(text):
    return "data:text/plain;charset=utf-8;base64," + base64.b64encode(text.encode()).decode()


def condition(type_, status, reason="", message=""):
    return {"type": type_, "status": status, "reason": reason, "message": message, "lastTransitionTime": now()}


def keep_transition_times(new, old):
    """Carry lastTransitionTime over for conditions whose status did not change."""
    old_by_type = {c.get("type"): c for c in old or []}
    for c in new:
        prev = old_by_type.get(c["type"])
        if prev and prev.get("status") == c["status"] and prev.get("lastTransitionTime"):
            c["lastTransitionTime"] = prev["lastTransitionTime"]
    return new


def without_times(conditions):
    return [{k: v for k, v in c.items() if k != "lastTransitionTime"} for c in conditions or []]


def status_differs(new, old):
    """Whether writing `new` would change `old` (condition times aside)."""
    old = old or {}
    return any((without_times(v) != without_times(old.get(k))) if k == "conditions" else v != old.get(k)
               for k, v in new.items())


def atomic_write(file, text):
    file = Path(file)
    tmp = file.with_name(file.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, file)
