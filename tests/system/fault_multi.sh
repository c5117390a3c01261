#!/usr/bin/env bash
# Many senders at once.  Two bridges, four afxdp ports:
#
#   ns0 == P0 -[BR]- P1 == ns1        ns2 == P2 -[BR2]- P3 == ns3
#
# While afxdp-pktgen floods BR from ns0 (the PMD floods every frame out of
# P1), the main thread sends on P1 too: `ovs-ofctl packet-out` executes
# its actions on ovs-vswitchd's main (non-PMD) thread, and each packet-out
# here outputs its frame to P1 many times.  Two threads sending on one
# port share its tx queue (dpif-netdev passes concurrent_txq), which the
# core must serialise.  Meanwhile a TCP stream crosses P1 (ns0 -> ns1) and
# another one crosses BR2 (ns2 -> ns3); both must arrive intact (sha256),
# ovs-appctl must keep answering (no deadlock between the main thread and
# the PMD on the tx lock), and every chunk of every queue is accounted for
# afterwards.
#
# That the two senders really overlapped is measured, not assumed: for
# TXPROBE_SECS of the run, uprobes (bpftrace) on afxdp_tx_burst(), the C
# ABI call through which each send enters the core and takes the queue's
# tx lock, note which thread is inside it for which port.  Each time one
# of the two threads enters it for P1 while the other is inside it for P1
# counts as an overlap; there must be at least TXPROBE_MIN_OVERLAPS, and
# both threads must have passed concurrent=true for every send on P1.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=fault_lib.sh
source "$(dirname "$0")/fault_lib.sh"

require_cmd bpftrace

RATE=${AFXDP_FAULT_RATE:-50000}
SECONDS_OUT=${AFXDP_FAULT_MULTI_SECONDS:-20}
BR2=ax${AFXDP_TAG}b2
P2=$(topo_host_if 2)
P3=$(topo_host_if 3)
PORTS=("$P0" "$P1" "$P2" "$P3")

for n in 0 1 2 3; do topo_add_host "$n"; done
ovs_start
ovs_add_bridge "$BR"
ovs_add_bridge "$BR2"
ovs_add_afxdp_port "$BR" "$P0"
ovs_add_afxdp_port "$BR" "$P1"
ovs_add_afxdp_port "$BR2" "$P2"
ovs_add_afxdp_port "$BR2" "$P3"
for p in "${PORTS[@]}"; do port_wait_ready "$p"; done
check_ping_all
check_ping 2 "$(topo_ip4 3)"
check_ping 3 "$(topo_ip4 2)"

# ---- The main thread's sender ----------------------------------------------

# A broadcast UDP frame from a made-up MAC; ns1's stack drops it.
frame=ffffffffffff02000000000108004500002e000040004011$(
    printf '%04x' 0)0a0101fe0a0101ff04000009001a0000
frame+=$(printf '%036d' 0)
ofp1=$(vsctl get interface "$P1" ofport)
outs=$(printf "output:$ofp1,%.0s" {1..32})
outs=${outs%,}
PO_COUNT=$TEST_TMP/packet-outs
PO_STOP=$TEST_TMP/packet-outs.stop
packet_out_loop() {
    local n=0
    while [[ ! -e $PO_STOP ]]; do
        "$OVS_BINDIR/ovs-ofctl" packet-out "$BR" \
            "in_port=controller packet=$frame actions=$outs" || exit 1
        n=$((n + 1))
        echo "$n" >"$PO_COUNT"
    done
}

