#!/usr/bin/env bash
# One UMEM shared by all afxdp ports of the NUMA node, and transmission
# between them without a copy:
#  1. Three afxdp ports (two with 2 queues) report the same UMEM in their
#     status, its size, and one 32 MiB UMEM is all the chunk memory they
#     use (reported and bounded; adding the second and third port grows
#     ovs-vswitchd's RSS by far less than a UMEM).
#  2. Forwarding between our ports goes by address: frames received on P0
#     and sent out of P1 raise P1's q<N>_tx_zero_copy as much as its
#     q<N>_tx_packets, but for the few frames OVS copies itself (a flow's
#     first packet, executed after its upcall on a copy).
#  3. Mixed with frames from a tap (the bridge's internal port, in the
#     switch namespace): those are copied, so P1's tx_packets grows more
#     than its tx_zero_copy, by the tap's frames.
#  4. A port removed under traffic hands its chunks back: the remaining
#     ports' UMEM balances (free + fill + rx + held + tx + completion ==
#     total, none held), it has one port's queues fewer, and nothing stays
#     "reclaiming".
#  5. With shared-umem=false each port has its own UMEM, and forwarding
#     between them is copied (tx_zero_copy stays 0).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=fault_lib.sh
source "$(dirname "$0")/fault_lib.sh"

P2=$(topo_host_if 2)
IP4_2=$(topo_ip4 2)
UMEM_BYTES=$((32 << 20))
# Frames OVS copies itself (upcalls) among those forwarded between ports.
COPY_SLACK=20
# RSS a second or third port may add: sockets, rings, bookkeeping; far
# below one UMEM (32 MiB), which it must not add.
PORT_RSS_SLACK_KB=${AFXDP_PORT_RSS_SLACK_KB:-12288}

# qsum IFNAME KEY: KEY summed over the port's queues (q<N>_KEY).
qsum() {
    vsctl get interface "$1" statistics | tr -d '{} ' | tr ',' '\n' |
        awk -F= -v k="$2" '$1 ~ "^q[0-9]+_" k "$" { s += $2 } END { print s + 0 }'
}
stat_refreshed() { (($(qsum "$1" "$2") >= $3)); }

topo_add_host 0 2
topo_add_host 1 2
topo_add_host 2
pin_tx_queue0 0
ovs_start
ovs_add_bridge "$BR"
rss0=$(vswitchd_rss_kb)
ovs_add_afxdp_port "$BR" "$P0" n_rxq=2
port_wait_ready "$P0"
rss1=$(vswitchd_rss_kb)
ovs_add_afxdp_port "$BR" "$P1" n_rxq=2
ovs_add_afxdp_port "$BR" "$P2"
port_wait_ready "$P1"
port_wait_ready "$P2"
rss3=$(vswitchd_rss_kb)
check_ping_all

# ---- 1. One UMEM, reported and bounded ---------------------------------------
umem=$(iface_status "$P0" umem)
[[ $umem == shared* ]] || fail "$P0: UMEM not shared: $umem"
for p in "$P1" "$P2"; do
    [[ $(iface_status "$p" umem) == "$umem" ]] ||
        fail "$p uses UMEM '$(iface_status "$p" umem)', $P0 '$umem'"
done
size=$(iface_status "$P0" umem-size)
meta=$(iface_status "$P0" umem-meta-size)
pages=$(iface_status "$P0" umem-huge-pages)
((size == UMEM_BYTES)) || fail "UMEM size $size, expected $UMEM_BYTES"
((meta > 0 && meta <= 8 << 20)) || fail "metadata size $meta out of bounds"
[[ $pages =~ ^(hugetlb|thp|none)$ ]] || fail "umem-huge-pages '$pages'"
# The statistics column is refreshed every 5 s.
wait_until 15 eval '[[ $(iface_stat "$P0" umem_queues) == 5 ]]' ||
    fail "UMEM queues $(iface_stat "$P0" umem_queues), expected 5"
[[ $(iface_status "$P1" umem-kernel-shared) == 2/2 ]] ||
    fail "$P1 queues do not share a kernel UMEM: $(vsctl get interface "$P1" status)"
added=$((rss3 - rss1))
log "UMEM '$umem': $size bytes of chunks + $meta of metadata on $pages" \
    "pages for 5 queues of 3 ports; RSS: first port +$((rss1 - rss0)) kB," \
    "second and third +$added kB"
((added <= PORT_RSS_SLACK_KB)) ||
    fail "the second and third port added $added kB of RSS (> $PORT_RSS_SLACK_KB)"

