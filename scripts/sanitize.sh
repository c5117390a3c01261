#!/usr/bin/env bash
# The unit tier under sanitizers: AddressSanitizer + UndefinedBehavior
# Sanitizer in build-asan/ (AFXDP_SANITIZE=address) and ThreadSanitizer in
# build-tsan/ (AFXDP_SANITIZE=thread).  What TSan watches is the unit
# tests that run threads: ChunkPool.ConcurrentGetPutNeverDuplicatesOrLoses
# (four threads on one pool's spin lock); ChunkCacheTest's
# ConcurrentHoldReleaseRetire, RetireUnderTraffic and the flush tests
# (threads holding, releasing and retiring a shared UMEM through their own
# chunk caches); XskQueueTest.ConcurrentSharedSendersLoseNothing (two
# senders on one shared tx lane, against in-memory rings drained by a
# third "kernel" thread); FlowTableTest.ConcurrentPutGetDel (the fast
# path's flow table from OVS's offload and revalidator threads).
# Ports on real devices (sockets, XDP, open/close) need privileges and are
# not in the unit tier: tests/system/asan_forwarding.sh runs them under
# ASan+UBSan in ovs-vswitchd.  Only afxdp_unit_tests is built in each tree;
# the unit tier needs no privileges.
#
# Usage: scripts/sanitize.sh [address|thread]...   (default: both)
#   JOBS        parallel build jobs (default: number of CPUs)
#   BUILD_TYPE  CMake build type (default RelWithDebInfo)
# Exits 0 when every selected tree built and passed, 1 otherwise; the last
# line is a summary, e.g. "sanitize: PASS (address: pass 41s, thread: ...)".
set -uo pipefail
cd "$(dirname "$0")/.."

JOBS=${JOBS:-$(nproc)}
BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}

kinds=("$@")
if [[ ${#kinds[@]} -eq 0 ]]; then
    kinds=(address thread)
fi

# Sanitizer reports are failures: stop at the first, with a stack.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:halt_on_error=1:detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

summary=()
failed=0

run_kind() {
    local kind=$1 dir
    case $kind in
    address) dir=build-asan ;;
    thread) dir=build-tsan ;;
    *)
        echo "sanitize: unknown sanitizer '$kind' (address or thread)" >&2
        return 2
        ;;
    esac

    echo "==> $kind: configure $dir"
    mkdir -p "$dir"
    cmake -S . -B "$dir" -DAFXDP_SANITIZE="$kind" \
        -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >"$dir/configure.log" 2>&1 || {
        cat "$dir/configure.log" >&2
        echo "sanitize: $kind: cmake configure failed" >&2
        return 1
    }

    echo "==> $kind: build afxdp_unit_tests"
    cmake --build "$dir" -j"$JOBS" --target afxdp_unit_tests || {
        echo "sanitize: $kind: build failed" >&2
        return 1
    }

    echo "==> $kind: ctest -L unit"
    ctest --test-dir "$dir" -L unit -j"$JOBS" --output-on-failure \
        --no-tests=error || {
        echo "sanitize: $kind: unit tests failed" >&2
        return 1
    }
}

for kind in "${kinds[@]}"; do
    start=$SECONDS
    if run_kind "$kind"; then
        result=pass
    else
        result=FAIL
        failed=1
    fi
    summary+=("$kind: $result $((SECONDS - start))s")
done

joined=$(IFS=,; echo "${summary[*]}" | sed 's/,/, /g')
if [[ $failed -eq 0 ]]; then
    echo "sanitize: PASS ($joined)"
else
    echo "sanitize: FAIL ($joined)"
fi
exit $failed
