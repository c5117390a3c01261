#!/usr/bin/env bash
# Statistics and coverage counters.  The statistics column carries the
# kernel's counters (with our socket drops folded into rx/tx_dropped) and,
# per queue, every struct xdp_statistics field, the drop reasons, the
# zero-copy sends and the chunk counts under the glue's names
# (q<N>_<field>), and the UMEM's balance (umem_<field>).  Then a port whose
# device is down (its tx ring fills and stays full) makes sends fall short,
# which shows as tx_dropped in the statistics, as q0_tx_dropped_ring_full
# (and no other reason) per queue, and as afxdp_tx_dropped and
# afxdp_tx_dropped_ring_full in coverage/show; idle polls show as
# afxdp_rx_empty.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

KERNEL_KEYS=(rx_packets tx_packets rx_bytes tx_bytes rx_dropped tx_dropped
    rx_errors tx_errors rx_frame_err rx_over_err rx_crc_err rx_missed_errors
    collisions rx_multicast_packets)
QUEUE_KEYS=(rx_packets rx_bytes tx_packets tx_bytes tx_dropped tx_zero_copy
    tx_dropped_no_chunk tx_dropped_ring_full tx_dropped_bad_len
    tx_dropped_not_held tx_kick_errors
    rx_dropped rx_invalid_descs tx_invalid_descs rx_ring_full
    rx_fill_ring_empty_descs tx_ring_empty_descs
    chunks_fill chunks_rx chunks_tx chunks_completion
    rx_multi_buffer rx_dropped_multi_buffer tx_multi_buffer)
UMEM_KEYS=(chunks_total chunks_free chunks_cached chunks_fill
    chunks_reclaiming chunks_rx chunks_held chunks_tx chunks_completion
    queues release_errors pool_overflows jumbo_total jumbo_free jumbo_held)

# stat_keys IFNAME: the keys of the statistics column, one a line.
stat_keys() {
    vsctl get interface "$1" statistics | tr -d '{} ' | tr ',' '\n' |
        cut -d= -f1
}
# coverage_total NAME: the total of a coverage counter, or nothing when
# coverage/show does not list it (never hit).
coverage_total() {
    appctl coverage/show | awk -v c="$1" '$1 == c { print $NF }'
}

sys_setup
check_ping_all