# ---- 2. Forwarding between our ports: no copy ---------------------------------
N=3000
tx0=$(qsum "$P1" tx_packets)
zc0=$(qsum "$P1" tx_zero_copy)
nsx 0 ping -q -c "$N" -i 0 -W 2 "$IP4_1" >/dev/null || fail "flood ping lost packets"
wait_until 15 stat_refreshed "$P1" tx_packets $((tx0 + N)) ||
    fail "$P1 sent $(($(qsum "$P1" tx_packets) - tx0)) frames, expected >= $N"
dtx=$(($(qsum "$P1" tx_packets) - tx0))
dzc=$(($(qsum "$P1" tx_zero_copy) - zc0))
log "P0 -> P1: $P1 sent $dtx frames, $dzc of them without a copy"
((dzc >= N && dtx - dzc <= COPY_SLACK)) ||
    fail "$P1: $((dtx - dzc)) of $dtx frames from $P0 were copied"

# ---- 3. Mixed with a tap: copied -----------------------------------------------
swx ip addr add 10.1.1.200/24 dev "$BR"
swx ip link set "$BR" up
wait_until 10 swx ping -q -c 1 -W 1 "$IP4_1" >/dev/null ||
    fail "no ping from the bridge's tap to $IP4_1"
M=500
tx0=$(qsum "$P1" tx_packets)
zc0=$(qsum "$P1" tx_zero_copy)
nsx 0 ping -q -c "$N" -i 0 -W 2 "$IP4_1" >/dev/null &
flood=$!
swx ping -q -c "$M" -i 0.002 -W 2 "$IP4_1" >/dev/null || fail "tap pings lost"
wait "$flood" || fail "flood ping from ns0 lost packets"
wait_until 15 stat_refreshed "$P1" tx_packets $((tx0 + N + M)) ||
    fail "$P1 sent $(($(qsum "$P1" tx_packets) - tx0)), expected >= $((N + M))"
dtx=$(($(qsum "$P1" tx_packets) - tx0))
dzc=$(($(qsum "$P1" tx_zero_copy) - zc0))
log "P0 and tap -> P1: $dtx frames, $dzc without a copy, $((dtx - dzc)) copied"
((dzc >= N && dtx - dzc >= M)) ||
    fail "expected >= $N frames by address and >= $M copies, got $dzc and $((dtx - dzc))"
check_umem "$P0"

# ---- 4. A port removed under traffic gives its chunks back -------------------
traffic_start 0 50000
sleep 1
vsctl del-port "$BR" "$P1"
sleep 1
traffic_stop
wait_until 10 eval '[[ $(iface_stat "$P0" umem_queues) == 3 ]]' ||
    fail "UMEM queues $(iface_stat "$P0" umem_queues) after removing $P1, expected 3"
# The removed port's transmit chunks come back a moment later; the
# statistics refresh (every 5 s) does it.
wait_until 20 eval '(( $(iface_stat "$P0" umem_chunks_reclaiming) == 0 ))' ||
    fail "chunks still reclaiming: $(iface_stat "$P0" umem_chunks_reclaiming)"
check_umem "$P0"
check_umem "$P2"
ping_within 0 "$IP4_2" 5 || fail "no forwarding to $P2 after $P1 was removed"

# ---- 5. Private UMEMs: copies between ports ----------------------------------
ovs_add_afxdp_port "$BR" "$P1" n_rxq=2 shared-umem=false
vsctl set interface "$P0" options:shared-umem=false
port_wait_ready "$P0"
port_wait_ready "$P1"
u0=$(iface_status "$P0" umem)
u1=$(iface_status "$P1" umem)
[[ $u0 == private* && $u1 == private* && $u0 != "$u1" ]] ||
    fail "expected two private UMEMs, got '$u0' and '$u1'"
check_ping 0 "$IP4_1"
tx0=$(qsum "$P1" tx_packets)
zc0=$(qsum "$P1" tx_zero_copy)
nsx 0 ping -q -c 1000 -i 0 -W 2 "$IP4_1" >/dev/null || fail "flood ping lost packets"
wait_until 15 stat_refreshed "$P1" tx_packets $((tx0 + 1000)) ||
    fail "$P1 did not send the replies"
dzc=$(($(qsum "$P1" tx_zero_copy) - zc0))
log "private UMEMs: $P1 sent $(($(qsum "$P1" tx_packets) - tx0)) frames," \
    "$dzc without a copy"
((dzc == 0)) || fail "$dzc frames went between private UMEMs without a copy"
check_umem "$P0"
check_umem "$P1"
sys_finish
