#!/bin/bash
# Stage 2 of a kernel-matrix guest: runs as PID 1 on the overlay root that
# stage 1 (kernel-matrix/init) built over the host's root file system.
#
# It mounts what a booted Debian system would have (tmpfs on /run and /tmp,
# bpffs, devpts), points /lib/modules/$(uname -r) at the modules unpacked
# on the host, reports the kernel's BPF/XDP features, runs the test tiers
# named in job.env and leaves every result in the writable 9p share
# (mount tag "results", a directory under build/ on the host):
#
#   features.txt       uname, the XDP helpers and map types we rely on
#                      (bpftool), the netdev netlink family, probe.py's
#   <tier>.log         ctest's output (unit, bpf); system/<test>.log
#   summary            "tier T passed P failed F seconds S" per tier,
#                      "fail T NAME" per failed test, "done" at the end
#
# The host reads only that share: it never trusts the console to carry
# results.  Whatever happens, the guest powers off at the end (and a PID 1
# that exits panics the kernel, which with panic=-1 also stops qemu).
#
# No `set -e`: one failing step must not keep the next tiers from running.
set -uo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LC_ALL=C.UTF-8 TERM=dumb
# Emulation (TCG) runs the guest several times slower than the host the
# tests' waits were chosen on: give every wait_until that much longer.
export AFXDP_TIME_SCALE=${AFXDP_TIME_SCALE:-4}

R=/run/kernel-matrix

log() { printf '[guest %s] %s\n' "$(date +%T)" "$*"; }

finish() {
    log "powering off"
    sync
    umount "$R" 2>/dev/null
    poweroff -f
}
trap finish EXIT

# ---- The file systems a Debian system has after boot ------------------------
# The tree under test may live in the host's /tmp (a fresh clone, as CI
# makes): keep the host's /tmp reachable before a tmpfs covers it.
mkdir -p /mnt/host-tmp
mount --bind /tmp /mnt/host-tmp
mount -t tmpfs -o mode=0755 run /run
mount -t tmpfs -o mode=1777 tmp /tmp
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
# What udev would add to devtmpfs; bash's <(...) needs /dev/fd.
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
mount -t bpf bpf /sys/fs/bpf
# For bpftool and bpftrace; a kernel without them still runs the tiers.
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
mkdir -p "$R"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 results "$R" || {
    log "FATAL: cannot mount the results share"
    exit 1
}

