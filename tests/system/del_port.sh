#!/usr/bin/env bash
# ovs-vsctl del-port detaches the XDP program from the device, leaves the
# other port working, and adding the port back restores forwarding.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

sys_setup
check_ping 0 "$IP4_1"
check_xdp "$P0"
check_xdp "$P1"

vsctl del-port "$BR" "$P0"
wait_no_xdp "$P0"
check_xdp "$P1"
nsx 0 ping -q -c 2 -W 1 "$IP4_1" >/dev/null &&
    fail "ping crossed a port that was deleted"

ovs_add_afxdp_port "$BR" "$P0"
port_wait_ready "$P0"
check_xdp "$P0"
check_ping_all

vsctl del-port "$BR" "$P0" -- del-port "$BR" "$P1"
wait_no_xdp "$P0"
wait_no_xdp "$P1"
sys_finish
