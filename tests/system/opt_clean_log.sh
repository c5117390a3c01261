#!/usr/bin/env bash
# Nothing is logged that an operator does not need: a normal cycle of
# add-port, traffic and del-port (twice, both port types) leaves no ERR or
# EMER line in ovs-vswitchd.log, and no WARN from our provider, which is
# also where libbpf's and libxdp's messages go (module netdev_afxdp).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_add_host 0
topo_add_host 1
ovs_start
ovs_add_bridge "$BR"

for type in afxdp afxdp-nonpmd afxdp; do
    for p in "$P0" "$P1"; do
        vsctl add-port "$BR" "$p" -- set interface "$p" "type=$type"
    done
    port_wait_ready "$P0"
    port_wait_ready "$P1"
    check_ping_all
    # Statistics and status are read on every refresh; make sure they
    # were read at least once with the ports up.
    vsctl get interface "$P0" statistics status >/dev/null
    for p in "$P0" "$P1"; do
        vsctl del-port "$BR" "$p"
    done
    wait_no_xdp "$P0"
    wait_no_xdp "$P1"
    log "$type: add-port, ping, del-port done"
done

bad=$(grep -E '\|(ERR|EMER)\||\|netdev_afxdp\|WARN\||libbpf|libxdp' \
    "$OVS_VSWITCHD_LOG" | grep -Ev '\|(INFO|DBG)\|' || true)
[[ -z $bad ]] || {
    printf '%s\n' "$bad" >&2
    fail "ovs-vswitchd.log has errors or provider warnings"
}
log "ovs-vswitchd.log: $(grep -c '|netdev_afxdp|' "$OVS_VSWITCHD_LOG")" \
    "netdev_afxdp lines, none above INFO; no ERR/EMER at all"
sys_finish
