#!/usr/bin/env bash
# Quality gates for ocpv.density (what `make lint` runs). Offline: no schema downloads, no Galaxy.
#
#   bash tests/lint.sh            # every gate
#   bash tests/lint.sh yamllint   # only the named gates (ansible-lint yamllint shellcheck
#                                 #   changelog ansible-doc docs-lint roles)
#
# Each gate prints its own output, then one summary line per gate at the end. Every gate runs
# even when an earlier one failed; the exit status is non-zero when any gate failed.
# Directories that do not exist yet (plugins/, roles/, ...) are simply not checked.
# shellcheck disable=SC2329  # gate functions are invoked indirectly, through run_gate
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 2

# Tools from the project venv when there is one (make setup), else from PATH.
if [[ -x "$ROOT/.venv/bin/ansible-lint" ]]; then
    export PATH="$ROOT/.venv/bin:$PATH"
fi
export ANSIBLE_CONFIG="$ROOT/ansible.cfg"
export ANSIBLE_LINT_SKIP_SCHEMA_UPDATE=1
export ANSIBLE_NOCOLOR=1
export PY_COLORS=0

COLLECTION="ocpv.density"

# The checkout is used as installed collection through .collections/ (as `make setup` does).
if [[ ! -e .collections/ansible_collections/ocpv/density ]]; then
    mkdir -p .collections/ansible_collections/ocpv
    ln -sfn ../../.. .collections/ansible_collections/ocpv/density
fi

# Files of the project: tracked plus untracked-but-not-ignored, that exist on disk.
project_files() {
    if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git -C "$ROOT" ls-files -co --exclude-standard -z |
            while IFS= read -r -d '' f; do [[ -f "$f" && ! -L "$f" ]] && printf '%s\n' "$f"; done
    else
        find . \( -name .git -o -name '.venv*' -o -name .collections -o -name .localcluster \
            -o -name .tox -o -name output -o -name __pycache__ \) -prune -o -type f -print |
            sed 's|^\./||'
    fi
}

declare -a SUMMARY=()
FAILED=0

# run_gate NAME FUNCTION: runs the gate, records "PASS/FAIL/SKIP NAME (seconds) detail".
GATE_DETAIL=""
run_gate() {
    local name="$1" fn="$2" start rc
    if [[ ${#SELECTED[@]} -gt 0 && " ${SELECTED[*]} " != *" $name "* ]]; then
        return 0
    fi
    printf '\n===== %s =====\n' "$name"
    GATE_DETAIL=""
    start=$SECONDS
    "$fn"
    rc=$?
    local took=$((SECONDS - start))
    case $rc in
        0) SUMMARY+=("PASS  $name (${took}s) $GATE_DETAIL") ;;
        77) SUMMARY+=("SKIP  $name (${took}s) $GATE_DETAIL") ;;
        *) SUMMARY+=("FAIL  $name (${took}s) $GATE_DETAIL"); FAILED=1 ;;
    esac
}

need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "missing tool: $1 (run 'make setup')"
        GATE_DETAIL="missing tool $1"
        return 1
    fi
}

# ---------------------------------------------------------------------------------------------
gate_ansible_lint() {
    need ansible-lint || return 1
    # Profile, rules and excluded paths are in .ansible-lint; --offline: no Galaxy, no schemas.
    ansible-lint --profile production --offline --nocolor -q
}

