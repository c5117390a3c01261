#!/usr/bin/env bash
# OpenFlow actions that push a header into the frame's headroom, on frames
# received on one afxdp port and output on the other:
#   - mod_vlan_vid + mod_vlan_pcp on an untagged frame: an 802.1Q tag
#     (TPID 0x8100);
#   - push_vlan:0x88a8 + set_field vlan_vid: an 802.1ad tag;
#   - push_mpls:0x8847 + set_field mpls_label: one MPLS label stack entry.
# A received frame stays in its UMEM chunk, and OVS cannot move a
# DPBUF_AFXDP packet to a bigger buffer (dp_packet_resize() aborts), so the
# pushed bytes must fit in front of the frame: that is what
# afxdp_frame_headroom() is for.  ns0 sends IPv4/UDP frames of 60, 1000 and
# 1514 bytes (tests/system/push_headers.py); tcpdump in ns1 captures what
# arrives from the second port (AF_XDP copy-mode transmit on veth), and
# every frame must arrive once, with the expected TPID and VLAN id and
# priority, or MPLS label, bottom-of-stack bit and TTL, and every other
# byte as sent.  ovs-vswitchd must survive (an abort would kill it), and
# the ports forward pings again afterwards.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

require_cmd tcpdump /usr/bin/python3
PUSH_PY=$(dirname "$0")/push_headers.py
N=60 # 20 frames of each size.
DPORT=5999

sys_setup
check_ping 0 "$IP4_1"
N0=$(topo_ns_if 0)
N1=$(topo_ns_if 1)
MAC0=$(nsx 0 cat "/sys/class/net/$N0/address")
MAC1=$(nsx 1 cat "/sys/class/net/$N1/address")
FRAME_ARGS=("$MAC0" "$MAC1" "$IP4_0" "$IP4_1" "$DPORT" "$N")

# captured PCAP: how many frames tcpdump has written so far.
captured() {
    tcpdump -r "$1" 2>/dev/null | wc -l
}
all_captured() { (($(captured "$1") >= N)); }

# push_case NAME "ACTIONS" KIND ARGS...: only our UDP frames from P0 get
# ACTIONS then go out of P1; checks the capture in ns1 with
# push_headers.py check KIND ARGS.
push_case() {
    local name=$1 actions=$2 pcap pid
    shift 2
    pcap=$TEST_TMP/$name.pcap
    ofctl -O OpenFlow13 del-flows "$BR"
    ofctl -O OpenFlow13 add-flow "$BR" \
        "priority=10,in_port=$P0,udp,nw_dst=$IP4_1,tp_dst=$DPORT,actions=$actions,output:$P1" ||
        fail "$name: cannot add flow with actions $actions"
    # -U writes every frame at once, so the count can be polled.  Not
    # through nsx: $! must be tcpdump itself (ip netns exec execs it), not
    # a subshell, for the SIGINT below.
    ip netns exec "$(topo_ns_name 1)" tcpdump -i "$N1" -nn -U -s 0 \
        -w "$pcap" "ether src $MAC0" 2>"$TEST_TMP/$name.tcpdump" &
    pid=$!
    on_exit "kill $pid 2>/dev/null"
    wait_until 10 grep -q 'listening on' "$TEST_TMP/$name.tcpdump" ||
        fail "$name: tcpdump did not start: $(cat "$TEST_TMP/$name.tcpdump")"
    nsx 0 /usr/bin/python3 "$PUSH_PY" send "$N0" "${FRAME_ARGS[@]}" ||
        fail "$name: sending the frames failed"
    # The check below reports what is missing.
    wait_until 10 all_captured "$pcap" || true
    # A moment more, so that a duplicate or a stray frame is captured too.
    sleep 0.5
    kill -INT "$pid"
    wait "$pid" || true
    /usr/bin/python3 "$PUSH_PY" check "$pcap" "${FRAME_ARGS[@]}" "$@" \
        >"$TEST_TMP/$name.check" 2>&1 || {
        cat "$TEST_TMP/$name.check" >&2
        fail "$name: frames out of $P1 are not as expected"
    }
    log "$name ($actions): $(tail -n 1 "$TEST_TMP/$name.check")"
    pid_alive "$VSWITCHD_PID" ||
        fail "ovs-vswitchd died pushing a header ($name)"
}

push_case vlan "mod_vlan_vid:100,mod_vlan_pcp:5" vlan 0x8100 100 5
push_case s-vlan "push_vlan:0x88a8,set_field:4296->vlan_vid" vlan 0x88a8 200 0
# OVS copies the IP TTL (64) into the new label stack entry.
push_case mpls "push_mpls:0x8847,set_field:1000->mpls_label" mpls 1000 64

# Back to a learning switch: the ports still forward.
ofctl -O OpenFlow13 del-flows "$BR"
ofctl add-flow "$BR" "actions=NORMAL"
check_ping_all
sys_finish
