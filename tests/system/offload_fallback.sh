#!/usr/bin/env bash
# The output port's veth peer loses GRO (so the port stops accepting XDP
# redirects) and gets it back, 10 times, under a steady flow of an
# offloaded megaflow:
#  - while the peer has GRO, frames take the fast path; while it has not,
#    the program hands them to OVS with their mark (fastpath_to_ovs_fallback
#    counts them) and OVS sends them through the AF_XDP path: frames flow
#    in both states;
#  - the only frames lost are those the kernel refuses in the instant
#    between clearing the port's NDO_XMIT feature and our monitor thread
#    removing the port from the devmaps (veth counts them as rx drops of
#    the input port): every lost frame is one of those, and there are at
#    most 1 ms of traffic per toggle of them (measured: about 0.1 ms;
#    without the monitor's real-time priority it was 1.1 ms on a busy
#    machine).  Without offload the same toggles lose nothing: the AF_XDP
#    path's copy-mode transmit does not need the peer's NAPI.  veth also
#    counts as input drops the frames the port's AF_XDP socket drops while
#    they fall back to OVS (fill ring empty, rx ring full: the PMD behind
#    on a loaded machine); the port's statistics tell those apart, and
#    only the refused redirects count against the 1 ms.
# The peer's sink counts in generic mode, so that it does not itself make
# the port accept redirects.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=fault_lib.sh
source "$AFXDP_ROOT/tests/system/fault_lib.sh"
# shellcheck source=offload_lib.sh
source "$AFXDP_ROOT/tests/system/offload_lib.sh"

RATE=20000
TOGGLES=10
N1=$(topo_ns_if 1)

sys_setup
quiet_hosts
nsx 1 ethtool -K "$N1" gro on >/dev/null
ofctl del-flows "$BR"
ofctl add-flow "$BR" "priority=10,udp,in_port=$P0,actions=output:$P1"
sink_start 1 --mode generic

# input_drops: frames the input veth dropped (failed redirects among them).
input_drops() {
    swx ethtool -S "$P0" | awk '/rx_queue_[0-9]+_drops:/ { s += $2 }
        END { print s + 0 }'
}

# socket_drops: frames the input port's AF_XDP socket dropped (rx ring
# full, or fill ring empty: the kernel's rx_dropped).  veth counts them as
# input drops too, but they are the PMD falling behind on a loaded
# machine, not redirects the kernel refused.
socket_drops() {
    echo $(($(iface_stat "$P0" q0_rx_dropped) + $(iface_stat "$P0" q0_rx_ring_full)))
}
# The statistics column is refreshed every 5 s: wait for one refresh (none
# within 12 s means nothing changed).
stats_differ() { [[ $(vsctl get interface "$P0" statistics) != "$1" ]]; }
wait_stats_refresh() {
    wait_until 12 stats_differ "$(vsctl get interface "$P0" statistics)" ||
        true
}

traffic_start 0 "$RATE"
wait_until 5 eval "(( \$(fastpath_flows_installed $P0) >= 1 ))" ||
    fail "the UDP flow was not offloaded"
wait_stats_refresh
drops0=$(input_drops)
sock0=$(socket_drops)
fb0=$(fastpath_xdp_counter "$P0" to_ovs_fallback)
for ((i = 0; i < TOGGLES; i++)); do
    nsx 1 ethtool -K "$N1" gro off >/dev/null
    sleep 0.3
    sink_delta 0.2
    ((SINK_DELTA > 0)) || fail "toggle $i: nothing delivered without GRO"
    nsx 1 ethtool -K "$N1" gro on >/dev/null
    sleep 0.3
    sink_delta 0.2
    ((SINK_DELTA > 0)) || fail "toggle $i: nothing delivered with GRO"
done
traffic_stop
sleep 0.5
sink_stop

wait_stats_refresh
lost=$((PKTGEN_SENT - SINK_PACKETS))
input=$(($(input_drops) - drops0))
socket=$(($(socket_drops) - sock0))
refused=$((input - socket))
fallbacks=$(($(fastpath_xdp_counter "$P0" to_ovs_fallback) - fb0))
log "sent $PKTGEN_SENT, received $SINK_PACKETS, lost $lost; dropped by" \
    "$P0 $input: redirects refused by the kernel $refused, at its AF_XDP" \
    "socket $socket; fallbacks to OVS $fallbacks"
((fallbacks > 0)) || fail "no frame fell back to OVS"
((lost <= input)) ||
    fail "$lost frames lost, only $input of them dropped by $P0 ($refused" \
        "refused by the kernel, $socket at its socket)"
((refused <= TOGGLES * RATE / 1000)) ||
    fail "$refused frames refused in $TOGGLES toggles: the reaction took" \
        "more than 1 ms of traffic"
sys_finish
