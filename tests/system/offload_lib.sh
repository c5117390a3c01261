# shellcheck shell=bash
#
# Helpers of the XDP fast-path system tests (offload_*.sh), sourced after
# lib.sh and fault_lib.sh: ovs-vswitchd with other_config:hw-offload=true,
# a counting XDP sink in a host namespace, and the counters that tell where
# frames went (the sink, the PMD, OpenFlow rules, datapath flows).
#
# Where a frame goes: the sink's native XDP program on a namespace's veth
# end both counts every frame that reaches it and makes the switch end of
# that veth accept XDP redirects (a veth takes them only while its peer has
# an XDP program or GRO), so the fast path can deliver there.

# hw-offload is read once, when ovs-vswitchd starts.
OVS_OTHER_CONFIG="hw-offload=true ${OVS_OTHER_CONFIG:-}"

SINK=$AFXDP_BUILD_DIR/perf/afxdp-sink
[[ -x $SINK ]] || fail "missing $SINK (build the perf targets first)"

SINK_PID=
SINK_OUT=

# sink_start N [SINK ARGS...]: afxdp-sink on namespace N's veth end.
sink_start() {
    local n=$1
    shift
    [[ -z $SINK_PID ]] || fail "sink_start: a sink is running"
    SINK_OUT=$TEST_TMP/sink.$n.out
    ip netns exec "$(topo_ns_name "$n")" "$SINK" --dev "$(topo_ns_if "$n")" \
        --once --json "$@" >"$SINK_OUT" 2>&1 &
    SINK_PID=$!
    on_exit "traffic_kill $SINK_PID"
    # Attached once the switch end accepts redirects (xdp_features).
    sleep 0.5
    pid_alive "$SINK_PID" || {
        cat "$SINK_OUT" >&2
        fail "afxdp-sink exited at once"
    }
}

# sink_stop: stops the sink; sets SINK_PACKETS, SINK_BYTES and, with
# --seq, SINK_LOST.
sink_stop() {
    [[ -n $SINK_PID ]] || fail "sink_stop: no sink"
    kill -TERM "$SINK_PID"
    wait "$SINK_PID" || {
        cat "$SINK_OUT" >&2
        fail "afxdp-sink failed"
    }
    SINK_PID=
    local line
    line=$(grep '"type":"total"' "$SINK_OUT") || {
        cat "$SINK_OUT" >&2
        fail "no totals in the afxdp-sink output"
    }
    SINK_PACKETS=$(sed -n 's/.*"packets":\([0-9]*\).*/\1/p' <<<"$line")
    SINK_BYTES=$(sed -n 's/.*"bytes":\([0-9]*\).*/\1/p' <<<"$line")
    SINK_LOST=$(sed -n 's/.*"lost":\([0-9]*\).*/\1/p' <<<"$line")
}

# send_frames N COUNT RATE [PKTGEN ARGS...]: namespace N sends COUNT
# 64-byte UDP frames at RATE pps, in the foreground, from CPU 0.
send_frames() {
    local n=$1 count=$2 rate=$3 out
    shift 3
    out=$(ip netns exec "$(topo_ns_name "$n")" "$PKTGEN" \
        --dev "$(topo_ns_if "$n")" --count "$count" --rate "$rate" --cpu 0 \
        "$@" 2>&1) || fail "afxdp-pktgen failed: $out"
    PKTGEN_SENT=$(sed -n 's/^sent \([0-9]*\) packets.*/\1/p' <<<"$out")
    [[ $PKTGEN_SENT == "$count" ]] ||
        fail "afxdp-pktgen sent '$PKTGEN_SENT' of $count frames: $out"
}

# pmd_stat NAME: the sum over PMD threads of pmd-stats-show's "NAME: N"
# lines (e.g. "packets received", "phwol hits").
pmd_stat() {
    appctl dpif-netdev/pmd-stats-show |
        awk -v k="$1:" '{ line = $0; sub(/^ */, "", line) }
            index(line, k) == 1 { s += $NF } END { print s + 0 }'
}

# of_packets MATCH: n_packets of the OpenFlow rules of $BR matching MATCH
# (as ovs-ofctl dump-flows takes it), summed.
of_packets() {
    ofctl dump-flows "$BR" "$1" |
        sed -n 's/.*n_packets=\([0-9]*\),.*/\1/p' | awk '{ s += $1 } END { print s + 0 }'
}

# dp_flows [TYPE]: datapath flows, with offload details (dpctl type=TYPE).
dp_flows() {
    appctl dpctl/dump-flows -m ${1:+type=$1}
}

# fastpath_stat IFNAME NAME: custom statistic fastpath_NAME of IFNAME.
fastpath_stat() {
    iface_stat "$1" "fastpath_$2"
}

# fastpath_prog_ids IFNAME: ids of the XDP programs attached to IFNAME.
fastpath_prog_ids() {
    swx bpftool net show dev "$1" | sed -n 's/.* id \([0-9]*\).*/\1/p'
}