for p in "$P0" "$P1"; do
    keys=$(stat_keys "$p")
    missing=()
    for k in "${KERNEL_KEYS[@]}"; do
        grep -qx "$k" <<<"$keys" || missing+=("$k")
    done
    for k in "${QUEUE_KEYS[@]}"; do
        grep -qx "q0_$k" <<<"$keys" || missing+=("q0_$k")
    done
    for k in "${UMEM_KEYS[@]}"; do
        grep -qx "umem_$k" <<<"$keys" || missing+=("umem_$k")
    done
    ((${#missing[@]} == 0)) || fail "$p: statistics lack ${missing[*]}"
    n_q0=$(grep -c '^q0_' <<<"$keys")
    ((n_q0 == ${#QUEUE_KEYS[@]})) ||
        fail "$p: $n_q0 q0_ keys, expected ${#QUEUE_KEYS[@]}: $(grep '^q0_' <<<"$keys" | tr '\n' ' ')"
done
log "statistics: ${#KERNEL_KEYS[@]} device keys, ${#QUEUE_KEYS[@]} q0_ keys" \
    "and ${#UMEM_KEYS[@]} umem_ keys on both ports"

# The PMD polls idle queues all the time.
counted() { [[ -n $(coverage_total "$1") ]]; }
wait_until 5 counted afxdp_rx_empty ||
    fail "afxdp_rx_empty not in coverage/show"
for c in afxdp_tx_dropped afxdp_tx_dropped_no_chunk afxdp_tx_dropped_ring_full \
    afxdp_tx_dropped_bad_len afxdp_tx_dropped_not_held afxdp_tx_kick_errors; do
    [[ -z $(coverage_total $c) ]] ||
        fail "$c counted before any drop: $(coverage_total $c)"
done

# Everything from P0 goes to P1, whose device is down: the kernel does not
# transmit (ENETDOWN), the tx ring fills after kRingSize frames and every
# send after that falls short.
ofctl del-flows "$BR"
ofctl add-flow "$BR" "in_port=$P0,actions=output:$P1"
ofctl add-flow "$BR" "in_port=$P1,actions=output:$P0"
tx_drop0=$(iface_stat "$P1" tx_dropped)
swx ip link set "$P1" down
on_exit "ip netns exec $(topo_sw_ns) ip link set $P1 up"
dmac=$(nsx 1 cat "/sys/class/net/$(topo_ns_if 1)/address")
sent=$(nsx 0 python3 "$AFXDP_ROOT/scripts/lib/udp-blast.py" \
    --dev "$(topo_ns_if 0)" --dst-mac "$dmac" --src-ip "$IP4_0" \
    --dst-ip "$IP4_1" --seconds 2 --flows 4) || fail "udp-blast failed"
log "sent $sent frames towards $P1 while it is down"
((sent > 4096)) || fail "only $sent frames sent, not enough to fill a tx ring"

wait_until 5 counted afxdp_tx_dropped || {
    appctl coverage/show >&2
    fail "afxdp_tx_dropped not in coverage/show after sending to a down port"
}
dropped_grew() { (($(iface_stat "$P1" tx_dropped) > tx_drop0)); }
wait_until 15 dropped_grew ||
    fail "$P1: tx_dropped stayed at $tx_drop0 (statistics: $(vsctl get interface "$P1" statistics))"
q_drop=$(iface_stat "$P1" q0_tx_dropped)
((q_drop > 0)) || fail "$P1: q0_tx_dropped is $q_drop"
# The tx ring (2048) fills long before the UMEM (8192 chunks) runs out, and
# the frames are ordinary: the one reason is a full ring.
stats=$(vsctl get interface "$P1" statistics)
reason() { grep -oE "q0_tx_dropped_$1=[0-9]+" <<<"$stats" | cut -d= -f2; }
total=$(grep -oE '\bq0_tx_dropped=[0-9]+' <<<"$stats" | cut -d= -f2)
ring_full=$(reason ring_full)
no_chunk=$(reason no_chunk)
bad_len=$(reason bad_len)
not_held=$(reason not_held)
((ring_full > 0 && no_chunk == 0 && bad_len == 0 && not_held == 0)) ||
    fail "$P1: drop reasons ring_full=$ring_full no_chunk=$no_chunk bad_len=$bad_len not_held=$not_held"
((ring_full + no_chunk + bad_len + not_held == total)) ||
    fail "$P1: reasons add up to $((ring_full + no_chunk + bad_len + not_held)), q0_tx_dropped=$total"
# The reasons reach coverage/show when the statistics are read (every 5 s).
wait_until 15 counted afxdp_tx_dropped_ring_full || {
    appctl coverage/show >&2
    fail "afxdp_tx_dropped_ring_full not in coverage/show"
}
for c in afxdp_tx_dropped_no_chunk afxdp_tx_dropped_bad_len \
    afxdp_tx_dropped_not_held afxdp_tx_kick_errors; do
    [[ -z $(coverage_total $c) ]] || fail "$c counted: $(coverage_total $c)"
done
log "afxdp_tx_dropped total $(coverage_total afxdp_tx_dropped)," \
    "afxdp_tx_dropped_ring_full total $(coverage_total afxdp_tx_dropped_ring_full)," \
    "$P1 tx_dropped $(iface_stat "$P1" tx_dropped), q0_tx_dropped $q_drop" \
    "(ring_full $ring_full)"

# Up again: the ring drains and traffic flows.
swx ip link set "$P1" up
ofctl del-flows "$BR"
ofctl add-flow "$BR" actions=NORMAL
check_ping_all
sys_finish
