#!/usr/bin/env bash
# Install the real components the tests use as judges of what reaches the nodes (OCI runtimes,
# systemd-analyze, promtool, Ignition's validator, ...): Debian packages by apt-get where
# Debian's version serves, Go modules from the Go module proxy otherwise, cached outside the
# checkout by version like the control plane (build.sh). A second run is a no-op.
#
#   bash localcluster/real-components.sh              # install / build what is missing
#   bash localcluster/real-components.sh --print-dir  # where the Go-built tools are cached
set -euo pipefail

CACHE_ROOT=${OCPV_DENSITY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ocpv-density}
TOOLS_DIR="$CACHE_ROOT/tools"
LOG_DIR="$CACHE_ROOT/build-logs"

# Debian package -> a command it provides (checked with command -v before apt-get runs).
declare -A APT_PACKAGES=(
  [runc]=runc                        # OCI runtime: the hook under test (tests/unit/test_oci_hook_runtime.py)
  [crun]=crun                        # the other OCI runtime RHCOS ships (CRI-O's default from 4.18)
  [busybox-static]=busybox           # a static busybox: the bundle's rootfs for those containers
)

# Go-built tools: name -> "module/path/cmd@version" (built once into $TOOLS_DIR/<name>-<version>/).
declare -A GO_TOOLS=(
)

if [ "${1:-}" = "--print-dir" ]; then echo "$TOOLS_DIR"; exit 0; fi
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
echo "real components ready (Go-built tools in $TOOLS_DIR)"
