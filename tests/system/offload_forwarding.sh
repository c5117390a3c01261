#!/usr/bin/env bash
# The XDP fast path forwards an offloaded megaflow without OVS's PMD:
#  - once the flow is offloaded (a few frames first make dpif-netdev
#    create the megaflow; its offload thread installs it within a few
#    milliseconds), the sink counts every frame sent while the PMD's
#    "packets received" stays flat;
#  - the OpenFlow rule's n_packets/n_bytes equal what was sent in all,
#    exactly, and the datapath flow's all but the first frame (which made
#    the flow);
#  - dpctl/dump-flows marks the flow "offloaded:yes, dp:xdp" and
#    type=offloaded lists it;
#  - the interface statistics of both ports include the frames (received
#    on the input port, sent on the output port), though none crossed an
#    AF_XDP socket;
#  - after del-port, and after ovs-vswitchd is killed with SIGKILL, no XDP
#    program and none of the fast path's maps stay behind.
# The rate is modest so that no layer drops frames: the test is about
# where frames go and how they are counted (perf/bench measures speed).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=fault_lib.sh
source "$AFXDP_ROOT/tests/system/fault_lib.sh"
# shellcheck source=offload_lib.sh
source "$AFXDP_ROOT/tests/system/offload_lib.sh"

WARMUP=1000
N=100000
RATE=50000
FRAME=64

sys_setup
# Only our frames: no IPv6 chatter from the namespaces, and the sink starts
# after the rules that forward nothing else.
quiet_hosts
ofctl del-flows "$BR"
ofctl add-flow "$BR" "priority=10,udp,in_port=$P0,actions=output:$P1"
sink_start 1

declare -A before after
for p in "$P0:rx" "$P1:tx"; do
    port=${p%:*} dir=${p#*:}
    before[$port.$dir.packets]=$(port_stat "$port" "$dir" packets)
    before[$port.$dir.bytes]=$(port_stat "$port" "$dir" bytes)
done
send_frames 0 "$WARMUP" 10000 --size "$FRAME"
wait_until 5 eval "(( \$(fastpath_flows_installed $P0) >= 1 ))" ||
    fail "no flow of $P0 was offloaded"
sleep 0.2
pmd_before=$(pmd_stat "packets received")
send_frames 0 "$N" "$RATE" --size "$FRAME"
sleep 0.5
sink_stop
pmd_after=$(pmd_stat "packets received")

TOTAL=$((WARMUP + N))
((SINK_PACKETS == TOTAL)) ||
    fail "the sink counted $SINK_PACKETS of $TOTAL frames"
pmd_rx=$((pmd_after - pmd_before))
log "sink $SINK_PACKETS of $TOTAL; the PMD received $pmd_rx of the last $N"
((pmd_rx == 0)) ||
    fail "the PMD received $pmd_rx of $N frames of an offloaded flow"

# Revalidators fetch the fast path's counters every 500 ms or so.
of_match="udp,in_port=$P0"
wait_until 10 eval "(( \$(of_packets '$of_match') == TOTAL ))" ||
    fail "OpenFlow n_packets $(of_packets "$of_match"), expected $TOTAL"
of_bytes=$(ofctl dump-flows "$BR" "$of_match" | sed -n 's/.*n_bytes=\([0-9]*\),.*/\1/p')
((of_bytes == TOTAL * FRAME)) ||
    fail "OpenFlow n_bytes $of_bytes, expected $((TOTAL * FRAME))"

flow=$(dp_flows offloaded | grep "in_port($P0)" | grep 'udp(') ||
    fail "dpctl type=offloaded lists no UDP flow from $P0: $(dp_flows)"
grep -q 'offloaded:yes, dp:xdp' <<<"$flow" || fail "flow not marked: $flow"
dp_packets=$(sed -n 's/.* packets:\([0-9]*\),.*/\1/p' <<<"$flow")
dp_bytes=$(sed -n 's/.* bytes:\([0-9]*\),.*/\1/p' <<<"$flow")
# The frame whose miss created the megaflow was run by the upcall, which
# counts it for the OpenFlow rule but not for the megaflow (dpif-netdev
# does the same without offload).
((dp_packets == TOTAL - 1 && dp_bytes == (TOTAL - 1) * FRAME)) ||
    fail "datapath flow counts $dp_packets packets, $dp_bytes bytes;" \
        "sent $TOTAL, one of them before the flow existed"

# Received on the input port, sent on the output port: exactly our frames.
for p in "$P0:rx" "$P1:tx"; do
    port=${p%:*} dir=${p#*:}
    for what in packets bytes; do
        now=$(port_stat "$port" "$dir" "$what")
        d=$((now - ${before[$port.$dir.$what]}))
        want=$TOTAL
        [[ $what == packets ]] || want=$((TOTAL * FRAME))
        ((d == want)) || fail "$port $dir $what grew by $d, expected $want"
        after[$port.$dir.$what]=$now
    done
    log "$port ${dir}_packets +$TOTAL"
done
# And the Interface table shows them once ovs-vswitchd refreshes it.
column_caught_up() {
    (($(iface_stat "$P0" rx_packets) >= ${after[$P0.rx.packets]} &&
        $(iface_stat "$P1" tx_packets) >= ${after[$P1.tx.packets]}))
}
wait_until 15 column_caught_up ||
    fail "statistics column: $P0 rx_packets $(iface_stat "$P0" rx_packets)," \
        "$P1 tx_packets $(iface_stat "$P1" tx_packets)"

# Nothing of the fast path outlives the port (del-port), nor ovs-vswitchd
# (SIGKILL: the bpf_link and the maps die with the process).
maps_gone() {
    local id
    for id in $2; do
        wait_until 5 eval "! bpftool map show id $id >/dev/null 2>&1" ||
            fail "map $id of $1's program outlived it"
    done
}
map_ids=$(fastpath_map_ids "$P0")
[[ -n $map_ids ]] || fail "no maps found for $P0's program"
vsctl del-port "$BR" "$P0"
wait_no_xdp "$P0"
maps_gone "$P0" "$map_ids"
map_ids=$(fastpath_map_ids "$P1")
[[ -n $map_ids ]] || fail "no maps found for $P1's program"
# sys_finish's log check, while ovs-vswitchd still runs.
ovs_check_log "$OVS_LOG_ALLOW" || fail "errors logged by ovs-vswitchd"
ovs_stop_vswitchd KILL
wait_no_xdp "$P1"
maps_gone "$P1" "$map_ids"
log "PASS $TEST_NAME"
