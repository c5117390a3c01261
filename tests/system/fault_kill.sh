#!/usr/bin/env bash
# ovs-vswitchd killed with SIGKILL while afxdp-pktgen floods P0, again and
# again.  SIGKILL runs no code in the process, so everything the provider
# created must be owned by file descriptors for the kernel to reclaim:
# after each kill no AF_XDP socket and no XDP program is left in the
# switch namespace, and after each restart (the ports come back from the
# database) every port has exactly one program, ours, the socket count is
# one per queue plus one per port (the main thread's tx lane), and
# forwarding resumes.  After the last restart the
# daemon stops normally and leaves nothing behind either.
#
# AFXDP_FAULT_KILLS (default 5; the long variant runs 20) sets the number
# of kills.
KILLS=${AFXDP_FAULT_KILLS:-5}
: "${AFXDP_TEST_TIMEOUT:=$((90 + 15 * KILLS))}"
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=fault_lib.sh
source "$(dirname "$0")/fault_lib.sh"

RATE=${AFXDP_FAULT_RATE:-100000}

# P0 with two queues, P1 with one: three queues' sockets and the two ports'
# main-thread tx lanes while running.
topo_add_host 0 2
topo_add_host 1
pin_tx_queue0 0
ovs_start
ovs_add_bridge "$BR"
ovs_add_afxdp_port "$BR" "$P0" n_rxq=2
ovs_add_afxdp_port "$BR" "$P1"
port_wait_ready "$P0"
port_wait_ready "$P1"
XSKS=$(xsk_sockets 3 2)

# check_running WHEN: the expected kernel objects, and forwarding.
check_running() {
    check_one_prog "$P0"
    check_one_prog "$P1"
    local n
    n=$(xsk_count)
    [[ $n == "$XSKS" ]] || fail "$1: $n AF_XDP sockets, expected $XSKS"
    ping_within 0 "$IP4_1" 5 || fail "$1: no forwarding within 5 s"
    ping_within 1 "$IP4_0" 5 || fail "$1: no forwarding back within 5 s"
}

# check_gone WHEN: no socket and no program left once the process is gone.
check_gone() {
    wait_until 5 eval '[[ $(xsk_count) == 0 ]]' ||
        fail "$1: $(xsk_count) AF_XDP sockets left in the switch namespace"
    wait_no_prog "$P0"
    wait_no_prog "$P1"
}

check_ping_all
check_running "start"
traffic_start 0 "$RATE"
start=$SECONDS
for ((k = 1; k <= KILLS; k++)); do
    pid=$VSWITCHD_PID
    # Let the flood run into the new daemon for a moment first.
    sleep 1
    ovs_stop_vswitchd KILL
    check_gone "after SIGKILL $k of PID $pid"
    ovs_start_vswitchd
    port_wait_ready "$P0"
    port_wait_ready "$P1"
    check_running "restart $k"
    pid_alive "$PKTGEN_PID" || fail "afxdp-pktgen died"
    log "SIGKILL $k/$KILLS (PID $pid): nothing left behind; restarted as" \
        "PID $VSWITCHD_PID, forwarding again"
done
traffic_stop
log "$KILLS kills in $((SECONDS - start)) s; afxdp-pktgen sent" \
    "$PKTGEN_SENT frames"

check_ping_all
check_chunks "$P0"
lost=$CHUNK_LOST
check_chunks "$P1"
lost=$((lost + CHUNK_LOST))
log "chunks lost: $lost"

# The last daemon ends normally and leaves nothing either.
alive_pid=$VSWITCHD_PID
ovs_check_log "$OVS_LOG_ALLOW" || fail "errors logged by ovs-vswitchd"
ovs_stop_vswitchd exit
check_gone "after ovs-appctl exit of PID $alive_pid"
log "final stop: 0 AF_XDP sockets, no XDP program"
log "PASS $TEST_NAME"
