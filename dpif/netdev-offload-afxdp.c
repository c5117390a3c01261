/*
 * OVS glue for the XDP fast path: a netdev flow-offload provider ("afxdp",
 * lib/netdev-offload-provider.h) for afxdp and afxdp-nonpmd ports, over
 * the C ABI in netdev-afxdp/offload/afxdp_offload.h.  Compiled inside
 * OVS's build, like netdev-afxdp.c, and registered by ovs-patches/0005.
 *
 * dpif-netdev drives it when other_config:hw-offload=true: its offload
 * threads call flow_put() for every new or modified megaflow (with the
 * flow mark OVS allocated for it) and flow_del() when the megaflow goes;
 * revalidators and dumps call flow_get() for the statistics, which
 * dpif-netdev adds to its own.
 *
 * This file only copies: OVS's struct match field by field into struct
 * afxdp_flow_match, clearing each copied field in a copy of the mask and
 * naming the first field left (so the core refuses what it cannot match),
 * and each datapath action into a struct afxdp_flow_action.  What can be
 * offloaded, and how, is decided by the core.
 */

#include <config.h>

#include <errno.h>
#include <string.h>

#include "coverage.h"
#include "dpif.h"
#include "flow.h"
#include "netdev-offload-provider.h"
#include "netdev-provider.h"
#include "netlink.h"
#include "odp-netlink.h"
#include "odp-util.h"
#include "openvswitch/match.h"
#include "openvswitch/meta-flow.h"
#include "openvswitch/vlog.h"
#include "util.h"

#include "dpif/netdev-afxdp-offload.h"
#include "netdev-afxdp/offload/afxdp_offload.h"

VLOG_DEFINE_THIS_MODULE(netdev_offload_afxdp);

/* Puts the core refused, by reason; the per-port custom statistics
 * (fastpath_*) count the same. */
COVERAGE_DEFINE(afxdp_offload_refused);
COVERAGE_DEFINE(afxdp_offload_partial);
COVERAGE_DEFINE(afxdp_offload_full);

/* Datapath actions one flow may carry into the fast path; a longer list is
 * handed over as far as it goes, then as one "too many actions". */
#define AFXDP_OFFLOAD_MAX_ACTIONS 32

/* ---- Match ------------------------------------------------------------- */

#define TAKE(OUT, FIELD)                                                \
    do {                                                                \
        BUILD_ASSERT_DECL(sizeof out->value.OUT == sizeof f->FIELD);    \
        memcpy(&out->value.OUT, &f->FIELD, sizeof out->value.OUT);      \
        memcpy(&out->mask.OUT, &left->FIELD, sizeof out->mask.OUT);     \
        memset(&left->FIELD, 0, sizeof left->FIELD);                    \
    } while (0)

/* The name of the first meta-flow field 'wc' still matches, or NULL. */
static const char *
first_matched_field(const struct flow_wildcards *wc)
{
    if (flow_wildcards_is_catchall(wc)) {
        return NULL;
    }
    for (int i = 0; i < MFF_N_IDS; i++) {
        const struct mf_field *mf = mf_from_id(i);

        if (!mf_is_all_wild(mf, wc)) {
            return mf->name;
        }
    }
    return "a field without a name (such as a second VLAN tag)";
}

static void
copy_match(const struct match *match, struct afxdp_flow_match *out)
{
    const struct flow *f = &match->flow;
    struct flow_wildcards left_wc = match->wc;
    struct flow *left = &left_wc.masks;

    memset(out, 0, sizeof *out);
    out->value.in_port = odp_to_u32(f->in_port.odp_port);
    out->mask.in_port = odp_to_u32(left->in_port.odp_port);
    memset(&left->in_port, 0, sizeof left->in_port);

    TAKE(recirc_id, recirc_id);
    TAKE(packet_type, packet_type);
    TAKE(dl_dst, dl_dst);
    TAKE(dl_src, dl_src);
    TAKE(dl_type, dl_type);
    TAKE(vlan_tci, vlans[0].tci);
    TAKE(vlan_tpid, vlans[0].tpid);
    TAKE(nw_src, nw_src);
    TAKE(nw_dst, nw_dst);
    TAKE(ipv6_src, ipv6_src);
    TAKE(ipv6_dst, ipv6_dst);
    TAKE(ipv6_label, ipv6_label);
    TAKE(nw_frag, nw_frag);
    TAKE(nw_tos, nw_tos);
    TAKE(nw_ttl, nw_ttl);
    TAKE(nw_proto, nw_proto);
    TAKE(tp_src, tp_src);
    TAKE(tp_dst, tp_dst);
    TAKE(tcp_flags, tcp_flags);
    TAKE(arp_sha, arp_sha);
    TAKE(arp_tha, arp_tha);

    out->other_field = first_matched_field(&left_wc);
}

