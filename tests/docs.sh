#!/usr/bin/env bash
# The collection's docs and changelog as the ecosystem's tools make them (what `make docs` runs):
#   - antsibull-docs builds the docs site (every plugin, every role's argument spec) as HTML with
#     Sphinx, warnings as errors, into tests/output/docs/html;
#   - antsibull-changelog release renders CHANGELOG.rst from the fragments (in a copy of the
#     checkout: the fragments stay), into tests/output/docs/CHANGELOG.rst, checked by rstcheck.
# Offline: kubernetes.core and community.okd (referred to by our docs) are built beside ours;
# the few Ansible docsite pages referred to get local stand-in labels (docs/site/).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -x "$ROOT/.venv/bin/antsibull-docs" ]]; then
    export PATH="$ROOT/.venv/bin:$PATH"
fi
OUT="$ROOT/tests/output/docs"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/ocpv-density-docs.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
SECONDS=0
fail() { echo "FAIL  docs: $*" >&2; exit 1; }
if [[ ! -e "$ROOT/.collections/ansible_collections/ocpv/density" ]]; then
    mkdir -p "$ROOT/.collections/ansible_collections/ocpv"
    ln -sfn ../../.. "$ROOT/.collections/ansible_collections/ocpv/density"
fi
export ANSIBLE_COLLECTIONS_PATH="$ROOT/.collections" ANSIBLE_NOCOLOR=1
unset ANSIBLE_CONFIG

# --- docs site ---------------------------------------------------------------------------------
site="$TMP/site"
mkdir -p "$site" && chmod 755 "$site"
antsibull-docs sphinx-init --use-current --dest-dir "$site" ocpv.density >"$TMP/init.log" 2>&1 \
    || { cat "$TMP/init.log" >&2; fail "antsibull-docs sphinx-init"; }
echo "intersphinx_mapping = {}  # offline: no inventory of docs.ansible.com (docs/site/ stands in)" >>"$site/conf.py"
mkdir -p "$site/rst" && chmod og-w "$site/rst"
antsibull-docs --config-file "$site/antsibull-docs.cfg" collection --use-current --fail-on-error \
    --dest-dir "$site/rst" ocpv.density kubernetes.core community.okd >"$TMP/collection.log" 2>&1 \
    || { tail -n 30 "$TMP/collection.log" >&2; fail "antsibull-docs collection"; }
cp "$ROOT"/docs/site/*.rst "$site/rst/"
sphinx-build -M html "$site/rst" "$site/build" -c "$site" -W --keep-going >"$TMP/sphinx.log" 2>&1 \
    || { grep -E "WARNING|ERROR" "$TMP/sphinx.log" | head -n 30 >&2; fail "sphinx-build (warnings are errors)"; }
for page in ocpv/density/index ocpv/density/swap_size_module ocpv/density/swap_role ocpv/density/qos_class_filter; do
    [[ -s "$site/build/html/collections/$page.html" ]] || fail "the docs site has no $page.html"
done
rm -rf "$OUT" && mkdir -p "$OUT"
cp -r "$site/build/html" "$OUT/html"
echo "ok    docs site: $(find "$OUT/html/collections/ocpv" -name '*.html' | wc -l) pages of ocpv.density, no warnings"

# --- changelog ---------------------------------------------------------------------------------
copy="$TMP/checkout"
mkdir -p "$copy"
(cd "$ROOT" && git ls-files -co --exclude-standard -z -- changelogs galaxy.yml plugins roles meta playbooks |
    tar --null -T - -cf -) | tar -xf - -C "$copy"
version="$(python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["version"])' "$ROOT/galaxy.yml")"
(cd "$copy" && antsibull-changelog release --version "$version" >"$TMP/changelog.log" 2>&1) \
    || { cat "$TMP/changelog.log" >&2; fail "antsibull-changelog release"; }
[[ -s "$copy/CHANGELOG.rst" ]] || fail "antsibull-changelog wrote no CHANGELOG.rst"
rstcheck --report-level warning "$copy/CHANGELOG.rst" >"$TMP/rstcheck.log" 2>&1 \
    || { cat "$TMP/rstcheck.log" >&2; fail "rstcheck CHANGELOG.rst"; }
cp "$copy/CHANGELOG.rst" "$OUT/CHANGELOG.rst"
echo "ok    CHANGELOG.rst for $version: $(grep -c '^- ' "$OUT/CHANGELOG.rst") entries (tests/output/docs/CHANGELOG.rst)"
echo "PASS  docs (${SECONDS}s)"
