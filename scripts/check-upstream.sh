#!/usr/bin/env bash
#
# check-upstream.sh: run Open vSwitch's own AF_XDP system test suite against
# our provider, against upstream's provider, or against both side by side.
#
# Why this exists: OVS 3.1.0 reuses its whole system-traffic suite for
# AF_XDP (tests/system-afxdp-testsuite, what `make check-afxdp` runs) by
# redefining ADD_VETH so that every port is type=afxdp on a veth.  It is the
# most complete behavioural spec of an AF_XDP netdev we have, and the same
# suite run on upstream's provider on the same machine gives the baseline:
# a test that fails for both tells us about the kernel or the tools, a test
# that fails only for us tells us about our provider.
#
# Two OVS trees, one tarball (/usr/src/openvswitch/openvswitch.tar.gz):
#   ours      the tree scripts/build-ovs.sh builds (tarball + ovs-patches/
#             series, our provider linked in).  Its test suite is run
#             exactly as shipped: nothing is filtered or redefined.
#   upstream  build/ovs-upstream-src: the same tarball unpatched, configured
#             with --enable-afxdp (upstream's lib/netdev-afxdp.c), built
#             in place.
#
# Upstream noise filter (upstream only, on by default): every test ends in
# OVS_TRAFFIC_VSWITCHD_STOP, which fails the test on any WARN/ERR log line
# it does not know.  On this machine upstream's provider always logs
#   - ERR  "setrlimit(RLIMIT_MEMLOCK) failed" (no CAP_SYS_RESOURCE; the
#          kernel accounts BPF memory to the cgroup, so it does not matter),
#   - WARN lines relayed from libbpf/libxdp when libxdp's multi-program
#          dispatcher fails to load (EPERM here) before libxdp falls back
#          to attaching the single program, which works,
# and 0 tests pass as shipped.  So for upstream we build a second suite,
# tests/system-afxdp-filtered-testsuite, from a COPY of the top-level
# testsuite .at file that includes one extra macro file after
# system-afxdp-macros.at; that file wraps OVS_TRAFFIC_VSWITCHD_STOP and adds
# sed filters for exactly those lines (see NOISE_FILTERS below).  Nothing
# else changes; the stock suite stays untouched in both trees.
#
# Fast-path variant (--hw-offload, ours only): the same suite with OVS's
# other_config:hw-offload=true, so that every megaflow the tests create is
# offered to our XDP fast path, the way OVS runs its own TC offload suite
# (tests/system-offloads-traffic.at passes the option to
# OVS_TRAFFIC_VSWITCHD_START).  It is built the same way as the filtered
# copy: one extra macro file, tests/check-upstream-offload.at, wraps
# OVS_TRAFFIC_VSWITCHD_START to add the setting to the database it starts
# with; nothing else changes.  --compare-offload runs ours without and with
# it and prints both side by side: the results must be the same.
#
# Isolation: the suite thinks it owns the root network namespace: every
# test creates the taps br0 and ovs-netdev (made persistent by OVS 3.1) and
# the veths ovs-p0, ovs-p1 there, and waits up to 30 s for a leftover
# ovs-netdev to vanish before it starts.  Any other userspace OVS on the
# machine (a colleague's smoke test, a benchmark) holds ovs-netdev too and
# makes tests fail for reasons that have nothing to do with the provider.
# So by default the suite runs inside a private network namespace
# ("check-upstream-<pid>", `ip netns exec`), which plays the root
# namespace; the namespaces the tests create (at_ns0, ...) are ordinary
# named namespaces as usual.  Deleting the private namespace at the end
# destroys anything a test left behind in it.  --no-isolate runs in the
# real root namespace, exactly like `make check-afxdp`.
#
# The suite always runs with -j1: every test uses those fixed names, so
# two tests at once would tear down each other's topology.  --jobs is the
# make parallelism for building OVS.  A lock keeps two runs of this script
# (e.g. --compare and a manual run) from overlapping for the same reason.

set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

ROOT=$AFXDP_ROOT
BUILD=$ROOT/build
OUT_ROOT=$BUILD/check-upstream
TARBALL=/usr/src/openvswitch/openvswitch.tar.gz
UPSTREAM_SRC=$BUILD/ovs-upstream-src
SYSTEM_PYTHON3=/usr/bin/python3

