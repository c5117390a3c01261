#!/usr/bin/env bash
# Malformed frames do not hurt ovs-vswitchd.  afxdp-pktgen --mix sends
# BADINPUT_FRAMES (default 1,000,000) frames from ns0 into the first port:
# runts (14..59 bytes), random EtherTypes, bad IPv4 version/IHL/length,
# cut IPv4/IPv6/ARP/TCP/UDP/ICMP/SCTP headers, random bytes, frames over
# the MTU (3392 bytes, the most BPF_PROG_RUN builds) and cut VLAN tags,
# with valid sequence-numbered UDP frames interleaved.  The bridge forwards
# with the default NORMAL action to the second port, where afxdp-sink
# counts the valid frames that arrived.  Then, with the first port in
# generic mode and MTU 9000, frames longer than a chunk holds (3713..9014
# bytes) go in through an AF_PACKET socket: assembled from chained chunks
# with multi-buffer AF_XDP (rx_multi_buffer), dropped by the kernel at the
# AF_XDP socket without it (options:multi-buffer=false, rx_dropped), and
# nothing else happens.
#
# Passes when ovs-vswitchd is still running, forwarded at least 5% of the
# valid frames interleaved in the storm and 30% of those the socket took in
# (VALID_MIN_PCT, ADMITTED_MIN_PCT below), forwards valid frames alone
# again afterwards, every UMEM chunk is back (no queue holds one, the
# counters add up to the total), the ports still pass pings, and nothing
# was logged at ERR/EMER.
#
# Frames under 14 bytes cannot be sent at all on a veth: BPF_PROG_RUN wants
# at least an Ethernet header of data_in, bpf_xdp_adjust_tail() and _head()
# refuse to go below it, and AF_PACKET refuses shorter frames on an Ethernet
# device (dev_validate_header(), EINVAL); so the shortest runt is 14 bytes.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

FRAMES=${BADINPUT_FRAMES:-1000000}
RATE=${BADINPUT_RATE:-200000}
PKTGEN=$AFXDP_BUILD_DIR/perf/afxdp-pktgen
SINK=$AFXDP_BUILD_DIR/perf/afxdp-sink
# Room for 3392-byte frames (pktgen's largest) on the way in.
BIG_MTU=3400
[[ -x $PKTGEN && -x $SINK ]] || fail "build the perf tools first ($PKTGEN)"
require_cmd python3

# OVS 3.1 itself (not the provider): a frame with an MPLS EtherType and no
# whole label stack gets a datapath flow whose key OVS cannot parse back,
# and the revalidator says so at ERR.  Random EtherTypes hit that now and
# then.
OVS_LOG_ALLOW='\|dpif_netdev\(revalidator[0-9]*\)\|ERR\|internal error parsing flow key .*eth_type\(0x884[78]\),mpls\('

sys_setup
N0=$(topo_ns_if 0)
N1=$(topo_ns_if 1)

# ---- chunk accounting ------------------------------------------------------

# check_chunks IFNAME: the port's UMEM balances, none held (lib.sh).
check_chunks() { check_umem "$1"; }

vswitchd_alive() {
    pid_alive "$VSWITCHD_PID" || fail "ovs-vswitchd died (PID $VSWITCHD_PID)"
}

# ---- 1. mixed frames through OVS --------------------------------------------

nsx 0 ip link set "$N0" mtu "$BIG_MTU"
swx ip link set "$P0" mtu "$BIG_MTU"

# sink_start / sink_stop: afxdp-sink --seq on ns1's end, its JSON total in
# $TEST_TMP/sink.out.  Started without a subshell in between ("ip netns
# exec" execs the sink), so that $! is the sink itself, for SIGINT and for
# the cleanup.
sink_start() {
    ip netns exec "$(topo_ns_name 1)" "$SINK" --dev "$N1" --once --seq \
        --json >"$TEST_TMP/sink.out" 2>"$TEST_TMP/sink.err" &
    sink_pid=$!
    on_exit "kill $sink_pid"
    wait_until 10 grep -q attached "$TEST_TMP/sink.err" ||
        fail "afxdp-sink did not attach: $(cat "$TEST_TMP/sink.err")"
}
sink_stop() {
    sleep 1 # frames still in flight
    kill -INT "$sink_pid"
    wait "$sink_pid" || fail "afxdp-sink failed: $(cat "$TEST_TMP/sink.err")"
}
json_num() { sed -nE "s/.*\"$2\":([0-9]+).*/\1/p" "$1" | tail -n 1; }
qstat() { vsctl get interface "$1" "statistics:q0_$2" 2>/dev/null || echo 0; }
PMD_KEYS='packets received|upcalls|lost upcalls|megaflow hits|miss with'

