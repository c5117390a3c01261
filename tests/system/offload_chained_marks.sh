#!/usr/bin/env bash
# No frame gets a flow mark it did not earn (docs/OFFLOAD.md, "Frames the
# program leaves to OVS").  dpif-netdev trusts a frame's mark and runs the
# marked flow's actions without a lookup, so a chained frame that arrived
# in one descriptor and read the mark an earlier frame left in front of its
# chunk would get another flow's actions.  Here a partially offloaded
# (marked) flow forwards small frames to port 7000, and 3600-byte frames
# (chained in XDP, one AF_XDP chunk each) alternate with them: those to
# port 7001 must be dropped by their own flow, never forwarded with the
# mark of the 7000 flow; those to port 7002 must arrive whole (a carrier
# header stripped from a frame that did not carry one would cut them).
# Runs with the carrier this kernel takes; ctest runs it again with the
# header forced.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=fault_lib.sh
source "$AFXDP_ROOT/tests/system/fault_lib.sh"
# shellcheck source=offload_lib.sh
source "$AFXDP_ROOT/tests/system/offload_lib.sh"

ROUNDS=300
FRAMES="/usr/bin/python3 $AFXDP_ROOT/tests/system/chained_marks.py"

sys_setup
quiet_hosts
for p in "$P0" "$P1"; do set_port_mtu "$p" 9000; done
for n in 0 1; do set_host_mtu "$n" 9000; done

ofctl del-flows "$BR"
ofctl add-flow "$BR" "priority=10,in_port=$P0,udp,tp_dst=7000,actions=ct(zone=1),output:$P1"
ofctl add-flow "$BR" "priority=10,in_port=$P0,udp,tp_dst=7001,actions=drop"
ofctl add-flow "$BR" "priority=10,in_port=$P0,udp,tp_dst=7002,actions=output:$P1"
appctl revalidator/purge >/dev/null

# The marked flow first, so that its mark sits in front of chunks.
nsx 0 $FRAMES send "$(topo_ns_if 0)" 1
wait_until 5 eval "dp_flows | grep 'dst=7000' | grep -q 'offloaded:partial'" ||
    fail "the 7000 flow is not partially offloaded: $(dp_flows)"

out=$TEST_TMP/count
nsx 1 $FRAMES count "$(topo_ns_if 1)" 25 "$TEST_TMP/ready" >"$out" &
pid=$!
wait_until 15 test -e "$TEST_TMP/ready" || fail "the capture did not start"
nsx 0 $FRAMES send "$(topo_ns_if 0)" "$ROUNDS"
wait "$pid" || fail "the capture failed"
read -r _ p7000 _ p7001 _ p7002 _ bad <"$out"
log "arrived: 7000 $p7000, 7001 $p7001, 7002 $p7002, bad $bad" \
    "(carrier $(iface_status "$P0" fast-path-carrier))"

((p7001 == 0)) || fail "$p7001 frames of the drop flow were forwarded"
((bad == 0)) || fail "$bad frames arrived cut or altered"
((p7000 == ROUNDS)) || fail "$p7000 of $ROUNDS marked frames arrived"
((p7002 == ROUNDS)) || fail "$p7002 of $ROUNDS large frames arrived"
# Both large frames of each round were chained in XDP (the statistics
# column is refreshed every 5 s).
wait_until 12 eval "(( \$(fastpath_stat $P0 to_ovs_multi_buffer) >= 2 * ROUNDS ))" ||
    fail "only $(fastpath_stat "$P0" to_ovs_multi_buffer) frames counted" \
        "as chained in XDP, of $((2 * ROUNDS)) sent"
sys_finish