# sed commands added to check_logs for upstream's provider only.  Each
# matches one message (module netdev_afxdp, at its level) that upstream's
# lib/netdev-afxdp.c logs on every port setup here, and nothing else:
#  1. the ERR of netdev_afxdp_reconfigure() when raising RLIMIT_MEMLOCK;
#  2-5. libbpf's WARN lines, relayed by netdev_afxdp's libbpf print hook,
#     while libxdp loads its multi-program dispatcher object
#     (xdp-dispatcher.o) and the kernel refuses with EPERM; libxdp then
#     attaches the single XDP program, which works.
# No "$", "#", "[", "]" or backslash: the text goes through m4 and shell
# double quotes.  No anchors either: check_logs also scans the test's own
# log (NNN/<suite>.log), which holds the check_logs command line itself, so
# each filter must match its own text, as upstream's filters do.
NOISE_FILTERS=(
    '/netdev_afxdp|ERR|setrlimit(RLIMIT_MEMLOCK) failed: Operation not permitted/d'
    '/netdev_afxdp|WARN|libbpf: prog .xdp_pass.: BPF program load failed: Operation not permitted/d'
    '/netdev_afxdp|WARN|libbpf: permission error while running as root; try raising .ulimit -l.? current value: /d'
    '/netdev_afxdp|WARN|libbpf: prog .xdp_pass.: failed to load: -1/d'
    '/netdev_afxdp|WARN|libbpf: failed to load object .*xdp-dispatcher.o/d'
)

usage() {
    cat <<EOF
usage: ${0##*/} [--provider ours|upstream | --compare] [options]

Runs OVS's AF_XDP system test suite (tests/system-afxdp-testsuite).

  --provider ours       our patched OVS tree from scripts/build-ovs.sh (default)
  --provider upstream   the same tarball unpatched, upstream's provider
  --compare             run upstream, then ours; print both side by side
  --hw-offload          ours: with other_config:hw-offload=true (the XDP
                        fast path); results under ours-offload/
  --compare-offload     run ours without, then with hw-offload; print both
  --tests "LIST"        test numbers and ranges, e.g. "1-10 42"
  -k, --keywords KW     autotest keywords (comma = all of; repeatable = any of)
  --jobs N              make -jN for building OVS (default: nproc); the suite
                        itself always runs -j1 (tests share fixed names)
  --filter-upstream-noise     filter upstream's memlock ERR and dispatcher
                        WARN lines (default for upstream; never for ours)
  --no-filter-upstream-noise  run upstream's suite as shipped
  --rebuild             ours: run scripts/build-ovs.sh first (default: use
                        build/ovs as it is; scripts/build.sh if it is missing)
  --recheck             run failed tests once more; one that passes then
                        is reported as "flaky" (its first logs are kept)
  --no-isolate          run in the root network namespace (default: a
                        private one, safe from other OVS instances)
  --report-only         do not run; print results kept by earlier runs
  -h, --help

Results: $OUT_ROOT/<provider>/{results.tsv,summary.txt,suite.out,
testsuite.log,failed/NNN/}
EOF
}

# ---- Options -------------------------------------------------------------

PROVIDER=ours
COMPARE=0
HW_OFFLOAD=0
COMPARE_OFFLOAD=0
TESTS=""
KEYWORDS=()
JOBS=$(nproc)
FILTER=auto
REPORT_ONLY=0
REBUILD=0
RECHECK=0
ISOLATE=1

while [[ $# -gt 0 ]]; do
    case $1 in
    --provider) PROVIDER=${2:?}; shift ;;
    --provider=*) PROVIDER=${1#*=} ;;
    --compare) COMPARE=1 ;;
    --hw-offload) HW_OFFLOAD=1 ;;
    --compare-offload) COMPARE_OFFLOAD=1 ;;
    --tests) TESTS=${2?}; shift ;;
    --tests=*) TESTS=${1#*=} ;;
    -k | --keywords) KEYWORDS+=("${2:?}"); shift ;;
    --keywords=*) KEYWORDS+=("${1#*=}") ;;
    --jobs | -j) JOBS=${2:?}; shift ;;
    --jobs=*) JOBS=${1#*=} ;;
    --filter-upstream-noise) FILTER=yes ;;
    --no-filter-upstream-noise) FILTER=no ;;
    --report-only) REPORT_ONLY=1 ;;
    --rebuild) REBUILD=1 ;;
    --recheck) RECHECK=1 ;;
    --no-isolate) ISOLATE=0 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
    esac
    shift
