#!/bin/bash
# perf/callgrind.sh [N]: instructions per packet of XskQueue's rx and tx
# burst code (plus release and refill), counted by callgrind over N packets
# (default 320000) on in-memory rings, per part and per scenario (rx-drop,
# forwarding between our ports, copying).  See perf/xsk_callgrind.cpp.
#
# Deterministic (no kernel, no timing), so it is the number to watch for
# regressions in the provider's own per-packet cost.  Needs valgrind and
# the afxdp-xsk-callgrind target (built by default when valgrind's headers
# are installed).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${AFXDP_BUILD_DIR:-$root/build}
bin=$build/perf/afxdp-xsk-callgrind
n=${1:-320000}

command -v valgrind >/dev/null || { echo "valgrind not installed" >&2; exit 1; }
if [[ ! -x $bin ]]; then
    echo "missing $bin" >&2
    echo "(cmake --build $build --target afxdp-xsk-callgrind)" >&2
    exit 1
fi

dir=$(mktemp -d /tmp/afxdp-callgrind.XXXXXX)
trap 'rm -rf -- "$dir"' EXIT

valgrind --tool=callgrind --collect-atstart=no \
    --callgrind-out-file="$dir/callgrind.out.%p" \
    "$bin" "$n" >"$dir/harness.out" 2>"$dir/valgrind.err" || {
    cat "$dir/valgrind.err" >&2
    exit 1
}

# Each CALLGRIND_DUMP_STATS_AT(part) wrote one file whose header names the
# part ("desc: Trigger: Client Request: <part>") and whose "totals:" line
# holds the instructions (Ir) collected since the previous zeroing.
printf '%-10s %12s %14s %10s\n' part packets instructions "Ir/packet"
declare -A per
for part in rx_burst release release1 refill tx_zc tx_burst; do
    f=$(grep -l "Client Request: $part\$" "$dir"/callgrind.out.* || true)
    [[ -n $f ]] || { echo "no callgrind dump for $part" >&2; exit 1; }
    ir=$(awk '/^(totals|summary):/ {print $2; exit}' "$f")
    pk=$(awk -v p="$part" '$1 == p {print $3}' "$dir/harness.out")
    awk -v part="$part" -v pk="$pk" -v ir="$ir" \
        'BEGIN { printf "%-10s %12d %14d %10.1f\n", part, pk, ir, ir / pk }'
    per[$part]=$(awk -v pk="$pk" -v ir="$ir" 'BEGIN { printf "%.1f", ir / pk }')
done

# What a packet costs in our code per scenario.
sum() { awk 'BEGIN { s = 0; for (i = 1; i < ARGC; i++) s += ARGV[i]; printf "%.1f", s }' "$@"; }
echo
# OVS frees a dropped batch in one call (ovs-patches/0007), a packet sent
# to a tap or freed on its own one by one (release1).
echo "rx-drop    (rx_burst + release + refill): $(sum "${per[rx_burst]}" "${per[release]}" "${per[refill]}")"
echo "forwarding (rx_burst + tx_zc + refill):    $(sum "${per[rx_burst]}" "${per[tx_zc]}" "${per[refill]}")"
echo "copying    (rx_burst + release + refill + tx_burst): $(sum "${per[rx_burst]}" "${per[release]}" "${per[refill]}" "${per[tx_burst]}")"
