#!/usr/bin/env bash
# type=afxdp-nonpmd: the ports are polled by ovs-vswitchd's main thread,
# which sleeps in poll() on the sockets between wakeups instead of
# busy-polling.  Checks traffic both ways, that no PMD thread polls the
# ports, and that ovs-vswitchd with both ports idle stays under 10% of one
# core (see IDLE_MAX_PCT).
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

# CPU use while idle: user+system clock ticks of the whole process (every
# thread: main, handlers, revalidators, any PMD) and of its main thread
# over IDLE_SECS.  The threshold: the failure this catches is a thread
# polling the sockets without sleeping, which costs close to 100% of a
# core on any machine (the same ports as type=afxdp, polled by a PMD,
# measured 99%).  Idle, ovs-vswitchd only wakes for periodic work
# (revalidators every 0.5 s, statistics every 5 s): 0 to 2 ticks at 100 Hz
# over 3 to 5 s, under 1%, on the loaded 2-core development VM.  10% of a
# core is 10x below the failure and far above that; CPU time, unlike wall
# time, does not grow when other processes compete for the CPUs.
IDLE_SECS=5
IDLE_MAX_PCT=10
ticks() { awk '{ print $14 + $15 }' "$1"; }
hz=$(getconf CLK_TCK)
proc=/proc/$VSWITCHD_PID
sleep 1
p0=$(ticks "$proc/stat")
m0=$(ticks "$proc/task/$VSWITCHD_PID/stat")
sleep "$IDLE_SECS"
p1=$(ticks "$proc/stat")
m1=$(ticks "$proc/task/$VSWITCHD_PID/stat")
pct=$(((p1 - p0) * 100 / (IDLE_SECS * hz)))
log "idle CPU over $IDLE_SECS s: ovs-vswitchd $pct% of a core, main" \
    "thread $(((m1 - m0) * 100 / (IDLE_SECS * hz)))%" \
    "($((p1 - p0)) and $((m1 - m0)) ticks at $hz Hz; limit $IDLE_MAX_PCT%)"
(((p1 - p0) * 100 <= IDLE_MAX_PCT * IDLE_SECS * hz)) ||
    fail "idle ovs-vswitchd used $((p1 - p0)) ticks in $IDLE_SECS s" \
        "($pct% of a core, over $IDLE_MAX_PCT%): something polls the ports"

# Still answering after the idle period: the main thread woke up for it.
check_ping 1 "$IP6_0"
sys_finish