done

case $PROVIDER in ours | upstream) ;; *) die "bad --provider '$PROVIDER'" ;; esac
[[ $HW_OFFLOAD -eq 0 || $PROVIDER == ours ]] ||
    die "--hw-offload applies to --provider ours only"
((COMPARE + COMPARE_OFFLOAD < 2)) ||
    die "--compare and --compare-offload are two different runs"
[[ $JOBS =~ ^[1-9][0-9]*$ ]] || die "bad --jobs '$JOBS'"
[[ -z $TESTS || $TESTS =~ ^[0-9\ -]+$ ]] || die "bad --tests '$TESTS'"

# ---- Helpers -------------------------------------------------------------

# make_var DIR VAR: value of a variable of the Makefile in DIR.
make_var() {
    # shellcheck disable=SC2016 # $($*) is make's, not the shell's
    make -s --no-print-directory -C "$1" -f Makefile \
        -f <(printf 'print-var-%%:\n\t@echo $($*)\n') "print-var-$2"
}

elapsed() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# The suite's tools (lftp, conntrack, scapy, ...) come with the project's
# own dependencies.
ensure_packages() {
    "$ROOT/scripts/deps.sh" >/dev/null || die "scripts/deps.sh failed"
}

# ---- OVS trees -----------------------------------------------------------

# Sets SRC and BLD (absolute) for upstream, building it if needed.
prepare_upstream_tree() {
    SRC=$UPSTREAM_SRC
    BLD=$UPSTREAM_SRC
    if [[ ! -f $SRC/.check-upstream-extracted ]]; then
        log "extracting $TARBALL (unpatched) into $SRC"
        rm -rf "$SRC"
        mkdir -p "$SRC"
        tar -xzf "$TARBALL" -C "$SRC" --strip-components=1
        touch "$SRC/.check-upstream-extracted"
    fi
    if [[ ! -f $SRC/config.status ]] ||
        ! grep -q -- "--enable-afxdp" "$SRC/config.status"; then
        log "configuring upstream OVS with --enable-afxdp"
        (cd "$SRC" && ./configure --enable-afxdp) >"$OUT/configure.log" 2>&1 ||
            die "configure failed, see $OUT/configure.log"
    fi
    grep -q '^#define HAVE_AF_XDP 1' "$SRC/config.h" ||
        die "upstream configure did not enable AF_XDP (libxdp/libbpf missing?)"
    log "building upstream OVS (make -j$JOBS; ~2 min from scratch)"
    make -C "$SRC" -j"$JOBS" >"$OUT/make.log" 2>&1 ||
        die "upstream build failed, see $OUT/make.log"
}

# Our tree is scripts/build-ovs.sh's: sources in build/ovs-src (tarball +
# series), configured out of tree in build/ovs.  We never run make there to
# build OVS ourselves, because its core libraries come from the CMake build
# (build/ovs/afxdp-core links to it): a missing tree is built by
# scripts/build.sh (core, then build-ovs.sh), an existing one is used as it
# is unless --rebuild asks for build-ovs.sh first (a colleague may be
# building it at the same moment).
OURS_BLD=${OVS_BUILD_DIR:-$BUILD/ovs}

prepare_ours_tree() {
    local script=""
    if [[ ! -x $OURS_BLD/vswitchd/ovs-vswitchd ]]; then
        script=$ROOT/scripts/build.sh
    elif [[ $REBUILD -eq 1 ]]; then
        script=$ROOT/scripts/build-ovs.sh
    fi
    if [[ -n $script ]]; then
        log "running ${script#"$ROOT"/} (log: $OUT/build.log)"
        JOBS=$JOBS "$script" >"$OUT/build.log" 2>&1 ||
            die "${script##*/} failed, see $OUT/build.log"
    fi
    BLD=$(cd "$OURS_BLD" && pwd)
    [[ -f $BLD/config.status && -x $BLD/vswitchd/ovs-vswitchd ]] ||
        die "no built OVS tree of ours in $BLD; run scripts/build.sh"
    SRC=$(cd "$BLD" && cd "$(make_var "$BLD" srcdir)" && pwd)
    grep -q '^#define HAVE_AF_XDP 1' "$BLD/config.h" ||
        die "$BLD was configured without AF_XDP"
    # Ours replaces lib/netdev-afxdp.c: afxdp_port_* is our C ABI
    # (netdev-afxdp/afxdp.h), xsk_configure_all is upstream's.
    # (nm's output is taken whole: grep -q closing the pipe early would
    # make nm die of SIGPIPE, a failure under pipefail.)
    local syms
    syms=$(nm "$BLD/vswitchd/ovs-vswitchd")
    grep -q ' T afxdp_port_[a-z_]*$' <<<"$syms" ||
        die "$BLD/vswitchd/ovs-vswitchd does not contain our provider"
    if grep -Eq ' [Tt] xsk_configure_all$' <<<"$syms"; then
        die "$BLD/vswitchd/ovs-vswitchd contains upstream's provider"
    fi
}

