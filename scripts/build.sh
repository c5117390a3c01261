#!/usr/bin/env bash
# Builds the C++ core, the XDP program, tests and perf tools (CMake, in
# build/), then OVS with our provider (scripts/build-ovs.sh, into
# build/install).  Incremental: a second run with no change is quick.
#   BUILD_TYPE (default RelWithDebInfo), JOBS (default: number of CPUs).
set -euo pipefail
cd "$(dirname "$0")/.."

export JOBS=${JOBS:-$(nproc)}

# Configure once; later runs let the build tool re-run CMake when needed.
if [[ ! -f build/CMakeCache.txt ]]; then
    cmake -S . -B build -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}"
fi
cmake --build build -j"$JOBS"
./scripts/build-ovs.sh