# tcp_start FROM TO PORT: a 16 MiB random file from namespace FROM to TO;
# tcp_check PORT compares what arrived.
tcp_start() {
    local from=$1 to=$2 port=$3 dst
    dst=$(topo_ip4 "$to")
    head -c $((16 << 20)) /dev/urandom >"$TEST_TMP/tx.$port"
    nsx "$to" timeout 120 nc -l "$dst" "$port" >"$TEST_TMP/rx.$port" &
    eval "TCP_RX_$port=$!"
    on_exit "kill $! 2>/dev/null"
    wait_until 10 eval "nsx $to ss -Hltn 'sport = :$port' | grep -q LISTEN" ||
        fail "nc did not listen on $dst:$port"
    nsx "$from" timeout 120 nc -N "$dst" "$port" <"$TEST_TMP/tx.$port" &
    eval "TCP_TX_$port=$!"
    on_exit "kill $! 2>/dev/null"
}
tcp_check() {
    local port=$1 rx tx a b
    rx=TCP_RX_$port
    tx=TCP_TX_$port
    wait "${!tx}" || fail "TCP sender on port $port failed"
    wait "${!rx}" || fail "TCP receiver on port $port failed"
    a=$(sha256sum <"$TEST_TMP/tx.$port")
    b=$(sha256sum <"$TEST_TMP/rx.$port")
    [[ $a == "$b" ]] || fail "TCP port $port: data corrupted" \
        "($(stat -c %s "$TEST_TMP/rx.$port") of $((16 << 20)) bytes, sha256" \
        "${b%% *} != ${a%% *})"
    log "TCP port $port: 16 MiB, sha256 verified"
}

# ---- Overlap probe ---------------------------------------------------------

