#!/usr/bin/env bash
# Bad interface options are refused once, clearly, and do not break the
# port for good.  For each of xdp-mode=bogus, n_rxq=0, n_rxq=-1, n_rxq=abc,
# n_rxq above the device's queues, and mtu_request=9000 (more than a 4 KiB
# chunk holds) on the first port of a working bridge:
#   - ovs-vswitchd logs exactly one line naming the port and the cause,
#     and the Interface's error column says the same (for the MTU, which
#     OVS's bridge does not report in the error column, the WARN line and
#     the interface keeping its MTU);
#   - nothing is retried in a loop: over the next 5 s no further line about
#     the port is logged;
#   - once the option is corrected, the port forwards again (ping).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

# The refusals are logged at ERR by design (VLOG_ERR_BUF fills the error
# column); exactly which lines appear is checked below.
OVS_LOG_ALLOW="\|netdev_afxdp\|ERR\|$P0: (Incorrect xdp-mode|Invalid 'n_rxq'|Too big 'n_rxq')"

sys_setup
check_ping 0 "$IP4_1"

log_lines() { wc -l <"$OVS_VSWITCHD_LOG"; }
# new_log FROM: log lines after line FROM that name the port, at WARN or
# worse (the INFO lines of a port coming back are not errors).
new_log() {
    tail -n +"$(($1 + 1))" "$OVS_VSWITCHD_LOG" | grep -F "$P0" |
        grep -E '\|(WARN|ERR|EMER)\|' || true
}
error_col() { vsctl get interface "$P0" error; }

# bad_option DESCRIPTION EXPECTED_ERE FIX_CMD -- SET_ARGS...
bad_option() {
    local what=$1 want=$2 fix=$3 from lines n n1 distinct
    shift 4
    from=$(log_lines)
    vsctl set interface "$P0" "$@"
    # The bridge reports the error once it reconfigured.
    wait_until 10 eval '[[ -n $(new_log $from) ]]' ||
        fail "$what: nothing logged"
    sleep 1
    n1=$(new_log "$from" | grep -c .)
    sleep 5
    lines=$(new_log "$from")
    n=$(grep -c . <<<"$lines")
    log "$what: $n line(s): $(sed 's/^[^|]*|[^|]*|//' <<<"$lines" | sort |
        uniq -c | tr -s ' \n' ' ')"
    # No retry loop: nothing more after the first second.
    ((n == n1)) || fail "$what: $n1 lines in 1 s, $n after 6 s: $lines"
    # One message from the provider, saying what is wrong.  OVS's bridge
    # calls set_config up to 3 times while it drops and tries to re-add
    # the port, and netdev adds "could not set configuration" (or "failed
    # to set MTU") each time.
    distinct=$(sed 's/^[^|]*|[^|]*|//' <<<"$lines" |
        grep -Ev '^netdev\|WARN\|(.*: could not set configuration|failed to set MTU)' |
        sort -u)
    [[ $(grep -c . <<<"$distinct") == 1 ]] ||
        fail "$what: more than one distinct message: $distinct"
    grep -Eq -- "$want" <<<"$distinct" ||
        fail "$what: the log does not say '$want': $lines"
    ((n <= 6)) || fail "$what: $n log lines: $lines"
    if [[ $what != mtu* ]]; then
        local err
        err=$(error_col)
        grep -Eq -- "$want" <<<"$err" ||
            fail "$what: error column '$err' does not say '$want'"
        log "$what: error column $err"
    fi
    eval "$fix"
    port_wait_ready "$P0"
    check_ping 0 "$IP4_1"
    log "$what: port works again after the fix"
}

bad_option "xdp-mode=bogus" "$P0: Incorrect xdp-mode \(bogus\)" \
    "vsctl remove interface $P0 options xdp-mode" -- options:xdp-mode=bogus
for v in 0 -1 abc; do
    bad_option "n_rxq=$v" "$P0: Invalid 'n_rxq' \($v\)" \
        "vsctl remove interface $P0 options n_rxq" -- "options:n_rxq=$v"
done
bad_option "n_rxq=4 on 1 queue" "$P0: Too big 'n_rxq' \(4 > 1\)" \
    "vsctl set interface $P0 options:n_rxq=1" -- options:n_rxq=4

mtu0=$(swx cat "/sys/class/net/$P0/mtu")
bad_option "mtu_request=9000" "$P0: MTU 9000 is too large for AF_XDP" \
    "vsctl clear interface $P0 mtu_request" -- mtu_request=9000
mtu1=$(swx cat "/sys/class/net/$P0/mtu")
[[ $mtu1 == "$mtu0" ]] || fail "$P0: MTU changed from $mtu0 to $mtu1"
check_ping_all
sys_finish
