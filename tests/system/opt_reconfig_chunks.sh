#!/usr/bin/env bash
# Reconfiguration under traffic: xdp-mode and n_rxq change while UDP and
# ping floods run through 2-queue ports, so sockets are torn down and
# rebuilt while PMDs hold frames.  Afterwards, with traffic stopped, the
# shared UMEM's chunk accounting adds up (free + fill + rx + held + tx +
# completion == total), nothing is left held, and traffic flows.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

sys_setup --queues 2 n_rxq=2
check_ping_all

# Traffic for the whole reconfiguration sequence: UDP floods both ways
# (16 flows, so both queues) and a ping flood.
blast() {
    local from=$1 to=$2 dmac
    dmac=$(nsx "$to" cat "/sys/class/net/$(topo_ns_if "$to")/address")
    nsx "$from" python3 "$AFXDP_ROOT/scripts/lib/udp-blast.py" \
        --dev "$(topo_ns_if "$from")" --dst-mac "$dmac" \
        --src-ip "$(topo_ip4 "$from")" --dst-ip "$(topo_ip4 "$to")" \
        --seconds 25 --flows 16 >/dev/null
}
blast 0 1 &
b0=$!
on_exit "kill $b0"
blast 1 0 &
b1=$!
on_exit "kill $b1"
nsx 0 ping -q -f -w 25 "$IP4_1" >/dev/null 2>&1 &
pf=$!
on_exit "kill $pf"
sleep 1

# reconf OPTION=VALUE: applied to both ports; waits until they are back.
reconf() {
    vsctl set interface "$P0" "options:$1" -- set interface "$P1" "options:$1"
    port_wait_ready "$P0"
    port_wait_ready "$P1"
    sleep 1
    log "under traffic: $1"
}
reconf xdp-mode=generic
reconf n_rxq=1
reconf xdp-mode=native
reconf n_rxq=2
reconf xdp-mode=generic
reconf xdp-mode=native

wait "$b0" "$b1" || true
wait "$pf" || true
pid_alive "$VSWITCHD_PID" || fail "ovs-vswitchd died under reconfiguration"

# The closed sockets' chunks come back to the shared UMEM a moment after
# each reconfiguration; by now every chunk must balance and none be held.
for p in "$P0" "$P1"; do
    check_umem "$p"
done
check_ping_all
sys_finish
