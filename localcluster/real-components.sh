#!/usr/bin/env bash
# Install the real components the tests use as judges of what reaches the nodes (OCI runtimes,
# systemd-analyze, promtool, Ignition's validator, ...): Debian packages by apt-get where
# Debian's version serves, Go modules from the Go module proxy otherwise, cached outside the
# checkout by version like the control plane (build.sh). A second run is a no-op.
#
#   bash localcluster/real-components.sh              # install / build what is missing
#   bash localcluster/real-components.sh --print-dir  # where the Go-built tools are cached
#   bash localcluster/real-components.sh --print-path NAME  # one cached tool (exit 1: not built)
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

CACHE_ROOT=${OCPV_DENSITY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ocpv-density}
TOOLS_DIR="$CACHE_ROOT/tools"
LOG_DIR="$CACHE_ROOT/build-logs"

# Debian package -> a command it provides (checked with command -v before apt-get runs).
declare -A APT_PACKAGES=(
  [runc]=runc                        # OCI runtime: the hook under test (tests/unit/test_oci_hook_runtime.py)
  [crun]=crun                        # the other OCI runtime RHCOS ships (CRI-O's default from 4.18)
  [busybox-static]=busybox           # a static busybox: the bundle's rootfs for those containers
  [systemd]=systemd-analyze          # judges the MachineConfig's units (tests/integration/test_render_units.py)
  [file]=file                        # the runtime test checks that busybox is static (test_oci_hook_runtime.py)
)

# Go-built tools: name -> "module/path/cmd@version" (built once into $TOOLS_DIR/<name>-<version>/).
declare -A GO_TOOLS=(
)

# Go tools built from a small module in this repository: name -> its directory (relative to the
# repository root). Cached as $TOOLS_DIR/<name>-<hash>/<name>, the hash over the module's go.mod,
# go.sum and *.go, so the pinned upstream version (go.mod) and the source are the key.
declare -A LOCAL_GO_TOOLS=(
  [ignition-validate]=localcluster/ignition-validate  # github.com/coreos/ignition/v2, as MCO vendors
  [k8s-names]=localcluster/k8s-names  # k8s.io/apimachinery's name and label rules (issue 21's oracle)
)

# Binaries taken out of a Debian package without installing it (installing `prometheus` would
# start a Prometheus service): name -> "package:path/in/package". Cached as
# $TOOLS_DIR/<name>-<package version>/<name> (apt-get download + dpkg -x, no root needed for these).
declare -A APT_EXTRACT=(
  [promtool]=prometheus:usr/bin/promtool  # Debian 12: Prometheus 2.42.0
)
# promtool from Debian rather than built from github.com/prometheus/prometheus/cmd/promtool (the
# Go module proxy, as issue 15 first asked): the project prefers Debian's build where its version
# serves, and 2.42.0 has both `check rules` and `test rules` for the rule syntax used here; the
# Prometheus module is a long build on a 2-core machine and would add minutes to a fresh CI.

local_tool_dir() {  # name -> cache directory for the current source
  local src="$REPO_ROOT/${LOCAL_GO_TOOLS[$1]}" hash
  hash=$(cd "$src" && { cat go.mod go.sum; find . -maxdepth 1 -name '*.go' -print0 | LC_ALL=C sort -z | xargs -0 cat; } \
    | sha256sum | cut -c1-12)
  echo "$TOOLS_DIR/$1-$hash"
}

apt_candidate() {  # package -> candidate version ('' when apt knows none)
  apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ && $2 != "(none)" {print $2}'
}

if [ "${1:-}" = "--print-dir" ]; then echo "$TOOLS_DIR"; exit 0; fi
if [ "${1:-}" = "--print-path" ]; then
  name=${2:?--print-path NAME}
  if [ -n "${LOCAL_GO_TOOLS[$name]:-}" ]; then
    found="$(local_tool_dir "$name")/$name"
  elif [ -n "${APT_EXTRACT[$name]:-}" ] || [ -n "${GO_TOOLS[$name]:-}" ]; then
    found=$(find "$TOOLS_DIR" -mindepth 2 -maxdepth 2 -path "$TOOLS_DIR/$name-*/$name" 2>/dev/null | LC_ALL=C sort | tail -n 1)
  else
    echo "real-components: unknown tool $name" >&2; exit 2
  fi
  [ -n "$found" ] && [ -x "$found" ] || { echo "real-components: $name is not built; run: make real-components" >&2; exit 1; }
  echo "$found"; exit 0