/* ---- Actions ----------------------------------------------------------- */

static const char *
action_name(int type)
{
    switch (type) {
    case OVS_ACTION_ATTR_USERSPACE: return "userspace";
    case OVS_ACTION_ATTR_SAMPLE: return "sample";
    case OVS_ACTION_ATTR_RECIRC: return "recirc";
    case OVS_ACTION_ATTR_HASH: return "hash";
    case OVS_ACTION_ATTR_PUSH_MPLS: return "push_mpls";
    case OVS_ACTION_ATTR_POP_MPLS: return "pop_mpls";
    case OVS_ACTION_ATTR_CT: return "ct";
    case OVS_ACTION_ATTR_TRUNC: return "trunc";
    case OVS_ACTION_ATTR_PUSH_ETH: return "push_eth";
    case OVS_ACTION_ATTR_POP_ETH: return "pop_eth";
    case OVS_ACTION_ATTR_CT_CLEAR: return "ct_clear";
    case OVS_ACTION_ATTR_PUSH_NSH: return "push_nsh";
    case OVS_ACTION_ATTR_POP_NSH: return "pop_nsh";
    case OVS_ACTION_ATTR_METER: return "meter";
    case OVS_ACTION_ATTR_CLONE: return "clone";
    case OVS_ACTION_ATTR_CHECK_PKT_LEN: return "check_pkt_len";
    case OVS_ACTION_ATTR_ADD_MPLS: return "add_mpls";
    case OVS_ACTION_ATTR_TUNNEL_PUSH: return "tnl_push";
    case OVS_ACTION_ATTR_TUNNEL_POP: return "tnl_pop";
    case OVS_ACTION_ATTR_LB_OUTPUT: return "lb_output";
    default: return "an unknown action";
    }
}

static const char *
set_key_name(int type)
{
    switch (type) {
    case OVS_KEY_ATTR_PRIORITY: return "set(skb_priority)";
    case OVS_KEY_ATTR_SKB_MARK: return "set(skb_mark)";
    case OVS_KEY_ATTR_TUNNEL: return "set(tunnel)";
    case OVS_KEY_ATTR_SCTP: return "set(sctp)";
    case OVS_KEY_ATTR_ARP: return "set(arp)";
    case OVS_KEY_ATTR_ND: return "set(nd)";
    case OVS_KEY_ATTR_ND_EXTENSIONS: return "set(nd_ext)";
    case OVS_KEY_ATTR_MPLS: return "set(mpls)";
    case OVS_KEY_ATTR_NSH: return "set(nsh)";
    case OVS_KEY_ATTR_ICMP: return "set(icmp)";
    case OVS_KEY_ATTR_ICMPV6: return "set(icmpv6)";
    default: return "set of another field";
    }
}

/* The mask of a set action: the one after the key for SET_MASKED, all
 * ones for a plain SET. */
static const void *
set_mask(const struct nlattr *key, bool masked, void *ones, size_t size)
{
    if (masked) {
        return (const char *) nl_attr_get(key) + size;
    }
    memset(ones, 0xff, size);
    return ones;
}

