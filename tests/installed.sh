#!/usr/bin/env bash
# The collection as users get it (what `make installed` runs): build the tarball with
# `ansible-galaxy collection build`, install it into an empty collections path, and from there,
# with no checkout on any path and no ansible.cfg of ours:
#   - the tarball holds what a user needs and none of the harness (LICENSE in, tests/unit out, ...);
#   - `ansible-test sanity` passes on the installed tree (tests/sanity/run.sh with OCPV_SANITY_TREE);
#   - `ansible-doc` renders every plugin and every role of the installed collection;
#   - the offline render (`ansible-playbook ocpv.density.site -e render_dir=...`) writes its files.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -x "$ROOT/.venv/bin/ansible-galaxy" ]]; then
    export PATH="$ROOT/.venv/bin:$PATH"
fi
TMP="$(mktemp -d "${TMPDIR:-/tmp}/ocpv-density-installed.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
SECONDS=0
fail() { echo "FAIL  installed collection: $*" >&2; exit 1; }

# --- build and install ------------------------------------------------------------------------
cd "$TMP"  # no checkout on any path from here on (the checkout's ansible.cfg would find itself)
unset ANSIBLE_CONFIG
ansible-galaxy collection build --output-path "$TMP/dist" "$ROOT" >"$TMP/build.log" 2>&1 \
    || { cat "$TMP/build.log" >&2; fail "ansible-galaxy collection build failed"; }
tarball="$(ls "$TMP"/dist/ocpv-density-*.tar.gz)"
# --no-deps: kubernetes.core comes with the `ansible` package (requirements.txt), as for users
ansible-galaxy collection install --offline --no-deps --force -p "$TMP/collections" "$tarball" >"$TMP/install.log" 2>&1 \
    || { cat "$TMP/install.log" >&2; fail "ansible-galaxy collection install failed"; }
INSTALLED="$TMP/collections/ansible_collections/ocpv/density"
[[ -f "$INSTALLED/MANIFEST.json" ]] || fail "no MANIFEST.json in $INSTALLED"

# --- what ships -------------------------------------------------------------------------------
tar -tzf "$tarball" | sed 's#^\./##' >"$TMP/contents.txt"
for wanted in LICENSE README.md MANIFEST.json FILES.json meta/runtime.yml playbooks/site.yml \
    roles/swap/meta/argument_specs.yml plugins/modules/swap_size.py tests/sanity/ignore-2.19.txt; do
    grep -qx "$wanted" "$TMP/contents.txt" || fail "the tarball lacks $wanted"
done
for unwanted in '^tests/unit/' '^tests/integration/' '^tests/lint\.sh$' '^tests/sanity/run\.sh$' \
    '^molecule/' '^localcluster/' '^benchmarks/' '^Makefile$' '^ansible\.cfg$' '^requirements-dev\.txt$' \
    '^constraints\.txt$' '^\.ci/' '__pycache__' '\.pyc$'; do
    if grep -E "$unwanted" "$TMP/contents.txt" >"$TMP/found.txt"; then
        fail "the tarball ships harness or checkout-only files ($unwanted): $(head -3 "$TMP/found.txt" | tr '\n' ' ')"
    fi
done
if grep -rn 'example\.invalid\|PLACEHOLDER' "$INSTALLED/MANIFEST.json" >/dev/null; then
    fail "MANIFEST.json carries placeholder URLs"
fi
echo "ok    tarball: $(wc -l <"$TMP/contents.txt") entries, LICENSE in, harness out"

# --- from the installed tree only -------------------------------------------------------------
export ANSIBLE_COLLECTIONS_PATH="$TMP/collections" ANSIBLE_NOCOLOR=1 ANSIBLE_ROLES_PATH="$TMP/no-roles"

count=0
for type in module lookup filter test; do
    names="$(ansible-doc -t "$type" --list --json ocpv.density 2>/dev/null |
        python3 -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin))))')"
    for name in $names; do
        ansible-doc -t "$type" "$name" >"$TMP/doc.txt" 2>"$TMP/doc.err" || fail "ansible-doc -t $type $name: $(cat "$TMP/doc.err")"
        [[ -s "$TMP/doc.txt" && ! -s "$TMP/doc.err" ]] || fail "ansible-doc -t $type $name printed nothing or warned: $(cat "$TMP/doc.err")"
        count=$((count + 1))
    done
done
[[ $count -ge 5 ]] || fail "ansible-doc found only $count plugins in the installed collection"
for role in "$INSTALLED"/roles/*/; do
    role="$(basename "$role")"
    ansible-doc -t role "ocpv.density.$role" >"$TMP/doc.txt" 2>"$TMP/doc.err" || fail "ansible-doc -t role ocpv.density.$role: $(cat "$TMP/doc.err")"
    [[ -s "$TMP/doc.txt" && ! -s "$TMP/doc.err" ]] || fail "ansible-doc -t role ocpv.density.$role printed nothing or warned"
    count=$((count + 1))
done
echo "ok    ansible-doc: $count plugins and roles render from the installed collection"

ansible-playbook ocpv.density.site -e render_dir="$TMP/render" -e density_profile=manual-4.17 \
    -e swap_size_mib=8192 >"$TMP/render.log" 2>&1 || { tail -n 30 "$TMP/render.log" >&2; fail "the offline render failed"; }
for f in machineconfig-90-worker-swap.yaml daemonset-wasp-agent.yaml namespace-wasp.yaml; do
    [[ -s "$TMP/render/$f" ]] || fail "the offline render wrote no $f (it wrote: $(find "$TMP/render" -type f -printf '%f '))"
done
echo "ok    offline render from the installed collection: $(find "$TMP/render" -type f | wc -l) files"

OCPV_SANITY_TREE="$INSTALLED" bash "$ROOT/tests/sanity/run.sh" >"$TMP/sanity.log" 2>&1 \
    || { tail -n 40 "$TMP/sanity.log" >&2; fail "ansible-test sanity on the installed tree"; }
echo "ok    ansible-test sanity on the installed tree"
echo "PASS  installed collection (${SECONDS}s)"
