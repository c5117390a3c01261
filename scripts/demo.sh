#!/usr/bin/env bash
# The demo: two namespaces joined through OVS (userspace datapath) by two
# afxdp ports.  Pings across, pushes traffic for a few seconds, prints the
# forwarded rate, the ports' status and the PMD statistics, then tears
# everything down (also on failure or Ctrl-C).
#
#   sudo ./scripts/demo.sh [--seconds N] [--compare-upstream] [--no-build]
#
# --compare-upstream runs the same topology and traffic a second time with
# Debian's packaged OVS (its own type=afxdp provider) and prints both rates.
# Its log has memlock/dispatcher errors on systems where RLIMIT_MEMLOCK
# cannot be raised; that concerns the baseline only.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
# shellcheck source=lib/topo.sh
source "$AFXDP_ROOT/scripts/lib/topo.sh"
# shellcheck source=lib/ovs.sh
source "$AFXDP_ROOT/scripts/lib/ovs.sh"

SECONDS_TRAFFIC=5
COMPARE=0
BUILD=1
while (($#)); do
    case $1 in
    --seconds) SECONDS_TRAFFIC=$2; shift ;;
    --compare-upstream) COMPARE=1 ;;
    --no-build) BUILD=0 ;;
    -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done

require_root
cd "$AFXDP_ROOT"
if ((BUILD)); then
    ./scripts/deps.sh
    ./scripts/build.sh
fi
require_cmd ip ethtool ping python3
install_cleanup_trap
OVS_NETNS=$(topo_sw_ns)

BR=ax${AFXDP_TAG}br
P0=$(topo_host_if 0)
P1=$(topo_host_if 1)
PKTGEN=$AFXDP_BUILD_DIR/perf/afxdp-pktgen
SINK=$AFXDP_BUILD_DIR/perf/afxdp-sink

# port_pkts PORT rx|tx: the live packet counter of PORT (not the 5-second
# snapshot in the database).
port_pkts() {
    ofctl dump-ports "$BR" "$1" | sed -nE "s/.*$2 pkts=([0-9]+).*/\1/p"
}

now() { date +%s.%N; }

# start_traffic SECONDS: starts a generator in ns0 sending 64-byte UDP
# frames to ns1 for SECONDS; sets GEN to its PID.  The perf/ tools are used
# when built: afxdp-pktgen (XDP frames built by the kernel, far faster than
# OVS can forward; its engine is chosen for this kernel, see
# perf/README.md) and afxdp-sink, which drops the frames in ns1 with XDP
# so the namespace's stack does not compete for the CPU.  If the perf tools
# are missing or afxdp-pktgen fails to start, a Python AF_PACKET sender
# stands in (slower: the rate it reaches is the generator's, not OVS's).
start_traffic() {
    local secs=$1 dst_mac
    dst_mac=$(nsx 1 cat "/sys/class/net/$(topo_ns_if 1)/address")
    if [[ -x $PKTGEN && -x $SINK ]]; then
        nsx 1 "$SINK" --dev "$(topo_ns_if 1)" --duration "$((secs + 1))" \
            --once >"$WORK/sink" 2>&1 &
        on_exit "kill $!"
        sleep 0.5
        GEN_NAME=afxdp-pktgen
        nsx 0 "$PKTGEN" --dev "$(topo_ns_if 0)" --dst-mac "$dst_mac" \
            --src-ip "$(topo_ip4 0)" --dst-ip "$(topo_ip4 1)" --flows 16 \
            --size 64 --cpu 0 --duration "$secs" >"$WORK/sent" 2>&1 &
        GEN=$!
        on_exit "kill $GEN"
        sleep 0.5
        pid_alive "$GEN" && return 0
        if wait "$GEN"; then return 0; fi
        echo "afxdp-pktgen failed ($(tail -n 1 "$WORK/sent")):" \
            "falling back to scripts/lib/udp-blast.py"
    fi
    GEN_NAME=udp-blast.py
    nsx 0 python3 "$AFXDP_ROOT/scripts/lib/udp-blast.py" \
        --dev "$(topo_ns_if 0)" --dst-mac "$dst_mac" \
        --src-ip "$(topo_ip4 0)" --dst-ip "$(topo_ip4 1)" \
        --seconds "$secs" >"$WORK/sent" 2>&1 &
    GEN=$!
    on_exit "kill $GEN"
}

# traffic: runs a generator for SECONDS_TRAFFIC + 2 s and sets RATE to the
# packets/s leaving the egress port P1 over the middle SECONDS_TRAFFIC.
traffic() {
    local t0 t1 tx0 tx1 rx0 rx1
    start_traffic "$((SECONDS_TRAFFIC + 2))"
    sleep 1
    t0=$(now); tx0=$(port_pkts "$P1" tx); rx0=$(port_pkts "$P0" rx)
    sleep "$SECONDS_TRAFFIC"
    t1=$(now); tx1=$(port_pkts "$P1" tx); rx1=$(port_pkts "$P0" rx)
    # The rates come from OVS's port counters: a generator that failed
    # midway only lowers them, and says so.
    wait "$GEN" || echo "warning: $GEN_NAME failed: $(tail -n 1 "$WORK/sent")"
    rate() {
        awk -v d="$1" -v t0="$t0" -v t1="$t1" \
            'BEGIN { printf "%.0f", d / (t1 - t0) }'
    }
    RATE=$(rate $((tx1 - tx0)))
    echo "generator $GEN_NAME: $(tr '\n' ' ' <"$WORK/sent")"
    echo "ingress $P0 rx: $(rate $((rx1 - rx0))) pkts/s," \
        "egress $P1 tx: $RATE pkts/s"
}

# run_ovs NAME: one complete pass with the OVS selected by ovs_use_*.
run_ovs() {
    local name=$1 p
    echo
    echo "==== $name: $OVS_SBINDIR/ovs-vswitchd ===="
    ovs_start
    ovs_add_bridge "$BR"
    ovs_add_afxdp_port "$BR" "$P0"
    ovs_add_afxdp_port "$BR" "$P1"
    # Port to port: the forwarding path, without MAC learning.
    ofctl del-flows "$BR"
    ofctl add-flow "$BR" "in_port=$P0,actions=output:$P1"
    ofctl add-flow "$BR" "in_port=$P1,actions=output:$P0"
    wait_until 15 nsx 0 ping -c 1 -W 1 "$(topo_ip4 1)" ||
        die "$name: no ping across the bridge"
    nsx 0 ping -c 3 -i 0.2 "$(topo_ip4 1)"
    nsx 1 ping -c 3 -i 0.2 "$(topo_ip6 0)"
    traffic
    RESULT[$name]=$RATE
    for p in "$P0" "$P1"; do
        echo "$p status: $(vsctl get interface "$p" status)"
    done
    appctl dpif-netdev/pmd-stats-show
    ovs_del_bridge "$BR"
    ovs_stop
}

WORK=$(mktemp -d "/tmp/afxdp-demo-$AFXDP_TAG.XXXXXX")
on_exit "rm -rf -- $WORK"
topo_add_host 0
topo_add_host 1

declare -A RESULT
ovs_use_build
run_ovs ovs-afxdp
if ((COMPARE)); then
    ovs_use_upstream
    run_ovs upstream
fi

echo
echo "==== forwarded rate ($SECONDS_TRAFFIC s, 64-byte UDP frames, $P0 -> $P1) ===="
printf '%-12s %12s pkts/s\n' ovs-afxdp "${RESULT[ovs-afxdp]}"
if ((COMPARE)); then
    printf '%-12s %12s pkts/s\n' upstream "${RESULT[upstream]}"
fi
