#!/usr/bin/env bash
# The environment gets in the way; the port says why and recovers.
#
# 1. A foreign XDP program (not ours, attached with ip link) sits on the
#    device when the port is added: the port opens no socket, the log and
#    the interface status (afxdp-error) name the other program as the
#    cause, and the foreign program stays untouched.  Removing it and
#    setting an option again brings the port up.
# 2. No bpffs: nothing of ours pins, so the port works with /sys/fs/bpf
#    unmounted in ovs-vswitchd's mount namespace.
# 3. No permission: ovs-vswitchd restarted without CAP_BPF, CAP_SYS_ADMIN
#    and CAP_PERFMON (capsh drops them from the bounding set, and so from
#    what the daemon gets at exec) still runs, but the port cannot load its
#    XDP program, and the log and status say "Operation not permitted".
#    CAP_NET_ADMIN stays: OVS itself needs it for its tap devices and
#    netlink, so without it there would be no ovs-vswitchd to ask.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

require_cmd clang capsh nsenter
OVS_LOG_ALLOW="\|netdev_afxdp\|ERR\|($P0|$P1): cannot open AF_XDP sockets"

# ---- 1. foreign XDP program ---------------------------------------------

cat >"$TEST_TMP/foreign.bpf.c" <<'EOF'
/* XDP_PASS; no kernel headers needed for a program this small. */
__attribute__((section("xdp"), used)) int foreign_pass(void *ctx)
{
    return 2;
}
char _license[] __attribute__((section("license"), used)) = "GPL";
EOF
clang -O2 -g -target bpf -c "$TEST_TMP/foreign.bpf.c" \
    -o "$TEST_TMP/foreign.bpf.o" || fail "cannot build the foreign program"

topo_add_host 0
topo_add_host 1
swx ip link set dev "$P0" xdpdrv obj "$TEST_TMP/foreign.bpf.o" sec xdp ||
    fail "cannot attach the foreign program to $P0"
foreign_id() {
    swx ip -d link show dev "$P0" 2>/dev/null | sed -nE 's/.*prog\/xdp id ([0-9]+).*/\1/p'
}
fid=$(foreign_id)
[[ -n $fid ]] || fail "foreign program not visible on $P0"

ovs_start
ovs_add_bridge "$BR"
ovs_add_afxdp_port "$BR" "$P1"
port_wait_ready "$P1"
from=$(wc -l <"$OVS_VSWITCHD_LOG")
ovs_add_afxdp_port "$BR" "$P0"
status_err() { iface_status "$P0" afxdp-error 2>/dev/null; }
wait_until 20 eval '[[ -n $(status_err) ]]' ||
    fail "$P0: no afxdp-error in status: $(vsctl get interface "$P0" status)"
err=$(status_err)
log "$P0 status afxdp-error: $err"
grep -q "foreign_pass.*already attached" <<<"$err" ||
    fail "$P0: the status does not name the foreign program: $err"
sleep 5
lines=$(tail -n +"$((from + 1))" "$OVS_VSWITCHD_LOG" | grep -F "$P0" |
    grep -E '\|(WARN|ERR|EMER)\|' || true)
log "$P0 log: $lines"
[[ $(grep -c . <<<"$lines") == 1 ]] ||
    fail "$P0: expected exactly one error line, got: $lines"
grep -q "foreign_pass.*already attached" <<<"$lines" ||
    fail "$P0: the log does not name the foreign program: $lines"
# No socket: no per-queue statistics, and the foreign program is intact.
stats=$(vsctl get interface "$P0" statistics)
[[ $stats != *q0_* ]] || fail "$P0 has sockets despite the error: $stats"
[[ $(foreign_id) == "$fid" ]] ||
    fail "the foreign program on $P0 was replaced (id $fid -> $(foreign_id))"

swx ip link set dev "$P0" xdpdrv off
vsctl set interface "$P0" options:xdp-mode=native
port_wait_ready "$P0"
wait_until 10 eval '[[ -z $(status_err) ]]' ||
    fail "$P0 still reports an error: $(status_err)"