sink_start
declare -A q_before
for k in rx_packets rx_dropped rx_ring_full; do
    q_before[$k]=$(qstat "$P0" "$k")
done
for k in tx_packets tx_dropped; do
    q_before[out_$k]=$(qstat "$P1" "$k")
done
log "sending $FRAMES mixed frames at $RATE pps"
t0=$SECONDS
nsx 0 "$PKTGEN" --dev "$N0" --cpu 0 --mix --count "$FRAMES" --rate "$RATE" \
    --flows 16 --json >"$TEST_TMP/pktgen.out" 2>"$TEST_TMP/pktgen.err" ||
    fail "afxdp-pktgen failed: $(cat "$TEST_TMP/pktgen.err")"
log "pktgen took $((SECONDS - t0)) s"
vswitchd_alive
sink_stop

sent=$(json_num "$TEST_TMP/pktgen.out" packets)
valid_sent=$(json_num "$TEST_TMP/pktgen.out" valid)
delivered=$(json_num "$TEST_TMP/pktgen.out" dev_tx_packets)
valid_fwd=$(json_num "$TEST_TMP/sink.out" seq_packets)
sink_all=$(json_num "$TEST_TMP/sink.out" packets)
log "mix: $(sed -nE 's/.*"mix":\{([^}]*)\}.*/\1/p' "$TEST_TMP/pktgen.out")"
log "frames sent $sent (taken by $P0's veth $delivered), valid sent" \
    "$valid_sent, valid forwarded $valid_fwd, frames out of $P1 $sink_all"
# Where the rest went: the statistics column is refreshed every 5 s.
sleep 5
declare -A q_delta
for k in rx_packets rx_dropped rx_ring_full; do
    q_delta[$k]=$(($(qstat "$P0" "$k") - ${q_before[$k]}))
    log "$P0 q0_$k +${q_delta[$k]}"
done
for k in tx_packets tx_dropped; do
    log "$P1 q0_$k +$(($(qstat "$P1" "$k") - ${q_before[out_$k]}))"
done
appctl dpif-netdev/pmd-stats-show | grep -E "$PMD_KEYS" |
    sed 's/^ */    /' >&"$AFXDP_ERR_FD" || true
[[ $sent == "$FRAMES" ]] || fail "pktgen sent $sent frames, not $FRAMES"
[[ $valid_sent =~ ^[1-9][0-9]*$ && $valid_fwd =~ ^[0-9]+$ ]] ||
    fail "no valid-frame counts (valid sent '$valid_sent'," \
        "forwarded '$valid_fwd')"
