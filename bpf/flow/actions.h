/*
 * The fast path's actions: what a matched megaflow does to a frame, the way
 * OVS's odp-execute.c and packets.c (OVS 3.1) do it, to the bit.
 *
 * A flow's actions are a fixed sequence of optional stages (the order of
 * AFXDP_ACT_* in flow_layout.h): L4 ports, L3 fields, Ethernet addresses,
 * pop one VLAN tag, push one VLAN tag, then output or drop.  User space
 * offloads an OVS action list only when its effect equals that sequence
 * (rewrites of different headers commute; a pop before a push is kept in
 * that order); anything else is partially offloaded.
 *
 * Checksums are updated incrementally with the exact arithmetic of OVS's
 * recalc_csum16/32/128() (lib/csum.c), including UDP's rule that a zero
 * checksum stays zero and a computed zero becomes 0xffff, so a frame leaves
 * the fast path with the bytes dpif-netdev would have produced.
 *
 * Frames the fast path cannot treat exactly as OVS would with these actions
 * (fragments or IPv6 extension headers under an L3/L4 rewrite, a port
 * rewrite on another protocol) are handed to OVS: afxdp_actions_check()
 * decides that before anything is changed.
 *
 * BPF only: included by the XDP program.
 */
#ifndef AFXDP_BPF_FLOW_ACTIONS_H
#define AFXDP_BPF_FLOW_ACTIONS_H

#include <linux/bpf.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bpf/flow/flow_layout.h"
#include "bpf/flow/parse.h"

/* ---- Checksums, as lib/csum.c -------------------------------------------- */

static __always_inline __u16 afxdp_csum_finish(__u32 partial)
{
    /* At most two folds: the sum of three 16-bit values is < 2^18. */
    partial = (partial & 0xffff) + (partial >> 16);
    partial = (partial & 0xffff) + (partial >> 16);
    return (__u16)~partial;
}

/* All values in network byte order; ones' complement arithmetic does not
 * care about byte order. */
static __always_inline __u16 afxdp_recalc_csum16(__u16 old_csum, __u16 old_u16,
                                                 __u16 new_u16)
{
    __u32 sum = (__u16)~old_csum + (__u16)~old_u16 + new_u16;
    return afxdp_csum_finish(sum);
}

static __always_inline __u16 afxdp_recalc_csum32(__u16 old_csum, __u32 old_u32,
                                                 __u32 new_u32)
{
    /* Network-order words in host registers: OVS splits the be32 as
     * "old_u32" (low 16 bits in memory order first) then "old_u32 >> 16". */
    return afxdp_recalc_csum16(
        afxdp_recalc_csum16(old_csum, (__u16)old_u32, (__u16)new_u32),
        (__u16)(old_u32 >> 16), (__u16)(new_u32 >> 16));
}

/* ---- Preconditions ------------------------------------------------------- */

/* 0 when every stage of 'a' can run on this frame exactly as OVS would run
 * it; otherwise the frame must go to OVS. */
static __always_inline int afxdp_actions_check(const struct afxdp_parsed *p,
                                               const struct afxdp_flow_actions *a)
{
    __u16 f = a->flags;

    if (f & (AFXDP_ACT_SET_TP | AFXDP_ACT_SET_IPV4 | AFXDP_ACT_SET_IPV6)) {
        if (!p->l3_off || p->key.nw_frag) {
            return -1;
        }
    }
    if (f & AFXDP_ACT_SET_TP) {
        /* The set names its protocol in the flow's match; a frame of
         * another protocol cannot be here, but check rather than write. */
        if (!p->l4_full || p->key.nw_proto != a->tp_proto) {
            return -1;
        }
    }
    if ((f & AFXDP_ACT_SET_IPV4) && p->key.dl_type != bpf_htons(ETH_P_IP)) {
        return -1;
    }
    if (f & AFXDP_ACT_SET_IPV6) {
        /* Extension headers change which checksum OVS updates (routing
         * headers, fragments); keep it simple and let OVS do those. */
        if (p->key.dl_type != bpf_htons(ETH_P_IPV6) ||
            p->l4_off != p->l3_off + 40) {
            return -1;
        }
    }
    return 0;
}

