#!/usr/bin/env bash
# options:busy-poll-budget and busy-poll-usecs: socket busy polling
# (SO_PREFER_BUSY_POLL, SO_BUSY_POLL, SO_BUSY_POLL_BUDGET), off by default.
#  - By default the status has no busy-poll key: the sockets carry none of
#    the options.
#  - Set, the port reopens its sockets with them, and the status shows what
#    the kernel reports back for them (getsockopt on the socket, not our
#    own bookkeeping; for the budget, which has no getsockopt, what the
#    kernel accepted); traffic still flows.
#  - busy-poll-usecs alone defaults the time slice when a budget is set.
#  - Bad values on the running port are kept out with one clear error
#    (status afxdp-config-error) and the port keeps its busy polling;
#    unsetting the budget turns busy polling off again.
# veth has no zero-copy, so this checks that the options are applied, not
# that they make anything faster (docs/OPTIONS.md says where they do).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

OVS_LOG_ALLOW="\|netdev_afxdp\|ERR\|$P0: Invalid 'busy-poll-(budget|usecs)'"

busy_poll() { iface_status "$P0" busy-poll 2>/dev/null || true; }
config_error() { iface_status "$P0" afxdp-config-error 2>/dev/null || true; }

sys_setup
check_ping 0 "$IP4_1"
[[ -z $(busy_poll) ]] || fail "busy polling on by default: $(busy_poll)"

vsctl set interface "$P0" options:busy-poll-budget=64 options:busy-poll-usecs=50
wait_until 10 eval '[[ $(busy_poll) == "budget 64, 50 us, preferred" ]]' ||
    fail "busy-poll status '$(busy_poll)', expected 'budget 64, 50 us, preferred'"
port_wait_ready "$P0"
check_ping_all
log "busy polling applied: $(busy_poll)"

vsctl remove interface "$P0" options busy-poll-usecs
wait_until 10 eval '[[ $(busy_poll) == "budget 64, 20 us, preferred" ]]' ||
    fail "busy-poll status '$(busy_poll)' without busy-poll-usecs"
log "default time slice: $(busy_poll)"

for bad in "busy-poll-budget=-1" "busy-poll-budget=abc" \
    "busy-poll-budget=70000" "busy-poll-usecs=0"; do
    vsctl set interface "$P0" "options:$bad"
    wait_until 10 eval '[[ $(config_error) == *busy-poll* ]]' ||
        fail "$bad: status afxdp-config-error is '$(config_error)'"
    # The running port keeps its last valid options.
    [[ $(busy_poll) == "budget 64, 20 us, preferred" ]] ||
        fail "$bad: busy-poll status '$(busy_poll)' after the bad value"
    log "$bad kept out: $(config_error)"
    vsctl remove interface "$P0" options "${bad%%=*}"
    vsctl set interface "$P0" options:busy-poll-budget=64
    wait_until 10 eval '[[ -z $(config_error) ]]' ||
        fail "$bad: afxdp-config-error still '$(config_error)' after the fix"
    port_wait_ready "$P0"
done
check_ping 0 "$IP4_1"

vsctl remove interface "$P0" options busy-poll-budget
wait_until 10 eval '[[ -z $(busy_poll) ]]' ||
    fail "busy polling still on after removing the budget: $(busy_poll)"
port_wait_ready "$P0"
check_ping_all
sys_finish
