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
#
# The file lives in /var, not /var/tmp, which systemd-tmpfiles cleans by age; an older file at
# OCPV_SWAP_LEGACY_FILES (default /var/tmp/swapfile: earlier releases of this collection and the
# 4.16-4.21 docs) is turned off and removed first, in the same boot (openshift/openshift-docs
# 1fe4a88 modules/virt-enabling-higher-vm-workload-density.adoc: /var/ocpswap.file).
#
# Never fills the disk: the file is written with fallocate only (no dd fallback), only when the
# filesystem keeps max(OCPV_SWAP_RESERVE_MIB, OCPV_SWAP_RESERVE_PERCENT % of it) free afterwards
# (preflight's margin, plugins/module_utils/swap_plan.py), and a partial file is removed on any
# failure. When it cannot fit, swap stays off and the script says why in the journal and exits
# 0, so the unit never holds the kubelet back (verify reports the node without swap); any other
# failure (fallocate, mkswap, swapon) exits 1, and the unit is only wanted by
# kubelet-dependencies.target, so the node still starts.
set -eu

ENV_FILE=${OCPV_SWAP_ENV_FILE:-/etc/ocpv-density/swap.env}
PROC=${OCPV_SWAP_PROC:-/proc}
# Largest swap file accepted, MiB (16 TiB): keeps every byte count far from shell integer limits.
MAX_MIB=16777216

say() { printf 'ocpv-density-swap: %s\n' "$*"; }
die() {
  printf 'ocpv-density-swap: %s\n' "$*" >&2
  exit 1
}

# shellcheck source=/dev/null
. "$ENV_FILE"

: "${OCPV_SWAP_SIZE_MIB:=}"
if [ -n "$OCPV_SWAP_SIZE_MIB" ]; then
  OCPV_SWAP_OVERCOMMIT_PERCENT=100
fi
: "${OCPV_SWAP_OVERCOMMIT_PERCENT:?not set in $ENV_FILE}"
: "${OCPV_SWAP_FILE:=/var/ocpswap.file}"
: "${OCPV_SWAP_LEGACY_FILES=/var/tmp/swapfile}"
: "${OCPV_SWAP_RESERVE_MIB:=10240}"
: "${OCPV_SWAP_RESERVE_PERCENT:=15}"

