#!/usr/bin/env bash
# Installs what building and testing ovs-afxdp needs on Debian 12.
# Idempotent: when every package is already installed it does nothing and
# takes well under a second.
set -euo pipefail

PACKAGES=(
    build-essential cmake pkg-config clang llvm
    libbpf-dev libxdp-dev bpftool libelf-dev zlib1g-dev libnuma-dev
    libgtest-dev googletest libbenchmark-dev
    libssl-dev libcap-ng-dev autoconf automake libtool python3
    openvswitch-source
    iproute2 iputils-ping netcat-openbsd ethtool tcpdump libcap2-bin
    # Lint and sanitizer tiers, callgrind harness.
    clang-format clang-tidy cppcheck valgrind
    # perf/bench contenders and plot: dpdk-testpmd with net_af_xdp.
    dpdk librte-net-af-xdp23 python3-matplotlib
    # Debian's upstream OVS: only the baseline of demo.sh --compare-upstream.
    openvswitch-switch
)

# One dpkg-query for all: the installed ones, then whatever is not listed.
mapfile -t installed < <(dpkg-query -W -f='${Package} ${Status}\n' \
    "${PACKAGES[@]}" 2>/dev/null | awk '/ install ok installed$/ { print $1 }')
missing=()
for p in "${PACKAGES[@]}"; do
    [[ " ${installed[*]} " == *" $p "* ]] || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    echo "deps: all ${#PACKAGES[@]} packages present"
    exit 0
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
