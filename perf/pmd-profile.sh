#!/usr/bin/env bash
# perf/pmd-profile.sh CONTENDER SCENARIO FLOWS [SIZE]: where the forwarding
# PMD thread spends its time: in the kernel, in the AF_XDP provider, or in
# the rest of OVS.
#
#   sudo perf/pmd-profile.sh ours p2p 1000
#
# Runs one long perf/bench point (40 s measured) and, in its middle,
# samples CPU 1 (where perf/bench pins the PMD) for 10 s with a software
# clock (perf record -e cpu-clock: no hardware counters needed), then
# splits the PMD thread's samples: kernel symbols; the provider (our
# afxdp::* and afxdp_* functions and the glue's netdev_afxdp_*, or
# upstream's netdev-afxdp.c functions, when the binary has symbols; a
# stripped binary's user samples all count as OVS); everything else in
# user space.  Prints the split and the top symbols.  Starts ovs-vswitchd
# and traffic: run it under the machine's benchmark lock.
set -euo pipefail
cd "$(dirname "$0")/.."
c=${1:?contender}
sc=${2:?scenario}
fl=${3:?flows}
size=${4:-64}
out=build/perf-results/profile-$c-$sc-$fl-$size
mkdir -p "$out"
command -v perf >/dev/null || { echo "perf not installed (linux-perf)" >&2; exit 1; }

perf/bench --contenders "$c" --scenarios "$sc" --sizes "$size" \
    --flows "$fl" --modes native --reps 1 --duration 40 --warmup 1 \
    --out "$out" >"$out/bench.log" 2>&1 &
bench=$!
trap 'kill $bench 2>/dev/null || true' EXIT
# The contender starts ("round 1/1"); give it time to set up and warm up.
for _ in $(seq 120); do
    grep -q "round 1/1" "$out/bench.log" 2>/dev/null && break
    sleep 1
done
sleep 15
perf record -e cpu-clock -F 4000 -C 1 -g -o "$out/perf.data" -- sleep 10 \
    >/dev/null 2>&1
wait "$bench"
trap - EXIT

grep -E "^\| $sc " "$out/results.md" | tail -1 |
    awk -F'|' '{ printf "%s: %s Mpps, %s cycles/pkt\n", $6, $7, $13 }'
# (awk reads to the end: an early exit would make perf report fail on
# SIGPIPE, and the pipeline with it.)
comm=$(perf report -i "$out/perf.data" --no-children --sort comm 2>/dev/null |
    awk '/^ +[0-9.]+%/ && $2 ~ /^pmd/ && !c { c = $2 } END { print c }')
perf report -i "$out/perf.data" --no-children --comms "$comm" \
    --sort dso,sym -g none 2>/dev/null >"$out/symbols.txt"
awk '/^ +[0-9.]+%/ {
        p = $1; sub("%", "", p); sym = ""
        for (i = 4; i <= NF; i++) sym = sym " " $i
        if ($3 == "[k]") k += p
        else if (sym ~ /afxdp|xsk_|umem|xpacket|Xsk|Umem|Chunk|ThreadCaches/) a += p
        else o += p
        t += p }
    END { printf "PMD time: kernel %.0f%%, provider %.0f%%, OVS %.0f%%\n",
          100 * k / t, 100 * a / t, 100 * o / t }' "$out/symbols.txt"
grep -E "^ +[0-9]" "$out/symbols.txt" | sed -n 1,15p
