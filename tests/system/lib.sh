# shellcheck shell=bash
#
# Shared by every system test: strict mode, the cleanup trap, the standard
# topology, and assertions.
#
# The standard topology is one userspace bridge with two afxdp ports, all
# in the switch namespace where ovs-vswitchd runs; the veth peers of those
# ports sit in namespaces 0 (10.1.1.1, fd00::1) and 1 (10.1.1.2, fd00::2):
#
#   ns0: ax<tag>n0 == sw: ax<tag>h0 -[ax<tag>br]- ax<tag>h1 == ns1: ax<tag>n1
#
# A test never skips: missing privileges or binaries are failures, because a
# test that silently does not run hides a broken capability.  Tests always
# run our own build (build/install).

set -euo pipefail

# shellcheck source=../../scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/topo.sh
source "$AFXDP_ROOT/scripts/lib/topo.sh"
# shellcheck source=../../scripts/lib/ovs.sh
source "$AFXDP_ROOT/scripts/lib/ovs.sh"

TEST_NAME=${0##*/}
TEST_NAME=${TEST_NAME%.sh}

fail() {
    log "FAIL $TEST_NAME: $*"
    exit 1
}

require_root
require_cmd ip ethtool ping nc ss sha256sum bpftool
install_cleanup_trap
OVS_NETNS=$(topo_sw_ns)

# Watchdog: ctest kills a test that overruns its TIMEOUT with SIGKILL, which
# leaves no chance to clean up (and the daemons are detached, so nothing
# else would stop them).  SIGTERM ourselves well before that instead.  The
# watchdog must not hold the test's stdout/stderr open: ctest waits for
# them to close.
AFXDP_TEST_TIMEOUT=${AFXDP_TEST_TIMEOUT:-200}
(
    sleep "$AFXDP_TEST_TIMEOUT" &
    s=$!
    trap 'kill $s; exit 0' TERM
    wait $s
    kill -TERM $$
) </dev/null >/dev/null 2>&1 &
on_exit "kill $!"
ovs_use_build

BR=ax${AFXDP_TAG}br
P0=$(topo_host_if 0)
P1=$(topo_host_if 1)
IP4_0=$(topo_ip4 0)
IP4_1=$(topo_ip4 1)
IP6_0=$(topo_ip6 0)
IP6_1=$(topo_ip6 1)

# Extended regex of ovs-vswitchd.log ERR/EMER lines a test expects.
OVS_LOG_ALLOW=${OVS_LOG_ALLOW:-}

# A scratch directory removed at exit.
TEST_TMP=$(mktemp -d "/tmp/afxdp-test-$AFXDP_TAG.XXXXXX")
on_exit "rm -rf -- $TEST_TMP"

# sys_setup [--queues N] [OPTION=VALUE...]: namespaces, veths (with N
# queues each, default 1), OVS, bridge, and both afxdp ports with the given
# interface options; waits until both ports work.
# shellcheck disable=SC2120 # options are optional
sys_setup() {
    local queues=1
    if [[ ${1:-} == --queues ]]; then
        queues=$2
        shift 2
    fi
    topo_add_host 0 "$queues"
    topo_add_host 1 "$queues"
    ovs_start
    ovs_add_bridge "$BR"
    ovs_add_afxdp_port "$BR" "$P0" "$@"
    ovs_add_afxdp_port "$BR" "$P1" "$@"
    port_wait_ready "$P0"
    port_wait_ready "$P1"
}

# port_wait_ready IFNAME: the port has an OpenFlow port number and no error.
port_wait_ready() {
    local ifname=$1 err ofport
    wait_until 20 port_ready "$ifname" || {
        err=$(vsctl get interface "$ifname" error 2>&1 || true)
        ofport=$(vsctl get interface "$ifname" ofport 2>&1 || true)
        fail "port $ifname not ready (ofport=$ofport, error=$err)"
    }
}

port_ready() {
    local ofport err
    ofport=$(vsctl get interface "$1" ofport) || return 1
    err=$(vsctl get interface "$1" error) || return 1
    [[ $ofport =~ ^[0-9]+$ && $ofport -gt 0 && $err == "[]" ]]
}

# ping_ok N DST [PING ARGS...]: 5 pings from namespace N, none lost.
ping_ok() {
    local n=$1 dst=$2
    shift 2
    nsx "$n" ping -q -c 5 -i 0.1 -W 2 "$@" "$dst" >/dev/null
}

# check_ping N DST [ARGS...]: like ping_ok, failing the test when lost.
# The first echo after (re)configuration may race the port coming up, so a
# single warm-up echo is retried for a few seconds first.
check_ping() {
    local n=$1 dst=$2
    shift 2
    wait_until 10 nsx "$n" ping -q -c 1 -W 1 "$@" "$dst" ||
        fail "ns$n cannot reach $dst $*"
    ping_ok "$n" "$dst" "$@" || fail "ns$n lost pings to $dst $*"
}

# check_tcp_transfer DST_IP PORT TIMEOUT_S: namespace 0 sends
# $TEST_TMP/data over TCP to namespace 1 at DST_IP:PORT; the received copy
# must hash the same (sha256).
check_tcp_transfer() {
    local dst=$1 port=$2 secs=$3 out=$TEST_TMP/received srv want got
    rm -f "$out"
    nsx 1 timeout "$secs" nc -l "$dst" "$port" >"$out" &
    srv=$!
    on_exit "kill $srv 2>/dev/null"
    wait_until 10 eval "nsx 1 ss -Hltn 'sport = :$port' | grep -q LISTEN" ||
        fail "nc did not start listening on $dst:$port"
    nsx 0 timeout "$secs" nc -N "$dst" "$port" <"$TEST_TMP/data" ||
        fail "sending $(stat -c %s "$TEST_TMP/data") bytes to $dst failed"
    wait "$srv" || fail "receiver on $dst failed"
    want=$(sha256sum <"$TEST_TMP/data")
    got=$(sha256sum <"$out")
    [[ $want == "$got" ]] ||
        fail "$dst: received $(stat -c %s "$out") bytes, sha256 differs"
}

# set_xdp_mode_both MODE: both ports reopen in XDP mode MODE, and say so.
set_xdp_mode_both() {
    local p
    vsctl set interface "$P0" "options:xdp-mode=$1" -- \
        set interface "$P1" "options:xdp-mode=$1"
    for p in "$P0" "$P1"; do
        port_wait_ready "$p"
        wait_until 10 eval "[[ \$(iface_status $p xdp-mode) == $1 ]]" ||
            fail "$p did not switch to $1 mode"
    done
}

# check_ping_all: IPv4 and IPv6, both directions.
check_ping_all() {
    check_ping 0 "$IP4_1"
    check_ping 1 "$IP4_0"
    check_ping 0 "$IP6_1"
    check_ping 1 "$IP6_0"
}

# dev_mtu IFNAME: the switch-side device's MTU.
dev_mtu() { swx cat "/sys/class/net/$1/mtu"; }
iface_mtu_is() { [[ $(vsctl get interface "$1" mtu) == "$2" ]]; }

# set_port_mtu IFNAME MTU: mtu_request, applied to the device.
set_port_mtu() {
    vsctl set interface "$1" "mtu_request=$2"
    wait_until 10 iface_mtu_is "$1" "$2" ||
        fail "$1: mtu_request=$2: Interface mtu is $(vsctl get interface "$1" mtu)"
    [[ $(dev_mtu "$1") == "$2" ]] ||
        fail "$1: mtu_request=$2: device MTU is $(dev_mtu "$1")"
}

# set_host_mtu N MTU: the MTU of namespace N's veth end.
set_host_mtu() {
    nsx "$1" ip link set "$(topo_ns_if "$1")" mtu "$2" ||
        fail "cannot set MTU $2 on $(topo_ns_if "$1")"
}

# kernel_has FEATURE: the core's probe of FEATURE (docs/KERNELS.md) says
# yes on this kernel, with the test switch AFXDP_DISABLE_FEATURES applied.
# Tests whose feature is missing check the fallback instead of skipping.
kernel_has() {
    local tool=$AFXDP_BUILD_DIR/tests/bpf/afxdp-kernel-features
    [[ -x $tool ]] || fail "$tool is not built (scripts/build.sh)"
    "$tool" | head -n 1 | grep -Eq "[:,] $1 yes(,|$)"
}

# iface_stat IFNAME KEY: one key of the interface's statistics column.
iface_stat() {
    vsctl get interface "$1" "statistics:$2"
}

# iface_status IFNAME KEY: one key of the status column, unquoted.
iface_status() {
    local v
    v=$(vsctl get interface "$1" "status:$2") || return 1
    v=${v#\"}
    echo "${v%\"}"
}

# check_no_xdp IFNAME: neither ip nor bpftool sees an XDP program.
check_no_xdp() {
    if xdp_attached "$1"; then
        swx ip -d link show dev "$1" >&2
        fail "XDP program still attached to $1"
    fi
    if swx bpftool net show dev "$1" |
        grep -Eq '^\S+\([0-9]+\) (driver|generic|offload) '; then
        swx bpftool net show dev "$1" >&2
        fail "bpftool still lists an XDP program on $1"
    fi
}

# wait_no_xdp IFNAME: like check_no_xdp, allowing the kernel a moment to
# release a bpf_link after its owner is gone.
wait_no_xdp() {
    wait_until 5 eval "! xdp_attached $1" || true
    check_no_xdp "$1"
}

check_xdp() {
    xdp_attached "$1" || {
        swx ip -d link show dev "$1" >&2
        fail "no XDP program attached to $1"
    }
}

# ---- UMEM chunk accounting --------------------------------------------------
#
# Every chunk of a port's UMEM (shared by all ports of its NUMA node) is in
# exactly one state; the port's statistics carry the UMEM's balance as
# umem_chunks_<state>.  Once traffic has stopped, free + fill + rx + held +
# tx + completion == total, none is held by OVS and none waits in an rx
# ring.  A chunk lost on some path shows as a sum below total, or a held
# count that never drains.

UMEM_STATES=(free fill rx held tx completion)

# umem_balance IFNAME: true when IFNAME's UMEM is quiescent and balanced.
# Sets UMEM_TOTAL, UMEM_LOST (total - sum), UMEM_HELD and UMEM_REPORT.
umem_balance() {
    local s v sum=0
    declare -A c=()
    while read -r k v; do c[$k]=$v; done < <(
        vsctl get interface "$1" statistics | tr -d '{} ' | tr ',' '\n' |
            tr '=' ' ' | grep -E '^umem_')
    UMEM_TOTAL=${c[umem_chunks_total]:-}
    UMEM_REPORT="total=${UMEM_TOTAL:-MISSING}"
    for s in "${UMEM_STATES[@]}"; do
        v=${c[umem_chunks_$s]:-}
        [[ -n $v ]] || { UMEM_REPORT+=" $s=MISSING"; UMEM_LOST=-1; return 1; }
        sum=$((sum + v))
        UMEM_REPORT+=" $s=$v"
    done
    UMEM_REPORT+=" (sum $sum; cached ${c[umem_chunks_cached]:-?}"
    UMEM_REPORT+=" reclaiming ${c[umem_chunks_reclaiming]:-?}"
    UMEM_REPORT+=" queues ${c[umem_queues]:-?}"
    UMEM_REPORT+=" release_errors ${c[umem_release_errors]:-?})"
    [[ -n $UMEM_TOTAL ]] || { UMEM_LOST=-1; return 1; }
    UMEM_LOST=$((UMEM_TOTAL - sum))
    UMEM_HELD=${c[umem_chunks_held]}
    ((UMEM_TOTAL > 0 && UMEM_LOST == 0 && UMEM_HELD == 0 &&
        c[umem_chunks_rx] == 0 && c[umem_release_errors] == 0))
}

# check_umem IFNAME: waits (statistics refresh every 5 s) until IFNAME's
# UMEM is quiescent and balanced, fails otherwise.
check_umem() {
    wait_until 20 umem_balance "$1" || {
        umem_balance "$1" || true
        fail "$1: UMEM chunks not accounted for: $UMEM_REPORT"
    }
    log "$1: UMEM: $UMEM_REPORT"
}

# sys_finish: common end-of-test checks, then PASS.
sys_finish() {
    if [[ -n $VSWITCHD_PID ]] && ! pid_alive "$VSWITCHD_PID"; then
        fail "ovs-vswitchd (PID $VSWITCHD_PID) died during the test"
    fi
    ovs_check_log "$OVS_LOG_ALLOW" || fail "errors logged by ovs-vswitchd"
    log "PASS $TEST_NAME"
}
