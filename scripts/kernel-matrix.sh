#!/usr/bin/env bash
# Runs the test tiers under other kernels than the host's: Debian's
# packaged kernels, each booted in qemu on the host's own user space.
#
#   kernel-matrix.sh [--kernels 6.1,6.12] [--tiers unit,bpf,system]
#                    [--system-tests "ping tcp_transfer ..."] [--out DIR]
#
# --tiers "" only boots each kernel and reports its features.  Results:
# $OUT/<kernel>/results/{summary,features.txt,<tier>.log,system/*.log}.
#
# How (the approach of virtme-ng, our code): each kernel is Debian's
# linux-image package, fetched with `apt-get download` and unpacked with
# `dpkg -x` under build/kernels/ (never installed).  A small initramfs
# (busybox-static, the few modules needed to reach the root file system,
# scripts/kernel-matrix/init) mounts the host's / read-only over 9p with a
# tmpfs overlay on top and switches to it; scripts/kernel-matrix/guest.sh
# then runs the tiers there against this worktree's build and writes the
# results into a writable 9p share, $OUT/<kernel>/results, and powers off.
# The guest's console is $OUT/<kernel>/console.log.
#
# qemu runs under TCG: on the machines we have, KVM stops at once with
# "KVM internal error. Suberror: 1".  TCG is several times slower than
# the host, so every budget here is the usual one times TIMEOUT_SCALE;
# the tests' assertions are the same as on the host.
#
# A kernel is named by its Debian version ("6.1" is the linux-image-amd64
# of bookworm, "6.12" its linux-image-6.12-amd64) or by a full package
# name (linux-image-6.1.0-47-amd64).  Always the generic amd64 flavour:
# the cloud flavour has no 9p.  Unpacked kernels and their initramfs stay
# under build/kernels/, so a second run needs no download.
#
# Prints one line per kernel and "N passed, M failed" (tests; a kernel
# whose guest did not finish counts one failure more); exits non-zero
# when anything failed.  One guest at a time (each takes 2 CPUs).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/common.sh
source scripts/lib/common.sh

KERNELS=6.1,6.12
TIERS=unit,bpf,system
SYSTEM_TESTS="ping tcp_transfer offload_forwarding jumbo fault_kill"
OUT=$AFXDP_BUILD_DIR/kernel-matrix
KCACHE=$AFXDP_BUILD_DIR/kernels
# Budgets under TCG, measured on a 2-core machine (docs/KERNELS.md):
# each system test gets its ctest TIMEOUT times TIMEOUT_SCALE; a ctest
# tier (unit, bpf) CTEST_TIMEOUT seconds.
TIMEOUT_SCALE=${TIMEOUT_SCALE:-3}
CTEST_TIMEOUT=${CTEST_TIMEOUT:-1800}
# Booting to stage 2 takes seconds; powering off and slack on top.
BOOT_BUDGET=180
GUEST_MEM=4G
GUEST_CPUS=2
# Needed in the guest, built in (y) or as a module (m).
REQUIRED_CONFIG="VIRTIO_PCI NET_9P NET_9P_VIRTIO 9P_FS OVERLAY_FS TMPFS
DEVTMPFS BLK_DEV_INITRD RD_GZIP BPF_SYSCALL XDP_SOCKETS VETH TUN NET_NS"
# Loaded by stage 1, with their dependencies, to mount the root.
INITRAMFS_MODULES="virtio_pci 9pnet_virtio 9p overlay"

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit "${1:-0}"
}

while (($#)); do
    case $1 in
    --kernels) KERNELS=$2; shift 2 ;;
    --tiers) TIERS=$2; shift 2 ;;
    --system-tests) SYSTEM_TESTS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h | --help) usage ;;
    *) echo "unknown argument: $1" >&2; usage 2 ;;
    esac
