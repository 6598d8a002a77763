#!/usr/bin/env bash
# Build the real Kubernetes control plane (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl), etcd and kwok from the Go module proxy, and cache the
# binaries outside the repository, keyed by version. A second run is a no-op.
#
# Why a wrapper module: k8s.io/kubernetes requires its staging modules at v0.0.0 and
# replaces them with ./staging paths, so `go install k8s.io/kubernetes/cmd/...@vX` fails.
# The wrapper replaces each staging module with its published v0.Y.Z (read from
# Kubernetes' own go.mod: kubernetes/kubernetes go.mod, its `replace` block).
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.36.3}
ETCD_VERSION=${ETCD_VERSION:-v3.6.8}  # = what k8s.io/kubernetes v1.36.3 requires (MVS picks the higher one)
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
CACHE_ROOT=${OCPV_DENSITY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ocpv-density}
OUT="$CACHE_ROOT/bin/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok)

have_all() { for b in "${BINARIES[@]}"; do [ -x "$OUT/$b" ] || return 1; done; }

if [ "${1:-}" = "--print-dir" ]; then echo "$OUT"; exit 0; fi
if have_all; then echo "control plane binaries cached in $OUT"; exit 0; fi

command -v go >/dev/null || { echo "build-control-plane: 'go' not found on PATH (Go >= 1.26 needed)" >&2; exit 2; }

LOG_DIR="$CACHE_ROOT/build-logs"; mkdir -p "$LOG_DIR" "$OUT"
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
start=$(date +%s)

fail() { echo "build-control-plane: $1 failed; see $2" >&2; tail -n 20 "$2" >&2 || true; exit 1; }

echo "==> resolving k8s.io/kubernetes@$K8S_VERSION from the Go module proxy"
go mod init ocpv.local/k8sbins >"$LOG_DIR/mod.log" 2>&1
GOMOD=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" 2>>"$LOG_DIR/mod.log" \
        | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p') || true
[ -n "$GOMOD" ] && [ -f "$GOMOD" ] || fail "downloading k8s.io/kubernetes@$K8S_VERSION (is the Go module proxy reachable?)" "$LOG_DIR/mod.log"
STAGING="v0.${K8S_VERSION#v1.}"
while read -r m; do
  go mod edit -replace="$m=$m@$STAGING"
done < <(sed -n 's#^[[:space:]]*\(replace[[:space:]]*\)\{0,1\}\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\2#p' "$GOMOD")
go mod edit -go="$(sed -n 's/^go //p' "$GOMOD")" -require="k8s.io/kubernetes@$K8S_VERSION"
GODEBUG_LINE=$(sed -n 's/^godebug //p' "$GOMOD"); [ -z "$GODEBUG_LINE" ] || go mod edit -godebug="$GODEBUG_LINE"
go mod edit -require="go.etcd.io/etcd/server/v3@$ETCD_VERSION"

MINOR=$(cut -d. -f2 <<<"$K8S_VERSION")
V=k8s.io/component-base/version; C=k8s.io/client-go/pkg/version
LDF="-s -w -X $V.gitVersion=$K8S_VERSION -X $V.gitMajor=1 -X $V.gitMinor=$MINOR -X $V.gitTreeState=clean -X $C.gitVersion=$K8S_VERSION -X $C.gitMajor=1 -X $C.gitMinor=$MINOR"

echo "==> building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (log: $LOG_DIR/kubernetes.log)"
go build -trimpath -ldflags "$LDF" -o "$WORK/out/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl >"$LOG_DIR/kubernetes.log" 2>&1 \
  || fail "building Kubernetes $K8S_VERSION" "$LOG_DIR/kubernetes.log"

echo "==> building etcd $ETCD_VERSION (log: $LOG_DIR/etcd.log)"
go build -trimpath -ldflags "-s -w" -o "$WORK/out/etcd" go.etcd.io/etcd/server/v3 >"$LOG_DIR/etcd.log" 2>&1 \
  || fail "building etcd $ETCD_VERSION" "$LOG_DIR/etcd.log"

echo "==> building kwok $KWOK_VERSION (log: $LOG_DIR/kwok.log)"
GOBIN="$WORK/out" GOFLAGS="" go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" >"$LOG_DIR/kwok.log" 2>&1 \
  || fail "building kwok $KWOK_VERSION" "$LOG_DIR/kwok.log"

# The cache key must name what was really built: Go's version selection may raise etcd.
built_etcd=$("$WORK/out/etcd" --version | sed -n 's/^etcd Version: /v/p')
[ "$built_etcd" = "$ETCD_VERSION" ] || { echo "build-control-plane: built etcd $built_etcd, expected $ETCD_VERSION; set ETCD_VERSION=$built_etcd" >&2; exit 1; }

# Move into the cache only when everything built, so a half build is never "cached".
for b in "${BINARIES[@]}"; do mv "$WORK/out/$b" "$OUT/$b"; done
end=$(date +%s)
echo "control plane built in $((end - start)) s into $OUT ($(du -sh "$OUT" | cut -f1))"