static void
copy_set(const struct nlattr *a, bool masked, struct afxdp_flow_action *act)
{
    const struct nlattr *key = nl_attr_get(a);
    int type = nl_attr_type(key);
    uint8_t ones[sizeof(struct ovs_key_ipv6)];

    switch (type) {
    case OVS_KEY_ATTR_ETHERNET: {
        const struct ovs_key_ethernet *v = nl_attr_get(key);
        const struct ovs_key_ethernet *m
            = set_mask(key, masked, ones, sizeof *v);

        act->type = AFXDP_FLOW_ACTION_SET_ETH;
        memcpy(act->eth.src, &v->eth_src, 6);
        memcpy(act->eth.src_mask, &m->eth_src, 6);
        memcpy(act->eth.dst, &v->eth_dst, 6);
        memcpy(act->eth.dst_mask, &m->eth_dst, 6);
        return;
    }
    case OVS_KEY_ATTR_IPV4: {
        const struct ovs_key_ipv4 *v = nl_attr_get(key);
        const struct ovs_key_ipv4 *m
            = set_mask(key, masked, ones, sizeof *v);

        act->type = AFXDP_FLOW_ACTION_SET_IPV4;
        act->ipv4.src = v->ipv4_src;
        act->ipv4.src_mask = m->ipv4_src;
        act->ipv4.dst = v->ipv4_dst;
        act->ipv4.dst_mask = m->ipv4_dst;
        act->ipv4.tos = v->ipv4_tos;
        act->ipv4.tos_mask = m->ipv4_tos;
        act->ipv4.ttl = v->ipv4_ttl;
        act->ipv4.ttl_mask = m->ipv4_ttl;
        return;
    }
    case OVS_KEY_ATTR_IPV6: {
        const struct ovs_key_ipv6 *v = nl_attr_get(key);
        const struct ovs_key_ipv6 *m
            = set_mask(key, masked, ones, sizeof *v);

        act->type = AFXDP_FLOW_ACTION_SET_IPV6;
        memcpy(act->ipv6.src, &v->ipv6_src, 16);
        memcpy(act->ipv6.src_mask, &m->ipv6_src, 16);
        memcpy(act->ipv6.dst, &v->ipv6_dst, 16);
        memcpy(act->ipv6.dst_mask, &m->ipv6_dst, 16);
        act->ipv6.label = v->ipv6_label;
        act->ipv6.label_mask = m->ipv6_label;
        act->ipv6.tclass = v->ipv6_tclass;
        act->ipv6.tclass_mask = m->ipv6_tclass;
        act->ipv6.hlimit = v->ipv6_hlimit;
        act->ipv6.hlimit_mask = m->ipv6_hlimit;
        return;
    }
    case OVS_KEY_ATTR_TCP:
    case OVS_KEY_ATTR_UDP: {
        /* struct ovs_key_tcp and ovs_key_udp are both src, dst. */
        const struct ovs_key_tcp *v = nl_attr_get(key);
        const struct ovs_key_tcp *m
            = set_mask(key, masked, ones, sizeof *v);

        act->type = (type == OVS_KEY_ATTR_TCP ? AFXDP_FLOW_ACTION_SET_TCP
                     : AFXDP_FLOW_ACTION_SET_UDP);
        act->tp.src = v->tcp_src;
        act->tp.src_mask = m->tcp_src;
        act->tp.dst = v->tcp_dst;
        act->tp.dst_mask = m->tcp_dst;
        return;
    }
    default:
        act->type = AFXDP_FLOW_ACTION_OTHER;
        act->other = set_key_name(type);
        return;
    }
}

/* Fills 'acts' from 'actions'; output ports that are afxdp ports with the
 * fast path are looked up, and their netdevs, whose references keep their
 * offload state alive, go into 'refs' for the caller to close.  Returns
 * the number of actions. */
static size_t
copy_actions(const struct netdev *in, const struct nlattr *actions,
             size_t actions_len, struct afxdp_flow_action *acts,
             struct netdev **refs, size_t *n_refs)
{
    const char *dpif_type = netdev_get_dpif_type(in);
    const struct nlattr *a;
    size_t left, n = 0;

    NL_ATTR_FOR_EACH_UNSAFE (a, left, actions, actions_len) {
        struct afxdp_flow_action *act = &acts[n];
        int type = nl_attr_type(a);

        if (n == AFXDP_OFFLOAD_MAX_ACTIONS - 1) {
            act->type = AFXDP_FLOW_ACTION_OTHER;
            act->other = "too many actions";
            return n + 1;
        }
        memset(act, 0, sizeof *act);
        switch (type) {
        case OVS_ACTION_ATTR_OUTPUT: {
            odp_port_t port = nl_attr_get_odp_port(a);
            struct netdev *out = netdev_ports_get(port, dpif_type);

            act->type = AFXDP_FLOW_ACTION_OUTPUT;
            act->output.odp_port = odp_to_u32(port);
            if (out) {
                refs[(*n_refs)++] = out;
                if (netdev_afxdp_is_afxdp(out)) {
                    act->output.port = netdev_afxdp_offload(out);
                }
            }
            break;
        }
        case OVS_ACTION_ATTR_SET:
        case OVS_ACTION_ATTR_SET_MASKED:
            copy_set(a, type == OVS_ACTION_ATTR_SET_MASKED, act);
            break;
        case OVS_ACTION_ATTR_PUSH_VLAN: {
            const struct ovs_action_push_vlan *vlan = nl_attr_get(a);

            act->type = AFXDP_FLOW_ACTION_PUSH_VLAN;
            act->push_vlan.tpid = vlan->vlan_tpid;
            act->push_vlan.tci = vlan->vlan_tci;
            break;
        }
        case OVS_ACTION_ATTR_POP_VLAN:
            act->type = AFXDP_FLOW_ACTION_POP_VLAN;
            break;
        case OVS_ACTION_ATTR_DROP:
            act->type = AFXDP_FLOW_ACTION_DROP;
            break;
        default:
            act->type = AFXDP_FLOW_ACTION_OTHER;
            act->other = action_name(type);
            break;
        }
        n++;
    }
    return n;
}

/* ---- Provider ---------------------------------------------------------- */

