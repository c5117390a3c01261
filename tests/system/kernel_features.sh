#!/usr/bin/env bash
# What the kernel has, as ovs-vswitchd says it, and the fallbacks the test
# switch AFXDP_DISABLE_FEATURES forces (docs/KERNELS.md).
#  - At start-up ovs-vswitchd logs one INFO line "kernel RELEASE: NAME
#    yes|no, ..." and afxdp/show ends with a "kernel:" section; both are
#    what the core's probes say when run on their own in the same
#    namespace (build/tests/bpf/afxdp-kernel-features), and the ports'
#    observations follow their features.
#  - Restarted with xdp-multi-buffer, need-wakeup, shared-umem, busy-poll,
#    xdp-features-netlink and xdp-frags-program disabled, the ports still
#    forward (the rx-sg check before binding is skipped, the XDP program
#    is loaded without BPF_F_XDP_HAS_FRAGS); max-mtu is 3694 with a
#    reason naming the switch, no socket shares a kernel UMEM and the
#    umem-note says why, the sockets are bound without need_wakeup, and a
#    busy-poll-budget is refused (afxdp-config-error naming the switch)
#    while the port keeps forwarding.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

DISABLED=xdp-multi-buffer,need-wakeup,shared-umem,busy-poll,xdp-features-netlink,xdp-frags-program
OVS_LOG_ALLOW="\|netdev_afxdp\|ERR\|$P0: 'busy-poll-budget' \(64\) refused"
TOOL=$AFXDP_BUILD_DIR/tests/bpf/afxdp-kernel-features
[[ -x $TOOL ]] || fail "$TOOL is not built (scripts/build.sh)"

# The core's probes outside OVS, in ovs-vswitchd's namespace, with the
# switch as given in the environment.
core_probes() { swx env AFXDP_DISABLE_FEATURES="${AFXDP_DISABLE_FEATURES:-}" "$TOOL"; }
# The last INFO line of the kernel's features, without the log prefix.
info_line() {
    grep -E '\|INFO\|kernel [^ ]+: xdp-adjust-meta ' "$OVS_VSWITCHD_LOG" |
        tail -n 1 | sed 's/^.*|INFO|//'
}
has_info_line() { [[ -n $(info_line) ]]; }
# afxdp/show's kernel section, from "kernel:" to the end.
show_kernel() { appctl afxdp/show | sed -n '/^kernel: /,$p'; }
# One feature's line of the kernel section.
feature_line() { sed -n "s/^  $2: //p" <<<"$1"; }

check_against_core() {
    local probes summary section
    probes=$(core_probes) || fail "$TOOL failed"
    summary=$(head -n 1 <<<"$probes")
    [[ $summary == "kernel $(uname -r): xdp-adjust-meta "* ]] ||
        fail "the core's summary: $summary"
    wait_until 10 has_info_line ||
        fail "no INFO line of the kernel's features in the log"
    [[ $(info_line) == "$summary" ]] ||
        fail "INFO line '$(info_line)', the core's probes say '$summary'"
    log "INFO: $(info_line)"
    # The ports' observations ("    port ...") are ovs-vswitchd's alone.
    section=$(show_kernel)
    [[ $(grep -v '^    port ' <<<"$section") == "$(tail -n +2 <<<"$probes")" ]] ||
        fail "afxdp/show's kernel section differs from the core's probes:" \
            $'\n'"$section"$'\n'"--- core:"$'\n'"$(tail -n +2 <<<"$probes")"
    # Every feature has a line, yes or no, and every no says what instead.
    local n
    n=$(grep -cE '^  [a-z-]+: (yes|no \(.*\); instead: .+)$' <<<"$section")
    [[ $n == 11 ]] || fail "$n of 11 feature lines well formed:"$'\n'"$section"
    # No port is shown without a port: afxdp/show PORT has no kernel part.
    appctl afxdp/show "$P0" | grep -q '^kernel: ' &&
        fail "afxdp/show $P0 shows the kernel section"
    KERNEL_SECTION=$section
}

# ---- As the kernel is --------------------------------------------------------
unset AFXDP_DISABLE_FEATURES
sys_setup
check_ping_all
check_against_core
log "afxdp/show kernel section:"$'\n'"$KERNEL_SECTION"
if [[ $(feature_line "$KERNEL_SECTION" xdp-multi-buffer) == yes ]]; then
    grep -qx "    port $P0: yes" <<<"$(sed -n '/^  xdp-multi-buffer: /,/^  [a-z]/p' <<<"$KERNEL_SECTION")" ||
        fail "no multi-buffer observation of $P0"