# ---- Test suite ----------------------------------------------------------

# Builds the stock suite and tests/atlocal in BLD; sets SUITE.
build_stock_suite() {
    local srcdir
    srcdir=$(make_var "$BLD" srcdir)
    make -C "$BLD" "$srcdir/tests/system-afxdp-testsuite" tests/atconfig \
        tests/atlocal >>"$OUT/make.log" 2>&1 ||
        die "cannot build the test suite, see $OUT/make.log"
    # configure may have found a python3 (pyenv) without scapy/pyftpdlib;
    # the suite's helpers need the system one, where apt installed them.
    sed -i "s|^PYTHON3=.*|PYTHON3='$SYSTEM_PYTHON3'|" "$BLD/tests/atlocal"
    SUITE=$SRC/tests/system-afxdp-testsuite
}

# build_variant_suite NAME < INCLUDE: a copy of the suite that includes
# the macro file tests/check-upstream-NAME.at (read from stdin) after
# system-afxdp-macros.at; sets SUITE to it.
build_variant_suite() {
    local name=$1
    local at=$SRC/tests/system-afxdp-$name-testsuite.at
    local inc=$SRC/tests/check-upstream-$name.at
    cat >"$inc.tmp"
    sed "s|^m4_include(\[tests/system-afxdp-macros.at\])\$|&\nm4_include([tests/check-upstream-$name.at])|" \
        "$SRC/tests/system-afxdp-testsuite.at" >"$at.tmp"
    grep -q "check-upstream-$name" "$at.tmp" ||
        die "cannot find the macros include in system-afxdp-testsuite.at"
    SUITE=$SRC/tests/system-afxdp-$name-testsuite
    if [[ -x $SUITE ]] && cmp -s "$inc.tmp" "$inc" && cmp -s "$at.tmp" "$at" &&
        [[ $SUITE -nt $SRC/tests/system-afxdp-testsuite ]]; then
        rm -f "$inc.tmp" "$at.tmp"
        return 0
    fi
    mv "$inc.tmp" "$inc"
    mv "$at.tmp" "$at"
    log "generating the $name copy of the suite"
    (cd "$SRC" && autom4te --language=autotest -I . -o "$SUITE.tmp" \
        "tests/system-afxdp-$name-testsuite.at") >>"$OUT/make.log" 2>&1 ||
        die "autom4te failed, see $OUT/make.log"
    mv "$SUITE.tmp" "$SUITE"
    chmod +x "$SUITE"
}

# The copy of the suite with the upstream noise filter (upstream only).
build_filtered_suite() {
    local f sed_text=""
    for f in "${NOISE_FILTERS[@]}"; do
        sed_text+="${f}"$'\n'
    done
    {
        echo '# Generated by scripts/check-upstream.sh for upstream runs only.'
        echo '# Adds sed filters for messages the upstream AF_XDP provider'
        echo '# always logs on this machine to every OVS_TRAFFIC_VSWITCHD_STOP.'
        echo 'm4_copy([OVS_TRAFFIC_VSWITCHD_STOP], [CHECK_UPSTREAM_ORIG_STOP])'
        echo 'm4_define([OVS_TRAFFIC_VSWITCHD_STOP],'
        # shellcheck disable=SC2016 # $1, $2 are m4 macro arguments
        printf '  [CHECK_UPSTREAM_ORIG_STOP([$1";%s"], [$2])])\n' \
            "${sed_text%$'\n'}"
    } | build_variant_suite filtered
}

