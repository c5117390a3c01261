#!/usr/bin/env bash
# Each action the XDP fast path runs, verified on the wire, and flows it
# cannot run taking the AF_XDP path with their flow mark (partial offload).
#
# Per case: an OpenFlow rule; one frame makes dpif-netdev create and
# offload the megaflow; then COUNT frames are sent from namespace 0 and
# captured where the rule sends them, and every captured frame must equal
# what OVS's actions make of the frame sent, with valid checksums
# (offload_frames.py).  For a fully offloaded flow ("offloaded:yes,
# dp:xdp") the PMD receives none of the COUNT frames; for a partially
# offloaded one ("offloaded:partial") it receives all of them with the
# flow's mark: its "phwol hits" (lookup skipped) grow by COUNT.  A drop
# flow delivers nothing and counts every frame in its OpenFlow rule.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=fault_lib.sh
source "$AFXDP_ROOT/tests/system/fault_lib.sh"
# shellcheck source=offload_lib.sh
source "$AFXDP_ROOT/tests/system/offload_lib.sh"

COUNT=20
FRAMES="/usr/bin/python3 $AFXDP_ROOT/tests/system/offload_frames.py"

sys_setup
quiet_hosts
# The fast path runs, its metadata in the area the kernel allows: a header
# where the test switch (or the kernel) rules the metadata area out.
for p in "$P0" "$P1"; do
    [[ $(iface_status "$p" fast-path) == on ]] ||
        fail "$p: fast-path is '$(iface_status "$p" fast-path)'"
    carrier=$(iface_status "$p" fast-path-carrier)
    if [[ ,${AFXDP_DISABLE_FEATURES:-}, == *,xdp-adjust-meta,* ]]; then
        [[ $carrier == "frame-header (no bpf_xdp_adjust_meta in XDP: "* ]] ||
            fail "$p: fast-path-carrier is '$carrier'"
    else
        [[ $carrier == xdp-metadata || $carrier == frame-header* ]] ||
            fail "$p: fast-path-carrier is '$carrier'"
    fi
    log "$p: fast path on, carrier $carrier"
done
# Both namespace ends take XDP redirects (the hairpin case sends back).
for n in 0 1; do
    nsx "$n" ethtool -K "$(topo_ns_if "$n")" gro on >/dev/null
done

SET_IP4="mod_nw_src:10.9.9.1,mod_nw_dst:10.9.9.2,mod_nw_tos:40,set_field:33->nw_ttl"
SET_IP6="set_field:fd09::aa->ipv6_src,set_field:fd09::bb->ipv6_dst"
SET_TP="mod_tp_src:1111,mod_tp_dst:2222"
declare -A RULE=(
    [eth]="udp,actions=mod_dl_src:02:00:00:00:00:aa,mod_dl_dst:02:00:00:00:00:bb,output:$P1"
    [ipv4_udp]="udp,actions=$SET_IP4,output:$P1"
    [ipv4_udp_nocsum]="udp,actions=$SET_IP4,output:$P1"
    [ipv4_tcp]="tcp,actions=$SET_IP4,output:$P1"
    [ipv6_udp]="udp6,actions=$SET_IP6,output:$P1"
    [ipv6_tcp]="tcp6,actions=$SET_IP6,output:$P1"
    [ipv6_icmp]="icmp6,actions=$SET_IP6,output:$P1"
    [udp_ports]="udp,actions=$SET_TP,output:$P1"
    [tcp_ports]="tcp,actions=$SET_TP,output:$P1"
    # OpenFlow 1.0 mod_vlan_vid pushes a tag onto an untagged frame.
    [push_vlan]="udp,actions=mod_vlan_vid:100,output:$P1"
    [pop_vlan]="dl_vlan=100,actions=strip_vlan,output:$P1"
    [hairpin]="udp,actions=in_port"
    # Not runnable in XDP: conntrack; an output to a port that is not an
    # afxdp port (LOCAL, the bridge's tap) besides $P1.
    [partial_ct]="udp,actions=ct(zone=1),output:$P1"
    [partial_local]="udp,actions=output:$P1,LOCAL"
    [drop]="udp,actions=drop"
)
CASES=(eth ipv4_udp ipv4_udp_nocsum ipv4_tcp ipv6_udp ipv6_tcp ipv6_icmp
    udp_ports tcp_ports push_vlan pop_vlan hairpin partial_ct partial_local
    drop)

# offloaded_as CASE: "full" or "partial" from dpctl, for CASE's flow.
offloaded_as() {
    local line
    line=$(dp_flows | grep "in_port($P0)" | grep -v 'eth_type(0x0806)' |
        grep -E 'offloaded:(yes|partial)' | head -n 1)
    case $line in
        *"offloaded:yes, dp:xdp"*) echo full ;;
        *"offloaded:partial"*) echo partial ;;
        *) echo none ;;
    esac
}

run_case() {
    local c=$1 kind=full rx_ns=1 pcap pid want=$COUNT frame=$1
    [[ $c == partial_* ]] && kind=partial frame=partial
    [[ $c == hairpin ]] && rx_ns=0
    [[ $c == drop ]] && want=0 && frame=eth

    ofctl del-flows "$BR"
    appctl revalidator/purge >/dev/null
    ofctl add-flow "$BR" "priority=10,in_port=$P0,${RULE[$c]}"
    nsx 0 $FRAMES send "$frame" "$(topo_ns_if 0)" 1
    wait_until 5 eval "[[ \$(offloaded_as) == $kind ]]" ||
        fail "$c: flow offloaded as '$(offloaded_as)', expected $kind:" \
            "$(dp_flows)"

    pcap=$TEST_TMP/$c.pcap
    nsx "$rx_ns" $FRAMES sniff "$(topo_ns_if "$rx_ns")" "$pcap" \
        "$((want ? want : 1))" 6 &
    pid=$!
    sleep 2 # scapy's start-up before it listens
    local rx0 hw0 of0
    rx0=$(pmd_stat "packets received")
    hw0=$(pmd_stat "phwol hits")
    nsx 0 $FRAMES send "$frame" "$(topo_ns_if 0)" "$COUNT"
    wait "$pid" || fail "$c: the capture failed"
    local rx=$(($(pmd_stat "packets received") - rx0))
    local hw=$(($(pmd_stat "phwol hits") - hw0))

    if [[ $c == drop ]]; then
        $FRAMES check eth "$pcap" 0 || fail "drop: frames arrived"
        wait_until 5 eval "(( \$(of_packets in_port=$P0) == COUNT + 1 ))" ||
            fail "drop: OpenFlow counted $(of_packets "in_port=$P0")" \
                "of $((COUNT + 1)) frames"
    else
        $FRAMES check "$frame" "$pcap" "$COUNT" || fail "$c: wrong frames"
    fi
    if [[ $kind == full ]]; then
        ((rx == 0)) || fail "$c: the PMD received $rx of $COUNT frames"
    else
        ((rx == COUNT && hw == COUNT)) ||
            fail "$c: PMD received $rx, phwol hits $hw; expected $COUNT each"
    fi
    log "$c: $kind offload, $want frames as expected, PMD rx $rx," \
        "phwol hits $hw"
}

for c in "${CASES[@]}"; do
    run_case "$c"
done
sys_finish
