#!/usr/bin/env bash
# IPv4 and IPv6 ping across two afxdp ports, both directions, including
# full-size frames (1500-byte IPv4 packets).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

sys_setup
check_ping_all
check_ping 0 "$IP4_1" -s 1472 -M "do"
check_ping 1 "$IP6_0" -s 1452 -M "do"
sys_finish
