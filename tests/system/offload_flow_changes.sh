#!/usr/bin/env bash
# OpenFlow changes take effect in the XDP fast path as they do without it:
#  1. mod-flows (output -> drop) under traffic: once the datapath flow shows
#     the new actions, the sink receives nothing more (no stale forwarding
#     from the XDP program); mod-flows back to output: frames flow again,
#     in the fast path;
#  2. idle timeouts: of two rules with idle_timeout=3, the one whose
#     traffic keeps running (entirely in the fast path, so only the fast
#     path's last-used times keep it alive) stays, the one whose traffic
#     stopped expires;
#  3. revalidator/purge, and del-flows: no offloaded flow entry is left in
#     the ports' XDP flow tables (read with bpftool).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=fault_lib.sh
source "$AFXDP_ROOT/tests/system/fault_lib.sh"
# shellcheck source=offload_lib.sh
source "$AFXDP_ROOT/tests/system/offload_lib.sh"

RATE=20000

sys_setup
quiet_hosts
# ns0's end accepts redirects too (GRO), for the reverse direction.
nsx 0 ethtool -K "$(topo_ns_if 0)" gro on >/dev/null
ofctl del-flows "$BR"
ofctl add-flow "$BR" "priority=10,udp,in_port=$P0,actions=output:$P1"
sink_start 1
traffic_start 0 "$RATE"

# dp_actions IFNAME: the actions of the UDP datapath flows from IFNAME.
dp_actions() {
    dp_flows | grep "in_port($1)" | grep 'udp(' |
        sed -e 's/, dp-extra-info:.*//' -e 's/.*actions://'
}

# ---- 1. mod-flows ----------------------------------------------------------
wait_until 5 eval "(( \$(fastpath_flows_installed $P0) >= 1 ))" ||
    fail "the UDP flow was not offloaded"
sink_delta 1
got=$SINK_DELTA
((got > RATE / 2)) || fail "before mod-flows the sink got $got frames in 1 s"

ofctl mod-flows "$BR" "udp,in_port=$P0,actions=drop"
wait_until 5 eval "[[ \$(dp_actions $P0) == drop ]]" ||
    fail "datapath flow not changed to drop: $(dp_actions "$P0")"
sink_delta 1
got=$SINK_DELTA
((got == 0)) || fail "$got frames forwarded after the flow became a drop"
log "mod-flows to drop: nothing forwarded"

ofctl mod-flows "$BR" "udp,in_port=$P0,actions=output:$P1"
wait_until 5 eval "[[ \$(dp_actions $P0) == $P1 ]]" ||
    fail "datapath flow not changed back: $(dp_actions "$P0")"
pmd_before=$(pmd_stat "packets received")
sink_delta 1
got=$SINK_DELTA
pmd_rx=$(($(pmd_stat "packets received") - pmd_before))
((got > RATE / 2)) || fail "after mod-flows back the sink got $got frames in 1 s"
((pmd_rx == 0)) || fail "the PMD received $pmd_rx frames of the modified flow"
log "mod-flows back to output: $got frames in 1 s, all in the fast path"
traffic_stop

# ---- 2. Idle timeouts -----------------------------------------------------------
ofctl del-flows "$BR"
ofctl add-flow "$BR" "priority=10,idle_timeout=3,udp,in_port=$P0,actions=output:$P1"
ofctl add-flow "$BR" "priority=10,idle_timeout=3,udp,in_port=$P1,actions=output:$P0"
traffic_start 0 "$RATE"
send_frames 1 1000 10000
wait_until 5 eval "(( \$(fastpath_flows_installed $P1) >= 1 ))" ||
    fail "the reverse UDP flow was not offloaded"
pmd_before=$(pmd_stat "packets received")
sleep 6
pmd_rx=$(($(pmd_stat "packets received") - pmd_before))
((pmd_rx == 0)) || fail "the PMD saw $pmd_rx frames: the running flow is not in the fast path"
[[ -n $(ofctl dump-flows "$BR" "udp,in_port=$P0" | grep idle_timeout) ]] ||
    fail "the rule whose traffic runs (in the fast path only) expired"
[[ -z $(ofctl dump-flows "$BR" "udp,in_port=$P1" | grep idle_timeout) ]] ||
    fail "the rule whose traffic stopped did not expire"
log "idle_timeout: the running rule stays, the stopped one expired"
traffic_stop

# ---- 3. purge and del-flows leave no entries -----------------------------------------
appctl revalidator/purge >/dev/null
for p in "$P0" "$P1"; do
    wait_until 5 eval "(( \$(fastpath_flows_installed $p) == 0 ))" ||
        fail "$p: $(fastpath_flow_entries "$p") flow entries after revalidator/purge"
done
traffic_start 0 "$RATE"
wait_until 5 eval "(( \$(fastpath_flows_installed $P0) >= 1 ))" ||
    fail "the UDP flow was not offloaded again"
traffic_stop
ofctl del-flows "$BR"
appctl revalidator/purge >/dev/null
for p in "$P0" "$P1"; do
    wait_until 5 eval "(( \$(fastpath_flows_installed $p) == 0 ))" ||
        fail "$p: $(fastpath_flow_entries "$p") flow entries after del-flows"
done
log "no flow entries left after purge and del-flows"
sink_stop
sys_finish