# The copy of the suite with hw-offload=true (ours, --hw-offload).
build_offload_suite() {
    # shellcheck disable=SC2016 # $1..$3 are m4 macro arguments
    build_variant_suite offload <<'EOF'
# Generated by scripts/check-upstream.sh for --hw-offload runs.  Every test
# starts ovs-vswitchd with other_config:hw-offload=true, as OVS's own
# system-offloads suite does, so that dpif-netdev offers each megaflow to
# the afxdp ports' XDP fast path.
m4_copy([OVS_TRAFFIC_VSWITCHD_START], [CHECK_UPSTREAM_ORIG_START])
m4_define([OVS_TRAFFIC_VSWITCHD_START],
  [CHECK_UPSTREAM_ORIG_START([$1], [$2],
     [-- set Open_vSwitch . other_config:hw-offload=true $3])])
EOF
}

# Warns when our patch series touches the suite (then numbers and results
# are not comparable with upstream's one to one).
check_suite_pristine() {
    local tmp changed
    tmp=$(mktemp -d)
    tar -xzf "$TARBALL" -C "$tmp" --strip-components=1 --wildcards \
        'openvswitch/tests/*.at'
    changed=$(cd "$tmp/tests" && for f in *.at; do
        cmp -s "$f" "$SRC/tests/$f" || echo "$f"
    done)
    rm -rf "$tmp"
    if [[ -n $changed ]]; then
        log "WARNING: the suite in $SRC differs from the tarball's:" \
            "${changed//$'\n'/ }"
    else
        log "suite .at files identical to the tarball's (unmodified)"
    fi
}

# The userspace datapath of any ovs-vswitchd creates the tap "ovs-netdev"
# in the root namespace, and the suite's br0 is another tap there: while
# some other OVS (a smoke test, a demo) holds them, every test would fail
# in OVS_TRAFFIC_VSWITCHD_START.  Wait for them to go (up to 15 minutes).
wait_for_free_names() {
    local deadline=$((SECONDS + 900)) said=0 netns=()
    [[ -n $NETNS ]] && netns=(-n "$NETNS")
    while ip "${netns[@]}" link show ovs-netdev >/dev/null 2>&1 ||
        ip "${netns[@]}" link show br0 >/dev/null 2>&1; do
        ((SECONDS < deadline)) ||
            die "ovs-netdev/br0 still exist in the root namespace;" \
                "another OVS userspace datapath is running"
        if ((!said)); then
            log "waiting: another OVS userspace datapath holds ovs-netdev/br0"
            said=1
        fi
        sleep 5
    done
}

snapshot_netns() { ip netns list 2>/dev/null | awk '{print $1}' | sort; }
snapshot_links() {
    local netns=()
    [[ -n $NETNS ]] && netns=(-n "$NETNS")
    ip "${netns[@]}" -o link show |
        awk -F': ' '{sub(/@.*/, "", $2); print $2}' | sort
}

# Processes started by the suite run in a test directory: that is how we
# find leftovers without matching names (pidfiles of passing tests are
# gone with their directories).
suite_processes() {
    local p cwd
    for p in /proc/[0-9]*; do
        cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
        [[ $cwd == "$SUITE_DIR"/* ]] && echo "${p#/proc/}"
    done
    return 0
}

# Kills processes the suite left running, deletes namespaces it left
# (at_ns*: the only names it creates) and reports new links in the
# namespace that played root.  Namespaces of other users come and go
# during a long run; they are none of our business.
check_leftovers() {
    local new pid n clean=1
    for pid in $(suite_processes); do
        log "WARNING: leftover process $pid ($(tr '\0' ' ' \
            <"/proc/$pid/cmdline" 2>/dev/null)); killing it"
        kill "$pid" 2>/dev/null || true
        clean=0
    done
    new=$(comm -13 <(echo "$NS_BEFORE") <(snapshot_netns) | grep '^at_ns' ||
        true)
    for n in $new; do
        log "WARNING: leftover namespace $n; deleting it"
        ip netns del "$n" || true
        clean=0
    done
    new=$(comm -13 <(echo "$LINKS_BEFORE") <(snapshot_links))
    if [[ -n $new ]]; then
        log "WARNING: links left in ${NETNS:-the root namespace}:" \
            "${new//$'\n'/ }"
        clean=0
    fi
    ((clean)) && log "no leftover processes, at_ns* namespaces or links" \
        "(${NETNS:-root namespace}: $(snapshot_links | tr '\n' ' '))"
    return 0
}

# parse_results < suite stdout > results.tsv: NUM TAB NAME TAB RESULT TAB WHERE
parse_results() {
    sed -E 's/\x1b\[[0-9;]*m//g' | awk '
    /^ *[0-9]+: / {
        line = $0
        sub(/^ */, "", line)
        num = line; sub(/:.*/, "", num)
        sub(/^[0-9]+: /, "", line)
        res = ""; where = ""
        if (match(line, / (FAILED|skipped|expected failure) \([^)]*\)$/)) {
            st = substr(line, RSTART + 1)
            line = substr(line, 1, RSTART - 1)
            where = st; sub(/^[^(]*\(/, "", where); sub(/\)$/, "", where)
            if (st ~ /^FAILED/) res = "fail"
            else if (st ~ /^skipped/) res = "skip"
            else res = "xfail"
        } else if (match(line, / ok$/)) {
            res = "pass"; line = substr(line, 1, RSTART - 1)
        } else if (match(line, / UNEXPECTED PASS$/)) {
            res = "xpass"; line = substr(line, 1, RSTART - 1)
        } else next
        sub(/ +$/, "", line)
        printf "%s\t%s\t%s\t%s\n", num, line, res, where
    }'
}