# Valid frames must keep getting through the storm.  Two floors, from
# eight runs on the shared 2-core development VM:
#  - VALID_MIN_PCT of all valid frames sent: measured 26, 43, 54, 43, 74,
#    64, 50%, and 18% at load average 8; the floor is under a third of the
#    lowest.  Under the storm the PMD spends its time on upcalls for the
#    garbage's one-off flows and the socket's rx ring overflows
#    (q0_rx_ring_full, 11-70% of the frames); valid frames are lost there
#    with the rest, and how many depends on how much CPU the PMD gets,
#    hence the wide margin.
#  - ADMITTED_MIN_PCT of the valid frames the socket took in: measured 61,
#    63, 67, 67, 84, 73, 70%, and 60% at load average 8; the floor is half
#    the lowest.  The socket drops frames whatever they contain, when its
#    rx ring is full (rx_ring_full) and when its fill ring is empty (the
#    kernel's rx_dropped in copy mode; no frame of the storm is too long
#    for a chunk), so it took in about rx_packets / (rx_packets +
#    rx_ring_full + rx_dropped) of the valid ones; what becomes of them is
#    up to OVS and the provider, not the CPU share.  (With the devmap
#    generator at load average 7, 71% of the frames were dropped at an
#    empty fill ring and none at a full rx ring.)  The rest are lost on the way out: the second port's
#    q0_tx_dropped, and between its q0_tx_packets and the sink, all logged
#    above.  A provider that lost valid frames next to malformed ones in a
#    batch would fall far below this floor.
VALID_MIN_PCT=5
ADMITTED_MIN_PCT=30
valid_pct=$((valid_fwd * 100 / valid_sent))
in_ring=$((q_delta[rx_packets] + q_delta[rx_ring_full] + q_delta[rx_dropped]))
((in_ring > 0)) || fail "$P0 counted no received frame"
valid_admitted=$((valid_sent * q_delta[rx_packets] / in_ring))
((valid_admitted > 0)) || fail "$P0 took in no frame"
admitted_pct=$((valid_fwd * 100 / valid_admitted))
log "valid frames forwarded: $valid_pct% of $valid_sent sent (floor" \
    "$VALID_MIN_PCT%), $admitted_pct% of about $valid_admitted taken in by" \
    "$P0's socket (floor $ADMITTED_MIN_PCT%)"
((valid_pct >= VALID_MIN_PCT)) ||
    fail "only $valid_fwd of $valid_sent valid frames ($valid_pct%) were" \
        "forwarded during the storm, under $VALID_MIN_PCT%"
((admitted_pct >= ADMITTED_MIN_PCT)) ||
    fail "only $valid_fwd of about $valid_admitted valid frames taken in" \
        "($admitted_pct%) were forwarded during the storm, under" \
        "$ADMITTED_MIN_PCT%"

check_chunks "$P0"
check_chunks "$P1"

# Valid frames alone get through again after the storm.  The storm leaves
# a backlog of frames in the second port's tx ring that the kernel sends
# only when later sends kick the socket, and while it drains, new frames
# find the ring full and are dropped (tx_dropped): a warm-up burst goes
# first, and at least half of the measured frames must arrive.  The
# figures are logged.
log "$P1 tx ring backlog after the storm: $(qstat "$P1" chunks_tx) frames"
# The storm's one-off flows filled the datapath up to its flow limit; start
# from a clean flow table as the revalidators would after a while.
appctl revalidator/purge >/dev/null
nsx 0 "$PKTGEN" --dev "$N0" --cpu 0 --count 5000 --rate 20000 \
    >/dev/null 2>&1 || fail "afxdp-pktgen (warm-up) failed"
sleep 1
N_AFTER=20000
tx_drop1=$(qstat "$P1" tx_dropped)
sink_start
nsx 0 "$PKTGEN" --dev "$N0" --cpu 0 --seq --count "$N_AFTER" --rate 20000 \
    --flows 16 --json >"$TEST_TMP/pktgen2.out" 2>"$TEST_TMP/pktgen.err" ||
    fail "afxdp-pktgen failed: $(cat "$TEST_TMP/pktgen.err")"
sink_stop
after_fwd=$(json_num "$TEST_TMP/sink.out" seq_packets)
sleep 5 # statistics refresh
log "after the storm: $after_fwd of $N_AFTER valid frames forwarded" \
    "($P1 q0_tx_dropped +$(($(qstat "$P1" tx_dropped) - tx_drop1)))"
((after_fwd * 2 >= N_AFTER)) ||
    fail "after the storm only $after_fwd of $N_AFTER valid frames arrived"

# ---- 2. frames longer than a chunk ------------------------------------------

# Generic mode: the kernel hands the AF_XDP socket the frame as an skb.
# With multi-buffer AF_XDP (the default) a frame longer than a chunk
# arrives as a chain and is assembled for OVS (q0_rx_multi_buffer); with
# options:multi-buffer=false the socket takes one chunk per frame and the
# kernel drops the longer ones at it (q0_rx_dropped).  Either way nothing
# else happens.
vsctl set interface "$P0" options:xdp-mode=generic
wait_until 20 eval '[[ $(iface_status $P0 xdp-mode) == generic ]]' ||
    fail "$P0 did not switch to generic mode"
