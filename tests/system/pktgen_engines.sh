#!/usr/bin/env bash
# afxdp-pktgen's engines keep the promises the other system tests rely on,
# whichever the kernel allows: ns0 sends straight to ns1 over one veth,
# where afxdp-sink (native XDP, --seq) counts what arrived.  No OVS.
#
# For the devmap engine (forced with --engine devmap, and chosen by auto
# when AFXDP_DISABLE_FEATURES=live-frames makes live frames look absent)
# and for what auto picks on this kernel:
#  - --count is exact: the generator reports exactly the count, and the
#    sink received exactly that many sequence-numbered frames, none lost,
#    none reordered, one sequence per flow (IPv4 and IPv6);
#  - --mix: exactly the count, the kinds add up to it in the pattern's
#    proportions, and every valid frame arrived;
#  - the JSON names the engine, and auto's reason when it did not pick
#    live.
# Then a devmap generator killed with SIGKILL leaves nothing behind: its
# fan-out program (and with it the helper veth pair and namespace that
# held it) is gone.
#
# The veth carries 100 kpps at most (--rate): far below what the sink
# takes, so a lost frame is the generator's fault, not the receiver's.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

PKTGEN=$AFXDP_BUILD_DIR/perf/afxdp-pktgen
SINK=$AFXDP_BUILD_DIR/perf/afxdp-sink
[[ -x $PKTGEN && -x $SINK ]] || fail "build the perf tools first ($PKTGEN)"

NS0=$(topo_ns_name 0)
NS1=$(topo_ns_name 1)
N0=$(topo_ns_if 0)
N1=$(topo_ns_if 1)
topo_add_ns "$NS0"
topo_add_ns "$NS1"
ip -n "$NS0" link add "$N0" type veth peer name "$N1" netns "$NS1" ||
    fail "cannot create veth pair $N0/$N1"
# Room for --mix's 3392-byte oversize frames.
for ns_if in "$NS0 $N0" "$NS1 $N1"; do
    read -r ns dev <<<"$ns_if"
    ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1" || true
    ip -n "$ns" link set "$dev" mtu 3400 up
done

json_num() { sed -nE "s/.*\"$2\":([0-9]+).*/\1/p" "$1" | tail -n 1; }
json_str() { sed -nE "s/.*\"$2\":\"([^\"]*)\".*/\1/p" "$1" | tail -n 1; }

# rx_packets: what the sink's veth received (XDP frames included).
rx_packets() {
    ip netns exec "$NS1" cat "/sys/class/net/$N1/statistics/rx_packets"
}
rx_reached() { (($(rx_packets) >= $1)); }
rx_settled() {
    local a
    a=$(rx_packets)
    sleep 0.2
    (($(rx_packets) == a))
}

SINK_PID=
sink_start() {
    ip netns exec "$NS1" "$SINK" --dev "$N1" --once --seq -j \
        >"$TEST_TMP/sink.out" 2>&1 &
    SINK_PID=$!
    on_exit "kill -TERM $SINK_PID 2>/dev/null || true"
    wait_until 10 grep -q attached "$TEST_TMP/sink.out" ||
        fail "afxdp-sink did not attach: $(cat "$TEST_TMP/sink.out")"
}
sink_stop() {
    kill -INT "$SINK_PID"
    wait "$SINK_PID" || fail "afxdp-sink failed: $(cat "$TEST_TMP/sink.out")"
    SINK_PID=
}

# send WHAT EXPECTED_ENGINE [ENV=VALUE] -- PKTGEN ARGS: one run into a fresh
# sink; checks the engine and the exact count.
send() {
    local what=$1 engine=$2 env=$3 count got rx0
    shift 4
    count=$(sed -nE 's/.*--count ([0-9]+).*/\1/p' <<<"$*")
    sink_start
    rx0=$(rx_packets)
    env ${env:+"$env"} ip netns exec "$NS0" "$PKTGEN" --dev "$N0" --cpu 0 --json "$@" \
        >"$TEST_TMP/gen.out" 2>"$TEST_TMP/gen.err" ||
        fail "$what: afxdp-pktgen failed: $(cat "$TEST_TMP/gen.err")"
    # Frames the generator counted may still wait in the peer's ring (its
    # NAPI deferred to ksoftirqd on a busy machine): let the sink see them.
    wait_until 2 rx_reached $((rx0 + count)) || wait_until 5 rx_settled || true
    sink_stop
    got=$(json_str "$TEST_TMP/gen.out" engine)
    [[ -z $engine || $got == "$engine" ]] ||
        fail "$what: engine '$got', expected '$engine'"
    ENGINE=$got
    [[ $(json_num "$TEST_TMP/gen.out" packets) == "$count" ]] ||
        fail "$what: sent $(json_num "$TEST_TMP/gen.out" packets), not $count"
    log "$what: engine $got$(sed -n 's/^afxdp-pktgen: engine [a-z]*: /, /p' \
        "$TEST_TMP/gen.err"), sink: $(grep '"type":"total"' "$TEST_TMP/sink.out")"
}

