#!/usr/bin/env bash
# ovs-appctl afxdp/show [PORT] tells the truth about each port, checked
# against what the kernel, bpftool, dpif-netdev and the statistics say.
# Two afxdp ports on 2-queue veths, n_rxq=2, best-effort mode, OVS's
# hw-offload on, one UDP flow from P0 to P1 offloaded:
#   - with no argument every afxdp port is shown, with PORT only that one,
#     and an unknown PORT is an error;
#   - xdp-mode is the mode in status:xdp-mode (best-effort configured);
#   - 2 queues, and the device's 2 queues now and at most (ethtool -l);
#   - the program id is the one bpftool net shows on the device, and the
#     link id is bpftool's link of that program;
#   - each queue is polled by the PMD core dpif-netdev/pmd-rxq-show names,
#     and, once P1 is made afxdp-nonpmd, by the main thread;
#   - the UMEM is the one status:umem names, shared by both ports' queues
#     (statistics umem_queues), 8192 chunks of 4096 bytes, on the memory
#     status:umem-huge-pages names; once traffic stopped,
#     free+fill+rx+held+tx+completion == total with nothing held, and no
#     release error or pool overflow;
#   - XDP_STATISTICS, the packet counts and the tx drop reasons are there,
#     no kick errors;
#   - the fast path has exactly the fully offloaded flows that its BPF flow
#     table and dpctl/dump-flows type=offloaded have (at least the UDP one).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=fault_lib.sh
source "$AFXDP_ROOT/tests/system/fault_lib.sh"
# shellcheck source=offload_lib.sh
source "$AFXDP_ROOT/tests/system/offload_lib.sh"

sys_setup --queues 2 n_rxq=2
quiet_hosts
ofctl del-flows "$BR"
ofctl add-flow "$BR" "priority=10,udp,in_port=$P0,actions=output:$P1"
sink_start 1
send_frames 0 1000 10000 --size 64
wait_until 5 eval "(( \$(fastpath_flows_installed $P0) >= 1 ))" ||
    fail "no flow of $P0 was offloaded"
sink_stop

# block IFNAME: IFNAME's block of the full output.
block() {
    appctl afxdp/show | awk -v h="$1 (afxdp):" '
        $0 == h { on = 1; print; next }
        /^[^ ]/ { on = 0 }
        on { print }'
}
# field BLOCK KEY: the value of "  KEY: value" in BLOCK.
field() { sed -n "s/^  $2: //p" <<<"$1"; }

all=$(appctl afxdp/show)
for p in "$P0" "$P1"; do
    grep -qx "$p (afxdp):" <<<"$all" || fail "afxdp/show lacks $p: $all"
done
one=$(appctl afxdp/show "$P0")
[[ $(grep -c '^[^ ]' <<<"$one") == 1 && $one == "$P0 (afxdp):"* ]] ||
    fail "afxdp/show $P0 shows more or other than $P0: $one"
if err=$(appctl afxdp/show nosuch0 2>&1); then
    fail "afxdp/show nosuch0 succeeded: $err"
fi
grep -q "no such afxdp port" <<<"$err" || fail "afxdp/show nosuch0: $err"

b=$(block "$P0")
log "afxdp/show $P0:"$'\n'"$b"

mode=$(iface_status "$P0" xdp-mode)
[[ $(field "$b" xdp-mode) == "$mode (configured best-effort)" ]] ||
    fail "xdp-mode '$(field "$b" xdp-mode)', status says $mode"
[[ $(field "$b" use-need-wakeup) == true ]] ||
    fail "use-need-wakeup '$(field "$b" use-need-wakeup)'"
[[ $(field "$b" queues) == "2 (device: 2 now, 2 at most)" ]] ||
    fail "queues '$(field "$b" queues)'"
ifindex=$(swx cat "/sys/class/net/$P0/ifindex")
[[ $(field "$b" ifindex) == "$ifindex" ]] ||
    fail "ifindex '$(field "$b" ifindex)', sysfs says $ifindex"

