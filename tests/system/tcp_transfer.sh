#!/usr/bin/env bash
# A 16 MB TCP transfer over IPv4 and one over IPv6 through two afxdp ports;
# the receiver's copy must hash the same as the sender's.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

SIZE_MB=16
PORT=5201

# transfer DST_IP: ns0 sends $TEST_TMP/data to ns1 at DST_IP.
transfer() {
    check_tcp_transfer "$1" "$PORT" 60
    log "$SIZE_MB MB to $1: sha256 ok"
}

head -c "$((SIZE_MB << 20))" /dev/urandom >"$TEST_TMP/data"
sys_setup
check_ping 0 "$IP4_1"
transfer "$IP4_1"
transfer "$IP6_1"
sys_finish
