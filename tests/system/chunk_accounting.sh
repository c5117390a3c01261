#!/usr/bin/env bash
# Every UMEM chunk is accounted for.  The provider exports per-queue chunk
# counters as custom statistics (q<N>_chunks_<state>); once traffic has
# stopped, free + fill + rx + held + tx + completion == total on every queue
# of both ports, after traffic in both directions, and total never changes.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

STATES=(free fill rx held tx completion)

# chunk_stats IFNAME: "key value" lines of the q<N>_chunks_* statistics.
chunk_stats() {
    vsctl get interface "$1" statistics | tr -d '{} ' | tr ',' '\n' |
        tr '=' ' ' | grep -E '^q[0-9]+_chunks_' || true
}

# balanced IFNAME: true when every queue's counters add up; sets TOTALS to
# "q0=T q1=T ..." and REPORT to a readable summary.
balanced() {
    local ifname=$1 q sum total s v ok=0
    declare -A c=()
    while read -r k v; do c[$k]=$v; done < <(chunk_stats "$ifname")
    TOTALS=
    REPORT=
    for q in $(printf '%s\n' "${!c[@]}" | sed -n 's/^q\([0-9]*\)_chunks_total$/\1/p' | sort -n); do
        total=${c[q${q}_chunks_total]}
        sum=0
        REPORT+="q$q: total=$total"
        for s in "${STATES[@]}"; do
            v=${c[q${q}_chunks_$s]:-}
            if [[ -z $v ]]; then
                REPORT+=" $s=MISSING"
                ok=1
                continue
            fi
            sum=$((sum + v))
            REPORT+=" $s=$v"
        done
        REPORT+=" (sum $sum); "
        TOTALS+="q$q=$total "
        ((total > 0 && sum == total)) || ok=1
    done
    [[ -n $TOTALS ]] || {
        REPORT="no q<N>_chunks_total in $(vsctl get interface "$ifname" statistics)"
        return 1
    }
    return $ok
}

# check_balanced IFNAME: waits for a statistics refresh that balances (a
# snapshot taken while a PMD still held frames may not), then checks that
# the totals did not change since the first check.
declare -A first_totals
check_balanced() {
    local ifname=$1
    wait_until 15 balanced "$ifname" || {
        balanced "$ifname" || true
        fail "$ifname: chunks do not add up: $REPORT"
    }
    balanced "$ifname"
    if [[ -z ${first_totals[$ifname]:-} ]]; then
        first_totals[$ifname]=$TOTALS
    elif [[ ${first_totals[$ifname]} != "$TOTALS" ]]; then
        fail "$ifname: chunk totals changed: ${first_totals[$ifname]}-> $TOTALS"
    fi
    log "$ifname: $REPORT"
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