gate_yamllint() {
    need yamllint || return 1
    local -a files=()
    mapfile -t files < <(project_files | grep -E '(\.ya?ml|^\.yamllint|/\.yamllint|^\.ansible-lint)$')
    GATE_DETAIL="${#files[@]} files"
    [[ ${#files[@]} -eq 0 ]] && return 0
    # --strict: warnings fail too. Paths in .yamllint `ignore:` are skipped.
    yamllint --strict --format parsable "${files[@]}"
}

gate_shellcheck() {
    need shellcheck || return 1
    local -a files=()
    local f
    while IFS= read -r f; do
        if [[ "$f" == *.sh ]] || head -n1 "$f" 2>/dev/null | grep -qE '^#!.*[/ ](ba|da|k)?sh( |$)'; then
            files+=("$f")
        fi
    done < <(project_files | grep -vE '\.(py|ya?ml|md|rst|json|j2|txt|cfg|toml|ini)$')
    GATE_DETAIL="${#files[@]} scripts"
    [[ ${#files[@]} -eq 0 ]] && return 0
    shellcheck --external-sources --format=gcc "${files[@]}"
}

gate_changelog() {
    need antsibull-changelog || return 1
    if [[ ! -f changelogs/config.yaml ]]; then
        echo "changelogs/config.yaml is missing"
        return 1
    fi
    local rc=0
    antsibull-changelog lint || rc=1
    if [[ -f changelogs/changelog.yaml ]]; then
        antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml || rc=1
    fi
    GATE_DETAIL="$(find changelogs/fragments -type f 2>/dev/null | wc -l | tr -d ' ') fragments"
    return "$rc"
}

# ansible-doc must render every plugin's documentation without an error or a warning.
# Names come from the plugin files and, for filters/tests, from the YAML docs beside them and
# from `ansible-doc --list` (so a filter exported without documentation fails too). An action
# plugin is documented by the module of the same name. One ansible-doc call per plugin type;
# when it fails or warns, each plugin of that type is rendered alone to name the culprit.
doc_render() { # doc_render TYPE NAME... -> 0 when every doc renders silently
    local type="$1" err out rc
    shift
    err="$(mktemp)"
    out="$(ansible-doc -t "$type" "${@/#/$COLLECTION.}" 2>"$err")"
    rc=$?
    if [[ $rc -ne 0 || -s "$err" || -z "$out" ]]; then
        DOC_ERROR="rc=$rc $(cat "$err")"
        rm -f "$err"
        return 1
    fi
    rm -f "$err"
}

gate_ansible_doc() {
    need ansible-doc || return 1
    [[ -d plugins ]] || { GATE_DETAIL="no plugins/"; return 77; }
    local rc=0 count=0 dir type f name listed
    local -A names_by_type=()
    for dir in plugins/*/; do
        dir="${dir%/}"
        case "${dir#plugins/}" in
            modules | action) type=module ;; # an action plugin is documented by plugins/modules/<name>.py
            module_utils | doc_fragments | plugin_utils | __pycache__) continue ;;
            *) type="${dir#plugins/}" ;;
        esac
        if [[ "$type" == filter || "$type" == test ]]; then
            # one file holds several plugins: names from the YAML docs and from --list
            for f in "$dir"/*.yml "$dir"/*.yaml; do
                [[ -e "$f" ]] && names_by_type[$type]+=" $(basename "${f%.*}")"
            done
            if ! listed="$(ansible-doc -t "$type" --list --json "$COLLECTION" 2>/dev/null |
                python3 -c 'import json,sys; print(" ".join(k.split(".")[-1] for k in json.load(sys.stdin)))')"; then
                echo "ansible-doc -t $type --list $COLLECTION failed"
                rc=1
            fi
            names_by_type[$type]+=" $listed"
        else
            for f in "$dir"/*.py; do
                name="$(basename "$f" .py)"
                [[ -e "$f" && "$name" != __init__ ]] && names_by_type[$type]+=" $name"
            done
        fi
    done
    for type in "${!names_by_type[@]}"; do
        local -a names=()
        read -r -a names < <(tr ' ' '\n' <<<"${names_by_type[$type]}" | sed '/^$/d' | sort -u | tr '\n' ' ')
        [[ ${#names[@]} -eq 0 ]] && continue
        count=$((count + ${#names[@]}))
        if doc_render "$type" "${names[@]}"; then
            printf 'ok    %s %s\n' "$type" "${names[*]}"
            continue
        fi
        rc=1
        for name in "${names[@]}"; do
            if doc_render "$type" "$name"; then
                echo "ok    $type $COLLECTION.$name"
            else
                echo "FAIL  ansible-doc -t $type $COLLECTION.$name: ${DOC_ERROR}"
            fi
        done
    done
    GATE_DETAIL="$count plugins"
    return "$rc"
}

# antsibull-docs validates the documentation markup of plugins and role argument specs
# (what docs builds would reject). Offline.
gate_docs_lint() {
    need antsibull-docs || return 1
    [[ -d plugins || -d roles ]] || { GATE_DETAIL="no plugins/ or roles/"; return 77; }
    # It copies the collection (its git-visible files) and its dependencies (kubernetes.core) to
    # a temp tree. A dependency inside the venv would count as part of this git work tree when the
    # venv is .venv/ here (and so be copied empty): stop git's repository search at the venv.
    GIT_CEILING_DIRECTORIES="$(python3 -c 'import sys; print(sys.prefix)')" \
        antsibull-docs lint-collection-docs --plugin-docs --skip-rstcheck .
}

# Every role has meta/argument_specs.yml (with a `main` entry point when tasks/main.yml exists)
# and a README.md.
gate_roles() {
    [[ -d roles ]] || { GATE_DETAIL="no roles/"; return 77; }
    local rc=0 count=0 role
    for role in roles/*/; do
        role="${role%/}"
        [[ -d "$role" ]] || continue
        count=$((count + 1))
        if [[ ! -f "$role/README.md" ]]; then
            echo "$role: README.md missing"
            rc=1
        fi
        if [[ ! -f "$role/meta/argument_specs.yml" ]]; then
            echo "$role: meta/argument_specs.yml missing"
            rc=1
            continue
        fi
        if ! python3 - "$role" <<'PY'; then
import os
import sys

import yaml

role = sys.argv[1]
path = os.path.join(role, "meta", "argument_specs.yml")
try:
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
except yaml.YAMLError as exc:
    sys.exit(f"{path}: not valid YAML: {exc}")
specs = data.get("argument_specs") if isinstance(data, dict) else None
if not isinstance(specs, dict) or not specs:
    sys.exit(f"{path}: no 'argument_specs' mapping")
problems = []
tasks = os.path.join(role, "tasks")
for entry in ("main",):
    if any(os.path.isfile(os.path.join(tasks, entry + ext)) for ext in (".yml", ".yaml")) and entry not in specs:
        problems.append(f"{path}: entry point '{entry}' has tasks but no argument spec")
for entry, spec in specs.items():
    if not isinstance(spec, dict):
        problems.append(f"{path}: entry point '{entry}' is not a mapping")
    elif not spec.get("short_description"):
        problems.append(f"{path}: entry point '{entry}' has no short_description")
if problems:
    sys.exit("\n".join(problems))
PY
            rc=1
        fi
    done
    GATE_DETAIL="$count roles"
    return "$rc"
}

# ---------------------------------------------------------------------------------------------
declare -a SELECTED=("$@")
TOTAL_START=$SECONDS

run_gate ansible-lint gate_ansible_lint
run_gate yamllint gate_yamllint
run_gate shellcheck gate_shellcheck
run_gate changelog gate_changelog
run_gate ansible-doc gate_ansible_doc
run_gate docs-lint gate_docs_lint
run_gate roles gate_roles

printf '\n===== summary (%ss) =====\n' "$((SECONDS - TOTAL_START))"
printf '%s\n' "${SUMMARY[@]}"
exit $FAILED
