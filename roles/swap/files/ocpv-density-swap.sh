#!/bin/sh
# Provision and enable the node's swap file for OpenShift Virtualization memory overcommit.
# Installed by ocpv.density's swap MachineConfig as /usr/local/sbin/ocpv-density-swap.sh and run
# at boot by swap-provision.service. The MachineConfig is the same on every node of a pool, so
# it carries the overcommit ratio and each node sizes its own swap from MemTotal (the same
# number the kubelet reports as capacity.memory):
#   size_mib = MemTotal_kB * (OCPV_SWAP_OVERCOMMIT_PERCENT - 100) / 100 / 1024   (integer floor)
# OCPV_SWAP_SIZE_MIB, when set (rendered with swap_size_mib), is a fixed size for every node instead.
# The file is only (re)created when missing or of another size, so a reboot does not rewrite
# gigabytes; then it is enabled unless it already is.
set -eu

ENV_FILE=${OCPV_SWAP_ENV_FILE:-/etc/ocpv-density/swap.env}
PROC=${OCPV_SWAP_PROC:-/proc}

# shellcheck source=/dev/null
. "$ENV_FILE"

: "${OCPV_SWAP_SIZE_MIB:=}"
if [ -n "$OCPV_SWAP_SIZE_MIB" ]; then
  OCPV_SWAP_OVERCOMMIT_PERCENT=100
fi
: "${OCPV_SWAP_OVERCOMMIT_PERCENT:?not set in $ENV_FILE}"
: "${OCPV_SWAP_FILE:=/var/tmp/swapfile}"

case $OCPV_SWAP_OVERCOMMIT_PERCENT in
  '' | *[!0-9]*)
    echo "ocpv-density-swap: OCPV_SWAP_OVERCOMMIT_PERCENT must be an integer, got '$OCPV_SWAP_OVERCOMMIT_PERCENT'" >&2
    exit 1
    ;;
esac

mem_kb=$(awk '$1 == "MemTotal:" { print $2 }' "$PROC/meminfo")
if [ -z "$mem_kb" ]; then
  echo "ocpv-density-swap: cannot read MemTotal from $PROC/meminfo" >&2
  exit 1
fi

case $OCPV_SWAP_SIZE_MIB in
  '') size_mib=$((mem_kb * (OCPV_SWAP_OVERCOMMIT_PERCENT - 100) / 100 / 1024)) ;;
  *[!0-9]*)
    echo "ocpv-density-swap: OCPV_SWAP_SIZE_MIB must be an integer, got '$OCPV_SWAP_SIZE_MIB'" >&2
    exit 1
    ;;
  *) size_mib=$OCPV_SWAP_SIZE_MIB ;;
esac

is_active() {
  awk -v f="$OCPV_SWAP_FILE" 'NR > 1 && $1 == f { found = 1 } END { exit !found }' "$PROC/swaps"
}

if [ "$size_mib" -le 0 ]; then
  # No overcommit: no swap.
  if is_active; then swapoff "$OCPV_SWAP_FILE"; fi
  rm -f "$OCPV_SWAP_FILE"
  echo "ocpv-density-swap: overcommit ${OCPV_SWAP_OVERCOMMIT_PERCENT}%, no swap"
  exit 0
fi

want_bytes=$((size_mib * 1024 * 1024))
have_bytes=$(stat -c %s "$OCPV_SWAP_FILE" 2>/dev/null || echo 0)

if [ "$have_bytes" != "$want_bytes" ]; then
  if is_active; then swapoff "$OCPV_SWAP_FILE"; fi
  rm -f "$OCPV_SWAP_FILE"
  umask 077
  if ! fallocate -l "${size_mib}MiB" "$OCPV_SWAP_FILE"; then
    rm -f "$OCPV_SWAP_FILE"
    dd if=/dev/zero of="$OCPV_SWAP_FILE" bs=1M count="$size_mib" status=none
  fi
  chmod 600 "$OCPV_SWAP_FILE"
  mkswap "$OCPV_SWAP_FILE" >/dev/null
fi

if ! is_active; then
  swapon "$OCPV_SWAP_FILE"
fi

echo "ocpv-density-swap: ${size_mib} MiB of swap on $OCPV_SWAP_FILE (MemTotal ${mem_kb} kB, overcommit ${OCPV_SWAP_OVERCOMMIT_PERCENT}%)"
