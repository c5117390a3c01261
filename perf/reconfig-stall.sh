#!/usr/bin/env bash
# perf/reconfig-stall.sh: how long ovs-vswitchd's main thread stops
# answering while afxdp ports are reconfigured under traffic.
#
#   sudo perf/reconfig-stall.sh [--cycles N] [--queues Q]
#
# Two afxdp ports on veth pairs with Q queues each, a flood ping across
# them, and N cycles that switch both ports between n_rxq=Q and n_rxq=1,
# each cycle waiting until the ports forward again.  Every reopened queue
# can find the kernel still releasing the socket closed on it.  Meanwhile a
# prober asks the main thread for `ovs-appctl version` back to back; the
# longest answer bounds the longest stall from above (it includes starting
# ovs-appctl, the median answer).  The log says how often a port had to
# open again later (a queue still taken).
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

CYCLES=100
QUEUES=2
while (($#)); do
    case $1 in
    --cycles) CYCLES=$2; shift ;;
    --queues) QUEUES=$2; shift ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done
((QUEUES >= 2)) || die "--queues must be at least 2"

require_root
require_cmd ip ping awk sort
install_cleanup_trap
OVS_NETNS=$(topo_sw_ns)
BR=ax${AFXDP_TAG}br
WORK=$(mktemp -d)
on_exit "rm -rf $WORK"
topo_add_host 0 "$QUEUES"
topo_add_host 1 "$QUEUES"

ovs_start
ovs_add_bridge "$BR"
for i in 0 1; do
    ovs_add_afxdp_port "$BR" "$(topo_host_if "$i")" "n_rxq=$QUEUES"
done
forwards() { nsx 0 ping -q -c 1 -W 1 "$(topo_ip4 1)" >/dev/null; }
wait_until 30 forwards || die "no forwarding between the ports"

# Not through nsx: $! must be the ping itself (ip netns exec execs it).
ip netns exec "$(topo_ns_name 0)" ping -q -f "$(topo_ip4 1)" >/dev/null 2>&1 &
FLOOD_PID=$!
on_exit "stop_pid $FLOOD_PID TERM"

# One line per answer: milliseconds the main thread took.
probe() {
    local t0 t1
    while :; do
        t0=$(date +%s%N)
        appctl version >/dev/null 2>&1 || true
        t1=$(date +%s%N)
        echo $(((t1 - t0) / 1000000))
    done >"$WORK/probe"
}
probe &
PROBE_PID=$!
on_exit "stop_pid $PROBE_PID TERM"

start=$(date +%s)
for ((c = 0; c < CYCLES; c++)); do
    n=$((c % 2 ? QUEUES : 1))
    for i in 0 1; do
        vsctl set interface "$(topo_host_if "$i")" "options:n_rxq=$n"
    done
    wait_until 30 forwards || die "cycle $c: no forwarding with n_rxq=$n"
done
secs=$(($(date +%s) - start))
stop_pid "$PROBE_PID" TERM
stop_pid "$FLOOD_PID" TERM

retried=$(grep -c 'opening again shortly' "$OVS_VSWITCHD_LOG" ||
    true)
failed=$(grep -c 'the port passes no traffic' \
    "$OVS_VSWITCHD_LOG" || true)
sort -n "$WORK/probe" | awk -v cycles="$CYCLES" -v secs="$secs" \
    -v retried="$retried" -v failed="$failed" '
    { v[NR] = $1 }
    END {
        med = v[int((NR + 1) / 2)]
        printf "%d reconfiguration cycles in %d s, %d probes\n", cycles, secs, NR
        printf "main thread answer: median %d ms, p99 %d ms, max %d ms\n",
            med, v[int(NR * 0.99)], v[NR]
        printf "longest main-thread stall: at most %d ms\n", v[NR]
        printf "port opens retried later (a queue still taken): %d, failed: %d\n",
            retried, failed
    }'
