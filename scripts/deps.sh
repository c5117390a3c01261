#!/usr/bin/env bash
# Installs what building, testing and benchmarking ovs-afxdp needs on
# Debian 12, then checks that every command the tests, scripts and perf/
# call is there.  Idempotent: when every package is already installed it
# installs nothing and takes well under a second.
#
#   deps.sh           install what is missing, then check the tools
#   deps.sh --check   only check: name each missing tool and the package
#                     that provides it; exit 1 if any is missing
set -euo pipefail

PACKAGES=(
    build-essential cmake pkg-config clang llvm
    libbpf-dev libxdp-dev bpftool libelf-dev zlib1g-dev libnuma-dev
    libgtest-dev googletest libbenchmark-dev
    libssl-dev libcap-ng-dev autoconf automake libtool python3
    openvswitch-source
    iproute2 iputils-ping netcat-openbsd ethtool tcpdump libcap2-bin
    util-linux coreutils procps
    # fault_multi.sh: uprobes that show two threads sending at once.
    bpftrace
    # Lint and sanitizer tiers, callgrind harness, perf/pmd-profile.sh.
    clang-format clang-tidy cppcheck valgrind linux-perf
    # perf/bench contenders and plot: dpdk-testpmd (shipped in dpdk-dev,
    # not in dpdk) with its net_af_xdp driver.
    dpdk dpdk-dev librte-net-af-xdp23 python3-matplotlib
    # OVS's own system-afxdp suite (scripts/check-upstream.sh and the CI
    # subset in test.sh).
    lftp conntrack iptables python3-pyftpdlib python3-scapy
    # Debian's upstream OVS: the baseline of perf/bench and
    # demo.sh --compare-upstream.
    openvswitch-switch
    # scripts/kernel-matrix.sh: Debian's kernels booted in qemu (TCG) on
    # the host's root over 9p, from an initramfs of busybox-static and
    # modules decompressed from .ko.xz/.ko.zst; kmod for depmod/modprobe.
    qemu-system-x86 busybox-static xz-utils zstd gzip kmod
)

# Every command a test, script or benchmark runs, with the package that
# provides it: "command package".  Checked after installing, so that a
# package list that lost a tool fails here, naming it, instead of in the
# middle of a tier.
TOOLS=(
    "cmake cmake" "make make" "clang clang" "bpftool bpftool"
    "autom4te autoconf" "automake automake" "libtoolize libtool"
    "ip iproute2" "bridge iproute2" "ss iproute2" "ping iputils-ping"
    "nc netcat-openbsd" "ethtool ethtool" "tcpdump tcpdump"
    "bpftrace bpftrace"
    "capsh libcap2-bin" "flock util-linux" "nsenter util-linux"
    "unshare util-linux" "taskset util-linux" "timeout coreutils"
    "sha256sum coreutils" "sysctl procps"
    "clang-format clang-format" "clang-tidy clang-tidy" "cppcheck cppcheck"
    "valgrind valgrind" "callgrind_annotate valgrind" "perf linux-perf"
    "dpdk-testpmd dpdk-dev" "lftp lftp" "conntrack conntrack"
    "iptables iptables" "ovs-vswitchd openvswitch-switch"
    "/usr/bin/python3 python3"
    "qemu-system-x86_64 qemu-system-x86" "busybox busybox-static"
    "xz xz-utils" "zstd zstd" "gzip gzip" "depmod kmod" "modprobe kmod"
)
# Python modules, imported by Debian's interpreter (/usr/bin/python3; the
# python3 on PATH may be another one that cannot see Debian's packages).
PY_MODULES=("matplotlib python3-matplotlib" "scapy python3-scapy"
    "pyftpdlib python3-pyftpdlib")

check_tools() {
    local entry cmd pkg missing=()
    for entry in "${TOOLS[@]}"; do
        read -r cmd pkg <<<"$entry"
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd ($pkg)")
    done
    for entry in "${PY_MODULES[@]}"; do
        read -r cmd pkg <<<"$entry"
        /usr/bin/python3 -c "import $cmd" >/dev/null 2>&1 ||
            missing+=("python module $cmd ($pkg)")
    done
    if [[ ${#missing[@]} -ne 0 ]]; then
        echo "deps: missing tools: ${missing[*]}" >&2
        return 1
    fi
    echo "deps: all ${#TOOLS[@]} tools and ${#PY_MODULES[@]} python" \
        "modules present"
}

if [[ ${1:-} == --check ]]; then
    check_tools
    exit
fi

# One dpkg-query for all: the installed ones, then whatever is not listed.
mapfile -t installed < <(dpkg-query -W -f='${Package} ${Status}\n' \
    "${PACKAGES[@]}" 2>/dev/null | awk '/ install ok installed$/ { print $1 }')
missing=()
for p in "${PACKAGES[@]}"; do
    [[ " ${installed[*]} " == *" $p "* ]] || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    echo "deps: all ${#PACKAGES[@]} packages present"
    check_tools
    exit
fi

echo "deps: installing ${missing[*]}"
SUDO=
[[ $(id -u) -eq 0 ]] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# Update the package lists only when they are missing or a day old, or when
# the first install attempt fails on stale lists.
lists=/var/lib/apt/lists
if [[ -z $(find "$lists" -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null) ]]; then
    $SUDO apt-get update -q
fi
install() {
    $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
}
install || { $SUDO apt-get update -q && install; }
check_tools