done
IFS=, read -ra KERNEL_LIST <<<"$KERNELS"
TIER_LIST=${TIERS//,/ }
mkdir -p "$OUT" "$KCACHE"
OUT=$(cd "$OUT" && pwd)

require_cmd qemu-system-x86_64 apt-get apt-cache dpkg depmod modprobe \
    gzip xz zstd flock timeout python3 ctest
if [[ ! -x /bin/busybox ]] || ldd /bin/busybox >/dev/null 2>&1; then
    die "/bin/busybox missing or not static (install busybox-static)"
fi
# --tiers "" only boots and reports the kernel's features.
if [[ -n $TIER_LIST && ! -f $AFXDP_BUILD_DIR/CTestTestfile.cmake ]] ||
    [[ " $TIER_LIST " == *" system "* &&
        ! -x $AFXDP_BUILD_DIR/install/sbin/ovs-vswitchd ]]; then
    die "no build in $AFXDP_BUILD_DIR: run scripts/build.sh first"
fi

install_cleanup_trap
# One guest at a time on this machine, whoever started it.
exec {lock_fd}>/tmp/afxdp-kernel-matrix.lock
flock -n "$lock_fd" || {
    log "another kernel-matrix.sh is running; waiting for it"
    flock "$lock_fd"
}

# ---- Kernels ----------------------------------------------------------------

# resolve_package SPEC: the linux-image package of SPEC (see the top).
# Resolved through the meta-packages, so a new Debian point release brings
# the new kernel; without package lists, the last resolution is used.
resolve_package() {
    local spec=$1 meta dep
    if [[ $spec == linux-image-* ]]; then
        echo "$spec"
        return
    fi
    for meta in "linux-image-$spec-amd64" linux-image-amd64; do
        dep=$(apt-cache depends "$meta" 2>/dev/null | sed -nE \
            's/^ *Depends: (linux-image-[^ ]+-amd64)$/\1/p' | head -n 1)
        if [[ $dep == linux-image-"$spec"[.-]* ]]; then
            ln -sfn "$dep" "$KCACHE/$spec"
            echo "$dep"
            return
        fi
    done
    if [[ -L $KCACHE/$spec ]]; then
        readlink "$KCACHE/$spec"
        return
    fi
    die "no Debian package for kernel $spec (apt-get update?)"
}

# unpack_kernel PKG: $KCACHE/PKG/{vmlinuz,config,release,root/lib/modules}.
# depmod runs here because the package leaves modules.dep to its postinst.
unpack_kernel() {
    local pkg=$1 dir=$KCACHE/$1 tmp vmlinuz release
    [[ -f $dir/.unpacked ]] && return 0
    log "$pkg: downloading and unpacking"
    rm -rf -- "$dir"
    tmp=$(mktemp -d "$KCACHE/.tmp.XXXXXX")
    on_exit "rm -rf -- $tmp"
    # Sandbox user root: the download directory is not _apt's.
    (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg") ||
        die "apt-get download $pkg failed"
    mkdir "$tmp/pkg"
    dpkg -x "$tmp"/*.deb "$tmp/pkg/root"
    vmlinuz=$(find "$tmp/pkg/root/boot" -name 'vmlinuz-*' | head -n 1)
    [[ -n $vmlinuz ]] || die "$pkg has no /boot/vmlinuz-*"
    release=${vmlinuz##*/vmlinuz-}
    [[ -d $tmp/pkg/root/lib/modules/$release ]] ||
        die "$pkg has no /lib/modules/$release"
    depmod -b "$tmp/pkg/root" "$release"
    mv "$vmlinuz" "$tmp/pkg/vmlinuz"
    mv "$tmp/pkg/root/boot/config-$release" "$tmp/pkg/config"
    echo "$release" >"$tmp/pkg/release"
    rm -rf -- "$tmp/pkg/root/boot" "$tmp/pkg/root/usr"
    mv "$tmp/pkg" "$dir"
    touch "$dir/.unpacked"
}

# check_config PKG: the kernel has what the guest needs (the cloud flavour,
# for one, has no 9p).
check_config() {
    local dir=$KCACHE/$1 opt missing=()
    for opt in $REQUIRED_CONFIG; do
        grep -Eq "^CONFIG_$opt=[ym]$" "$dir/config" || missing+=("$opt")
    done
    ((${#missing[@]} == 0)) ||
        die "$1 lacks CONFIG_${missing[*]} (use the generic amd64 flavour)"
}

# build_initramfs PKG: busybox, stage 1 and INITRAMFS_MODULES with their
# dependencies, decompressed (busybox insmod reads plain .ko only), in the
# order modprobe would load them.  Rebuilt when stage 1 or busybox changed.
build_initramfs() {
    local dir=$KCACHE/$1 release stage m line ko name
    local img=$dir/initramfs.cpio.gz init=scripts/kernel-matrix/init
    release=$(<"$dir/release")
    [[ -f $img && $img -nt $init && $img -nt /bin/busybox ]] && return 0
    log "$1: building the initramfs"
    stage=$(mktemp -d "$KCACHE/.initramfs.XXXXXX")
    on_exit "rm -rf -- $stage"
    mkdir -p "$stage"/{bin,dev,proc,sys,modules}
    cp /bin/busybox "$stage/bin/busybox"
    install -m 0755 "$init" "$stage/init"
    for m in $INITRAMFS_MODULES; do
        modprobe -d "$dir/root" -S "$release" --show-depends "$m" ||
            die "$1: module $m not found"
    done | awk '!seen[$0]++' | while read -r line; do
        # "insmod /path/9p.ko.xz" or "builtin virtio_pci"
        [[ $line == insmod\ * ]] || continue
        ko=$(awk '{ print $2 }' <<<"$line")
        name=${ko##*/}
        case $ko in
        *.ko.xz) name=${name%.xz}; xz -dc "$ko" >"$stage/modules/$name" ;;
        *.ko.zst) name=${name%.zst}; zstd -qdc "$ko" >"$stage/modules/$name" ;;
        *.ko.gz) name=${name%.gz}; gzip -dc "$ko" >"$stage/modules/$name" ;;
        *.ko) cp "$ko" "$stage/modules/$name" ;;
        *) die "unexpected module file $ko" ;;
        esac
        echo "$name" >>"$stage/modules/order"
    done
    touch "$stage/modules/order"
    (cd "$stage" && find . | busybox cpio -o -H newc -R 0:0 2>/dev/null) |
        gzip -9 >"$img.tmp"
    mv "$img.tmp" "$img"
}