port_wait_ready "$P0"
# The new socket's counters start at 0; the column is refreshed every 5 s.
sleep 6
nsx 0 ip link set "$N0" mtu 9000
swx ip link set "$P0" mtu 9000
stat_q0() {
    vsctl get interface "$P0" "statistics:q0_$1" 2>/dev/null || echo 0
}
JUMBO=(3713 4096 5000 8000 9014)
n_jumbo=$((200 * ${#JUMBO[@]}))
send_jumbo() {
    nsx 0 python3 - "$N0" "${JUMBO[@]}" <<'EOF' || fail "AF_PACKET sender failed"
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
mac = s.getsockname()[4]
for rnd in range(200):
    # Paced: the kernel runs generic XDP in this sender's context, and an
    # unpaced burst of chained frames empties the fill ring before the PMD
    # refills it (those frames are dropped and counted, see below).
    time.sleep(0.001)
    for n in map(int, sys.argv[2:]):
        # Broadcast IPv4/UDP with lengths that match the frame.
        ip = bytes([0x45, 0]) + (n - 14).to_bytes(2, "big") + bytes(5) + \
            b"\x11" + bytes(2) + bytes([198, 18, 0, 1, 198, 19, 0, 1])
        udp = (1024).to_bytes(2, "big") + (9).to_bytes(2, "big") + \
            (n - 34).to_bytes(2, "big") + bytes(2)
        hdr = b"\xff" * 6 + mac + b"\x08\x00" + ip + udp
        s.send(hdr + bytes(n - len(hdr)))
EOF
}
# expect_grown KEY FROM: q0_KEY grew by at least n_jumbo since FROM.
expect_grown() {
    wait_until 15 eval "(( \$(stat_q0 $1) - $2 >= n_jumbo ))" ||
        fail "$P0: q0_$1 grew by $(($(stat_q0 "$1") - $2)), expected" \
            ">= $n_jumbo jumbo frames"
    log "$P0: $n_jumbo frames of ${JUMBO[*]} bytes: q0_$1 +$(($(stat_q0 "$1") - $2))"
}
# Every frame assembled, or dropped and counted by the kernel for want of
# a fill buffer (q0_rx_dropped), and most of them assembled.
mb0=$(stat_q0 rx_multi_buffer)
drop0=$(stat_q0 rx_dropped)
send_jumbo
taken() {
    TAKEN=$(($(stat_q0 rx_multi_buffer) - mb0))
    DROPPED=$(($(stat_q0 rx_dropped) - drop0))
    ((TAKEN + DROPPED >= n_jumbo))
}
wait_until 15 taken ||
    fail "$P0: $n_jumbo jumbo frames: q0_rx_multi_buffer +$TAKEN," \
        "q0_rx_dropped +$DROPPED"
((TAKEN * 2 >= n_jumbo)) ||
    fail "$P0: only $TAKEN of $n_jumbo jumbo frames assembled ($DROPPED dropped)"
log "$P0: $n_jumbo frames of ${JUMBO[*]} bytes: $TAKEN assembled from" \
    "chained chunks, $DROPPED dropped by the kernel (no fill buffer)"
vswitchd_alive

# One chunk per frame: the device MTU goes back to 1500 first so that the
# reopened port has no MTU above its limit to report, then up again.
swx ip link set "$P0" mtu 1500
vsctl set interface "$P0" options:multi-buffer=false
wait_until 20 eval '[[ $(iface_status $P0 max-mtu) == 3694 ]]' ||
    fail "$P0: multi-buffer=false: max-mtu $(iface_status "$P0" max-mtu)"
port_wait_ready "$P0"
sleep 6
swx ip link set "$P0" mtu 9000
drop0=$(stat_q0 rx_dropped)
send_jumbo
expect_grown rx_dropped "$drop0"
vswitchd_alive
nsx 0 ip link set "$N0" mtu 1500
swx ip link set "$P0" mtu 1500
check_chunks "$P0"
check_chunks "$P1"

check_ping_all
log "frames sent $sent, valid forwarded $valid_fwd of $valid_sent," \
    "chunks lost 0"
sys_finish
