# shellcheck shell=bash
#
# Helpers shared by the fault-injection system tests (fault_*.sh), sourced
# after lib.sh: background traffic from afxdp-pktgen, chunk accounting,
# XDP socket and program counts, and the daemon's resource footprint.
#
# Why these measures:
#  - Chunks: every UMEM chunk is in exactly one state, so once traffic has
#    stopped the per-queue counters add up to the total and none is held
#    by OVS.  A chunk lost on a fault path shows up as a sum below total or
#    a held count that never drains.
#  - XDP sockets: this kernel has no XDP_SOCKETS_DIAG (ss --xdp lists
#    nothing), but xsk_create()/xsk_release() keep the per-namespace
#    in-use count of /proc/net/protocols (row "XDP", column "sockets"), so
#    that count read in the switch namespace is every AF_XDP socket alive
#    there, whoever holds it.
#  - fds and RSS of ovs-vswitchd: a reconfiguration that leaks a socket,
#    a bpf_link or a UMEM mapping grows them by a fixed amount per cycle.

# shellcheck disable=SC2034 # used by the tests
PKTGEN=$AFXDP_BUILD_DIR/perf/afxdp-pktgen
[[ -x $PKTGEN ]] || fail "missing $PKTGEN (build the perf targets first)"

# ---- Topology --------------------------------------------------------------

# pin_tx_queue0 N: every CPU of namespace N's veth end transmits on queue
# 0 (XPS), so its frames reach queue 0 of the OVS port whatever n_rxq is:
# a frame on a queue without a socket goes to the kernel stack (see
# bpf/xsk_redirect.bpf.c), and an n_rxq=1 port must still get our pings.
pin_tx_queue0() {
    local n=$1 nif q mask
    nif=$(topo_ns_if "$n")
    for q in $(nsx "$n" ls "/sys/class/net/$nif/queues" | sed -n 's/^tx-//p'); do
        mask=0
        ((q != 0)) || mask=$(printf '%x' $(((1 << $(nproc)) - 1)))
        nsx "$n" sh -c "echo $mask >/sys/class/net/$nif/queues/tx-$q/xps_cpus" ||
            fail "cannot set XPS on $nif tx-$q"
    done
}

# ---- Traffic ---------------------------------------------------------------

PKTGEN_PID=
PKTGEN_OUT=

# traffic_start N RATE [PKTGEN ARGS...]: afxdp-pktgen sends 64-byte UDP
# frames from namespace N's veth at RATE pps (0: as fast as it can) until
# traffic_stop.  It runs on CPU 0, so the frames arrive on the OVS port's
# queue 0 (veth picks the peer's queue from the sending CPU), and the PMD
# keeps CPU 1.
traffic_start() {
    local n=$1 rate=$2
    shift 2
    [[ -z $PKTGEN_PID ]] || fail "traffic_start: already running"
    PKTGEN_OUT=$TEST_TMP/pktgen.$n.out
    # Not through nsx: a backgrounded function is a subshell, and $! must
    # be the generator itself (ip netns exec execs it) to signal it.
    ip netns exec "$(topo_ns_name "$n")" "$PKTGEN" --dev "$(topo_ns_if "$n")" \
        --rate "$rate" --cpu 0 --flows 16 "$@" >"$PKTGEN_OUT" 2>&1 &
    PKTGEN_PID=$!
    on_exit "traffic_kill $PKTGEN_PID"
    sleep 0.5
    pid_alive "$PKTGEN_PID" || {
        cat "$PKTGEN_OUT" >&2
        fail "afxdp-pktgen exited at once"
    }
}

traffic_kill() { kill -TERM "$1" 2>/dev/null || true; }

