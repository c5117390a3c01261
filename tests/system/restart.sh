#!/usr/bin/env bash
# However ovs-vswitchd stops (ovs-appctl exit, SIGTERM, SIGKILL), no XDP
# program stays attached, and a new ovs-vswitchd forwards again.  SIGKILL
# runs no code in the process: only a program attached through a bpf_link,
# which the kernel drops with the last file descriptor, passes that step.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

sys_setup
check_ping_all

for how in exit TERM KILL; do
    ovs_stop_vswitchd "$how"
    wait_no_xdp "$P0"
    wait_no_xdp "$P1"
    log "stopped ovs-vswitchd with $how: no XDP program left"
    ovs_start_vswitchd
    port_wait_ready "$P0"
    port_wait_ready "$P1"
    check_xdp "$P0"
    check_xdp "$P1"
    check_ping_all
    log "restarted after $how: forwarding again"
done
sys_finish
