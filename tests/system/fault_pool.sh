#!/usr/bin/env bash
# Fill-ring starvation: the kernel takes chunks from P0's fill ring faster
# than OVS gives them back, and must then drop, count the drops, and carry
# on once OVS catches up.  OVS cannot hold received frames for long (ipf
# and the upcall path copy them, output batches hold at most a burst), and
# each queue keeps only its share of the shared UMEM (8192 chunks) on its
# fill ring, so the pool itself cannot run dry through the rings; starving
# the fill ring is what a flood can do.  Two ways:
#  1. afxdp-pktgen floods P0 as fast as it can while every frame is
#     copied into P1's tx ring (OpenFlow: P0 -> P1, the slow path of this
#     port pair): the PMD falls behind the generator;
#  2. during that flood ovs-vswitchd is frozen (SIGSTOP) for a few
#     seconds: nothing refills the fill ring at all, the kernel uses up
#     every chunk in it and fills the rx ring.
# Then: the drops show in q0_rx_fill_ring_empty_descs (or q0_rx_ring_full)
# and in rx_dropped; ovs-appctl answered throughout phase 1; once the flood
# stops a ping crosses within seconds, a moderate stream is delivered in
# full (the fill ring is whole again), and every chunk is back: none held,
# the UMEM's counters add up.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=fault_lib.sh
source "$(dirname "$0")/fault_lib.sh"

FLOOD_S=${AFXDP_FAULT_FLOOD_SECONDS:-8}
FREEZE_S=${AFXDP_FAULT_FREEZE_SECONDS:-3}

sys_setup
ofp0=$(vsctl get interface "$P0" ofport)
ofp1=$(vsctl get interface "$P1" ofport)
ofctl del-flows "$BR"
ofctl add-flow "$BR" "in_port=$ofp0,actions=output:$ofp1"
ofctl add-flow "$BR" "in_port=$ofp1,actions=output:$ofp0"
check_ping_all

# qstat IFNAME KEY: a statistics key, 0 while absent.
qstat() { vsctl get interface "$1" "statistics:$2" 2>/dev/null || echo 0; }
stat_at_least() { (($(qstat "$1" "$2") >= $3)); }
# Statistics are refreshed every 5 s: wait for one after the fact.
# (No refresh within 12 s means nothing changed, which is fine too.)
stats_differ() { [[ $(vsctl get interface "$P0" statistics) != "$1" ]]; }
wait_stats_refresh() {
    wait_until 12 stats_differ "$(vsctl get interface "$P0" statistics)" ||
        true
}
starved() {
    echo $(($(qstat "$P0" q0_rx_fill_ring_empty_descs) +
        $(qstat "$P0" q0_rx_ring_full)))
}

# Warm up: megaflows for the generator's 16 flows exist before we measure.
traffic_start 0 20000
sleep 1
traffic_stop
wait_stats_refresh
starved0=$(starved)
drop0=$(qstat "$P0" rx_dropped)

# ---- Phase 1 and 2: flood, then freeze during the flood -------------------
traffic_start 0 0
start=$SECONDS
while ((SECONDS - start < FLOOD_S)); do
    check_alive
    sleep 1
done
log "freezing ovs-vswitchd (PID $VSWITCHD_PID) for $FREEZE_S s under the flood"
kill -STOP "$VSWITCHD_PID"
on_exit "kill -CONT $VSWITCHD_PID"
sleep "$FREEZE_S"
kill -CONT "$VSWITCHD_PID"
sleep 2
check_alive
traffic_stop
flood_sent=$PKTGEN_SENT
wait_stats_refresh
wait_stats_refresh
starved1=$(starved)
drop1=$(qstat "$P0" rx_dropped)
rx1=$(qstat "$P0" q0_rx_packets)
log "flood: afxdp-pktgen sent $flood_sent frames; $P0 received $rx1 in all," \
    "fill-ring-empty+rx-ring-full +$((starved1 - starved0))," \
    "rx_dropped +$((drop1 - drop0))"
((starved1 > starved0)) ||
    fail "the flood never starved $P0's fill ring (counters" \
        "$starved0 -> $starved1): the test did not test anything"
((drop1 > drop0)) || fail "$P0: rx_dropped did not count the drops"

# ---- Recovery ---------------------------------------------------------------
ping_within 0 "$IP4_1" 5 || fail "no forwarding within 5 s after the flood"
check_ping_all
check_chunks "$P0"
lost=$CHUNK_LOST
check_chunks "$P1"
lost=$((lost + CHUNK_LOST))

# A moderate stream now arrives whole: the fill ring is full again.
rx_before=$(qstat "$P0" q0_rx_packets)
traffic_start 0 20000 --count 40000
wait "$PKTGEN_PID" || fail "afxdp-pktgen failed"
PKTGEN_PID=
sent=$(sed -n 's/^sent \([0-9]*\) packets.*/\1/p' "$PKTGEN_OUT")
wait_until 15 stat_at_least "$P0" q0_rx_packets $((rx_before + sent * 99 / 100)) ||
    fail "after recovery, $P0 received $(($(qstat "$P0" q0_rx_packets) - rx_before))" \
        "of $sent frames sent at 20 kpps"
log "after recovery: $P0 received $(($(qstat "$P0" q0_rx_packets) - rx_before))" \
    "of $sent frames sent at 20 kpps; chunks lost: $lost"
check_chunks "$P0"
sys_finish
