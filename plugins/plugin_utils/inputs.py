# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Input checks of the chain that an argument spec cannot express (controller side).

- ``input_problem(name, value, kind, ...)``: whether a value has the shape and range its variable
  needs (a DNS-1123 name, an absolute path without shell metacharacters, a label map, a number of
  seconds in a range, ...). Returns the message for the user, naming the variable and what it
  accepts, or ``''``.
- ``role_inputs(roles_dir)``: per role of the collection, the options of its argument specs and
  the keys of its defaults: every input the collection defines (its internal names carry the
  ``__<role>_`` prefix and are none).

Which names a run was given that no role knows is validate.py's ``unknown_problems``.

Pure Python (PyYAML for ``role_inputs``), no Ansible imports, so it is unit-tested without
Ansible. Not for use inside modules.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
import re

from ansible_collections.ocpv.density.plugins.module_utils.profiles import load_profiles

# Variables of the collection carry the role's name as prefix (DESIGN.md, "Names");
# density_profile is the one site input with the collection's prefix.
ROLE_PREFIXES = ("preflight_", "namespace_", "wasp_agent_", "swap_", "alerts_", "hco_", "verify_", "density_")

_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_DNS_LABEL_RE = re.compile(r"^%s$" % _DNS_LABEL)
_DNS_SUBDOMAIN_RE = re.compile(r"^%s(?:\.%s)*$" % (_DNS_LABEL, _DNS_LABEL))
# ClusterRole, ClusterRoleBinding and SCC names: DNS-1123 subdomains, plus ':' (system:...).
_RBAC_NAME_RE = re.compile(r"^[a-z0-9](?:[-a-z0-9.:]*[a-z0-9])?$")
# The name part of a qualified name (label and annotation keys), and a label value.
_QUALIFIED_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$")
# An absolute path of plain segments: no whitespace, quotes or shell metacharacters.
_PATH_RE = re.compile(r"^(?:/[A-Za-z0-9._+-]+)+$")
_VERSION_RE = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
_URL_RE = re.compile(r"^https?://[A-Za-z0-9.-]+(?::[0-9]+)?(?:/[A-Za-z0-9._~%!&()*+,;=:@/?#-]*)?$")
_KUBELET_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_INTEGER_RE = re.compile(r"^\s*[-+]?[0-9]+\s*$")
# One requirement of a label selector string (k8s.io/apimachinery labels.Parse).
_SELECTOR_KEY = r"(?:[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?"
_SELECTOR_VALUE = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_SELECTOR_REQUIREMENT_RE = re.compile(
    r"^ *(?:!? *{k}|{k} *(?:==?|!=) *{v}|{k} +(?:in|notin) *\( *{v}(?: *, *{v})* *\)) *$".format(
        k=_SELECTOR_KEY, v=_SELECTOR_VALUE))

DNS_LABEL_TEXT = "a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)"
DNS_SUBDOMAIN_TEXT = ("a DNS-1123 name (lower-case letters, digits, '-' and '.', starting and ending with a letter or "
                      "digit, at most 253 characters)")


