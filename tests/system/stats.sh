#!/usr/bin/env bash
# Interface statistics count what crossed the port: after N echo requests
# from ns0 to ns1 (and N replies back), rx_packets and tx_packets of both
# ports grew by at least N, and not by much more (no double counting).
# ovs-vswitchd refreshes the statistics column every 5 s, hence the waits.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

N=500
# Besides our pings the namespaces send a few frames of their own (IPv6
# MLD, ARP); a frame counted twice would exceed this at once.
SLACK=60

sys_setup
check_ping 0 "$IP4_1"

declare -A before
for p in "$P0" "$P1"; do
    for k in rx_packets tx_packets; do
        before[$p.$k]=$(iface_stat "$p" "$k")
    done
done

out=$(nsx 0 ping -q -c "$N" -i 0.002 -W 2 "$IP4_1") ||
    fail "flood of $N pings lost packets: $out"
grep -q " $N received" <<<"$out" || fail "not all $N replies came back: $out"

delta() { echo $(($(iface_stat "$1" "$2") - ${before[$1.$2]})); }
delta_reached() { (($(delta "$1" "$2") >= N)); }
for p in "$P0" "$P1"; do
    for k in rx_packets tx_packets; do
        wait_until 15 delta_reached "$p" "$k" ||
            fail "$p $k grew by $(delta "$p" "$k"), expected >= $N"
        d=$(delta "$p" "$k")
        ((d <= N + SLACK)) || fail "$p $k grew by $d for $N packets sent"
        log "$p $k +$d (sent $N)"
    done
done
sys_finish
