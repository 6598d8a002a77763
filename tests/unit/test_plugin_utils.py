# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Where the Python lives (issue 16, part 4): plugins/module_utils/ holds what a module imports
(AnsiballZ ships it to the target, where only module_utils can be imported); code that only
action, filter and lookup plugins import is controller-only and lives in plugins/plugin_utils/."""

import glob
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_IMPORT_RE = re.compile(r"plugins\.(module_utils|plugin_utils)(?:\.([a-z0-9_]+)| import ([a-z0-9_]+))")


def _imports(path):
    with open(path) as handle:
        return {(kind, a or b) for kind, a, b in _IMPORT_RE.findall(handle.read())}


def _module_side():
    """The module_utils files a module imports, directly or through others, and any plugin_utils."""
    seen, todo = set(), []
    for module in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py")):
        todo.extend(_imports(module))
    while todo:
        kind, name = todo.pop()
        if (kind, name) in seen:
            continue
        seen.add((kind, name))
        path = os.path.join(ROOT, "plugins", kind, name + ".py")
        if os.path.isfile(path):
            todo.extend(_imports(path))
    return seen


def test_no_module_imports_controller_only_code():
    assert [name for kind, name in _module_side() if kind == "plugin_utils"] == []


def test_module_utils_holds_only_what_a_module_imports():
    used = {name for kind, name in _module_side() if kind == "module_utils"}
    present = {os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "plugins", "module_utils", "*.py"))}
    assert present - used == set(), "controller-only: move to plugins/plugin_utils/"
    assert {"profiles", "cluster_facts", "upgrade", "swap_plan"} <= used  # profiles.py: via cluster_facts


def test_plugin_utils_is_imported_by_plugins_only():
    for name in glob.glob(os.path.join(ROOT, "plugins", "plugin_utils", "*.py")):
        name = os.path.basename(name)[:-3]
        users = [p for p in glob.glob(os.path.join(ROOT, "plugins", "*", "*.py")) if ("plugin_utils", name) in _imports(p)]
        assert users, name