static int
afxdp_flow_put(struct netdev *netdev, struct match *match,
               struct nlattr *actions, size_t actions_len,
               const ovs_u128 *ufid, struct offload_info *info,
               struct dpif_flow_stats *stats)
{
    struct afxdp_offload *offload = netdev_afxdp_offload(netdev);
    struct afxdp_flow_action acts[AFXDP_OFFLOAD_MAX_ACTIONS];
    struct netdev *refs[AFXDP_OFFLOAD_MAX_ACTIONS];
    enum afxdp_offload_kind kind;
    struct afxdp_flow_match m;
    size_t n, n_refs = 0;
    int error;

    if (!offload) {
        return EOPNOTSUPP;
    }
    copy_match(match, &m);
    n = copy_actions(netdev, actions, actions_len, acts, refs, &n_refs);
    error = afxdp_offload_flow_put(offload, ufid, &m, acts, n,
                                   info->flow_mark, &kind);
    for (size_t i = 0; i < n_refs; i++) {
        netdev_close(refs[i]);
    }
    if (stats) {
        memset(stats, 0, sizeof *stats);
    }
    if (error) {
        COVERAGE_INC(afxdp_offload_refused);
    } else if (kind == AFXDP_OFFLOAD_FULL) {
        COVERAGE_INC(afxdp_offload_full);
    } else {
        COVERAGE_INC(afxdp_offload_partial);
    }
    return error;
}

static int
afxdp_flow_get(struct netdev *netdev, struct match *match OVS_UNUSED,
               struct nlattr **actions OVS_UNUSED, const ovs_u128 *ufid,
               struct dpif_flow_stats *stats, struct dpif_flow_attrs *attrs,
               struct ofpbuf *wbuffer OVS_UNUSED)
{
    struct afxdp_offload *offload = netdev_afxdp_offload(netdev);
    struct afxdp_offload_flow_stats s;
    enum afxdp_offload_kind kind;
    int error;

    if (!offload) {
        return ENOENT;
    }
    error = afxdp_offload_flow_get(offload, ufid, &s, &kind);
    if (error) {
        return error;
    }
    memset(stats, 0, sizeof *stats);
    stats->n_packets = s.n_packets;
    stats->n_bytes = s.n_bytes;
    stats->used = s.used;
    stats->tcp_flags = s.tcp_flags;
    /* dpctl: "offloaded:yes, dp:xdp", or "offloaded:partial" for a flow
     * whose frames OVS still runs (dp_layer "ovs"). */
    attrs->offloaded = true;
    attrs->dp_layer = kind == AFXDP_OFFLOAD_FULL ? "xdp" : "ovs";
    attrs->dp_extra_info = NULL;
    return 0;
}

static int
afxdp_flow_del(struct netdev *netdev, const ovs_u128 *ufid,
               struct dpif_flow_stats *stats)
{
    struct afxdp_offload *offload = netdev_afxdp_offload(netdev);
    struct afxdp_offload_flow_stats s;
    int error;

    if (!offload) {
        return ENOENT;
    }
    error = afxdp_offload_flow_del(offload, ufid, &s);
    if (!error && stats) {
        memset(stats, 0, sizeof *stats);
        stats->n_packets = s.n_packets;
        stats->n_bytes = s.n_bytes;
        stats->used = s.used;
        stats->tcp_flags = s.tcp_flags;
    }
    return error;
}

static int
afxdp_flow_flush(struct netdev *netdev)
{
    struct afxdp_offload *offload = netdev_afxdp_offload(netdev);

    if (offload) {
        afxdp_offload_flush(offload);
    }
    return 0;
}

static int
afxdp_flow_get_n_flows(struct netdev *netdev, uint64_t *n_flows)
{
    struct afxdp_offload *offload = netdev_afxdp_offload(netdev);

    /* One count per offload thread: ours are not split by thread. */
    n_flows[0] += offload ? afxdp_offload_n_flows(offload) : 0;
    return 0;
}

static int
afxdp_init_flow_api(struct netdev *netdev)
{
    if (!netdev_afxdp_is_afxdp(netdev)) {
        return EOPNOTSUPP;
    }
    return netdev_afxdp_offload_init(netdev);
}

static void
afxdp_uninit_flow_api(struct netdev *netdev)
{
    netdev_afxdp_offload_uninit(netdev);
}

const struct netdev_flow_api netdev_offload_afxdp = {
    .type = "afxdp",
    .flow_flush = afxdp_flow_flush,
    .flow_put = afxdp_flow_put,
    .flow_get = afxdp_flow_get,
    .flow_del = afxdp_flow_del,
    .flow_get_n_flows = afxdp_flow_get_n_flows,
    .init_flow_api = afxdp_init_flow_api,
    .uninit_flow_api = afxdp_uninit_flow_api,
};