# integer NAME VALUE MAX_DIGITS: a plain non-negative decimal of at most MAX_DIGITS digits.
integer() {
  case $2 in
    '' | *[!0-9]*) die "$1 must be an integer, got '$2'" ;;
  esac
  [ "${#2}" -le "$3" ] || die "$1 is out of range, got '$2'"
}
integer OCPV_SWAP_OVERCOMMIT_PERCENT "$OCPV_SWAP_OVERCOMMIT_PERCENT" 4
[ "$OCPV_SWAP_OVERCOMMIT_PERCENT" -le 1000 ] || die "OCPV_SWAP_OVERCOMMIT_PERCENT must be at most 1000, got $OCPV_SWAP_OVERCOMMIT_PERCENT"
integer OCPV_SWAP_RESERVE_MIB "$OCPV_SWAP_RESERVE_MIB" 9
integer OCPV_SWAP_RESERVE_PERCENT "$OCPV_SWAP_RESERVE_PERCENT" 2
case $OCPV_SWAP_FILE in
  /*) ;;
  *) die "OCPV_SWAP_FILE must be an absolute path, got '$OCPV_SWAP_FILE'" ;;
esac

mem_kb=$(awk '$1 == "MemTotal:" { print $2 }' "$PROC/meminfo")
case $mem_kb in
  '' | *[!0-9]*) die "cannot read MemTotal from $PROC/meminfo" ;;
esac
[ "${#mem_kb}" -le 12 ] || die "MemTotal $mem_kb kB is out of range"

if [ -n "$OCPV_SWAP_SIZE_MIB" ]; then
  integer OCPV_SWAP_SIZE_MIB "$OCPV_SWAP_SIZE_MIB" 9
  size_mib=$OCPV_SWAP_SIZE_MIB
else
  size_mib=$((mem_kb * (OCPV_SWAP_OVERCOMMIT_PERCENT - 100) / 100 / 1024))
fi
if [ "$size_mib" -gt "$MAX_MIB" ]; then
  die "$size_mib MiB of swap is more than the $MAX_MIB MiB this script provisions; swap stays off"
fi

is_active() {
  awk -v f="$1" 'NR > 1 && $1 == f { found = 1 } END { exit !found }' "$PROC/swaps"
}

# off_and_removed FILE: swapoff FILE if it is active, then remove it.
off_and_removed() {
  if is_active "$1"; then swapoff "$1"; fi
  rm -f "$1"
}

# The migration: an older swap file elsewhere is turned off and removed before the new one.
for legacy in $OCPV_SWAP_LEGACY_FILES; do
  if [ "$legacy" != "$OCPV_SWAP_FILE" ] && { [ -e "$legacy" ] || is_active "$legacy"; }; then
    off_and_removed "$legacy"
    say "removed the old swap file $legacy (now $OCPV_SWAP_FILE)"
  fi
done

if [ "$size_mib" -le 0 ]; then
  # No overcommit: no swap.
  off_and_removed "$OCPV_SWAP_FILE"
  say "overcommit ${OCPV_SWAP_OVERCOMMIT_PERCENT}%, no swap"
  exit 0
fi

want_bytes=$((size_mib * 1024 * 1024))
have_bytes=$(stat -c %s "$OCPV_SWAP_FILE" 2>/dev/null || echo 0)

if [ "$have_bytes" != "$want_bytes" ]; then
  off_and_removed "$OCPV_SWAP_FILE"
  dir=$(dirname "$OCPV_SWAP_FILE")
  # swap_file may name a directory of its own under /var (/var/swap/node.swap): made here, once.
  if [ ! -d "$dir" ]; then
    { mkdir -p "$dir" && chmod 0700 "$dir"; } || die "cannot make the directory $dir for $OCPV_SWAP_FILE; swap stays off"
  fi
  # Filesystem size and free space, in KiB (POSIX df output, one line per filesystem).
  df_line=$(df -Pk "$dir" | awk 'NR == 2 { print $2, $4 }')
  fs_kb=${df_line% *}
  free_kb=${df_line#* }
  case "$fs_kb$free_kb" in
    '' | *[!0-9]*) die "cannot read the free space of $dir (df -Pk: '$df_line')" ;;
  esac
  fs_mib=$((fs_kb / 1024))
  free_mib=$((free_kb / 1024))
  reserve_mib=$((fs_mib * OCPV_SWAP_RESERVE_PERCENT / 100))
  if [ "$reserve_mib" -lt "$OCPV_SWAP_RESERVE_MIB" ]; then reserve_mib=$OCPV_SWAP_RESERVE_MIB; fi
  if [ $((size_mib + reserve_mib)) -gt "$free_mib" ]; then
    # Not a failure of the unit (issue 21): the node starts without swap, the journal says why.
    printf 'ocpv-density-swap: %s\n' "not enough space for $size_mib MiB of swap at $OCPV_SWAP_FILE: $free_mib MiB free on $dir, $reserve_mib MiB must stay free; swap stays off (the node starts without it)" >&2
    exit 0
  fi
  umask 077
  trap 'rm -f "$OCPV_SWAP_FILE"' EXIT
  fallocate -l "${size_mib}MiB" "$OCPV_SWAP_FILE" || die "fallocate of $size_mib MiB at $OCPV_SWAP_FILE failed; swap stays off"
  chmod 600 "$OCPV_SWAP_FILE"
  mkswap "$OCPV_SWAP_FILE" >/dev/null || die "mkswap $OCPV_SWAP_FILE failed; swap stays off"
  trap - EXIT
fi

if ! is_active "$OCPV_SWAP_FILE"; then
  swapon "$OCPV_SWAP_FILE" || die "swapon $OCPV_SWAP_FILE failed; swap stays off"
fi

say "${size_mib} MiB of swap on $OCPV_SWAP_FILE (MemTotal ${mem_kb} kB, overcommit ${OCPV_SWAP_OVERCOMMIT_PERCENT}%)"
