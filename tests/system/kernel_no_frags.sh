#!/usr/bin/env bash
# A kernel that loads no xdp.frags program (before 5.18; forced here with
# AFXDP_DISABLE_FEATURES=xdp-frags-program): the XDP program loads without
# BPF_F_XDP_HAS_FRAGS, with and without the fast path; the ports forward,
# carry frames up to one chunk (max-mtu 3694, less the fast path's header
# where it travels in one), say why, and refuse MTU 9000.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

export AFXDP_DISABLE_FEATURES=xdp-frags-program
OVS_OTHER_CONFIG="hw-offload=true ${OVS_OTHER_CONFIG:-}"
# shellcheck disable=SC2034 # read by sys_finish (lib.sh)
OVS_LOG_ALLOW="\|netdev_afxdp\|ERR\|ax[0-9a-z]+: MTU 9000 is too large"

sys_setup
check_ping_all
for p in "$P0" "$P1"; do
    [[ $(iface_status "$p" fast-path) == on ]] ||
        fail "$p: fast-path is '$(iface_status "$p" fast-path)'"
    reason=$(iface_status "$p" max-mtu-reason)
    [[ $reason == "the kernel loads no xdp.frags program (disabled by AFXDP_DISABLE_FEATURES)"* ]] ||
        fail "$p: max-mtu-reason is '$reason'"
    max=$(iface_status "$p" max-mtu)
    ((max == 3694 || max == 3678)) || fail "$p: max-mtu is $max"
done
# The largest frame that fits, both ways.
set_port_mtu "$P0" "$max"
set_port_mtu "$P1" "$max"
for n in 0 1; do set_host_mtu "$n" "$max"; done
check_ping 0 "$IP4_1" -s $((max - 28)) -M "do"
check_ping 1 "$IP4_0" -s $((max - 28)) -M "do"
vsctl set interface "$P0" mtu_request=9000
refused() {
    grep -q "$P0: MTU 9000 is too large for AF_XDP: the largest is $max (the kernel loads no xdp.frags program" "$OVS_VSWITCHD_LOG"
}
wait_until 10 refused ||
    fail "$P0: mtu_request=9000 not refused without xdp.frags"
sys_finish