# ---- One guest ----------------------------------------------------------------

# system_budgets: "test:seconds" for SYSTEM_TESTS, each its ctest TIMEOUT
# times TIMEOUT_SCALE.
system_budgets() {
    ctest --test-dir "$AFXDP_BUILD_DIR" -L '^system$' --show-only=json-v1 |
        python3 -c '
import json, sys
want, scale = sys.argv[1].split(), int(sys.argv[2])
limits = {}
for t in json.load(sys.stdin)["tests"]:
    limits[t["name"].removeprefix("system.")] = next(
        (int(float(p["value"])) for p in t.get("properties", [])
         if p["name"] == "TIMEOUT"), 300)
print(" ".join(f"{n}:{limits.get(n, 300) * scale}" for n in want))' \
            "$SYSTEM_TESTS" "$TIMEOUT_SCALE"
}

# kill_qemu: stops the guest we started, by its PID only, and only while
# it is ours (QEMU_PID is cleared once it has been waited for).
QEMU_PID=
kill_qemu() {
    [[ -n $QEMU_PID ]] || return 0
    kill -TERM "$QEMU_PID" 2>/dev/null || return 0
    wait_until 10 eval "! kill -0 $QEMU_PID" ||
        kill -KILL "$QEMU_PID" 2>/dev/null
}
on_exit kill_qemu

