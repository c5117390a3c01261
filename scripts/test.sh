#!/usr/bin/env bash
# Runs everything CI runs: installs dependencies, builds, then every test
# tier (unit, bpf, system), the lint and sanitizer checks and the benchmark
# smoke test.  Needs root: the bpf and system tiers load XDP programs and
# build network namespaces, and they never skip.
# Exit status is non-zero when anything failed.  The last line is
# "N passed, M failed" (tests; a failed deps/build step counts as failed).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/common.sh
source scripts/lib/common.sh

BUILD_DIR=$AFXDP_BUILD_DIR
TIERS=(unit bpf system)
passed=0
failed=0
failures=()

summary() {
    local status=$?
    trap - EXIT
    if ((${#failures[@]})); then
        echo "FAILED: ${failures[*]}"
        ((status != 0)) || status=1
    fi
    echo "$passed passed, $failed failed"
    exit "$status"
}
trap summary EXIT

if [[ $(id -u) -ne 0 ]]; then
    echo "test.sh must run as root (sudo ./scripts/test.sh): the bpf and" \
        "system tiers load XDP programs and create namespaces" >&2
    failures+=("not-root")
    failed=$((failed + 1))
    exit 1
fi

step() {
    local name=$1
    shift
    log "== $name"
    if ! "$@"; then
        failures+=("$name")
        failed=$((failed + 1))
        exit 1
    fi
}
# Installs what is missing, then names any tool a tier would call that is
# still not there, before the first tier starts.
step deps ./scripts/deps.sh
step build ./scripts/build.sh

# run_tier LABEL: one ctest run; adds its counts to the totals.  A tier
# with no tests is a failure: it means tests were lost, not that all passed.
run_tier() {
    local label=$1 out rc=0 total nfail
    log "== tier $label"
    out=$(mktemp)
    ctest --test-dir "$BUILD_DIR" -L "^${label}\$" --output-on-failure \
        --no-tests=error 2>&1 | tee "$out" || rc=$?
    # "100% tests passed, 0 tests failed out of 7"
    if read -r nfail total < <(sed -nE \
        's/^[0-9]+% tests passed, ([0-9]+) tests? failed out of ([0-9]+).*/\1 \2/p' \
        "$out"); then
        passed=$((passed + total - nfail))
        failed=$((failed + nfail))
        ((nfail == 0 && rc == 0)) || failures+=("$label")
    else
        failures+=("$label(no tests)")
        failed=$((failed + 1))
    fi
    rm -f "$out"
}

for tier in "${TIERS[@]}"; do
    run_tier "$tier"
done

# run_check NAME COMMAND...: one more check that counts as one test.
run_check() {
    local name=$1
    shift
    log "== $name"
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures+=("$name")
    fi
}
# A subset of OVS's own AF_XDP suite, unmodified, against our provider:
# both AF_XDP tests, ping, ping6 with fragments, conntrack, fragmentation,
# SNAT/DNAT and TCP over IPv6 with NAT.  (This kernel has no VLAN, bonding
# or geneve; docs/UPSTREAM-SUITE.md has the full run.)
# upstream_suite_subset [--hw-offload]: the subset, without or with
# other_config:hw-offload=true (the XDP fast path): the same 14 must pass.
upstream_suite_subset() {
    local tests="1 2 3 7 10 56 59 76 79 101 117 124 127 139" out rc=0
    local label=ours
    [[ ${1:-} == --hw-offload ]] && label=ours-offload
    out=$(./scripts/check-upstream.sh --provider ours ${1:+"$1"} \
        --tests "$tests") || rc=$?
    printf '%s\n' "$out"
    ((rc == 0)) &&
        grep -Eq "^SUMMARY $label: 14 tests: 14 passed, 0 failed" <<<"$out"
}
run_check upstream-suite-subset upstream_suite_subset
run_check upstream-suite-subset-offload upstream_suite_subset --hw-offload
# Static analysis and the unit tier under ASan+UBSan and TSan.
run_check lint ./scripts/lint.sh
run_check sanitize ./scripts/sanitize.sh
# The kernel matrix's Debian 12 leg: the unit and bpf tiers and a system
# subset under Debian 12's own kernel (6.1), booted in qemu on this host's
# user space (scripts/kernel-matrix.sh; 6.12 and the whole subset run from
# the script: docs/KERNELS.md).  6.1 lacks features this host's kernel
# has (multi-buffer AF_XDP, the netdev netlink family) and has one this
# host lacks (bpf_xdp_adjust_meta), so the other side of each fallback
# runs here too.
run_check kernel-matrix-6.1 ./scripts/kernel-matrix.sh --kernels 6.1 \
    --system-tests "ping tcp_transfer" \
    --out "$BUILD_DIR/kernel-matrix-ci"
# Every benchmark contender forwards (a smoke test: no timing is asserted).
run_check bench-quick ./perf/bench --quick \
    --out "$BUILD_DIR/perf-results/ci-quick"
((${#failures[@]} == 0))