def shown(value, limit=80):
    """A value as the user can read it in a message: JSON (so newlines and quotes show), shortened."""
    try:
        text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def as_integer(value):
    """The whole number a value stands for (5, '5', 5.0), or None (booleans, fractions, text)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and _INTEGER_RE.fullmatch(value):
        return int(value)
    return None


def _text_problem(name, value, pattern, what, max_length):
    if isinstance(value, str) and len(value) <= max_length and pattern.fullmatch(value):
        return ""
    return "%s must be %s, got %s" % (name, what, shown(value))


def _label_key_problem(key):
    """Why a label or annotation key is invalid, or ''."""
    if not isinstance(key, str) or not key:
        return "key %s is not a text" % shown(key)
    prefix, slash, key_name = key.rpartition("/")
    if slash and not prefix:
        return "key %s has an empty prefix" % shown(key)
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN_RE.fullmatch(prefix)):
        return "the prefix of key %s is not a DNS-1123 subdomain" % shown(key)
    if len(key_name) > 63 or not _QUALIFIED_NAME_RE.fullmatch(key_name):
        return ("key %s is not [prefix/]name with a name of at most 63 letters, digits, '-', '_' and '.' "
                "starting and ending with a letter or digit" % shown(key))
    return ""


def _label_map_problem(name, value):
    what = ("%s must be a mapping of label keys to text values (key: [DNS subdomain prefix/]name, value: "
            "at most 63 letters, digits, '-', '_' and '.', may be empty; quote values such as 'true')" % name)
    if not isinstance(value, dict):
        return "%s, got %s" % (what, shown(value))
    for key in sorted(value, key=str):
        problem = _label_key_problem(key)
        if problem:
            return "%s: %s" % (what, problem)
        label = value[key]
        if not isinstance(label, str):
            return "%s: the value of %s is %s, not a text" % (what, shown(key), shown(label))
        if label and (len(label) > 63 or not _QUALIFIED_NAME_RE.fullmatch(label)):
            return "%s: the value of %s is %s" % (what, shown(key), shown(label))
    return ""


def _selector_problem(name, value):
    what = ("%s must be a label selector such as name=wasp or app in (a,b),tier!=db (comma-separated "
            "requirements of label keys and values)" % name)
    if not isinstance(value, str) or not value.strip():
        return "%s, got %s" % (what, shown(value))
    # split on the commas outside parentheses
    parts, depth, current = [], 0, ""
    for char in value:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    if depth != 0 or not all(_SELECTOR_REQUIREMENT_RE.fullmatch(part) for part in parts):
        return "%s, got %s" % (what, shown(value))
    return ""


def _files_problem(name, value):
    what = ("%s must be a list of files, each {path: an absolute path, mode: a decimal file mode from 0 to 4095, "
            "contents: a text}" % name)
    if not isinstance(value, list):
        return "%s, got %s" % (what, shown(value))
    for index, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != {"path", "mode", "contents"}:
            return "%s; item %d is %s" % (what, index, shown(item))
        mode = as_integer(item["mode"])
        if input_problem("path", item["path"], "path"):
            return "%s; item %d has path %s" % (what, index, shown(item["path"]))
        if mode is None or not 0 <= mode <= 0o7777:
            return "%s; item %d has mode %s" % (what, index, shown(item["mode"]))
        if not isinstance(item["contents"], str):
            return "%s; item %d has contents %s" % (what, index, shown(item["contents"]))
    return ""


def _integer_problem(name, value, minimum, maximum, unit, maximum_name):
    number = as_integer(value)
    if maximum is None:
        accepted = "from %s" % minimum
    elif maximum_name:
        accepted = "from %s to %s (%s)" % (minimum, maximum_name, maximum)
    else:
        accepted = "from %s to %s" % (minimum, maximum)
    if number is None or number < minimum or (maximum is not None and number > maximum):
        return "%s must be a whole number%s %s, got %s" % (name, unit, accepted, shown(value))
    return ""


def input_problem(name, value, kind, empty=False, minimum=None, maximum=None, maximum_name=None, choices=None):
    """The message that says why ``value`` is not valid for variable ``name`` of ``kind``, or ''.

    kinds: seconds (whole number of seconds, ``minimum`` 1 by default, up to ``maximum`` - the
    value of ``maximum_name`` for a poll interval), integer (``minimum``..``maximum``), dns_label,
    dns_subdomain, rbac_name, qualified_name (label/annotation key), label_map, label_selector,
    path (absolute, no '.'/'..' segments, no whitespace or shell metacharacters), url (http/https),
    version (x.y.z), choice (one of ``choices``), profile (a row of the profile table),
    kubelet_config (a mapping of KubeletConfiguration field names), files (MachineConfig files),
    text (non-empty). ``empty``: '' is accepted too (automatic).
    """
    if empty and value == "":
        return ""
    suffix = " (or empty for automatic)" if empty else ""
    if kind == "seconds":
        low = 1 if minimum is None else minimum
        high = as_integer(maximum) if maximum is not None else None
        if maximum is not None and (high is None or high < low):
            high = None  # the limit itself is invalid: its own check says so
        return _integer_problem(name, value, low, high, " of seconds", maximum_name if high is not None else None)
    if kind == "integer":
        return _integer_problem(name, value, 0 if minimum is None else minimum, maximum, "", maximum_name)
    if kind == "dns_label":
        return _text_problem(name, value, _DNS_LABEL_RE, DNS_LABEL_TEXT + suffix, 63)
    if kind == "dns_subdomain":
        return _text_problem(name, value, _DNS_SUBDOMAIN_RE, DNS_SUBDOMAIN_TEXT + suffix, 253)
    if kind == "rbac_name":
        return _text_problem(name, value, _RBAC_NAME_RE,
                             "a DNS-1123 name, ':' allowed (such as system:openshift:scc:privileged)" + suffix, 253)
    if kind == "qualified_name":
        problem = _label_key_problem(value)
        return "%s must be an annotation key ([DNS subdomain prefix/]name): %s" % (name, problem) if problem else ""
    if kind == "label_map":
        return _label_map_problem(name, value)
    if kind == "label_selector":
        return _selector_problem(name, value)
    if kind == "path":
        what = ("an absolute path of letters, digits, '.', '_', '+' and '-' (no whitespace, quotes, shell "
                "metacharacters or '.'/'..' segments), such as /var/ocpswap.file" + suffix)
        problem = _text_problem(name, value, _PATH_RE, what, 4096)
        if not problem and ("/../" in value + "/" or "/./" in value + "/"):
            problem = "%s must be %s, got %s" % (name, what, shown(value))
        return problem
    if kind == "url":
        return _text_problem(name, value, _URL_RE,
                             "an http(s) URL without whitespace, quotes or template/shell characters" + suffix, 2048)
    if kind == "version":
        return _text_problem(name, value, _VERSION_RE, "a version such as 3.4.0" + suffix, 32)
    if kind == "profile":
        kind, choices = "choice", list(load_profiles())
    if kind == "choice":
        allowed = list(choices or [])
        if not isinstance(value, str) or value not in allowed:
            return "%s must be one of %s%s, got %s" % (name, ", ".join(allowed), suffix, shown(value))
        return ""
    if kind == "kubelet_config":
        what = ("%s must be a mapping of KubeletConfiguration fields (camelCase names such as failSwapOn)%s"
                % (name, suffix.replace("empty", "{}")))
        if not isinstance(value, dict):
            return "%s, got %s" % (what, shown(value))
        bad = [key for key in value if not (isinstance(key, str) and _KUBELET_KEY_RE.fullmatch(key))]
        return "%s, got the key %s" % (what, shown(bad[0])) if bad else ""
    if kind == "files":
        return _files_problem(name, value)
    if kind == "text":
        if not isinstance(value, str) or not value.strip():
            return "%s must be a non-empty text, got %s" % (name, shown(value))
        return ""
    raise ValueError("input_problem: unknown kind %r for %s" % (kind, name))


# ---------------------------------------------------------------------------------------------
# the names the collection defines

def _load_yaml(path):
    import yaml  # PyYAML ships with ansible-core

    if not os.path.isfile(path):
        return None
    with open(path, "r") as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # nosec: safe loader


_ROLE_INPUTS_CACHE = {}


def _role_files(roles_dir):
    """(path, mtime) of every file role_inputs reads, to tell when a cached answer is stale."""
    found = []
    for root, _dirs, files in os.walk(roles_dir):
        if os.path.basename(root) in ("meta", "defaults"):
            found.extend((os.path.join(root, f), os.path.getmtime(os.path.join(root, f))) for f in sorted(files))
    return tuple(sorted(found))


def role_inputs(roles_dir):
    """Cached ``read_role_inputs`` (it is asked several times per run; YAML parsing is the cost)."""
    key = os.path.realpath(roles_dir)
    stamp = _role_files(key)
    cached = _ROLE_INPUTS_CACHE.get(key)
    if cached is None or cached[0] != stamp:
        cached = (stamp, read_role_inputs(key))
        _ROLE_INPUTS_CACHE[key] = cached
    return copy.deepcopy(cached[1])


def read_role_inputs(roles_dir):
    """Per role under ``roles_dir`` (sorted by name): ``{name, options, public}``.

    ``options`` are the argument spec options of the ``main`` entry point (the spec itself, for
    validation); ``public`` the names of every entry point's options and of the defaults: the
    role's inputs. Its internal names (registered results, facts, role vars) carry ``__`` in
    front of the role's prefix and are no input.
    """
    roles = []
    for name in sorted(os.listdir(roles_dir)):
        path = os.path.join(roles_dir, name)
        if not os.path.isdir(os.path.join(path, "tasks")):
            continue
        spec = (_load_yaml(os.path.join(path, "meta", "argument_specs.yml")) or {}).get("argument_specs") or {}
        options = dict((spec.get("main") or {}).get("options") or {})
        every_option = set()
        for entry in spec.values():
            every_option.update((entry or {}).get("options") or {})
        defaults = set(_load_yaml(os.path.join(path, "defaults", "main.yml")) or {})
        roles.append({
            "name": name,
            "options": options,
            "public": sorted(every_option | defaults),
        })
    return roles