fi
if [[ $(feature_line "$KERNEL_SECTION" shared-umem) == yes ]]; then
    # The second port's queue shares the first one's kernel UMEM.
    [[ $(iface_status "$P1" umem-kernel-shared) == 1/1 ]] ||
        fail "$P1 umem-kernel-shared $(iface_status "$P1" umem-kernel-shared)"
fi

# ---- With the fallbacks forced -----------------------------------------------
ovs_stop_vswitchd exit
export AFXDP_DISABLE_FEATURES=$DISABLED
ovs_start_vswitchd
port_wait_ready "$P0"
port_wait_ready "$P1"
check_ping_all
check_against_core
for f in ${DISABLED//,/ }; do
    [[ $(feature_line "$KERNEL_SECTION" "$f") == "no (disabled by AFXDP_DISABLE_FEATURES); instead: "* ]] ||
        fail "$f: $(feature_line "$KERNEL_SECTION" "$f")"
done
[[ $(info_line) == *"xdp-multi-buffer no, shared-umem no, xdp-features-netlink no,"*"need-wakeup no, busy-poll no, xdp-frags-program no" ]] ||
    fail "INFO line: $(info_line)"

for p in "$P0" "$P1"; do
    [[ $(iface_status "$p" max-mtu) == 3694 ]] ||
        fail "$p: max-mtu $(iface_status "$p" max-mtu)"
    [[ $(iface_status "$p" max-mtu-reason) == *"disabled by AFXDP_DISABLE_FEATURES"* ]] ||
        fail "$p: max-mtu-reason $(iface_status "$p" max-mtu-reason)"
    [[ $(iface_status "$p" umem-kernel-shared) == 0/1 ]] ||
        fail "$p: umem-kernel-shared $(iface_status "$p" umem-kernel-shared)"
    [[ $(iface_status "$p" umem-note) == *"disabled by AFXDP_DISABLE_FEATURES"* ]] ||
        fail "$p: umem-note '$(iface_status "$p" umem-note 2>&1)'"
    # Bound without XDP_USE_NEED_WAKEUP: the open says so, once per open.
    grep -q "$p: no need_wakeup (disabled by AFXDP_DISABLE_FEATURES)" \
        "$OVS_VSWITCHD_LOG" || fail "$p: no line about need_wakeup"
    grep -E "\|INFO\|$p: AF_XDP in XDP mode" "$OVS_VSWITCHD_LOG" | tail -n 1 |
        grep -q need_wakeup && fail "$p opened with need_wakeup"
    log "$p: max-mtu 3694 ($(iface_status "$p" max-mtu-reason))"
done
# MTU 9000 is refused: the limit is one chunk's, for the switch's reason.
mtu_refused() {
    grep -qF "$P0: MTU 9000 is too large for AF_XDP: the largest is 3694 (the kernel has no multi-buffer AF_XDP (disabled by AFXDP_DISABLE_FEATURES))" \
        "$OVS_VSWITCHD_LOG"
}
vsctl set interface "$P0" mtu_request=9000
wait_until 10 mtu_refused || fail "$P0: mtu_request=9000 not refused"
[[ $(swx cat "/sys/class/net/$P0/mtu") != 9000 ]] ||
    fail "$P0 took MTU 9000 without multi-buffer"
vsctl clear interface "$P0" mtu_request
check_ping 0 "$IP4_1" -s 1472 -M "do"

config_error() { iface_status "$P0" afxdp-config-error 2>/dev/null || true; }
busy_poll_refused() {
    [[ $(config_error) == *"busy-poll-budget"*"disabled by AFXDP_DISABLE_FEATURES"* ]]
}
no_config_error() { [[ -z $(config_error) ]]; }
vsctl set interface "$P0" options:busy-poll-budget=64
wait_until 10 busy_poll_refused ||
    fail "busy-poll-budget not refused: '$(config_error)'"
[[ -z $(iface_status "$P0" busy-poll 2>/dev/null || true) ]] ||
    fail "$P0 busy polls: $(iface_status "$P0" busy-poll)"
log "busy-poll-budget refused: $(iface_status "$P0" afxdp-config-error)"
check_ping_all
vsctl remove interface "$P0" options busy-poll-budget
wait_until 10 no_config_error ||
    fail "afxdp-config-error stays after the budget is removed"
check_ping_all
sys_finish