/* ---- Stages ----------------------------------------------------------------
 * Each re-derives its pointers from the context and checks bounds: the
 * verifier forgets them across helper calls, and the offsets came from the
 * parser. */

/* The L4 checksum field of the frame, or NULL when OVS would not update
 * one for this protocol. */
static __always_inline __u16 *afxdp_l4_csum(void *data, void *data_end,
                                            const struct afxdp_parsed *p)
{
    __u8 *l4 = data + (p->l4_off & 0x3fff);
    __u8 proto = p->key.nw_proto;
    int off;

    if (proto == AFXDP_IPPROTO_TCP) {
        off = 16;
    } else if (proto == AFXDP_IPPROTO_UDP) {
        off = 6;
    } else if (proto == AFXDP_IPPROTO_ICMPV6 &&
               p->key.dl_type == bpf_htons(ETH_P_IPV6)) {
        off = 2;
    } else {
        return 0;
    }
    if ((void *)(l4 + off + 2) > data_end) {
        return 0;
    }
    return (__u16 *)(l4 + off);
}

/* Applies a pseudo-header change of 'old' -> 'new' (one 32-bit word) to the
 * L4 checksum, keeping UDP's zero-means-none rule. */
static __always_inline void afxdp_l4_csum_update32(__u16 *csum, __u8 proto,
                                                   __u32 old, __u32 new)
{
    if (!csum) {
        return;
    }
    if (proto == AFXDP_IPPROTO_UDP) {
        if (*csum) {
            *csum = afxdp_recalc_csum32(*csum, old, new);
            if (!*csum) {
                *csum = 0xffff;
            }
        }
    } else {
        *csum = afxdp_recalc_csum32(*csum, old, new);
    }
}

static __always_inline int afxdp_set_tp(struct xdp_md *ctx,
                                        const struct afxdp_parsed *p,
                                        const struct afxdp_set_tp *s,
                                        __u8 proto)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u16 *ports = data + (p->l4_off & 0x3fff);
    __u16 *csum = afxdp_l4_csum(data, data_end, p);
    __u16 new_src, new_dst;

    if ((void *)(ports + 2) > data_end || !csum) {
        return -1;
    }
    new_src = (ports[0] & ~s->src_mask) | (s->src & s->src_mask);
    new_dst = (ports[1] & ~s->dst_mask) | (s->dst & s->dst_mask);
    if (proto == AFXDP_IPPROTO_UDP && !*csum) {
        ports[0] = new_src;
        ports[1] = new_dst;
        return 0;
    }
    /* packet_set_port(): only a changed port touches the checksum. */
    if (ports[0] != new_src) {
        *csum = afxdp_recalc_csum16(*csum, ports[0], new_src);
        ports[0] = new_src;
    }
    if (ports[1] != new_dst) {
        *csum = afxdp_recalc_csum16(*csum, ports[1], new_dst);
        ports[1] = new_dst;
    }
    if (proto == AFXDP_IPPROTO_UDP && !*csum) {
        *csum = 0xffff;
    }
    return 0;
}

