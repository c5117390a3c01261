#!/usr/bin/env bash
# options:xdp-mode changes at run time: native <-> generic, back and forth,
# while a ping runs, and traffic resumes after each change.  Then
# native-with-zerocopy, which veth does not offer: the port stays in the
# bridge without sockets, ovs-vswitchd logs exactly one error naming the
# device and the cause, status shows afxdp-error instead of xdp-mode, and
# setting a possible mode brings the port back.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

OVS_LOG_ALLOW="\|netdev_afxdp\|ERR\|$P0: cannot open AF_XDP sockets with xdp-mode=native-with-zerocopy"

status_mode_is() { [[ $(iface_status "$1" xdp-mode 2>/dev/null) == "$2" ]]; }

# set_mode MODE: both ports to MODE; waits for it in status and traffic.
set_mode() {
    local mode=$1 p
    vsctl set interface "$P0" "options:xdp-mode=$mode" -- \
        set interface "$P1" "options:xdp-mode=$mode"
    for p in "$P0" "$P1"; do
        port_wait_ready "$p"
        wait_until 10 status_mode_is "$p" "$mode" ||
            fail "$p: status $(vsctl get interface "$p" status), expected xdp-mode=$mode"
    done
    check_ping 0 "$IP4_1"
    check_ping 1 "$IP6_0"
    log "xdp-mode=$mode: traffic flows"
}

sys_setup xdp-mode=native
check_ping_all

# A ping that runs through every change; the switches must not stop it for
# good (check_ping after each change) nor kill ovs-vswitchd.
# exec: $bg is ping itself, which prints its summary on SIGINT (the shell
# would ignore SIGINT in a background job).
(exec ip netns exec "$(topo_ns_name 0)" ping -q -i 0.05 -W 1 -w 120 \
    "$IP4_1" >"$TEST_TMP/bg.txt" 2>&1) &
bg=$!
on_exit "kill $bg"

for mode in generic native generic native; do
    set_mode "$mode"
done
kill -INT "$bg"
wait "$bg" || true
grep -Eq ' [1-9][0-9]* received' "$TEST_TMP/bg.txt" ||
    fail "background ping got nothing back: $(cat "$TEST_TMP/bg.txt")"
log "background ping: $(grep received "$TEST_TMP/bg.txt")"

# native-with-zerocopy on veth: refused by the kernel (no zero-copy).
lines=$(wc -l <"$OVS_VSWITCHD_LOG")
vsctl set interface "$P0" options:xdp-mode=native-with-zerocopy
has_error() { [[ -n $(iface_status "$P0" afxdp-error 2>/dev/null) ]]; }
wait_until 10 has_error ||
    fail "$P0: no afxdp-error in status: $(vsctl get interface "$P0" status)"
sleep 3
err=$(iface_status "$P0" afxdp-error)
[[ $err == *native-with-zerocopy* && $err == *"zero-copy"* ]] ||
    fail "$P0: afxdp-error does not say why: $err"
if iface_status "$P0" xdp-mode >/dev/null 2>&1; then
    fail "$P0: status still shows an xdp-mode without sockets"
fi
new_log=$(tail -n +"$((lines + 1))" "$OVS_VSWITCHD_LOG")
n_err=$(grep -Ec '\|(ERR|EMER)\|' <<<"$new_log" || true)
((n_err == 1)) || {
    grep -E '\|(ERR|EMER|WARN)\|' <<<"$new_log" >&2
    fail "expected exactly one error for native-with-zerocopy, got $n_err"
}
grep -E '\|ERR\|' <<<"$new_log" | grep -q "$P0" ||
    fail "the error does not name $P0"
log "zero-copy refused: $(grep -E '\|ERR\|' <<<"$new_log" | cut -d'|' -f5-)"
# Still a port of the bridge (no add/delete loop), and no XDP left behind.
port_ready "$P0" || fail "$P0 left the bridge after a failed reconfiguration"
wait_no_xdp "$P0"

# Corrected: sockets again, traffic again, no stale error.
set_mode native
if iface_status "$P0" afxdp-error >/dev/null 2>&1; then
    fail "$P0: afxdp-error still in status after recovery"
fi
check_ping_all
sys_finish