# run_guest SPEC PKG: boots PKG, waits for it within the legs' budget,
# leaves results in $OUT/SPEC.  Returns non-zero when the guest did not
# finish (timeout, panic, missing summary).
run_guest() {
    local spec=$1 dir=$KCACHE/$2 leg=$OUT/$1 budgets="" budget t qpid rc=0
    rm -rf -- "$leg"
    mkdir -p "$leg/results"
    budget=$BOOT_BUDGET
    case " $TIER_LIST " in *" unit "*) budget=$((budget + CTEST_TIMEOUT)) ;; esac
    case " $TIER_LIST " in *" bpf "*) budget=$((budget + CTEST_TIMEOUT)) ;; esac
    case " $TIER_LIST " in *" system "*)
        budgets=$(system_budgets)
        for t in $budgets; do budget=$((budget + ${t#*:} + 30)); done
        ;;
    esac
    cat >"$leg/results/job.env" <<EOF
KM_ROOT=$AFXDP_ROOT
KM_MODULES=$dir/root/lib/modules/$(<"$dir/release")
KM_TIERS="$TIER_LIST"
KM_SYSTEM_BUDGETS="$budgets"
KM_CTEST_TIMEOUT=$CTEST_TIMEOUT
EOF
    log "$spec: booting $(<"$dir/release") (tiers: $TIER_LIST; budget ${budget}s)"
    # The host's root read-only (multidevs=remap: /proc and friends are
    # other devices; inode numbers must not collide), the results share
    # writable.  panic=-1 with -no-reboot: a dead guest stops qemu at once.
    qemu-system-x86_64 -accel tcg -cpu max -smp "$GUEST_CPUS" \
        -m "$GUEST_MEM" -nodefaults -no-user-config -display none \
        -no-reboot -serial "file:$leg/console.log" \
        -kernel "$dir/vmlinuz" -initrd "$dir/initramfs.cpio.gz" \
        -append "console=ttyS0 quiet panic=-1 KM_GUEST=$AFXDP_ROOT/scripts/kernel-matrix/guest.sh" \
        -virtfs "local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap" \
        -virtfs "local,path=$leg/results,mount_tag=results,security_model=none" \
        </dev/null >"$leg/qemu.log" 2>&1 &
    QEMU_PID=$!
    qpid=$QEMU_PID
    # The guest's own progress lines, as they come.  By descriptor (-f):
    # qemu has already created the file, and following it by name would
    # print it again when qemu's O_TRUNC looked like a truncation.
    wait_until 10 test -e "$leg/console.log" || true
    tail -n +1 -f --pid="$qpid" "$leg/console.log" 2>/dev/null |
        grep --line-buffered '^\[guest' >&"$AFXDP_ERR_FD" &
    local deadline=$((SECONDS + budget))
    while kill -0 "$qpid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            log "$spec: guest overran its ${budget}s budget; stopping it"
            echo "fail leg timeout-${budget}s" >>"$leg/results/summary"
            kill_qemu
            break
        fi
        sleep 2
    done
    wait "$qpid" || rc=$?
    QEMU_PID=
    ((rc == 0)) || log "$spec: qemu exited with $rc (see $leg/qemu.log)"
    grep -qx "done" "$leg/results/summary" 2>/dev/null
}

# ---- The matrix -------------------------------------------------------------

total_passed=0
total_failed=0
lines=()

for spec in "${KERNEL_LIST[@]}"; do
    start=$SECONDS
    pkg=$(resolve_package "$spec")
    unpack_kernel "$pkg"
    check_config "$pkg"
    build_initramfs "$pkg"
    finished=1
    run_guest "$spec" "$pkg" || finished=0
    summary=$OUT/$spec/results/summary
    line="kernel $spec ($(<"$KCACHE/$pkg/release")):"
    leg_failed=0
    for tier in $TIER_LIST; do
        # A tier the guest did not finish: the system tests it finished,
        # plus one failure for the rest.
        read -r p f s < <(awk -v t="$tier" '
            $1 == "tier" && $2 == t { print $4, $6, $8; done = 1; exit }
            $1 == "test" && $2 == t { if ($5 == 0) p++; else f++ }
            END { if (!done) print p + 0, f + 1, "-" }' \
            "$summary" 2>/dev/null) || { p=0 f=1 s=-; }
        line+=" $tier $p/$((p + f)) (${s}s)"
        total_passed=$((total_passed + p))
        leg_failed=$((leg_failed + f))
    done
    if ((!finished)); then
        leg_failed=$((leg_failed + 1))
        # The test that was running: a "start" without its "test" line.
        culprit=$(awk '$1 == "start" { s[$2 " " $3] = 1 }
            $1 == "test" { delete s[$2 " " $3] }
            END { for (k in s) print k }' "$summary" 2>/dev/null || true)
        line+=" guest did not finish${culprit:+ (during $culprit)}"
        if grep -q 'Kernel panic' "$OUT/$spec/console.log" 2>/dev/null; then
            line+=", kernel panic in console.log"
        fi
    fi
    total_failed=$((total_failed + leg_failed))
    absent=$(awk '/NOT available/ { printf "%s%s", sep, $2; sep = " " }' \
        "$OUT/$spec/results/features.txt" 2>/dev/null || true)
    log "$spec: features not available: ${absent:-none} (see $OUT/$spec/results/features.txt)"
    mins=$(((SECONDS - start) / 60))m$(((SECONDS - start) % 60))s
    if ((leg_failed)); then
        failed_names=$(awk '$1 == "fail" { printf "%s%s:%s", sep, $2, $3; sep = " " }' \
            "$summary" 2>/dev/null || true)
        line+=" in $mins: FAIL ${failed_names:-}"
    else
        line+=" in $mins: ok"
    fi
    lines+=("$line")
    log "$line"
done

printf '%s\n' "${lines[@]}" | tee "$OUT/summary.txt"
echo "$total_passed passed, $total_failed failed" | tee -a "$OUT/summary.txt"
((total_failed == 0))
