#!/usr/bin/env bash
# Every UMEM chunk is accounted for.  Both ports share one UMEM (their NUMA
# node's); its balance is exported on each port as custom statistics
# (umem_chunks_<state>).  Once traffic has stopped, free + fill + rx + held +
# tx + completion == total, none is held, after traffic in both directions,
# and the total never changes.  Both ports report the same UMEM.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

declare -A first_total
check_balanced() {
    check_umem "$1"
    if [[ -z ${first_total[$1]:-} ]]; then
        first_total[$1]=$UMEM_TOTAL
    elif [[ ${first_total[$1]} != "$UMEM_TOTAL" ]]; then
        fail "$1: chunk total changed: ${first_total[$1]} -> $UMEM_TOTAL"
    fi
}

# wait_stats_cover IFNAME KEY MIN: the statistics column shows KEY >= MIN,
# i.e. it was refreshed after the traffic we sent.
stat_at_least() { (($(iface_stat "$1" "$2") >= $3)); }
wait_stats_cover() {
    wait_until 15 stat_at_least "$1" "$2" "$3" ||
        fail "$1: $2 never reached $3"
}

sys_setup
check_balanced "$P0"
check_balanced "$P1"
u0=$(iface_status "$P0" umem)
u1=$(iface_status "$P1" umem)
[[ $u0 == shared* && $u0 == "$u1" ]] ||
    fail "the ports do not share one UMEM: '$u0' and '$u1'"

# Traffic both ways, then a TCP stream (bursts, many frames in flight).
check_ping_all
rx0=$(iface_stat "$P0" rx_packets)
nsx 0 ping -q -c 2000 -i 0 -W 2 "$IP4_1" >/dev/null ||
    fail "flood ping lost packets"
nsx 1 ping -q -c 2000 -i 0 -W 2 -s 1400 "$IP6_0" >/dev/null ||
    fail "flood ping (IPv6) lost packets"
head -c $((4 << 20)) /dev/zero >"$TEST_TMP/data"
nsx 1 timeout 30 nc -l "$IP4_1" 5202 >/dev/null &
srv=$!
on_exit "kill $srv"
wait_until 10 eval "nsx 1 ss -Hltn 'sport = :5202' | grep -q LISTEN" ||
    fail "nc did not listen"
nsx 0 timeout 30 nc -N "$IP4_1" 5202 <"$TEST_TMP/data" || fail "TCP send failed"
wait "$srv" || fail "TCP receiver failed"

wait_stats_cover "$P0" rx_packets $((rx0 + 4000))
check_balanced "$P0"
check_balanced "$P1"
sys_finish
