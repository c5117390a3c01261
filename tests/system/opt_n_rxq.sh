#!/usr/bin/env bash
# options:n_rxq: one AF_XDP socket per queue on 2-queue veths, queues
# spread over two PMD threads by dpif-netdev.  Checks pmd-rxq-show,
# pmd-rxq-affinity, pmd-rxq-rebalance, that a multi-flow stream reaches OVS
# on both queues (veth picks the receive queue from the sender's transmit
# queue, which follows the flow hash), and that an n_rxq above the device's
# queues on the running port is reported once (one ERR, status
# afxdp-config-error) while the port keeps its two queues and forwards,
# and that correcting it clears the error.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

OVS_LOG_ALLOW="\|netdev_afxdp\|ERR\|$P0: Too big 'n_rxq' \(3 > 2\)"
# Two PMD threads, one per core.
OVS_PMD_CPU_MASK=0x3

QKEYS=(rx_packets rx_bytes tx_packets tx_bytes chunks_fill)

sys_setup --queues 2 n_rxq=2

# rxq_cores IFNAME QID: the core ids polling that queue, per pmd-rxq-show.
rxq_cores() {
    appctl dpif-netdev/pmd-rxq-show | awk -v p="$1" -v q="$2" '
        /^pmd thread/ { core = $NF; sub(":", "", core) }
        $1 == "port:" && $2 == p && $4 == q { print core }'
}
check_rxqs_listed() {
    local p q
    for p in "$P0" "$P1"; do
        for q in 0 1; do
            [[ -n $(rxq_cores "$p" "$q") ]] || {
                appctl dpif-netdev/pmd-rxq-show >&2
                fail "pmd-rxq-show does not list $p queue $q"
            }
        done
    done
}
polled() { [[ -n $(rxq_cores "$1" "$2") ]]; }
wait_until 10 polled "$P1" 1 || true
check_rxqs_listed
log "pmd-rxq-show lists queues 0 and 1 of both ports"

# One socket per queue: per-queue statistics for q0 and q1, not q2.
stats_of() { vsctl get interface "$1" statistics; }
for p in "$P0" "$P1"; do
    s=$(stats_of "$p")
    for q in 0 1; do
        for k in "${QKEYS[@]}"; do
            [[ $s == *"q${q}_$k="* ]] || fail "$p: no q${q}_$k in $s"
        done
    done
    [[ $s != *q2_* ]] || fail "$p: statistics for a queue 2: $s"
done
check_ping_all

# 16 UDP flows from ns0: the veth peer spreads them over its two transmit
# queues by flow hash, which are P0's two receive queues.
qstat() {
    vsctl get interface "$1" "statistics:q${2}_$3" 2>/dev/null || echo 0
}
before0=$(qstat "$P0" 0 rx_packets)
before1=$(qstat "$P0" 1 rx_packets)
dmac=$(nsx 1 cat "/sys/class/net/$(topo_ns_if 1)/address")
sent=$(nsx 0 python3 "$AFXDP_ROOT/scripts/lib/udp-blast.py" \
    --dev "$(topo_ns_if 0)" --dst-mac "$dmac" --src-ip "$IP4_0" \
    --dst-ip "$IP4_1" --seconds 2 --flows 16) || fail "udp-blast failed"
both_grew() {
    (($(qstat "$P0" 0 rx_packets) > before0 + 100 &&
        $(qstat "$P0" 1 rx_packets) > before1 + 100))
}
wait_until 15 both_grew || fail "$P0: traffic did not reach both queues:" \
    "q0 $before0 -> $(qstat "$P0" 0 rx_packets)," \
    "q1 $before1 -> $(qstat "$P0" 1 rx_packets) ($sent frames sent)"
log "$sent frames over 16 flows: q0 +$(($(qstat "$P0" 0 rx_packets) - before0))," \
    "q1 +$(($(qstat "$P0" 1 rx_packets) - before1))"

# pmd-rxq-affinity: pin each queue to a core, crosswise for the two ports.
# Pinned cores are isolated, so every queue gets a pin.
vsctl set interface "$P0" other_config:pmd-rxq-affinity="0:0,1:1" -- \
    set interface "$P1" other_config:pmd-rxq-affinity="0:1,1:0"
pinned_as_asked() {
    [[ $(rxq_cores "$P0" 0) == 0 && $(rxq_cores "$P0" 1) == 1 &&
        $(rxq_cores "$P1" 0) == 1 && $(rxq_cores "$P1" 1) == 0 ]]
}
wait_until 10 pinned_as_asked || {
    appctl dpif-netdev/pmd-rxq-show >&2
    fail "pmd-rxq-affinity not applied"
}
appctl dpif-netdev/pmd-rxq-show | grep -q 'isolated : true' ||
    fail "pinned PMD threads are not isolated"
check_ping_all
log "pmd-rxq-affinity applied"

vsctl remove interface "$P0" other_config pmd-rxq-affinity -- \
    remove interface "$P1" other_config pmd-rxq-affinity
out=$(appctl dpif-netdev/pmd-rxq-rebalance) || fail "pmd-rxq-rebalance failed"
[[ $out == *"rebalance requested"* ]] || fail "pmd-rxq-rebalance said: $out"
sleep 1
check_rxqs_listed
check_ping_all
log "pmd-rxq-rebalance: $out"

# n_rxq above the device's queues on a running port: kept out.  One ERR,
# the reason in status, the bridge keeps the port (no "could not set
# configuration"), which keeps polling both queues; no repetition when
# the bridge runs again.
lines=$(wc -l <"$OVS_VSWITCHD_LOG")
new_lines() {
    tail -n +"$((lines + 1))" "$OVS_VSWITCHD_LOG" | grep -F "$P0" |
        grep -E '\|(WARN|ERR|EMER)\|' || true
}
vsctl set interface "$P0" options:n_rxq=3
wait_until 5 eval '[[ -n $(new_lines) ]]' || fail "n_rxq=3: nothing logged"
vsctl set interface "$P0" external_ids:afxdp-test=again
sleep 5
[[ $(new_lines | grep -c .) == 1 ]] || fail "n_rxq=3: $(new_lines)"
[[ $(new_lines) == *"|netdev_afxdp|ERR|$P0: Too big 'n_rxq' (3 > 2). Keeping the last valid options (n_rxq=2,"* ]] ||
    fail "n_rxq=3: unexpected line: $(new_lines)"
[[ $(iface_status "$P0" afxdp-config-error) == "$P0: Too big 'n_rxq' (3 > 2)." ]] ||
    fail "$P0: status: $(vsctl get interface "$P0" status)"
[[ $(vsctl get interface "$P0" error) == "[]" ]] ||
    fail "$P0: error column: $(vsctl get interface "$P0" error)"
check_rxqs_listed
check_ping_all
log "n_rxq=3 kept out: one ERR line, status afxdp-config-error, both queues still polled"

vsctl set interface "$P0" options:n_rxq=2
wait_until 5 eval '! vsctl get interface $P0 status:afxdp-config-error' ||
    fail "$P0: afxdp-config-error stays after the fix"
port_wait_ready "$P0"
wait_until 10 polled "$P0" 1 || true
check_rxqs_listed
check_ping_all
sys_finish