TXPROBE_SECS=5
TXPROBE_MIN_OVERLAPS=10
TXPROBE_OUT=$TEST_TMP/txprobe.out
# txprobe_start: bpftrace on ovs-vswitchd's main thread and its one PMD
# thread for TXPROBE_SECS.  Every map value has a single writer (the main
# thread's probes or the PMD's), so no update is lost between CPUs.  The
# main thread sends only the packet-outs, all to P1, so the port handle it
# passes is P1's.
txprobe_start() {
    local bin=$OVS_SBINDIR/ovs-vswitchd main=$VSWITCHD_PID pmds=() t
    for t in "/proc/$main/task/"*; do
        [[ $(<"$t/comm") != pmd* ]] || pmds+=("${t##*/}")
    done
    ((${#pmds[@]} == 1)) ||
        fail "expected one PMD thread in ovs-vswitchd, found ${#pmds[@]}"
    sed -e "s|@BIN@|$bin|" -e "s|@MAIN@|$main|" -e "s|@PMD@|${pmds[0]}|" \
        -e "s|@SECS@|$TXPROBE_SECS|" >"$TEST_TMP/txprobe.bt" <<'EOF'
BEGIN { printf("probing\n"); }
uprobe:@BIN@:afxdp_tx_burst /tid == @MAIN@/ {
    @p1 = arg0;
    @main_in = arg0;
    @main_calls = @main_calls + 1;
    if (arg4 == 0) { @main_serial = @main_serial + 1; }
    if (@pmd_in == arg0) { @main_overlaps = @main_overlaps + 1; }
}
uretprobe:@BIN@:afxdp_tx_burst /tid == @MAIN@/ { @main_in = 0; }
uprobe:@BIN@:afxdp_tx_burst /tid == @PMD@/ {
    @pmd_in = arg0;
    if (arg0 == @p1) {
        @pmd_calls = @pmd_calls + 1;
        if (arg4 == 0) { @pmd_serial = @pmd_serial + 1; }
        if (@main_in == arg0) { @pmd_overlaps = @pmd_overlaps + 1; }
    }
}
uretprobe:@BIN@:afxdp_tx_burst /tid == @PMD@/ { @pmd_in = 0; }
interval:s:@SECS@ { exit(); }
END {
    printf("main_calls=%d main_serial=%d main_overlaps=%d ",
           @main_calls, @main_serial, @main_overlaps);
    printf("pmd_calls=%d pmd_serial=%d pmd_overlaps=%d\n",
           @pmd_calls, @pmd_serial, @pmd_overlaps);
    clear(@p1); clear(@main_in); clear(@pmd_in); clear(@main_calls);
    clear(@main_serial); clear(@main_overlaps); clear(@pmd_calls);
    clear(@pmd_serial); clear(@pmd_overlaps);
}
EOF
    bpftrace "$TEST_TMP/txprobe.bt" >"$TXPROBE_OUT" 2>&1 &
    TXPROBE_PID=$!
    on_exit "kill -INT $TXPROBE_PID 2>/dev/null"
    wait_until 30 grep -q '^probing' "$TXPROBE_OUT" || {
        cat "$TXPROBE_OUT" >&2
        fail "bpftrace did not attach to afxdp_tx_burst in $bin"
    }
}

# txprobe_check: waits for the probe's end and checks its counts.
txprobe_check() {
    local line kv k v
    wait "$TXPROBE_PID" || {
        cat "$TXPROBE_OUT" >&2
        fail "bpftrace failed"
    }
    line=$(grep '^main_calls=' "$TXPROBE_OUT") || {
        cat "$TXPROBE_OUT" >&2
        fail "no counts from bpftrace"
    }
    declare -A c
    for kv in $line; do
        k=${kv%%=*}
        v=${kv#*=}
        c[$k]=$v
    done
    log "tx probe over $TXPROBE_SECS s: $line"
    ((c[main_calls] > 0)) || fail "the main thread never sent on $P1"
    ((c[pmd_calls] > 0)) || fail "the PMD never sent on $P1"
    ((c[main_serial] == 0 && c[pmd_serial] == 0)) ||
        fail "sends on $P1 without concurrent=true (main" \
            "${c[main_serial]}, PMD ${c[pmd_serial]})"
    ((c[main_overlaps] + c[pmd_overlaps] >= TXPROBE_MIN_OVERLAPS)) ||
        fail "the main thread and the PMD were inside afxdp_tx_burst() for" \
            "$P1 at the same time only $((c[main_overlaps] + c[pmd_overlaps]))" \
            "times, expected >= $TXPROBE_MIN_OVERLAPS"
}

tx1_before=$(iface_stat "$P1" tx_packets)
traffic_start 0 "$RATE"
packet_out_loop &
PO_PID=$!
on_exit "touch $PO_STOP; kill $PO_PID 2>/dev/null"
nsx 2 ping -q -f -w "$SECONDS_OUT" "$(topo_ip4 3)" >"$TEST_TMP/ping2" 2>&1 &
PING_PID=$!
on_exit "kill $PING_PID 2>/dev/null"
tcp_start 0 1 5301
tcp_start 2 3 5302
txprobe_start

start=$SECONDS
while ((SECONDS - start < SECONDS_OUT)); do
    check_alive
    pid_alive "$PO_PID" || fail "the packet-out loop failed"
    sleep 1
done
touch "$PO_STOP"
txprobe_check
wait "$PO_PID" || fail "ovs-ofctl packet-out failed"
n_po=$(<"$PO_COUNT")
tcp_check 5301
tcp_check 5302
wait "$PING_PID" || true
traffic_stop
ping_summary=$(grep -E 'packets transmitted' "$TEST_TMP/ping2" || true)
check_alive

log "$n_po packet-outs x 32 frames to $P1 from the main thread," \
    "afxdp-pktgen sent $PKTGEN_SENT frames through $P0; ns2 ping -f: $ping_summary"
lost=0
for p in "${PORTS[@]}"; do
    check_chunks "$p"
    lost=$((lost + CHUNK_LOST))
done
tx1=$(iface_stat "$P1" tx_packets)
log "$P1 tx_packets +$((tx1 - tx1_before)); chunks lost: $lost"
((n_po > 0)) || fail "no packet-out was sent"
((tx1 - tx1_before >= n_po * 32)) ||
    fail "$P1 sent $((tx1 - tx1_before)) frames, fewer than the" \
        "$((n_po * 32)) packet-out frames"
check_ping_all
sys_finish
