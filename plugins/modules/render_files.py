#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
module: render_files
short_description: Write Kubernetes objects as YAML files, all or none
version_added: "0.2.0"
description:
  - Writes each object of O(objects) as one YAML document into O(dest), in a file named
    C(<kind>-<name>.yaml) (kind in lower case).
  - Every file is first written into a temporary directory beside O(dest); only when every object
    is written are the files moved into O(dest) (a rename each, on the same filesystem), so a
    failure leaves O(dest) as it was and no temporary directory behind.
  - Files of O(dest) that are not among the objects are left alone.
  - In check mode writes nothing and returns what it would write.
author:
  - ocpv.density maintainers (!UNKNOWN)
requirements: []
options:
  objects:
    description: The objects, each with C(kind) and C(metadata.name).
    type: list
    elements: dict
    required: true
  dest:
    description: The directory; created (mode 0755) when missing, its parent must exist.
    type: path
    required: true
attributes:
  check_mode:
    support: full
    description: Returns the files it would write, writes nothing.
  diff_mode:
    support: none
    description: Returns the names of the files that change, not their diff.
notes:
  - Runs where the play runs (the controller with C(connection=local)).
"""

EXAMPLES = r"""
- name: Write the objects the run would apply
  ocpv.density.render_files:
    objects: "{{ __preflight_render_objects }}"
    dest: "{{ render_dir }}"
"""

RETURN = r"""
files:
  description: The file names, in the order of O(objects).
  type: list
  elements: str
  returned: always
changed_files:
  description: The files whose content was new or different (would be, in check mode).
  type: list
  elements: str
  returned: always
dest:
  description: The directory, as an absolute path.
  type: str
  returned: always
"""

import os
import re
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None

_NAME_RE = re.compile(r"[a-z0-9](?:[-a-z0-9.:]*[a-z0-9])?")


def file_name(obj):
    """``<kind>-<name>.yaml``; ':' (ClusterRole names) becomes '-'."""
    kind = str(obj.get("kind") or "")
    name = str((obj.get("metadata") or {}).get("name") or "")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", kind) or len(name) > 253 or not _NAME_RE.fullmatch(name):
        raise ValueError("object %r %r has no valid kind and name" % (kind, name))
    return "%s-%s.yaml" % (kind.lower(), name.replace(":", "-"))


def document(obj):
    return "---\n" + yaml.safe_dump(obj, indent=2, sort_keys=False, default_flow_style=False, allow_unicode=True)


def _same(path, text):
    try:
        with open(path, "r", encoding="utf-8") as handle:
            return handle.read() == text
    except (IOError, OSError):
        return False


def write_all(objects, dest, check_mode=False):
    """Write every object, all or none. Returns (files, changed_files)."""
    dest = os.path.abspath(dest)
    planned = [(file_name(obj), document(obj)) for obj in objects]
    names = [name for name, _text in planned]
    if len(set(names)) != len(names):
        raise ValueError("two objects would be written to the same file: %s" % ", ".join(
            sorted(n for n in set(names) if names.count(n) > 1)))
    changed = [name for name, text in planned if not _same(os.path.join(dest, name), text)]
    if check_mode or not changed:
        return names, changed
    # Everything that could stop a move is found before the first file moves.
    for name in changed:
        target = os.path.join(dest, name)
        if os.path.lexists(target) and (os.path.islink(target) or not os.path.isfile(target)):
            raise ValueError("%s exists and is not a regular file" % target)
    if os.path.isdir(dest) and not os.access(dest, os.W_OK | os.X_OK):
        raise ValueError("it is not writable")
    parent = os.path.dirname(dest)
    staging = tempfile.mkdtemp(prefix=".%s.render-" % os.path.basename(dest), dir=parent)
    try:
        for name, text in planned:
            with open(os.path.join(staging, name), "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(os.path.join(staging, name), 0o644)
        if not os.path.isdir(dest):
            os.mkdir(dest, 0o755)
        for name in changed:
            os.replace(os.path.join(staging, name), os.path.join(dest, name))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return names, changed


def main():
    module = AnsibleModule(
        argument_spec=dict(objects=dict(type="list", elements="dict", required=True),
                           dest=dict(type="path", required=True)),
        supports_check_mode=True,
    )
    if yaml is None:  # pragma: no cover
        module.fail_json(msg="render_files needs PyYAML")
    dest = os.path.abspath(module.params["dest"])
    try:
        files, changed = write_all(module.params["objects"], dest, check_mode=module.check_mode)
    except (ValueError, IOError, OSError) as exc:
        module.fail_json(msg="render_dir %s: %s. Nothing was written." % (dest, exc), dest=dest)
    module.exit_json(changed=bool(changed), files=files, changed_files=changed, dest=dest)


if __name__ == "__main__":
    main()
