#!/usr/bin/env bash
# Reconfiguration under traffic, many times over: each cycle takes port P0
# (a 2-queue veth) through n_rxq 2 -> 1 -> 2, xdp-mode native -> generic
# -> native and mtu_request 1500 -> 2000 -> 1500, then deletes and re-adds
# P1, while afxdp-pktgen floods P0 and every step is checked with a ping.
# Each cycle ends in the configuration it started from, so once the first
# cycle has warmed everything up, any growth after that is a leak:
#  - file descriptors must match exactly (a socket, bpf_link or map per
#    cycle would show at once);
#  - RSS may move by AFXDP_FAULT_RSS_SLACK_KB (default 8 MiB): each queue's
#    UMEM is mmap'ed anew on every reconfiguration and its resident part is
#    the chunks the traffic has touched since, so two snapshots of the same
#    configuration differ by up to the fill ring's 2048 chunks (8 MiB).
#    A leaked UMEM would add at least that much per cycle, and any leak of
#    more than slack/cycles bytes per cycle fails.
# At the end, with the generator stopped, every chunk of every queue is
# accounted for and none is held.
#
# AFXDP_FAULT_CYCLES (default 30) sets the number of cycles; the long
# variant runs 500 (the watchdog, AFXDP_TEST_TIMEOUT, scales with it).
CYCLES=${AFXDP_FAULT_CYCLES:-30}
# About 5 s per cycle on the 2-core VM, plus setup and checks.
: "${AFXDP_TEST_TIMEOUT:=$((90 + 7 * CYCLES))}"
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=fault_lib.sh
source "$(dirname "$0")/fault_lib.sh"

RSS_SLACK_KB=${AFXDP_FAULT_RSS_SLACK_KB:-8192}
RATE=${AFXDP_FAULT_RATE:-50000}

topo_add_host 0 2
topo_add_host 1 2
pin_tx_queue0 0
pin_tx_queue0 1
# GRO lets generic-mode XDP on P0 see the generator's XDP frames (veth
# hands frames from a peer's XDP_TX only to native XDP or GRO).
swx ethtool -K "$P0" gro on >/dev/null || fail "cannot enable GRO on $P0"
ovs_start
ovs_add_bridge "$BR"
ovs_add_afxdp_port "$BR" "$P0" n_rxq=2 xdp-mode=native
ovs_add_afxdp_port "$BR" "$P1" n_rxq=2 xdp-mode=native
port_wait_ready "$P0"
port_wait_ready "$P1"
check_ping_all

# step CYCLE WHAT VSCTL-ARGS...: one reconfiguration, then forwarding
# within a few seconds.
step() {
    local cycle=$1 what=$2
    shift 2
    vsctl "$@" || fail "cycle $cycle: $what: ovs-vsctl failed"
    port_wait_ready "$P0"
    port_wait_ready "$P1"
    ping_within 0 "$IP4_1" 10 ||
        fail "cycle $cycle: no forwarding within 10 s after $what"
}

# del_p1 CYCLE: P1 leaves the bridge (taking its XDP program with it) while
# P0 goes on receiving the flood.
del_p1() {
    vsctl del-port "$BR" "$P1" || fail "cycle $1: del-port $P1 failed"
    wait_until 5 eval "! xdp_attached $P1" ||
        fail "cycle $1: XDP program left on $P1 after del-port"
    port_wait_ready "$P0"
}

# mtu_is IFNAME MTU: the kernel device has that MTU.
mtu_is() { [[ $(swx cat "/sys/class/net/$1/mtu") == "$2" ]]; }

cycle() {
    local cyc=$1
    step "$cyc" "n_rxq=1" set interface "$P0" options:n_rxq=1
    step "$cyc" "n_rxq=2" set interface "$P0" options:n_rxq=2
    step "$cyc" "xdp-mode=generic" set interface "$P0" options:xdp-mode=generic
    [[ $(iface_status "$P0" xdp-mode) == generic ]] ||
        fail "cycle $cyc: $P0 status: $(vsctl get interface "$P0" status)"
    step "$cyc" "xdp-mode=native" set interface "$P0" options:xdp-mode=native
    step "$cyc" "mtu_request=2000" set interface "$P0" mtu_request=2000
    wait_until 5 mtu_is "$P0" 2000 || fail "cycle $cyc: $P0 MTU not 2000"
    step "$cyc" "mtu_request=1500" set interface "$P0" mtu_request=1500
    wait_until 5 mtu_is "$P0" 1500 || fail "cycle $cyc: $P0 MTU not 1500"
    del_p1 "$cyc"
    step "$cyc" "add-port $P1" add-port "$BR" "$P1" -- \
        set interface "$P1" type=afxdp options:n_rxq=2 options:xdp-mode=native
    pid_alive "$PKTGEN_PID" || fail "cycle $cyc: afxdp-pktgen died"
}

traffic_start 0 "$RATE"
start=$SECONDS
cycle 1
fds1=$(vswitchd_fds)
rss1=$(vswitchd_rss_kb)
fd_kinds1=$(vswitchd_fd_kinds)
log "after cycle 1: fds=$fds1 rss=${rss1} kB"
for ((c = 2; c <= CYCLES; c++)); do
    cycle "$c"
    ((c % 10)) || log "cycle $c: fds=$(vswitchd_fds) rss=$(vswitchd_rss_kb) kB"
done
fdsN=$(vswitchd_fds)
rssN=$(vswitchd_rss_kb)
traffic_stop
log "$CYCLES cycles in $((SECONDS - start)) s under traffic;" \
    "afxdp-pktgen sent $PKTGEN_SENT frames"

check_ping_all
check_chunks "$P0"
lost=$CHUNK_LOST
check_chunks "$P1"
lost=$((lost + CHUNK_LOST))

log "fds: after cycle 1 $fds1, after cycle $CYCLES $fdsN;" \
    "RSS: $rss1 kB -> $rssN kB ($((rssN - rss1)) kB, slack $RSS_SLACK_KB kB);" \
    "chunks lost: $lost"
if ((fdsN != fds1)); then
    diff <(echo "$fd_kinds1") <(vswitchd_fd_kinds) >&2 || true
    fail "ovs-vswitchd fds: $fds1 after cycle 1, $fdsN after cycle $CYCLES"
fi
((rssN - rss1 <= RSS_SLACK_KB)) ||
    fail "ovs-vswitchd RSS grew by $((rssN - rss1)) kB over $((CYCLES - 1))" \
        "cycles (slack $RSS_SLACK_KB kB)"
# One socket per queue, P0 and P1 with 2 queues each, and one main-thread
# tx lane per port.
[[ $(xsk_count) == $(xsk_sockets 4 2) ]] ||
    fail "expected $(xsk_sockets 4 2) AF_XDP sockets, found $(xsk_count)"
check_one_prog "$P0"
check_one_prog "$P1"
sys_finish