# traffic_stop: stops the generator and sets PKTGEN_SENT to the frames it
# reports as sent.
traffic_stop() {
    [[ -n $PKTGEN_PID ]] || fail "traffic_stop: no generator"
    pid_alive "$PKTGEN_PID" || {
        cat "$PKTGEN_OUT" >&2
        fail "afxdp-pktgen died during the test"
    }
    kill -TERM "$PKTGEN_PID"
    wait "$PKTGEN_PID" || {
        cat "$PKTGEN_OUT" >&2
        fail "afxdp-pktgen failed"
    }
    PKTGEN_PID=
    PKTGEN_SENT=$(sed -n 's/^sent \([0-9]*\) packets.*/\1/p' "$PKTGEN_OUT")
    [[ $PKTGEN_SENT =~ ^[0-9]+$ ]] || {
        cat "$PKTGEN_OUT" >&2
        fail "no sent count in the afxdp-pktgen output"
    }
}

# ping_within N DST TIMEOUT: one echo gets through within TIMEOUT seconds.
ping_within() {
    wait_until "$3" nsx "$1" ping -q -c 1 -W 1 "$2"
}

# ---- Chunk accounting ------------------------------------------------------

# check_chunks IFNAME: the port's UMEM is quiescent and balanced (see
# check_umem in lib.sh); sets CHUNK_LOST (0 then) and CHUNK_REPORT.
check_chunks() {
    check_umem "$1"
    # shellcheck disable=SC2034 # used by the tests
    CHUNK_LOST=$UMEM_LOST
    # shellcheck disable=SC2034
    CHUNK_REPORT=$UMEM_REPORT
}

# ---- Kernel objects --------------------------------------------------------

# xsk_sockets QUEUES PORTS: the AF_XDP sockets PORTS ports with QUEUES
# queues in all should have: one per queue, plus one per port for the main
# thread's tx lane (a second socket on queue 0, see netdev-afxdp/port.h).
xsk_sockets() { echo $(($1 + $2)); }

# xsk_count: AF_XDP sockets alive in the switch namespace.
xsk_count() {
    swx awk '$1 == "XDP" { print $3; found = 1 }
        END { if (!found) print "none" }' /proc/net/protocols
}

# xdp_prog_names IFNAME: names of the XDP programs the kernel reports on
# IFNAME, one per line (none when nothing is attached).
xdp_prog_names() {
    swx ip -d link show dev "$1" 2>/dev/null |
        sed -n 's/.*prog\/xdp id [0-9]* name \([^ ]*\).*/\1/p'
}

# check_one_prog IFNAME: exactly one XDP program, ours, in one mode.
check_one_prog() {
    local names nbpf
    names=$(xdp_prog_names "$1")
    nbpf=$(swx bpftool net show dev "$1" |
        grep -Ec '^\S+\([0-9]+\) (driver|generic|offload) ' || true)
    [[ $names == xsk_redirect && $nbpf -eq 1 ]] || {
        swx ip -d link show dev "$1" >&2 2>/dev/null
        swx bpftool net show dev "$1" >&2
        fail "$1: expected one xsk_redirect program, ip shows" \
            "'${names//$'\n'/,}', bpftool lists $nbpf"
    }
}

# wait_no_prog IFNAME: no XDP program on IFNAME within 5 s (the kernel
# drops a bpf_link when the last fd to it is closed, maybe a bit later).
wait_no_prog() {
    wait_until 5 eval '[[ -z $(xdp_prog_names '"$1"') ]]' || {
        swx ip -d link show dev "$1" 2>/dev/null >&2
        fail "$1: XDP program still attached: $(xdp_prog_names "$1")"
    }
}

# ---- ovs-vswitchd footprint ------------------------------------------------

vswitchd_fds() { find "/proc/$VSWITCHD_PID/fd" -mindepth 1 | wc -l; }
vswitchd_rss_kb() {
    awk '$1 == "VmRSS:" { print $2 }' "/proc/$VSWITCHD_PID/status"
}
vswitchd_fd_kinds() {
    find "/proc/$VSWITCHD_PID/fd" -mindepth 1 -printf '%l\n' |
        sed 's/[0-9]\+/N/g' | sort | uniq -c
}

# check_alive: ovs-vswitchd runs and answers on its control socket.
check_alive() {
    pid_alive "$VSWITCHD_PID" || fail "ovs-vswitchd (PID $VSWITCHD_PID) died"
    timeout 10 "$OVS_BINDIR/ovs-appctl" --timeout=10 version >/dev/null ||
        fail "ovs-vswitchd does not answer ovs-appctl"
}