# KM_ROOT (the worktree), KM_MODULES (unpacked lib/modules/<release>),
# KM_TIERS, KM_SYSTEM_BUDGETS, KM_CTEST_TIMEOUT.
# shellcheck source=/dev/null
source "$R/job.env"
if [[ $KM_ROOT == /tmp/* ]]; then
    mkdir -p "$KM_ROOT"
    mount --bind "/mnt/host-tmp/${KM_ROOT#/tmp/}" "$KM_ROOT" || {
        log "FATAL: cannot reach $KM_ROOT under the guest's /tmp"
        exit 1
    }
fi
SUMMARY=$R/summary
: >"$SUMMARY"

hostname kernel-matrix
ip link set lo up
ulimit -l unlimited
# The kernel's own request_module() calls /sbin/modprobe, which reads the
# modules of the running kernel from here.
mkdir -p /lib/modules
ln -sfn "$KM_MODULES" "/lib/modules/$(uname -r)"
# tun: the bridge's internal port; veth: every topology.  Loaded up front
# because /dev/net/tun only appears once tun is loaded.
for m in tun veth; do
    modprobe "$m" || log "modprobe $m failed"
done

# ---- Kernel features ------------------------------------------------------
# What the provider and the fast path rely on: bpftool loads a small
# program per helper and map type.  It counts a helper as missing only
# when the verifier says "unknown func"; a kernel that refuses it for XDP
# with another message ("program of this type cannot use helper") still
# shows it available, so probe.py also loads and runs one.
features() {
    local probe
    probe=$(bpftool feature probe kernel 2>/dev/null)
    echo "uname $(uname -r)"
    echo "uname-v $(uname -v)"
    awk '
        /^eBPF helpers supported for program type xdp:/ { xdp = 1; next }
        /^eBPF helpers supported for program type / { xdp = 0 }
        xdp && /^\t- / { sub(/^\t- /, ""); have[$0] = 1 }
        /^eBPF program_type xdp is / { print "prog_type xdp " $NF }
        /^eBPF map_type (devmap|devmap_hash|xskmap|cpumap|hash|lru_hash|percpu_array) is / {
            print "map_type " $3 " " $NF }
        END {
            n = split("bpf_xdp_adjust_meta bpf_xdp_adjust_head " \
                "bpf_xdp_adjust_tail bpf_redirect_map bpf_xdp_load_bytes " \
                "bpf_xdp_store_bytes bpf_xdp_get_buff_len bpf_fib_lookup " \
                "bpf_csum_diff bpf_ktime_get_ns", h, " ")
            for (i = 1; i <= n; i++)
                print "xdp_helper " h[i] " " (h[i] in have ? "available" : "NOT available")
        }' <<<"$probe"
    # The "netdev" generic netlink family reports a device's XDP features
    # (Linux 6.3); the fast path reads them to choose redirect targets.
    if genl ctrl get name netdev >/dev/null 2>&1; then
        echo "genl_family netdev available"
    else
        echo "genl_family netdev NOT available"
    fi
    python3 "$KM_ROOT/scripts/kernel-matrix/probe.py"
    # The provider's own probes, as ovs-vswitchd logs and afxdp/show tells
    # them (docs/KERNELS.md).
    "$KM_ROOT/build/tests/bpf/afxdp-kernel-features"
}
log "kernel $(uname -r), stage 2 after $(cut -d" " -f1 /proc/uptime) s"
features >"$R/features.txt" 2>&1
cat "$R/features.txt"

# ---- Tiers -----------------------------------------------------------------
BUILD=$KM_ROOT/build

# ctest_tier LABEL: one ctest run of LABEL, as scripts/test.sh runs it.
# The build tree is the host's, seen through the overlay, so ctest's
# Testing/ output lands in the guest's tmpfs and never on the host.
ctest_tier() {
    local label=$1 start=$SECONDS rc=0 counts nfail=0 total=0 passed
    log "tier $label"
    timeout -k 30 "$KM_CTEST_TIMEOUT" ctest --test-dir "$BUILD" \
        -L "^${label}\$" --output-on-failure --no-tests=error \
        >"$R/$label.log" 2>&1 || rc=$?
    counts=$(sed -nE \
        's/^[0-9]+% tests passed, ([0-9]+) tests? failed out of ([0-9]+).*/\1 \2/p' \
        "$R/$label.log")
    if [[ -n $counts ]]; then
        read -r nfail total <<<"$counts"
        # "  12 - unit.Foo.Bar (Failed)"
        sed -nE '/^The following tests FAILED:/,$ s/^[[:space:]]+[0-9]+ - ([^ ]+) .*/fail '"$label"' \1/p' \
            "$R/$label.log" >>"$SUMMARY"
    fi
    passed=$((total - nfail))
    # No summary line (killed by the timeout, or nothing found), or a
    # failing exit with every test passed: one failure of the tier itself.
    if [[ -z $counts ]] || ((rc != 0 && nfail == 0)); then
        nfail=$((nfail + 1))
        echo "fail $label ctest-exit-$rc" >>"$SUMMARY"
    fi
    echo "tier $label passed $passed failed $nfail seconds $((SECONDS - start))" >>"$SUMMARY"
}

# system_tier: each test of KM_SYSTEM_BUDGETS ("name:seconds", the
# host's choice: its ctest TIMEOUT times a factor for TCG) run directly, not
# through ctest, whose TIMEOUT properties cannot be raised from outside.
# The test's own watchdog (AFXDP_TEST_TIMEOUT) fires 30 s before the
# budget runs out, so the test still cleans up; its assertions are the
# same as on the host.
system_tier() {
    local start=$SECONDS entry t budget rc npass=0 nfail=0 t0
    mkdir -p "$R/system"
    log "tier system: $KM_SYSTEM_BUDGETS"
    for entry in $KM_SYSTEM_BUDGETS; do
        t=${entry%%:*}
        budget=${entry#*:}
        t0=$SECONDS
        rc=0
        # Names the culprit if the guest dies during the test.
        echo "start system $t" >>"$SUMMARY"
        sync
        if [[ ! -f $KM_ROOT/tests/system/$t.sh ]]; then
            echo "no such system test: $t" >"$R/system/$t.log"
            rc=127
        else
            AFXDP_TEST_TIMEOUT=$((budget - 30)) timeout -k 30 "$budget" \
                bash "$KM_ROOT/tests/system/$t.sh" \
                >"$R/system/$t.log" 2>&1 </dev/null || rc=$?
        fi
        log "system.$t rc=$rc $((SECONDS - t0))s"
        echo "test system $t rc $rc seconds $((SECONDS - t0))" >>"$SUMMARY"
        if ((rc == 0)); then
            npass=$((npass + 1))
        else
            nfail=$((nfail + 1))
            echo "fail system $t" >>"$SUMMARY"
        fi
    done
    echo "tier system passed $npass failed $nfail seconds $((SECONDS - start))" >>"$SUMMARY"
}

for tier in $KM_TIERS; do
    case $tier in
    unit | bpf) ctest_tier "$tier" ;;
    system) system_tier ;;
    *) echo "fail $tier unknown-tier" >>"$SUMMARY" ;;
    esac
    grep "^tier $tier " "$SUMMARY" | while read -r line; do log "$line"; done
done
echo "done" >>"$SUMMARY"