# sink_expect SEQ_PACKETS FLOWS: the sink saw exactly that, in order.
sink_expect() {
    local f=$TEST_TMP/sink.out
    [[ $(json_num "$f" seq_packets) == "$1" && $(json_num "$f" lost) == 0 &&
        $(json_num "$f" reordered) == 0 && $(json_num "$f" flows) == "$2" ]] ||
        fail "sink: expected $1 frames in $2 flows, none lost: $(cat "$f")"
}

# check_engine LABEL ENGINE ENV [PKTGEN ARGS...]
check_engine() {
    local label=$1 engine=$2 env=$3
    shift 3
    send "$label IPv4 --seq" "$engine" "$env" -- "$@" \
        --count 50000 --rate 100000 --seq --flows 16
    sink_expect 50000 16
    send "$label IPv6 --seq" "$engine" "$env" -- "$@" \
        --count 20000 --rate 100000 --seq --flows 4 -6 --size 78
    sink_expect 20000 4
    # valid:2 among 8 other kinds: 2 of every 10 frames are valid.
    send "$label --mix" "$engine" "$env" -- "$@" --count 30000 --rate 100000 \
        --flows 8 --mix=valid:2,runt,ethertype,bad-ip,trunc-l3,trunc-l4,random,oversize,vlan
    local k sum=0
    for k in valid runt ethertype bad-ip trunc-l3 trunc-l4 random oversize vlan; do
        sum=$((sum + $(json_num "$TEST_TMP/gen.out" "$k")))
    done
    ((sum == 30000)) || fail "$label --mix: the kinds add up to $sum"
    [[ $(json_num "$TEST_TMP/gen.out" valid) == 6000 ]] ||
        fail "$label --mix: $(json_num "$TEST_TMP/gen.out" valid) valid, not 6000"
    sink_expect 6000 8
}

check_engine "devmap" devmap "" --engine devmap
check_engine "auto without live frames" devmap \
    AFXDP_DISABLE_FEATURES=live-frames
[[ -n $(json_str "$TEST_TMP/gen.out" engine_reason) ]] ||
    fail "auto did not say why it did not pick live"
check_engine "auto" "" ""
log "auto picks $ENGINE on this kernel"

# ---- SIGKILL leaves nothing behind ------------------------------------------
sink_start
ip netns exec "$NS0" "$PKTGEN" --dev "$N0" --engine devmap --rate 10000 \
    >"$TEST_TMP/gen.out" 2>&1 &
gen=$!
on_exit "kill -KILL $gen 2>/dev/null || true"
# prog_of_gen: the id of the pktgen_fanout program the generator holds
# (through its bpf_link's fd: fdinfo names the program).
prog_of_gen() {
    local ids
    ids=$(bpftool prog show name pktgen_fanout 2>/dev/null |
        sed -nE 's/^([0-9]+): .*/\1/p')
    cat /proc/"$gen"/fdinfo/* 2>/dev/null |
        sed -nE 's/^prog_id:[[:space:]]+([0-9]+)/\1/p' | sort -u |
        grep -Fxf <(echo "$ids") | head -n 1
}
gen_has_prog() { [[ -n $(prog_of_gen) ]]; }
wait_until 10 gen_has_prog ||
    fail "no pktgen_fanout program of PID $gen: $(cat "$TEST_TMP/gen.out")"
id=$(prog_of_gen)
kill -KILL "$gen"
wait "$gen" 2>/dev/null || true
sink_stop
wait_until 10 eval "! bpftool prog show id $id >/dev/null 2>&1" ||
    fail "program $id (pktgen_fanout) outlived its generator"
log "SIGKILL: program $id and its helper veth are gone"
log "PASS $TEST_NAME"
