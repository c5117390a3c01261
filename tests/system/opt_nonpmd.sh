#!/usr/bin/env bash
# type=afxdp-nonpmd: the ports are polled by ovs-vswitchd's main thread,
# which sleeps in poll() on the sockets between wakeups instead of
# busy-polling.  Checks traffic both ways, that no PMD thread polls the
# ports, and reports (without asserting a number, timing depends on the
# machine) how much CPU the idle ovs-vswitchd uses.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_add_host 0
topo_add_host 1
ovs_start
ovs_add_bridge "$BR"
for p in "$P0" "$P1"; do
    vsctl add-port "$BR" "$p" -- set interface "$p" type=afxdp-nonpmd
done
port_wait_ready "$P0"
port_wait_ready "$P1"
for p in "$P0" "$P1"; do
    [[ $(vsctl get interface "$p" type) == afxdp-nonpmd ]] ||
        fail "$p: type is $(vsctl get interface "$p" type)"
    check_xdp "$p"
    [[ -n $(iface_status "$p" xdp-mode) ]] ||
        fail "$p: no xdp-mode in status: $(vsctl get interface "$p" status)"
done
check_ping_all
nsx 0 ping -q -c 200 -i 0.005 -W 2 "$IP4_1" >/dev/null ||
    fail "lost pings on afxdp-nonpmd ports"

# Not polled by a PMD thread.
rxqs=$(appctl dpif-netdev/pmd-rxq-show)
if grep -Eq "port: ($P0|$P1) " <<<"$rxqs"; then
    printf '%s\n' "$rxqs" >&2
    fail "a PMD thread polls an afxdp-nonpmd port"
fi

# CPU use while idle: clock ticks of the whole process and of its main
# thread over 3 s.  A main thread spinning on the sockets would use close
# to 100% of a core.
ticks() { awk '{ print $14 + $15 }' "$1"; }
hz=$(getconf CLK_TCK)
proc=/proc/$VSWITCHD_PID
sleep 1
p0=$(ticks "$proc/stat")
m0=$(ticks "$proc/task/$VSWITCHD_PID/stat")
sleep 3
p1=$(ticks "$proc/stat")
m1=$(ticks "$proc/task/$VSWITCHD_PID/stat")
log "idle CPU over 3 s: ovs-vswitchd $(((p1 - p0) * 100 / (3 * hz)))%" \
    "of a core, main thread $(((m1 - m0) * 100 / (3 * hz)))%" \
    "($((p1 - p0)) and $((m1 - m0)) ticks at $hz Hz)"

# Still answering after the idle period: the main thread woke up for it.
check_ping 1 "$IP6_0"
sys_finish