print_results() {
    local tsv=$1 label=$2
    awk -F'\t' -v label="$label" '
    { n[$3]++; printf "%4d  %-6s %s%s\n", $1, $3, $2,
        ($4 != "" ? "  (" $4 ")" : "") }
    END {
        printf "SUMMARY %s: %d tests: %d passed, %d failed, %d skipped", \
            label, NR, n["pass"], n["fail"], n["skip"]
        if (n["flaky"]) printf ", %d flaky", n["flaky"]
        if (n["xfail"] + n["xpass"])
            printf ", %d expected failures, %d unexpected passes", \
                n["xfail"], n["xpass"]
        printf "\n"
    }' "$tsv"
}

# mark_interference TSV DIR SUITENAME: a test whose start timed out
# waiting for the tap "ovs-netdev" to go away failed because some other
# OVS userspace datapath on the machine held it, not because of the
# provider; say so in the result's WHERE column.
mark_interference() {
    local tsv=$1 dir=$2 name=$3 num res held=""
    while IFS=$'\t' read -r num _ res _; do
        [[ $res == fail && -f $dir/$num/$name.log ]] || continue
        if grep -A1 'waiting while ip link show ovs-netdev' \
            "$dir/$num/$name.log" | grep -c 'wait failed after' >/dev/null
        then
            held+=" $num"
        fi
    done <"$tsv"
    [[ -n $held ]] || return 0
    log "WARNING: ovs-netdev was held by another OVS during tests:$held"
    awk -F'\t' -v OFS='\t' -v held="$held " '
        index(held, " " $1 " ") && $3 == "fail" {
            $4 = $4 ", ovs-netdev held by another OVS" }
        { print }' "$tsv" >"$tsv.tmp"
    mv "$tsv.tmp" "$tsv"
}

# run_suite OUTFILE ARGS...: one run of the suite, -j1, output also on
# stdout.  Its exit status is ignored: results come from OUTFILE.
run_suite() {
    local out=$1
    shift
    local netns_exec=()
    [[ -n $NETNS ]] && netns_exec=(ip netns exec "$NETNS")
    (cd "$BLD" && "${netns_exec[@]}" "$SHELL" "$SUITE" -C tests \
        AUTOTEST_PATH="$(make_var "$BLD" AUTOTEST_PATH)" -j1 "$@") \
        </dev/null 2>&1 | tee "$out" || true
}

# The private namespace the suite runs in (see the design note).
NETNS=""
create_netns() {
    [[ $ISOLATE -eq 1 ]] || return 0
    NETNS=check-upstream-$$
    ip netns add "$NETNS" || die "cannot create namespace $NETNS"
    on_exit delete_netns
    ip -n "$NETNS" link set lo up
    log "suite runs in the private network namespace $NETNS"
}

delete_netns() {
    # Interrupted mid-suite: stop what the suite started, then the rest.
    [[ -n ${SUITE_DIR:-} && -n ${NS_BEFORE:-} ]] && check_leftovers
    [[ -n $NETNS ]] || return 0
    ip netns del "$NETNS" 2>/dev/null || true
    NETNS=""
}

