#!/usr/bin/env bash
# The device under an afxdp port disappears while traffic flows through it
# (`ip link del` of the OVS end of the veth, which takes the peer with it),
# then a device of the same name comes back.  The kernel unbinds the port's
# AF_XDP sockets (they report ENETDOWN) and drops its XDP program.  What
# must hold:
#  - ovs-vswitchd survives and keeps answering, the other port keeps its
#    sockets;
#  - the log says which device vanished, and the Interface tells the
#    operator: link_state down, and neither status nor error claims a
#    working AF_XDP port (no status:xdp-mode) while error or
#    status:afxdp-error says why not;
#  - when the device returns (re-plumbed in its namespace, as an
#    orchestrator would), OVS opens it again by itself: one xsk_redirect
#    program, fresh sockets (none left on the dead device), forwarding.
# Both directions are covered: first the port the flood leaves by (P1,
# generator in ns0), then the port it leaves by in the other direction
# (P0, generator in ns1); the generator's own device is never the victim.
# Every problem of one round is collected before the test fails, so one
# run reports all of them.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=fault_lib.sh
source "$(dirname "$0")/fault_lib.sh"

RATE=${AFXDP_FAULT_RATE:-50000}
# The provider may log the open failures while the device is gone.
OVS_LOG_ALLOW="\|netdev_afxdp\|ERR\|ax${AFXDP_TAG}h[01]:.*([Nn]o such device|ENODEV)"

sys_setup
check_ping_all

PROBLEMS=()
problem() {
    log "problem: $*"
    PROBLEMS+=("$*")
}

# replumb N: a new veth pair with the old names between the switch and
# namespace N, addressed as topo_add_host does.  The old pair is gone (and
# with it the cleanup's target, so the existing on_exit still applies).
replumb() {
    local n=$1 hif nif ns
    hif=$(topo_host_if "$n")
    nif=$(topo_ns_if "$n")
    ns=$(topo_ns_name "$n")
    # The namespace end comes back with its old MAC, as a NIC does after a
    # driver reload, so the far end's neighbour caches stay valid.
    ip -n "$OVS_NETNS" link add "$hif" type veth peer name "$nif" \
        address "$OLD_NS_MAC" netns "$ns" || fail "cannot re-create $hif"
    ip netns exec "$ns" ethtool -K "$nif" tx off txvlan off >/dev/null ||
        fail "cannot disable tx offloads on $nif"
    ip -n "$ns" addr add "$(topo_ip4 "$n")/24" dev "$nif"
    ip -n "$ns" -6 addr add "$(topo_ip6 "$n")/64" dev "$nif" nodad
    ip -n "$ns" link set "$nif" up
    swx sysctl -qw "net.ipv6.conf.$hif.disable_ipv6=1" || true
    ip -n "$OVS_NETNS" link set "$hif" up
}

link_state_is() { [[ $(vsctl get interface "$1" link_state) == "$2" ]]; }

# round VICTIM GENERATOR: the generator in namespace GENERATOR floods
# towards the victim's port, whose device is deleted and re-created.
round() {
    local v=$1 g=$2 vif other st err log_from
    vif=$(topo_host_if "$v")
    other=$(topo_host_if "$g")
    PROBLEMS=()
    traffic_start "$g" "$RATE"
    sleep 1
    log_from=$(wc -l <"$OVS_VSWITCHD_LOG")

    OLD_NS_MAC=$(ip -n "$(topo_ns_name "$v")" -o link show \
        "$(topo_ns_if "$v")" | sed -nE 's/.*link\/ether ([0-9a-f:]+).*/\1/p')
    [[ -n $OLD_NS_MAC ]] || fail "cannot read the MAC of $(topo_ns_if "$v")"
    swx ip link del "$vif" || fail "cannot delete $vif"
    log "deleted $vif under traffic from ns$g"
    sleep 2
    check_alive
    wait_until 10 link_state_is "$vif" down ||
        problem "$vif: link_state $(vsctl get interface "$vif" link_state)" \
            "with the device gone"
    # Give the bridge a statistics/status refresh (5 s) to notice.
    sleep 5
    check_alive
    st=$(vsctl get interface "$vif" status)
    err=$(vsctl get interface "$vif" error)
    log "$vif gone: link_state=$(vsctl get interface "$vif" link_state)" \
        "error=$err status=$st"
    [[ ! $st =~ (^\{|, )xdp-mode= ]] ||
        problem "$vif: status still claims a working port: $st"
    [[ $err != "[]" || $st == *afxdp-error=* ]] ||
        problem "$vif: neither error nor status:afxdp-error says the" \
            "device is gone (error=$err, status=$st)"
    tail -n +"$((log_from + 1))" "$OVS_VSWITCHD_LOG" |
        grep -Eq "\|(WARN|ERR)\|.*$vif.*([Nn]o such device|removed|disappeared|gone)" ||
        problem "no WARN/ERR log line says that $vif disappeared"
    check_one_prog "$other"

    replumb "$v"
    log "re-created $vif"
    if ! ping_within "$g" "$(topo_ip4 "$v")" 20; then
        problem "no forwarding within 20 s after $vif came back" \
            "(status $(vsctl get interface "$vif" status)," \
            "error $(vsctl get interface "$vif" error)," \
            "XDP programs on it: '$(xdp_prog_names "$vif")'," \
            "AF_XDP sockets: $(xsk_count))"
    else
        check_ping_all
        check_one_prog "$vif"
        [[ $(xsk_count) == $(xsk_sockets 2 2) ]] ||
            problem "$(xsk_count) AF_XDP sockets after $vif returned," \
                "expected $(xsk_sockets 2 2) (none left on the dead device)"
        port_ready "$vif" ||
            problem "$vif not ready: error $(vsctl get interface "$vif" error)"
    fi
    pid_alive "$PKTGEN_PID" || fail "afxdp-pktgen died"
    traffic_stop
    log "round $vif: afxdp-pktgen sent $PKTGEN_SENT frames"
    check_alive
    ((${#PROBLEMS[@]} == 0)) ||
        fail "$vif deleted and re-created: ${#PROBLEMS[@]} problem(s):" \
            "$(printf '%s; ' "${PROBLEMS[@]}")"
    check_chunks "$P0"
    check_chunks "$P1"
}

round 1 0
round 0 1
sys_finish
