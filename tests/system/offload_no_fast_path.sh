#!/usr/bin/env bash
# hw-offload=true on a kernel that refuses the fast-path program (forced
# with the test switch AFXDP_DISABLE_FEATURES=xdp-fast-path, which takes
# the same path as a refused load): every port stays up on the plain
# redirect program and forwards through OVS; status says the fast path is
# off and why; the log says it once per port, as a warning; every offload
# request is refused and counted, and no flow is reported as offloaded.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

export AFXDP_DISABLE_FEATURES=xdp-fast-path
OVS_OTHER_CONFIG="hw-offload=true ${OVS_OTHER_CONFIG:-}"

head -c $((4 << 20)) /dev/urandom >"$TEST_TMP/data"
sys_setup
check_ping_all
check_tcp_transfer "$IP4_1" 5001 30

for p in "$P0" "$P1"; do
    status=$(iface_status "$p" fast-path)
    [[ $status == "off: "*"disabled by AFXDP_DISABLE_FEATURES" ]] ||
        fail "$p: status fast-path is '$status'"
    carrier=$(iface_status "$p" fast-path-carrier)
    [[ $carrier == none ]] || fail "$p: fast-path-carrier is '$carrier'"
    warns=$(grep -c "|WARN|$p: the XDP fast path is off" "$OVS_VSWITCHD_LOG" ||
        true)
    ((warns == 1)) || fail "$p: $warns warnings that the fast path is off"
    # The statistics column is refreshed every 5 s.
    wait_until 12 eval "(( \$(iface_stat $p fastpath_refused_fast_path_off) \
        > 0 ))" || fail "$p: no offload request refused (got \
'$(iface_stat "$p" fastpath_refused_fast_path_off)')"
    appctl afxdp/show "$p" | grep -q "fast path off: .*AFXDP_DISABLE" ||
        fail "$p: afxdp/show does not say why the fast path is off"
done

offloaded=$(appctl dpctl/dump-flows type=offloaded)
[[ -z $offloaded ]] || fail "flows reported offloaded: $offloaded"
sys_finish