static __always_inline int afxdp_set_ipv4(struct xdp_md *ctx,
                                          const struct afxdp_parsed *p,
                                          const struct afxdp_set_ipv4 *s)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct iphdr *ip = data + (p->l3_off & 0x3fff);
    __u16 *l4_csum = afxdp_l4_csum(data, data_end, p);
    __u8 proto = p->key.nw_proto;
    __u32 old, new;

    if ((void *)(ip + 1) > data_end) {
        return -1;
    }
    /* odp_set_ipv4(): addresses update the L4 checksum (TCP, UDP) and the
     * IP checksum; TOS and TTL the IP checksum only. */
    if (s->src_mask) {
        old = ip->saddr;
        new = (old & ~s->src_mask) | (s->src & s->src_mask);
        if (old != new) {
            afxdp_l4_csum_update32(l4_csum, proto, old, new);
            ip->check = afxdp_recalc_csum32(ip->check, old, new);
            ip->saddr = new;
        }
    }
    if (s->dst_mask) {
        old = ip->daddr;
        new = (old & ~s->dst_mask) | (s->dst & s->dst_mask);
        if (old != new) {
            afxdp_l4_csum_update32(l4_csum, proto, old, new);
            ip->check = afxdp_recalc_csum32(ip->check, old, new);
            ip->daddr = new;
        }
    }
    if (s->tos_mask) {
        __u8 tos = (ip->tos & ~s->tos_mask) | (s->tos & s->tos_mask);
        if (tos != ip->tos) {
            ip->check = afxdp_recalc_csum16(ip->check, bpf_htons(ip->tos),
                                            bpf_htons(tos));
            ip->tos = tos;
        }
    }
    if (s->ttl_mask) {
        __u8 ttl = (ip->ttl & ~s->ttl_mask) | (s->ttl & s->ttl_mask);
        if (ttl != ip->ttl) {
            ip->check = afxdp_recalc_csum16(
                ip->check, bpf_htons(ip->ttl << 8), bpf_htons(ttl << 8));
            ip->ttl = ttl;
        }
    }
    return 0;
}

/* One IPv6 address, masked: 'addr' points into the header. */
static __always_inline void afxdp_set_ipv6_addr(__u32 *addr, const __u8 *val,
                                                const __u8 *mask, __u16 *csum,
                                                __u8 proto)
{
    __u32 new[4];
    int i, changed = 0;

#pragma unroll
    for (i = 0; i < 4; i++) {
        __u32 v, m;
        __builtin_memcpy(&v, val + 4 * i, 4);
        __builtin_memcpy(&m, mask + 4 * i, 4);
        new[i] = (addr[i] & ~m) | (v & m);
        changed |= new[i] != addr[i];
    }
    if (!changed) {
        return;
    }
    /* packet_update_csum128(): word by word, UDP's zero rule once. */
    if (csum && !(proto == AFXDP_IPPROTO_UDP && !*csum)) {
        __u16 c = *csum;
#pragma unroll
        for (i = 0; i < 4; i++) {
            c = afxdp_recalc_csum32(c, addr[i], new[i]);
        }
        if (proto == AFXDP_IPPROTO_UDP && !c) {
            c = 0xffff;
        }
        *csum = c;
    }
#pragma unroll
    for (i = 0; i < 4; i++) {
        addr[i] = new[i];
    }
}

static __always_inline int afxdp_set_ipv6(struct xdp_md *ctx,
                                          const struct afxdp_parsed *p,
                                          const struct afxdp_set_ipv6 *s)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ipv6hdr *ip = data + (p->l3_off & 0x3fff);
    __u16 *l4_csum = afxdp_l4_csum(data, data_end, p);
    __u32 *flow;
    __u32 old_fl, tc, label;

    if ((void *)(ip + 1) > data_end) {
        return -1;
    }
    /* packet_set_ipv6(): both addresses with the L4 checksum (TCP, UDP,
     * ICMPv6), then traffic class, label and hop limit, which no checksum
     * covers. */
    afxdp_set_ipv6_addr((__u32 *)&ip->saddr, s->src, s->src_mask, l4_csum,
                        p->key.nw_proto);
    afxdp_set_ipv6_addr((__u32 *)&ip->daddr, s->dst, s->dst_mask, l4_csum,
                        p->key.nw_proto);
    flow = (__u32 *)ip;
    old_fl = bpf_ntohl(*flow);
    tc = (((old_fl >> 20) & 0xff) & ~s->tclass_mask) |
         (s->tclass & s->tclass_mask);
    label = ((old_fl & 0xfffff) & ~bpf_ntohl(s->label_mask)) |
            (bpf_ntohl(s->label) & bpf_ntohl(s->label_mask));
    *flow = bpf_htonl((old_fl & 0xf0000000) | (tc << 20) | (label & 0xfffff));
    ip->hop_limit = (ip->hop_limit & ~s->hlimit_mask) |
                    (s->hlimit & s->hlimit_mask);
    return 0;
}

