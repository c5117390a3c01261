#!/bin/bash
# Builds a second ovs-vswitchd with AddressSanitizer and UBSan, core and OVS
# alike, for tests/system/asan_*.sh:
#
#   scripts/build-ovs-asan.sh
#
#   1. the C++ core in build-asan-ovs/ (CMake, -DAFXDP_SANITIZE=address:
#      ASan + UBSan, UBSan errors fatal), only the two libraries OVS links;
#   2. OVS through scripts/build-ovs.sh with its own source tree
#      (build/ovs-asan-src), build dir (build/ovs-asan) and prefix
#      (build/install-asan), CFLAGS/LDFLAGS -fsanitize=address,undefined.
#
# Why a separate tree: a sanitized ovs-vswitchd is 2-3 times slower and
# needs the sanitizer runtimes; the normal build must stay what the other
# tests and the benchmarks measure.  Incremental like build-ovs.sh: a second
# run with nothing changed only runs make.
#
# Environment: JOBS (make -j, default: number of CPUs).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
core=$repo/build-asan-ovs
jobs=${JOBS:-$(nproc)}
t0=$SECONDS
say() { printf 'build-ovs-asan: %s\n' "$*"; }

say "core (CMake, AFXDP_SANITIZE=address) in $core"
if [[ ! -f $core/CMakeCache.txt ]]; then
    cmake -S "$repo" -B "$core" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DAFXDP_SANITIZE=address
fi
cmake --build "$core" -j"$jobs" --target afxdp_netdev afxdp_umem
say "core done ($((SECONDS - t0)) s)"

# -O1 keeps the sanitized binary fast enough for traffic; the frame
# pointers give ASan's reports whole stacks.
flags="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined"
AFXDP_CMAKE_BUILD=$core \
    AFXDP_OVS_SRC=$repo/build/ovs-asan-src \
    AFXDP_OVS_OBJ=$repo/build/ovs-asan \
    AFXDP_OVS_PREFIX=$repo/build/install-asan \
    OVS_CFLAGS=$flags OVS_LDFLAGS="-fsanitize=address,undefined" \
    JOBS=$jobs "$repo/scripts/build-ovs.sh"

# The binary really is instrumented.
syms=$(nm "$repo/build/install-asan/sbin/ovs-vswitchd")
grep -q ' U __asan_init$' <<<"$syms" ||
    { say "error: ovs-vswitchd is not built with ASan" >&2; exit 1; }
say "ASan+UBSan OVS installed into build/install-asan in $((SECONDS - t0)) s"
