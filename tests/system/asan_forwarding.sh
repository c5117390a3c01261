#!/usr/bin/env bash
# Our ovs-vswitchd built with AddressSanitizer and UBSan (core and OVS,
# scripts/build-ovs-asan.sh, installed in build/install-asan) forwards,
# takes malformed frames, is reconfigured and exits without a single
# sanitizer report:
#   - pings both ways, afxdp-pktgen --mix (malformed frames interleaved
#     with valid ones) and a valid stream into a counting sink;
#   - n_rxq 2 -> 1 -> 2, xdp-mode native -> generic -> best-effort, a bad
#     option, del-port/add-port, with pings after each step;
#   - ovs-appctl exit, so that every port is destructed.
# The ASan build is made first when it is missing (tens of minutes on two
# cores; ctest gives this test the time, see CMakeLists.txt).
#
# Leak detection is off (ASAN_OPTIONS detect_leaks=0), as in OVS's own
# testsuite: ovs-vswitchd does not free its global state at exit, so LSan
# would report OVS's exit-time allocations on every run.  Leaks in our core
# are caught by the unit tier under -DAFXDP_SANITIZE=address, where LSan
# is on and ports are opened and closed without OVS around them.
set -euo pipefail
AFXDP_ROOT_=$(cd "$(dirname "$0")/../.." && pwd)
export AFXDP_OVS_INSTALL=${AFXDP_OVS_INSTALL_ASAN:-$AFXDP_ROOT_/build/install-asan}
if [[ ! -x $AFXDP_OVS_INSTALL/sbin/ovs-vswitchd ]]; then
    echo "asan_forwarding: building the ASan OVS (scripts/build-ovs-asan.sh)"
    "$AFXDP_ROOT_/scripts/build-ovs-asan.sh" || {
        echo "FAIL asan_forwarding: scripts/build-ovs-asan.sh failed" >&2
        exit 1
    }
fi
# Slower under ASan: more time than lib.sh's default.
export AFXDP_TEST_TIMEOUT=${AFXDP_TEST_TIMEOUT:-280}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

syms=$(nm "$OVS_SBINDIR/ovs-vswitchd")
grep -q ' U __asan_init$' <<<"$syms" ||
    fail "$OVS_SBINDIR/ovs-vswitchd is not built with ASan"

PKTGEN=$AFXDP_BUILD_DIR/perf/afxdp-pktgen
SINK=$AFXDP_BUILD_DIR/perf/afxdp-sink
[[ -x $PKTGEN && -x $SINK ]] || fail "build the perf tools first ($PKTGEN)"

# Every daemon and client of the ASan build reports into files here.
SAN_DIR=$TEST_TMP/san
mkdir -p "$SAN_DIR"
export ASAN_OPTIONS="detect_leaks=0:log_path=$SAN_DIR/asan:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:log_path=$SAN_DIR/ubsan"
check_san() {
    local f found=0
    for f in "$SAN_DIR"/*; do
        [[ -s $f ]] || continue
        log "sanitizer report in $f:"
        head -n 60 "$f" >&"$AFXDP_ERR_FD"
        found=1
    done
    ((found == 0)) || fail "sanitizer reports ($1)"
}
OVS_LOG_ALLOW="\|netdev_afxdp\|ERR\|$P0: Incorrect xdp-mode \(bogus\)"

# Two queues each: a queue without a socket would drop what veth puts on it.
sys_setup --queues 2 n_rxq=2
# The reports would really land in SAN_DIR: the daemon runs the sanitizer
# runtimes and got the options through ip netns exec and --detach.
grep -q libasan "/proc/$VSWITCHD_PID/maps" ||
    fail "ovs-vswitchd (PID $VSWITCHD_PID) has no ASan runtime mapped"
tr '\0' '\n' <"/proc/$VSWITCHD_PID/environ" |
    grep -qxF "ASAN_OPTIONS=$ASAN_OPTIONS" ||
    fail "ovs-vswitchd did not get ASAN_OPTIONS"
check_ping_all
log "forwarding under ASan"

# ---- traffic -----------------------------------------------------------------

N0=$(topo_ns_if 0)
N1=$(topo_ns_if 1)
ip netns exec "$(topo_ns_name 1)" "$SINK" --dev "$N1" --once --seq --json \
    >"$TEST_TMP/sink.out" 2>"$TEST_TMP/sink.err" &
sink_pid=$!
on_exit "kill $sink_pid"
wait_until 10 grep -q attached "$TEST_TMP/sink.err" ||
    fail "afxdp-sink did not attach: $(cat "$TEST_TMP/sink.err")"
nsx 0 "$PKTGEN" --dev "$N0" --cpu 0 --mix --count 200000 --rate 50000 \
    --flows 8 >"$TEST_TMP/pktgen.out" 2>&1 ||
    fail "afxdp-pktgen --mix failed: $(cat "$TEST_TMP/pktgen.out")"
nsx 0 "$PKTGEN" --dev "$N0" --cpu 0 --seq --count 100000 --rate 50000 \
    --flows 8 >>"$TEST_TMP/pktgen.out" 2>&1 ||
    fail "afxdp-pktgen failed: $(cat "$TEST_TMP/pktgen.out")"
sleep 1
kill -INT "$sink_pid"
wait "$sink_pid" || fail "afxdp-sink failed"
valid=$(sed -nE 's/.*"seq_packets":([0-9]+).*/\1/p' "$TEST_TMP/sink.out")
log "sink counted ${valid:-0} valid frames"
((${valid:-0} > 0)) || fail "no generator frame was forwarded"
check_ping_all
check_san "traffic"

# ---- reconfiguration --------------------------------------------------------

step() {
    log "reconfigure: $*"
    vsctl "$@"
}
# n_rxq 2 -> 1 -> 2 (with one socket, what veth puts on queue 1 is lost, so
# pings only after the way back).
step set interface "$P0" options:n_rxq=1 -- set interface "$P1" options:n_rxq=1
wait_until 20 eval '[[ $(vsctl get interface $P0 statistics) != *q1_* ]]' ||
    fail "$P0 kept queue 1"
port_wait_ready "$P0"
port_wait_ready "$P1"
step set interface "$P0" options:n_rxq=2 -- set interface "$P1" options:n_rxq=2
wait_until 20 eval '[[ $(vsctl get interface $P0 statistics) == *q1_* ]]' ||
    fail "$P0 has no queue 1"
port_wait_ready "$P0"
port_wait_ready "$P1"
check_ping_all
step set interface "$P0" options:xdp-mode=generic
wait_until 20 eval '[[ $(iface_status $P0 xdp-mode) == generic ]]' ||
    fail "$P0 not in generic mode"
check_ping_all
step set interface "$P0" options:xdp-mode=bogus
wait_until 10 eval '[[ $(vsctl get interface $P0 error) != "[]" ]]' ||
    fail "bad xdp-mode not reported"
step set interface "$P0" options:xdp-mode=best-effort
port_wait_ready "$P0"
check_ping_all
step del-port "$BR" "$P0"
wait_no_xdp "$P0"
step add-port "$BR" "$P0" -- set interface "$P0" type=afxdp options:n_rxq=2
port_wait_ready "$P0"
check_ping_all
check_san "reconfiguration"

# ---- exit ---------------------------------------------------------------------

ovs_stop_vswitchd exit
wait_no_xdp "$P0"
wait_no_xdp "$P1"
check_san "exit"
ovs_check_log "$OVS_LOG_ALLOW" || fail "errors logged by ovs-vswitchd"
log "PASS $TEST_NAME"