fi
mkdir -p "$TOOLS_DIR" "$LOG_DIR"

missing=()
for pkg in "${!APT_PACKAGES[@]}"; do
  command -v "${APT_PACKAGES[$pkg]}" >/dev/null || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "==> apt-get install ${missing[*]}"
  command -v apt-get >/dev/null || { echo "real-components: apt-get not found; install ${missing[*]} by hand" >&2; exit 2; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >"$LOG_DIR/apt.log" 2>&1 || { tail -n 20 "$LOG_DIR/apt.log" >&2; exit 1; }
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$LOG_DIR/apt.log" 2>&1 \
    || { echo "real-components: apt-get install failed; see $LOG_DIR/apt.log" >&2; tail -n 20 "$LOG_DIR/apt.log" >&2; exit 1; }
fi

for name in "${!GO_TOOLS[@]}"; do
  spec=${GO_TOOLS[$name]}
  out="$TOOLS_DIR/$name-${spec##*@}"
  [ -x "$out/$name" ] && continue
  command -v go >/dev/null || { echo "real-components: 'go' not found on PATH (Go >= 1.26 needed)" >&2; exit 2; }
  echo "==> building $name from $spec (log: $LOG_DIR/$name.log)"
  tmp=$(mktemp -d)
  GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$tmp" go install -trimpath -ldflags "-s -w" "$spec" >"$LOG_DIR/$name.log" 2>&1 \
    || { echo "real-components: building $name failed; see $LOG_DIR/$name.log" >&2; tail -n 20 "$LOG_DIR/$name.log" >&2; rm -rf "$tmp"; exit 1; }
  mkdir -p "$out" && mv "$tmp/$name" "$out/$name" && rm -rf "$tmp"  # cached only when built whole
done
for name in "${!LOCAL_GO_TOOLS[@]}"; do
  out=$(local_tool_dir "$name")
  [ -x "$out/$name" ] && continue
  command -v go >/dev/null || { echo "real-components: 'go' not found on PATH (Go >= 1.26 needed)" >&2; exit 2; }
  echo "==> building $name from ${LOCAL_GO_TOOLS[$name]} (log: $LOG_DIR/$name.log)"
  tmp=$(mktemp -d)
  (cd "$REPO_ROOT/${LOCAL_GO_TOOLS[$name]}" && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly \
      go build -trimpath -ldflags "-s -w" -o "$tmp/$name" .) >"$LOG_DIR/$name.log" 2>&1 \
    || { echo "real-components: building $name failed; see $LOG_DIR/$name.log" >&2; tail -n 20 "$LOG_DIR/$name.log" >&2; rm -rf "$tmp"; exit 1; }
  mkdir -p "$out" && mv "$tmp/$name" "$out/$name" && rm -rf "$tmp"
done

for name in "${!APT_EXTRACT[@]}"; do
  pkg=${APT_EXTRACT[$name]%%:*} member=${APT_EXTRACT[$name]#*:}
  # A cached copy of any version serves without asking apt (a second run is a no-op offline).
  ls "$TOOLS_DIR/$name"-*/"$name" >/dev/null 2>&1 && continue
  command -v apt-get >/dev/null || { echo "real-components: apt-get not found; cannot fetch $name from Debian's $pkg" >&2; exit 2; }
  version=$(apt_candidate "$pkg")
  if [ -z "$version" ]; then
    apt-get update -qq >>"$LOG_DIR/apt.log" 2>&1 || { tail -n 20 "$LOG_DIR/apt.log" >&2; exit 1; }
    version=$(apt_candidate "$pkg")
  fi
  [ -n "$version" ] || { echo "real-components: apt knows no package $pkg (for $name)" >&2; exit 1; }
  echo "==> extracting $name from Debian's $pkg $version"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download "$pkg=$version" >>"$LOG_DIR/apt.log" 2>&1 && dpkg -x ./*.deb root) \
    || { echo "real-components: apt-get download $pkg failed; see $LOG_DIR/apt.log" >&2; tail -n 20 "$LOG_DIR/apt.log" >&2; rm -rf "$tmp"; exit 1; }
  out="$TOOLS_DIR/$name-${version//[^A-Za-z0-9.+~-]/_}"
  mkdir -p "$out" && mv "$tmp/root/$member" "$out/$name" && rm -rf "$tmp"
  "$out/$name" --version >/dev/null 2>&1 || { echo "real-components: $out/$name does not run" >&2; rm -rf "$out"; exit 1; }
done
echo "real components ready (Go-built tools in $TOOLS_DIR)"
