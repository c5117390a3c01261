#!/usr/bin/env bash
# Bad interface options: a running port keeps working, a fresh port is
# refused, and each mistake is logged exactly once.
#
# Running port (two queues, n_rxq=2, xdp-mode=generic): for each of
# xdp-mode=bogus, n_rxq=0, n_rxq=-3, n_rxq=abc, n_rxq=4096 (above the
# device's queues) and use-need-wakeup=maybe:
#   - ovs-vswitchd logs exactly one line about the port, the provider's
#     ERR naming the option and the value, and nothing more over the next
#     5 s, nor when the bridge reconfigures again with the same value;
#   - status:afxdp-config-error says the same; the error column stays
#     empty (the bridge did not drop the port);
#   - the port keeps its last valid configuration (2 queues, generic mode,
#     the same XDP program) and forwards traffic;
#   - once corrected, the status key goes away and, for a new value
#     (n_rxq=1), the port is reconfigured to it.
# Fresh port (add-port with n_rxq=4096): refused as OVS expects, with the
# reason in the error column, one provider ERR and one "could not set
# configuration", and no retry loop.
# mtu_request=9000 (more than a 4 KiB chunk holds): one WARN, the device
# keeps its MTU, the port keeps working.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

OVS_LOG_ALLOW="\|netdev_afxdp\|ERR\|ax[0-9a-z]+: (Incorrect xdp-mode|Invalid 'n_rxq'|Too big 'n_rxq'|Invalid 'use-need-wakeup')"

sys_setup --queues 2 n_rxq=2 xdp-mode=generic
check_ping 0 "$IP4_1"

log_lines() { wc -l <"$OVS_VSWITCHD_LOG"; }
# new_log FROM IFNAME: log lines after line FROM that name IFNAME, at WARN
# or worse, without the timestamp.
new_log() {
    tail -n +"$(($1 + 1))" "$OVS_VSWITCHD_LOG" | grep -F "$2" |
        grep -E '\|(WARN|ERR|EMER)\|' | sed 's/^[^|]*|[^|]*|//' || true
}
count() { grep -c . <<<"$1" || true; }
config_error() { iface_status "$P0" afxdp-config-error 2>/dev/null || true; }
# The queues dpif-netdev polls on P0, e.g. "0 1".
rxqs() {
    appctl dpif-netdev/pmd-rxq-show |
        awk -v p="$P0" '$1 == "port:" && $2 == p { print $4 }' | sort -n |
        tr '\n' ' ' | sed 's/ $//'
}
prog_id() { swx ip -d link show dev "$P0" | grep -oE 'prog/xdp id [0-9]+'; }

[[ $(rxqs) == "0 1" ]] || fail "$P0 polls queues '$(rxqs)', expected '0 1'"
prog0=$(prog_id)
[[ -n $prog0 ]] || fail "no XDP program on $P0"

# bad_running DESCRIPTION EXPECTED_ERE SET_ARGS...
bad_running() {
    local what=$1 want=$2 from lines err
    shift 2
    from=$(log_lines)
    vsctl set interface "$P0" "$@"
    wait_until 10 eval '[[ -n $(new_log $from $P0) ]]' ||
        fail "$what: nothing logged"
    # The bridge runs again on any change: the same value is not news.
    vsctl set interface "$P0" external_ids:afxdp-test="$what"
    sleep 5
    lines=$(new_log "$from" "$P0")
    (($(count "$lines") == 1)) ||
        fail "$what: $(count "$lines") log lines, expected 1: $lines"
    grep -Eq -- "^netdev_afxdp\|ERR\|$P0: $want Keeping the last valid options \(n_rxq=2, xdp-mode=generic, use-need-wakeup=true, shared-umem=true\)" <<<"$lines" ||
        fail "$what: unexpected log line: $lines"
    err=$(config_error)
    grep -Eq -- "^$P0: $want\$" <<<"$err" ||
        fail "$what: status afxdp-config-error is '$err', expected '$want'"
    [[ $(vsctl get interface "$P0" error) == "[]" ]] ||
        fail "$what: error column $(vsctl get interface "$P0" error)"
    # The last valid configuration, still forwarding.
    [[ $(rxqs) == "0 1" ]] || fail "$what: $P0 polls queues '$(rxqs)'"
    [[ $(iface_status "$P0" xdp-mode) == generic ]] ||
        fail "$what: xdp-mode $(iface_status "$P0" xdp-mode)"
    [[ $(prog_id) == "$prog0" ]] ||
        fail "$what: XDP program changed from '$prog0' to '$(prog_id)'"
    check_ping 0 "$IP4_1"
    log "$what: one line, status '$err', still 2 queues in generic mode, forwarding"
}

