#!/usr/bin/env bash
# perf/umem-memory.sh: the memory two afxdp ports of two queues each cost
# ovs-vswitchd, ours against upstream's provider (Debian's ovs-vswitchd),
# side by side.
#
#   sudo perf/umem-memory.sh [--ports N] [--queues Q] [--count N]
#
# For each contender: a private ovsdb-server/ovs-vswitchd in its own
# namespace with a netdev bridge; VmRSS of ovs-vswitchd before the ports,
# then after adding N afxdp ports of Q queues (veth pairs with Q queues)
# and a flood ping across two of them (the pools are populated and every
# queue received); the difference is what the ports cost: UMEM chunks,
# per-chunk metadata, rings and bookkeeping.  Also prints what each
# provider says it allocated: ours reports its UMEM in the status
# (umem-size, umem-meta-size); upstream's is fixed by lib/netdev-afxdp.c
# (NUM_FRAMES = 4 * (2048 + 2048) frames of 4 KiB per queue, plus one
# struct dp_packet_afxdp per frame).
#
# Everything it creates goes on exit, also on errors and Ctrl-C.  Starts
# ovs-vswitchd: run it under the machine's benchmark lock (see README).
set -euo pipefail
# shellcheck source=../scripts/lib/common.sh
source "$(dirname "$0")/../scripts/lib/common.sh"
# shellcheck source=../scripts/lib/topo.sh
source "$AFXDP_ROOT/scripts/lib/topo.sh"
# shellcheck source=../scripts/lib/ovs.sh
source "$AFXDP_ROOT/scripts/lib/ovs.sh"

PORTS=2
QUEUES=2
COUNT=2000
while (($#)); do
    case $1 in
    --ports) PORTS=$2; shift ;;
    --queues) QUEUES=$2; shift ;;
    --count) COUNT=$2; shift ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done
((PORTS >= 2)) || die "--ports must be at least 2"

require_root
require_cmd ip ping awk
install_cleanup_trap
OVS_NETNS=$(topo_sw_ns)
BR=ax${AFXDP_TAG}br
for ((i = 0; i < PORTS; i++)); do
    topo_add_host "$i" "$QUEUES"
done

rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$VSWITCHD_PID/status"; }

# measure NAME: sets RESULT to "NAME rss_before_kB rss_after_kB delta_kB"
# (not printed: a command substitution would run it in a subshell, out of
# reach of the cleanup trap).
measure() {
    local name=$1 i before after
    ovs_start
    ovs_add_bridge "$BR"
    sleep 1
    before=$(rss_kb)
    for ((i = 0; i < PORTS; i++)); do
        ovs_add_afxdp_port "$BR" "$(topo_host_if "$i")" "n_rxq=$QUEUES"
    done
    wait_until 30 nsx 0 ping -q -c 1 -W 1 "$(topo_ip4 1)" >/dev/null ||
        die "$name: no forwarding between the first two ports"
    nsx 0 ping -q -c "$COUNT" -i 0 -W 2 "$(topo_ip4 1)" >/dev/null || true
    sleep 2
    after=$(rss_kb)
    if [[ $name == ours ]]; then
        log "ours: status of the first port:" \
            "$(vsctl get interface "$(topo_host_if 0)" status)"
    fi
    ovs_del_bridge "$BR"
    ovs_stop
    RESULT="$name $before $after $((after - before))"
}

ovs_use_build
measure ours
ours=$RESULT
ovs_use_upstream
measure upstream
upstream=$RESULT

frames=$((4 * (2048 + 2048)))
printf '\n%d afxdp ports x %d queues, after %d pings across two of them\n' \
    "$PORTS" "$QUEUES" "$COUNT"
printf '%-9s %12s %12s %12s\n' provider "RSS before" "RSS after" "ports cost"
for r in "$ours" "$upstream"; do
    read -r n b a d <<<"$r"
    printf '%-9s %9d kB %9d kB %9d kB\n' "$n" "$b" "$a" "$d"
done
read -r _ _ _ d_ours <<<"$ours"
read -r _ _ _ d_up <<<"$upstream"
awk -v o="$d_ours" -v u="$d_up" \
    'BEGIN { printf "ours / upstream: %.3f\n", u ? o / u : 0 }'
printf 'upstream allocates per queue: %d frames = %d MiB of UMEM\n' \
    "$frames" $((frames * 4096 >> 20))