check_xdp "$P0"
check_ping_all
log "$P0 works after the foreign program was removed"

# ---- 2. no bpffs ----------------------------------------------------------

nsenter -t "$VSWITCHD_PID" -m sh -c \
    'while mountpoint -q /sys/fs/bpf; do umount /sys/fs/bpf || exit 1; done' ||
    fail "cannot unmount bpffs in ovs-vswitchd's mount namespace"
nsenter -t "$VSWITCHD_PID" -m mountpoint -q /sys/fs/bpf &&
    fail "bpffs still mounted for ovs-vswitchd"
# Reopen both ports (new XDP program, new sockets) without bpffs.
from=$(wc -l <"$OVS_VSWITCHD_LOG")
reopened() {
    tail -n +"$((from + 1))" "$OVS_VSWITCHD_LOG" |
        grep -q "netdev_afxdp|INFO|$1: AF_XDP in XDP mode"
}
vsctl set interface "$P0" options:xdp-mode=best-effort
vsctl set interface "$P1" options:xdp-mode=native
wait_until 20 reopened "$P0" || fail "$P0 was not reopened"
wait_until 20 reopened "$P1" || fail "$P1 was not reopened"
port_wait_ready "$P0"
port_wait_ready "$P1"
check_xdp "$P0"
check_ping_all
log "ports reopened and forward without bpffs"

# ---- 3. no permission -----------------------------------------------------

ovs_stop_vswitchd TERM
wait_no_xdp "$P0"
rm -f "$OVS_RUNDIR/ovs-vswitchd.pid"
from=$(wc -l <"$OVS_VSWITCHD_LOG")
ip netns exec "$OVS_NETNS" capsh --drop=cap_bpf,cap_sys_admin,cap_perfmon \
    -- -c 'exec "$0" "$@"' "$OVS_SBINDIR/ovs-vswitchd" \
    "unix:$OVS_RUNDIR/db.sock" --pidfile="$OVS_RUNDIR/ovs-vswitchd.pid" \
    --detach --no-chdir -vconsole:err --log-file="$OVS_VSWITCHD_LOG" ||
    fail "ovs-vswitchd did not start without CAP_BPF/CAP_SYS_ADMIN"
VSWITCHD_PID=$(read_pidfile "$OVS_RUNDIR/ovs-vswitchd.pid")
grep -q '^CapEff:.*' "/proc/$VSWITCHD_PID/status"
capeff=$(sed -n 's/^CapEff:\s*//p' "/proc/$VSWITCHD_PID/status")
# CAP_SYS_ADMIN is bit 21, CAP_BPF bit 39.
(((0x$capeff >> 21 & 1) == 0 && (0x$capeff >> 39 & 1) == 0)) ||
    fail "ovs-vswitchd still has CAP_SYS_ADMIN or CAP_BPF (CapEff $capeff)"
log "ovs-vswitchd PID $VSWITCHD_PID runs with CapEff $capeff"
wait_until 20 eval '[[ -n $(status_err) ]]' ||
    fail "$P0: no afxdp-error without CAP_BPF: $(vsctl get interface "$P0" status)"
err=$(status_err)
log "$P0 status afxdp-error: $err"
grep -Eq "Operation not permitted|EPERM|permission" <<<"$err" ||
    fail "$P0: the status does not say the permission is missing: $err"
sleep 2
lines=$(tail -n +"$((from + 1))" "$OVS_VSWITCHD_LOG" | grep -F "$P0" |
    grep -E '\|(WARN|ERR|EMER)\|' || true)
log "$P0 log: $lines"
grep -Eq "Operation not permitted|permission" <<<"$lines" ||
    fail "$P0: the log does not say the permission is missing: $lines"
[[ $(grep -c . <<<"$lines") == 1 ]] ||
    fail "$P0: expected exactly one error line, got: $lines"
check_no_xdp "$P0"
pid_alive "$VSWITCHD_PID" || fail "ovs-vswitchd died without CAP_BPF"
sys_finish