# The program and its link, as bpftool sees them.
prog=$(fastpath_prog_ids "$P0")
[[ $prog =~ ^[0-9]+$ ]] || fail "bpftool net shows '$prog' on $P0"
# Program ids are global and each of ours has one link (this bpftool does
# not print an XDP link's ifindex).
link=$(bpftool link show -j | python3 -c '
import json, sys
prog = int(sys.argv[1])
print(" ".join(str(l["id"]) for l in json.load(sys.stdin)
               if l.get("type") == "xdp" and l.get("prog_id") == prog))' "$prog")
[[ $link =~ ^[0-9]+$ ]] || fail "bpftool link shows '$link' for program $prog"
want="id $prog, link id $link, fast path on, rx hash on"
[[ $(field "$b" "xdp program") == "$want" ]] ||
    fail "xdp program '$(field "$b" "xdp program")', bpftool: $want"

# The statistics column is refreshed every few seconds: wait for the
# count after both ports joined the UMEM.
umem_shared_by_both() {
    umem_queues=$(iface_stat "$P0" umem_queues)
    ((umem_queues >= 4))
}
wait_until 15 umem_shared_by_both ||
    fail "$P0: umem_queues $umem_queues, 2 ports of 2 queues share it"
want="$(iface_status "$P0" umem), 8192 chunks of 4096 bytes (33554432 bytes), frame headroom 384, huge pages $(iface_status "$P0" umem-huge-pages), $umem_queues queues"
[[ $(field "$b" umem) == "$want" && $want == shared,* ]] ||
    fail "umem '$(field "$b" umem)', status and statistics: '$want'"
[[ $(iface_status "$P1" umem) == $(iface_status "$P0" umem) ]] ||
    fail "$P1 is on UMEM '$(iface_status "$P1" umem)', $P0 on '$(iface_status "$P0" umem)'"

# Queues and their PMD.
rxq_core() {
    appctl dpif-netdev/pmd-rxq-show | awk -v p="$P0" -v q="$1" '
        /^pmd thread/ { sub(":", "", $NF); core = $NF }
        $1 == "port:" && $2 == p && $4 == q { print core }'
}
for q in 0 1; do
    core=$(rxq_core $q)
    [[ $core =~ ^[0-9]+$ ]] || fail "pmd-rxq-show has no core for queue $q"
    [[ $(field "$b" "queue $q") == "pmd core $core" ]] ||
        fail "queue $q: '$(field "$b" "queue $q")', pmd-rxq-show: core $core"
done

# Chunks, once quiescent: the UMEM's "chunks:" line follows "umem:".
chunks_balance() {
    local line
    line=$(block "$P0" | sed -n '/^  umem: /{n;s/^    chunks: //p}')
    python3 - "$line" <<'EOF'
import re, sys
# "total 8192, free 6100 (cached 60), fill 2048 (reclaiming 0), rx 0, ..."
f = {k: int(v) for k, v in re.findall(r"(\w+) (\d+)", sys.argv[1])}
parts = ("free", "fill", "rx", "held", "tx", "completion")
ok = all(k in f for k in parts + ("total", "cached", "reclaiming")) and \
    f["total"] == 8192 and f["held"] == 0 and \
    sum(f[k] for k in parts) == f["total"]
sys.exit(0 if ok else 1)
EOF
}
wait_until 10 chunks_balance || {
    block "$P0" >&2
    fail "chunks do not add up to 8192 with none held"
}
[[ $(block "$P0" | sed -n '/^  umem: /{n;n;s/^    errors: //p}') == "release 0, pool overflow 0" ]] ||
    fail "UMEM errors: $(block "$P0" | sed -n '/^  umem: /,+2p')"
b=$(block "$P0")
for q in 0 1; do
    qb=$(sed -n "/^  queue $q: /,/^  queue /p" <<<"$b")
    grep -Eq <<<"$qb" \
        '^    xdp statistics: rx_dropped [0-9]+, rx_invalid_descs [0-9]+, tx_invalid_descs [0-9]+, rx_ring_full [0-9]+, rx_fill_ring_empty_descs [0-9]+, tx_ring_empty_descs [0-9]+$' ||
        fail "queue $q: no XDP_STATISTICS line"
    grep -Eq <<<"$qb" \
        '^    tx drops: no_chunk [0-9]+, ring_full [0-9]+, bad_len [0-9]+, not_held 0; kick errors 0$' ||
        fail "queue $q: no drop reasons, or kick errors"
    grep -Eq <<<"$qb" \
        '^    rings of 2048: rx [0-9]+, completion [0-9]+, fill\+kernel [0-9]+, tx\+kernel [0-9]+$' ||
        fail "queue $q: no ring levels"
    grep -Eq <<<"$qb" \
        '^    packets: rx [0-9]+, tx [0-9]+ \(by address [0-9]+\)$' ||
        fail "queue $q: no packet counts"
done

# The fast path's flows, three ways: the UDP flow, and whatever else
# crossed P0 (a drop flow for stray frames is offloaded too).
fast_path_agrees() {
    local shown installed offloaded
    shown=$(field "$(block "$P0")" "fast path")
    installed=$(fastpath_flows_installed "$P0")
    offloaded=$(dp_flows offloaded | grep -c "in_port($P0)" || true)
    FLOWS="afxdp/show '$shown', BPF flow table $installed, dpctl $offloaded"
    ((installed >= 1 && offloaded == installed)) &&
        [[ $shown =~ ^flows\ $installed\ \(full\ $installed,\ partial\ 0\),\ masks\ [1-9][0-9]*$ ]]
}
wait_until 10 fast_path_agrees || { fast_path_agrees; fail "$FLOWS"; }
fast_path_agrees
FLOWS_SHOWN=$FLOWS

# An afxdp-nonpmd port is polled by the main thread.
vsctl set interface "$P1" type=afxdp-nonpmd
port_wait_ready "$P1"
main_polls() {
    np=$(appctl afxdp/show "$P1")
    [[ $(head -1 <<<"$np") == "$P1 (afxdp-nonpmd):" &&
        $(field "$np" "queue 0") == "main thread" &&
        $(field "$np" "queue 1") == "main thread" ]]
}
wait_until 10 main_polls || fail "afxdp-nonpmd $P1 not polled by main: $np"
FLOWS=$FLOWS_SHOWN
log "afxdp/show agrees with status, bpftool ($prog, link $link)," \
    "pmd-rxq-show, the shared UMEM ($umem_queues queues), the chunk" \
    "balance and the fast path ($FLOWS)"
sys_finish
