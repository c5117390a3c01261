#!/usr/bin/env bash
# A 16 MB TCP transfer over IPv4 and one over IPv6 through two afxdp ports;
# the receiver's copy must hash the same as the sender's.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

SIZE_MB=16
PORT=5201

# transfer DST_IP: ns0 sends $TEST_TMP/data to ns1 at DST_IP.
transfer() {
    local dst=$1 out=$TEST_TMP/received srv
    rm -f "$out"
    nsx 1 timeout 60 nc -l "$dst" "$PORT" >"$out" &
    srv=$!
    on_exit "kill $srv"
    wait_until 10 eval "nsx 1 ss -Hltn 'sport = :$PORT' | grep -q LISTEN" ||
        fail "nc did not start listening on $dst:$PORT"
    nsx 0 timeout 60 nc -N "$dst" "$PORT" <"$TEST_TMP/data" ||
        fail "sending $SIZE_MB MB to $dst failed"
    wait "$srv" || fail "receiver on $dst failed"
    local want got
    want=$(sha256sum <"$TEST_TMP/data")
    got=$(sha256sum <"$out")
    [[ $want == "$got" ]] ||
        fail "$dst: received $(stat -c %s "$out") bytes, hash differs"
    log "$SIZE_MB MB to $dst: sha256 ok"
}

head -c "$((SIZE_MB << 20))" /dev/urandom >"$TEST_TMP/data"
sys_setup
check_ping 0 "$IP4_1"
transfer "$IP4_1"
transfer "$IP6_1"
sys_finish
