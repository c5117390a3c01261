# shellcheck shell=bash
#
# Topology helpers: "host" namespaces joined by veth pairs to one "switch"
# namespace, where ovs-vswitchd runs.  The switch end of each pair is what
# OVS opens as an afxdp port; the far end plays a host.
#
# Why OVS gets a namespace of its own: the userspace datapath creates tap
# devices named after the datapath ("ovs-netdev") and each bridge in the
# namespace it runs in.  Two ovs-vswitchd in one namespace fight over
# "ovs-netdev" (EBUSY), so a run next to any other OVS would fail; and taps
# left by a killed run would stay in the root namespace.  In a private
# namespace nothing clashes and deleting the namespace removes everything.
#
# Names carry AFXDP_TAG (the PID of the run by default) so two runs never
# collide and a stale leftover is recognisable.  Interface names must fit
# IFNAMSIZ (15 characters): "ax<tag>h<N>" is at most 2+7+1+3.
#
# Offloads: a frame sent by a namespace's TCP stack over veth carries
# CHECKSUM_PARTIAL, i.e. no checksum yet.  XDP (and so AF_XDP) sees the raw
# frame and forwards it as is, so the receiver would drop it.  We turn off
# TX checksum (and VLAN) offload on the namespace side so the stack computes
# checksums itself, as any AF_XDP deployment on veth must.

[[ -n "${AFXDP_TOPO_SH:-}" ]] && return 0
AFXDP_TOPO_SH=1
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

topo_sw_ns() { echo "afxdp-$AFXDP_TAG-sw"; }
topo_ns_name() { echo "afxdp-$AFXDP_TAG-ns$1"; }
topo_host_if() { echo "ax${AFXDP_TAG}h$1"; }
topo_ns_if() { echo "ax${AFXDP_TAG}n$1"; }
topo_ip4() { echo "10.1.1.$(($1 + 1))"; }
topo_ip6() { echo "fd00::$(($1 + 1))"; }

# topo_add_ns NAME: a namespace with loopback up, deleted at exit.
topo_add_ns() {
    ip netns add "$1" || die "cannot create namespace $1"
    on_exit "ip netns del $1"
    ip -n "$1" link set lo up
}

# topo_add_host N [NQUEUES]: namespace N with one veth into the switch
# namespace (created with the first host).  The host end gets
# 10.1.1.(N+1)/24 and fd00::(N+1)/64 (nodad: usable at once, no DAD wait);
# the switch end is up with no address.
topo_add_host() {
    local n=$1 nq=${2:-1} sw ns hif nif
    sw=$(topo_sw_ns)
    ns=$(topo_ns_name "$n")
    hif=$(topo_host_if "$n")
    nif=$(topo_ns_if "$n")

    [[ -e /run/netns/$sw ]] || topo_add_ns "$sw"
    topo_add_ns "$ns"
    ip -n "$sw" link add "$hif" numtxqueues "$nq" numrxqueues "$nq" \
        type veth peer name "$nif" numtxqueues "$nq" numrxqueues "$nq" \
        netns "$ns" || die "cannot create veth pair $hif/$nif"
    on_exit "ip -n $sw link del $hif"

    ip netns exec "$ns" ethtool -K "$nif" tx off txvlan off >/dev/null 2>&1 ||
        die "cannot disable tx offloads on $nif"
    ip -n "$ns" addr add "$(topo_ip4 "$n")/24" dev "$nif"
    ip -n "$ns" -6 addr add "$(topo_ip6 "$n")/64" dev "$nif" nodad
    ip -n "$ns" link set "$nif" up
    ip -n "$sw" link set "$hif" up
    # No IPv6 on the switch end: the kernel would send router/neighbour
    # solicitations from it that only add noise to packet counts.
    swx sysctl -qw "net.ipv6.conf.$hif.disable_ipv6=1" || true
}

# nsx N CMD...: runs CMD inside namespace N.
nsx() {
    local n=$1
    shift
    ip netns exec "$(topo_ns_name "$n")" "$@"
}

# swx CMD...: runs CMD in the switch namespace.
swx() { ip netns exec "$(topo_sw_ns)" "$@"; }

# xdp_attached IFNAME: true when any XDP program (any mode) is attached to
# IFNAME in the switch namespace.
xdp_attached() {
    swx ip -d link show dev "$1" | grep -Eq 'prog/xdp| xdp[a-z]* '
}
