#!/usr/bin/env bash
# Reconfiguration under traffic: xdp-mode and n_rxq change while UDP and
# ping floods run through 2-queue ports, so sockets are torn down and
# rebuilt while PMDs hold frames.  Afterwards, with traffic stopped, every
# queue's chunk accounting adds up (free + fill + rx + held + tx +
# completion == total), nothing is left held, and traffic flows.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

STATES=(free fill rx held tx completion)

sys_setup --queues 2 n_rxq=2
check_ping_all

# Traffic for the whole reconfiguration sequence: UDP floods both ways
# (16 flows, so both queues) and a ping flood.
blast() {
    local from=$1 to=$2 dmac
    dmac=$(nsx "$to" cat "/sys/class/net/$(topo_ns_if "$to")/address")
    nsx "$from" python3 "$AFXDP_ROOT/scripts/lib/udp-blast.py" \
        --dev "$(topo_ns_if "$from")" --dst-mac "$dmac" \
        --src-ip "$(topo_ip4 "$from")" --dst-ip "$(topo_ip4 "$to")" \
        --seconds 25 --flows 16 >/dev/null
}
blast 0 1 &
b0=$!
on_exit "kill $b0"
blast 1 0 &
b1=$!
on_exit "kill $b1"
nsx 0 ping -q -f -w 25 "$IP4_1" >/dev/null 2>&1 &
pf=$!
on_exit "kill $pf"
sleep 1

# reconf OPTION=VALUE: applied to both ports; waits until they are back.
reconf() {
    vsctl set interface "$P0" "options:$1" -- set interface "$P1" "options:$1"
    port_wait_ready "$P0"
    port_wait_ready "$P1"
    sleep 1
    log "under traffic: $1"
}
reconf xdp-mode=generic
reconf n_rxq=1
reconf xdp-mode=native
reconf n_rxq=2
reconf xdp-mode=generic
reconf xdp-mode=native

wait "$b0" "$b1" || true
wait "$pf" || true
pid_alive "$VSWITCHD_PID" || fail "ovs-vswitchd died under reconfiguration"

# queue_report IFNAME: sets REPORT; true when every queue adds up, holds
# nothing and has nothing left in its rx ring (quiescent).
queue_report() {
    local ifname=$1 q s v sum total held rx ok=0
    declare -A c=()
    while read -r k v; do c[$k]=$v; done < <(
        vsctl get interface "$ifname" statistics | tr -d '{} ' | tr ',' '\n' |
            tr '=' ' ' | grep -E '^q[0-9]+_chunks_')
    REPORT=
    for q in 0 1; do
        total=${c[q${q}_chunks_total]:-}
        [[ -n $total ]] || { REPORT+="q$q: missing; "; ok=1; continue; }
        sum=0
        REPORT+="q$q: total=$total"
        for s in "${STATES[@]}"; do
            v=${c[q${q}_chunks_$s]:-}
            [[ -n $v ]] || { REPORT+=" $s=MISSING"; ok=1; continue; }
            sum=$((sum + v))
            REPORT+=" $s=$v"
        done
        REPORT+=" (sum $sum); "
        held=${c[q${q}_chunks_held]:-1}
        rx=${c[q${q}_chunks_rx]:-1}
        ((total > 0 && sum == total && held == 0 && rx == 0)) || ok=1
    done
    return $ok
}
for p in "$P0" "$P1"; do
    # The statistics column is refreshed every 5 s.
    wait_until 15 queue_report "$p" || {
        queue_report "$p" || true
        fail "$p: chunks do not add up or are still held: $REPORT"
    }
    queue_report "$p"
    log "$p: $REPORT"
done
check_ping_all
sys_finish
