#!/usr/bin/env bash
# options:xdp-mode selects how the XDP program is attached, and
# status:xdp-mode reports the mode in use.  veth has native XDP (in copy
# mode) but no zero-copy, so best-effort must settle on native.  Each mode
# is reached by reconfiguring running ports, then checked against what the
# kernel reports and with traffic.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

# kernel_xdp_mode IFNAME: "native" or "generic", as the kernel sees it.
kernel_xdp_mode() {
    local line
    line=$(swx ip -o link show dev "$1")
    case $line in
    *" xdpgeneric "* | *" xdpgeneric/"*) echo generic ;;
    *" xdp "* | *" xdpdrv "* | *" xdp/"*) echo native ;;
    *) echo none ;;
    esac
}

status_mode_is() { [[ $(iface_status "$1" xdp-mode) == "$2" ]]; }

# check_mode REQUESTED EXPECTED
check_mode() {
    local req=$1 want=$2 p got
    for p in "$P0" "$P1"; do
        vsctl set interface "$p" "options:xdp-mode=$req"
    done
    for p in "$P0" "$P1"; do
        port_wait_ready "$p"
        wait_until 10 status_mode_is "$p" "$want" || {
            got=$(vsctl get interface "$p" status 2>&1 || true)
            fail "$p: xdp-mode=$req: status is $got, expected xdp-mode=$want"
        }
        got=$(kernel_xdp_mode "$p")
        [[ $got == "$want" ]] || {
            swx ip -d link show dev "$p" >&2
            fail "$p: xdp-mode=$req: kernel has '$got' XDP, expected $want"
        }
    done
    check_ping 0 "$IP4_1"
    check_ping 1 "$IP6_0"
    log "xdp-mode=$req -> $want: ok"
}

sys_setup xdp-mode=native
check_mode native native
check_mode generic generic
check_mode best-effort native
check_mode generic generic
check_mode native native
sys_finish