# run_provider PROVIDER [offload]: one run of the suite; results under
# $OUT_ROOT/PROVIDER (ours-offload for ours with hw-offload).
run_provider() {
    local provider=$1 offload=${2:-} t0 t_build t_suite sel=() kw f num res
    local suite_log label=$1
    [[ -n $offload ]] && label=$provider-offload
    OUT=$OUT_ROOT/$label
    mkdir -p "$OUT"
    t0=$SECONDS
    if [[ $provider == upstream ]]; then
        prepare_upstream_tree
    else
        prepare_ours_tree
    fi
    build_stock_suite
    local use_filter=no
    if [[ $provider == upstream && $FILTER != no ]]; then
        use_filter=yes
        build_filtered_suite
    elif [[ $provider == ours && $FILTER == yes ]]; then
        die "--filter-upstream-noise applies to --provider upstream only"
    fi
    [[ -n $offload ]] && build_offload_suite
    [[ $provider == ours ]] && check_suite_pristine
    t_build=$((SECONDS - t0))

    [[ -x $BLD/vswitchd/ovs-vswitchd ]] || die "no $BLD/vswitchd/ovs-vswitchd"
    SUITE_DIR=$BLD/tests/$(basename "$SUITE").dir
    suite_log=$BLD/tests/$(basename "$SUITE").log

    [[ -n $TESTS ]] && read -r -a sel <<<"$TESTS"
    for kw in "${KEYWORDS[@]}"; do sel+=(-k "$kw"); done

    log "provider: $provider${offload:+, with other_config:hw-offload=true}"
    log "OVS build tree: $BLD"
    log "suite: $SUITE"
    if [[ $use_filter == yes ]]; then
        log "filters applied (upstream noise, added to every" \
            "OVS_TRAFFIC_VSWITCHD_STOP):"
        for f in "${NOISE_FILTERS[@]}"; do log "    $f"; done
    else
        log "filters applied: none (suite as shipped)"
    fi
    log "selection: ${sel[*]:-all tests}; build took $(elapsed "$t_build")"

    wait_for_free_names
    NS_BEFORE=$(snapshot_netns)
    LINKS_BEFORE=$(snapshot_links)
    rm -rf "$OUT/failed"
    mkdir -p "$OUT/failed"

    t0=$SECONDS
    run_suite "$OUT/suite.out" "${sel[@]}"
    check_leftovers

    # Which ovs-vswitchd the suite ran (never /usr/sbin's).
    grep -m1 -o '[^ ]*/ovs-vswitchd --version' "$suite_log" |
        sed 's/^/ran: /' >&2 || true

    parse_results <"$OUT/suite.out" >"$OUT/results.tsv"
    cp "$suite_log" "$OUT/testsuite.log" 2>/dev/null || true
    local failed=() total d
    # The width of the suite's test count (all tests, not the selection).
    total=$("$SHELL" "$SUITE" -l | grep -cE '^ *[0-9]+: ')
    while IFS=$'\t' read -r num _ res _; do
        [[ $res == fail ]] || continue
        failed+=("$num")
        # Test directories are zero-padded: 001, 042, 152.
        d=$(printf '%s/%0*d' "$SUITE_DIR" "${#total}" "$num")
        if [[ -d $d ]]; then
            cp -a "$d" "$OUT/failed/$num" 2>/dev/null || true
        fi
    done <"$OUT/results.tsv"
    mark_interference "$OUT/results.tsv" "$OUT/failed" "$(basename "$SUITE")"

    # --recheck: what RECHECK=yes does for `make check-afxdp`, but the
    # first failure is kept: a test that passes only the second time is
    # reported as "flaky", not as passed.
    if [[ $RECHECK -eq 1 && ${#failed[@]} -gt 0 ]]; then
        log "rechecking ${#failed[@]} failed tests: ${failed[*]}"
        wait_for_free_names
        run_suite "$OUT/suite-recheck.out" "${failed[@]}"
        check_leftovers
        parse_results <"$OUT/suite-recheck.out" >"$OUT/recheck.tsv"
        awk -F'\t' -v OFS='\t' '
            FNR == NR { if ($3 == "pass") ok[$1] = 1; next }
            $3 == "fail" && ($1 in ok) { $3 = "flaky"; $4 = $4 ", passed on recheck" }
            { print }' "$OUT/recheck.tsv" "$OUT/results.tsv" \
            >"$OUT/results.tsv.tmp"
        mv "$OUT/results.tsv.tmp" "$OUT/results.tsv"
    fi
    t_suite=$((SECONDS - t0))

    {
        echo "provider=$label filter=$use_filter date=$(date -u +%FT%TZ)"
        echo "kernel=$(uname -r) tree=$BLD suite=$SUITE"
        echo "selection=${sel[*]:-all}"
        echo "build_time=$(elapsed "$t_build") suite_time=$(elapsed "$t_suite")"
        print_results "$OUT/results.tsv" "$label" | tail -n1
    } >"$OUT/summary.txt"

    echo
    echo "==== results: $label ===="
    print_results "$OUT/results.tsv" "$label"
    echo "suite took $(elapsed "$t_suite"); logs of failures: $OUT/failed/"
    [[ -s $OUT/results.tsv ]] || die "no results parsed, see $OUT/suite.out"
}

# compare_results [A B]: side-by-side table of runs A and B (default
# upstream and ours), joined by test name (numbers are equal when the
# suite is unmodified, which check_suite_pristine reports).
compare_results() {
    local a=${1:-upstream} b=${2:-ours}
    local up=$OUT_ROOT/$a/results.tsv ours=$OUT_ROOT/$b/results.tsv
    [[ -s $up && -s $ours ]] || die "need results of both $a and $b"
    awk -F'\t' -v A="$a" -v B="$b" '
    FNR == 1 { file++ }
    file == 1 { un[$2] = $1; ur[$2] = $3; order[++n] = $2; next }
    { on[$2] = $1; or_[$2] = $3; if (!($2 in ur)) order[++n] = $2 }
    END {
        printf "%4s  %-58s %-8s %-8s\n", "num", "test", A, B
        for (i = 1; i <= n; i++) {
            t = order[i]
            num = (t in un) ? un[t] : on[t]
            u = (t in ur) ? ur[t] : "-"; o = (t in or_) ? or_[t] : "-"
            mark = (u != o && u != "-" && o != "-") ? "  <==" : ""
            printf "%4s  %-58.58s %-8s %-8s%s\n", num, t, u, o, mark
            if (u == "-" || o == "-") continue
            if (u != o) {
                diff[u "->" o] = diff[u "->" o] " " num; nd++
                lines = lines sprintf("  %4s  %-10s %s\n", num, u "->" o, t)
            }
            same++
        }
        printf "\nDIFFERENCES (%s -> %s) among %d tests run by both: %d\n", \
            A, B, same, nd
        for (k in diff) printf "  %-12s%s\n", k ":", diff[k]
        printf "%s", lines
    }' "$up" "$ours"
    echo
    tail -n1 "$OUT_ROOT/$a/summary.txt"
    tail -n1 "$OUT_ROOT/$b/summary.txt"
}

# ---- Main ----------------------------------------------------------------

if [[ $REPORT_ONLY -eq 1 ]]; then
    if [[ $COMPARE_OFFLOAD -eq 1 ]]; then
        compare_results ours ours-offload
    elif [[ $COMPARE -eq 1 ]]; then
        compare_results
    else
        label=$PROVIDER
        [[ $HW_OFFLOAD -eq 1 ]] && label=$PROVIDER-offload
        print_results "$OUT_ROOT/$label/results.tsv" "$label"
    fi
    exit 0
fi

require_root
require_cmd make tar autom4te ip ethtool flock
mkdir -p "$OUT_ROOT"
exec 9>"$OUT_ROOT/.lock"
flock -n 9 || die "another check-upstream.sh run holds $OUT_ROOT/.lock"
ensure_packages
[[ -f $TARBALL ]] || die "missing $TARBALL (package openvswitch-source)"
install_cleanup_trap
create_netns

if [[ $COMPARE -eq 1 ]]; then
    run_provider upstream
    run_provider ours
    echo
    echo "==== comparison ===="
    compare_results
elif [[ $COMPARE_OFFLOAD -eq 1 ]]; then
    run_provider ours
    run_provider ours offload
    echo
    echo "==== comparison: without and with hw-offload ===="
    compare_results ours ours-offload
else
    run_provider "$PROVIDER" "$( ((HW_OFFLOAD)) && echo offload)"
fi