# fixed WHAT: the status key is gone and the port forwards.
fixed() {
    local what=$1
    wait_until 10 eval '[[ -z $(config_error) ]]' ||
        fail "$what: afxdp-config-error still '$(config_error)' after the fix"
    port_wait_ready "$P0"
    check_ping 0 "$IP4_1"
}

bad_running "xdp-mode=bogus" "Incorrect xdp-mode \(bogus\)\." \
    options:xdp-mode=bogus
vsctl set interface "$P0" options:xdp-mode=generic
fixed "xdp-mode=bogus"
[[ $(prog_id) == "$prog0" ]] || fail "fixing to the kept value reopened $P0"

for v in 0 -3 abc; do
    bad_running "n_rxq=$v" "Invalid 'n_rxq' \($v\): must be a positive integer\." \
        "options:n_rxq=$v"
done
bad_running "n_rxq=4096" "Too big 'n_rxq' \(4096 > 2\)\." options:n_rxq=4096
bad_running "use-need-wakeup=maybe" \
    "Invalid 'use-need-wakeup' \(maybe\): must be true or false\." \
    options:n_rxq=2 options:use-need-wakeup=maybe
vsctl remove interface "$P0" options use-need-wakeup
fixed "use-need-wakeup=maybe"

# A new valid value after a bad one: applied.
vsctl set interface "$P0" options:n_rxq=abc
wait_until 10 eval '[[ -n $(config_error) ]]' || fail "n_rxq=abc not shown"
vsctl set interface "$P0" options:n_rxq=1
fixed "n_rxq=abc then 1"
wait_until 10 eval '[[ $(rxqs) == 0 ]]' ||
    fail "$P0 polls queues '$(rxqs)' after n_rxq=1"
log "n_rxq=1 after a bad value: reconfigured to one queue"

# A fresh port with a bad option is refused, once.
PX=ax${AFXDP_TAG}x0
swx ip link add "$PX" numrxqueues 2 type veth peer name "${PX}p"
on_exit "ip netns exec $(topo_sw_ns) ip link del $PX 2>/dev/null || true"
swx ip link set "$PX" up
swx ip link set "${PX}p" up
from=$(log_lines)
# ovs-vsctl succeeds and says "Error detected while setting up" the port.
vsctl add-port "$BR" "$PX" -- set interface "$PX" type=afxdp options:n_rxq=4096 \
    2>"$TEST_TMP/add-port.err"
grep -qF "Error detected while setting up '$PX': $PX: Too big 'n_rxq'" \
    "$TEST_TMP/add-port.err" || fail "fresh $PX: ovs-vsctl said: $(cat "$TEST_TMP/add-port.err")"
wait_until 10 eval '[[ -n $(new_log $from $PX) ]]' ||
    fail "fresh $PX: nothing logged"
sleep 5
lines=$(new_log "$from" "$PX")
[[ $(count "$lines") == 2 ]] || fail "fresh $PX: expected 2 lines: $lines"
grep -q "^netdev_afxdp|ERR|$PX: Too big 'n_rxq' (4096 > 2)\.$" <<<"$lines" ||
    fail "fresh $PX: no provider ERR: $lines"
grep -q "^netdev|WARN|$PX: could not set configuration (Invalid argument)$" \
    <<<"$lines" || fail "fresh $PX: no 'could not set configuration': $lines"
err=$(vsctl get interface "$PX" error)
[[ $err == *"$PX: Too big 'n_rxq' (4096 > 2)."* ]] ||
    fail "fresh $PX: error column '$err'"
! appctl dpctl/show | grep -qF "$PX" || fail "fresh $PX is in the datapath"
log "fresh $PX: refused with error column $err"
vsctl del-port "$BR" "$PX"

# MTU: netdev-linux's path, one rate-limited WARN per attempt.
mtu0=$(swx cat "/sys/class/net/$P0/mtu")
from=$(log_lines)
vsctl set interface "$P0" mtu_request=9001
wait_until 10 eval '[[ -n $(new_log $from $P0) ]]' || fail "mtu: nothing logged"
sleep 2
lines=$(new_log "$from" "$P0")
grep -q "^netdev_afxdp|WARN|$P0: MTU 9001 is too large for AF_XDP" <<<"$lines" ||
    fail "mtu: unexpected log: $lines"
[[ $(swx cat "/sys/class/net/$P0/mtu") == "$mtu0" ]] ||
    fail "$P0: MTU changed from $mtu0"
check_ping 0 "$IP4_1"
vsctl clear interface "$P0" mtu_request
log "mtu_request=9001: refused, MTU stays $mtu0"

check_ping_all
sys_finish