# fastpath_map_ids IFNAME: ids of the maps of IFNAME's XDP programs.
fastpath_map_ids() {
    local id
    for id in $(fastpath_prog_ids "$1"); do
        bpftool prog show id "$id" | sed -n 's/.*map_ids \([0-9,]*\).*/\1/p' |
            tr ',' '\n'
    done
}

# fastpath_flow_entries IFNAME: entries in the flow table of IFNAME's
# program (the map named "flows").
fastpath_flow_entries() {
    local id
    for id in $(fastpath_map_ids "$1"); do
        # Not "| grep -q": with pipefail, grep quitting early can fail the
        # pipeline through bpftool's SIGPIPE.
        if [[ $(bpftool map show id "$id") == *" name flows "* ]]; then
            bpftool map dump id "$id" -j | grep -c '"key"' || true
            return
        fi
    done
    echo "none"
}

# quiet_hosts: no IPv6 on the namespaces' veth ends, so that nothing but a
# test's own frames crosses the switch (router and neighbour solicitations,
# MLD reports).
quiet_hosts() {
    local n
    for n in 0 1; do
        nsx "$n" sysctl -qw "net.ipv6.conf.$(topo_ns_if "$n").disable_ipv6=1"
    done
}

# fastpath_flows_installed IFNAME: fully offloaded flows in IFNAME's
# program now, from the flow table itself (the statistics column lags).
fastpath_flows_installed() {
    local n
    n=$(fastpath_flow_entries "$1")
    [[ $n =~ ^[0-9]+$ ]] && echo "$n" || echo 0
}

# port_stat IFNAME rx|tx packets|bytes: the port's interface statistics
# read live (dpctl/show -s calls the provider's get_stats now; the
# Interface table's statistics column copies the same every 5 s).
port_stat() {
    appctl dpctl/show -s | awk -v port=" $1 " -v dir="$(tr a-z A-Z <<<"$2")" \
        -v what="$3" '
        index($0, port) && /port [0-9]+:/ { inport = 1; next }
        /port [0-9]+:/ { inport = 0 }
        inport && what == "packets" && $1 == dir && $2 ~ /^packets:/ {
            sub(/packets:/, "", $2); print $2; exit }
        inport && what == "bytes" && /RX bytes:/ {
            for (i = 1; i <= NF; i++) if ($i == dir) { v = $(i + 1) }
            sub(/bytes:/, "", v); print v; exit }'
}

# percpu_u64 MAP_ID OFFSET: the u64 at OFFSET of every CPU's value of a
# per-CPU array's first entry, summed (bpftool prints raw bytes).
percpu_u64() {
    bpftool map dump id "$1" -j | /usr/bin/python3 -c '
import json, sys
off = int(sys.argv[1])
print(sum(int.from_bytes(bytes(int(b, 16) for b in v["value"][off:off + 8]),
                         "little")
          for v in json.load(sys.stdin)[0]["values"]))' "$2"
}

# prog_map_id NETNS_CMD DEV NAME: the id of map NAME of the XDP program on
# DEV, found through NETNS_CMD (swx, or "nsx N").
prog_map_id() {
    local prog map
    prog=$($1 bpftool net show dev "$2" | sed -n 's/.* id \([0-9]*\).*/\1/p')
    for map in $(bpftool prog show id "${prog:-0}" 2>/dev/null |
        sed -n 's/.*map_ids \([0-9,]*\).*/\1/p' | tr ',' ' '); do
        if [[ $(bpftool map show id "$map") == *" name $3 "* ]]; then
            echo "$map"
            return
        fi
    done
}

# sink_count: frames the running sink has counted so far (the first u64 of
# its per-CPU "counters").
sink_count() {
    local map
    map=$(prog_map_id "nsx 1" "$(topo_ns_if 1)" counters)
    [[ -n $map ]] || fail "sink_count: no sink program on $(topo_ns_if 1)"
    percpu_u64 "$map" 0
}

# fastpath_xdp_counter IFNAME FIELD: one of IFNAME's program's counters
# (struct afxdp_xdp_counters, bpf/flow/flow_layout.h), read live.
fastpath_xdp_counter() {
    local fields=(to_ovs_miss to_ovs_partial to_ovs_parse to_ovs_action
        to_ovs_fallback meta_failed action_failed to_ovs_multi_buffer) i map
    map=$(prog_map_id swx "$1" counters)
    [[ -n $map ]] || fail "fastpath_xdp_counter: no fast path on $1"
    for i in "${!fields[@]}"; do
        if [[ ${fields[i]} == "$2" ]]; then
            percpu_u64 "$map" $((i * 8))
            return
        fi
    done
    fail "fastpath_xdp_counter: no counter $2"
}

# sink_delta SECONDS: sets SINK_DELTA to the frames the sink counts in the
# next SECONDS.
sink_delta() {
    local a
    a=$(sink_count)
    sleep "$1"
    SINK_DELTA=$(($(sink_count) - a))
}
