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
#    path's copy-mode transmit does not need the peer's NAPI.
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

traffic_start 0 "$RATE"
wait_until 5 eval "(( \$(fastpath_flows_installed $P0) >= 1 ))" ||
    fail "the UDP flow was not offloaded"
drops0=$(input_drops)
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

lost=$((PKTGEN_SENT - SINK_PACKETS))
refused=$(($(input_drops) - drops0))
fallbacks=$(($(fastpath_xdp_counter "$P0" to_ovs_fallback) - fb0))
log "sent $PKTGEN_SENT, received $SINK_PACKETS, lost $lost; redirects" \
    "refused by the kernel $refused; fallbacks to OVS $fallbacks"
((fallbacks > 0)) || fail "no frame fell back to OVS"
((lost <= refused)) ||
    fail "$lost frames lost, only $refused of them refused by the kernel"
((refused <= TOGGLES * RATE / 1000)) ||
    fail "$refused frames refused in $TOGGLES toggles: the reaction took" \
        "more than 1 ms of traffic"
sys_finish
