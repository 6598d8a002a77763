#!/bin/sh
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
#
# OCI poststart hook (swap-for-burstable.json): lift the swap limit of a container, as
# wasp-agent's own hook does. Which containers is the one argument, from the hook JSON's args
# (the profile row's wasp_agent.hook_scope):
#   virt-launcher  (default) only containers of Burstable pods named virt-launcher-*: the 4.16
#                  agent's hook (wasp-agent v1.0 contrib/hook.sh, c6071e0). That agent has no
#                  limited-swap manager (v1.0 is agent.sh + this hook), so whatever this hook
#                  lifts stays unlimited: it must never reach a non-VM pod.
#   burstable      every container in a Burstable pod's cgroup: the hook of the 4.17+ agents
#                  (v1.1 OCI-hook/hook.sh 03ca680, main OCI-hook/hookscript.template ff5e210),
#                  whose limited-swap manager then lowers each container to its share of swap
#                  (and Guaranteed/BestEffort/critical ones to 0; cgroup v2 only).
#
# Input: the container state JSON on stdin ({"id": ..., "bundle": ...}); the OCI config is
# <bundle>/config.json, or ./config.json when no bundle is given (runtimes run hooks in the bundle).
# Needs only POSIX sh, sed, tr, cut; uses jq when present. Logs go to stderr. Containers it leaves
# alone always exit 0, so this hook can never get in the way of their start.

log() { printf 'oci-hook-swap: %s\n' "$*" >&2; }

have() { command -v "$1" >/dev/null 2>&1; }

# json_field JQ_PATH KEY < json: a string field. Without jq, sed on the text joined into one line;
# enough for the plain string fields read here (bundle, id, cgroupsPath), which hold no quotes.
json_field() {
    if have jq; then
        jq -r "$1 // empty" 2>/dev/null
    else
        tr '\n' ' ' | sed -n "s/.*\"$2\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p"
    fi
}

scope=${1:-virt-launcher}
case $scope in
    virt-launcher | burstable) ;;
    *)
        log "unknown scope '$scope' (virt-launcher or burstable); leaving the container alone"
        exit 0
        ;;
esac

state=$(cat)
bundle=$(printf '%s' "$state" | json_field .bundle bundle)
config=config.json
if [ -n "$bundle" ] && [ -f "$bundle/config.json" ]; then
    config=$bundle/config.json
fi
if [ ! -r "$config" ]; then
    log "no readable config.json (bundle: '$bundle'); nothing to do"
    exit 0
fi

cgroups_path=$(json_field .linux.cgroupsPath cgroupsPath <"$config")
case $cgroups_path in
    *burst*) ;;
    *) exit 0 ;;
esac
if [ "$scope" = virt-launcher ]; then
    # CRI-O's annotation of the pod name; KubeVirt names launcher pods virt-launcher-<vmi>-<suffix>.
    pod_name=$(json_field '.annotations["io.kubernetes.pod.name"]' 'io\.kubernetes\.pod\.name' <"$config")
    case $pod_name in
        virt-launcher-*) ;;
        *) exit 0 ;;
    esac
fi

# systemd cgroup driver: "kubepods-burstable-pod<uid>.slice:crio:<id>"; otherwise the state's id.
case $cgroups_path in
    *:*:*) container_id=$(printf '%s' "$cgroups_path" | cut -d: -f3) ;;
    *) container_id=$(printf '%s' "$state" | json_field .id id) ;;
esac
case $container_id in
    '' | -*)
        log "no usable container id (cgroupsPath: '$cgroups_path')"
        exit 1
        ;;
esac

# The runtime that runs this hook is our parent and owns the container's state: prefer it
# (RHCOS ships both runc and crun). Otherwise runc, then crun.
runtime=
parent=$(cat "/proc/$PPID/comm" 2>/dev/null)
case $parent in
    runc | crun) have "$parent" && runtime=$parent ;;
esac
if [ -z "$runtime" ]; then
    if have runc; then
        runtime=runc
    elif have crun; then
        runtime=crun
    fi
fi

case $runtime in
    runc) runc update "$container_id" --memory-swap -1 ;;
    crun) crun update --memory-swap=-1 "$container_id" ;;
    *)
        log "neither runc nor crun found; swap not enabled for container $container_id"
        exit 1
        ;;
esac
status=$?
if [ "$status" -ne 0 ]; then
    log "$runtime update of container $container_id failed (exit $status)"
fi
exit "$status"