static __always_inline int afxdp_set_eth(struct xdp_md *ctx,
                                         const struct afxdp_set_eth *s)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u8 *eth = data;
    int i;

    if ((void *)(eth + 12) > data_end) {
        return -1;
    }
#pragma unroll
    for (i = 0; i < 6; i++) {
        eth[i] = (eth[i] & ~s->dst_mask[i]) | (s->dst[i] & s->dst_mask[i]);
        eth[6 + i] =
            (eth[6 + i] & ~s->src_mask[i]) | (s->src[i] & s->src_mask[i]);
    }
    return 0;
}

/* eth_pop_vlan(): a frame without a tag is left alone. */
static __always_inline int afxdp_pop_vlan(struct xdp_md *ctx,
                                          const struct afxdp_parsed *p)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u8 macs[12];

    if (!p->has_vlan) {
        return 0;
    }
    if (data + 16 > data_end) {
        return -1;
    }
    __builtin_memcpy(macs, data, 12);
    __builtin_memcpy(data + 4, macs, 12);
    return bpf_xdp_adjust_head(ctx, 4) ? -1 : 0;
}

/* eth_push_vlan(): the new tag goes right after the addresses. */
static __always_inline int afxdp_push_vlan(struct xdp_md *ctx, __be16 tpid,
                                           __be16 tci)
{
    void *data, *data_end;
    __u8 macs[12];
    __be16 *tag;

    if (bpf_xdp_adjust_head(ctx, -4)) {
        return -1;
    }
    data = (void *)(long)ctx->data;
    data_end = (void *)(long)ctx->data_end;
    if (data + 18 > data_end) {
        return -1;
    }
    __builtin_memcpy(macs, data + 4, 12);
    __builtin_memcpy(data, macs, 12);
    tag = data + 12;
    tag[0] = tpid;
    tag[1] = tci;
    return 0;
}

/* Runs the rewriting stages of 'a' on a frame that passed
 * afxdp_actions_check().  Returns 0, or -1 if a stage could not run (the
 * caller drops the frame: it may be half rewritten).  A global function,
 * verified once on its own. */
__attribute__((noinline)) int afxdp_actions_apply(
    struct xdp_md *ctx, const struct afxdp_parsed *p,
    const struct afxdp_flow_actions *a)
{
    __u16 f;

    if (!p || !a) {
        return -1;
    }
    f = a->flags;

    if ((f & AFXDP_ACT_SET_TP) && afxdp_set_tp(ctx, p, &a->tp, a->tp_proto)) {
        return -1;
    }
    if ((f & AFXDP_ACT_SET_IPV4) && afxdp_set_ipv4(ctx, p, &a->l3.ipv4)) {
        return -1;
    }
    if ((f & AFXDP_ACT_SET_IPV6) && afxdp_set_ipv6(ctx, p, &a->l3.ipv6)) {
        return -1;
    }
    if ((f & AFXDP_ACT_SET_ETH) && afxdp_set_eth(ctx, &a->eth)) {
        return -1;
    }
    if ((f & AFXDP_ACT_POP_VLAN) && afxdp_pop_vlan(ctx, p)) {
        return -1;
    }
    if ((f & AFXDP_ACT_PUSH_VLAN) &&
        afxdp_push_vlan(ctx, a->push_tpid, a->push_tci)) {
        return -1;
    }
    return 0;
}

#endif /* AFXDP_BPF_FLOW_ACTIONS_H */
