/*
 * The fast path's parser: one XDP frame -> struct afxdp_flow_key, with the
 * value OVS's miniflow_extract() (lib/flow.c, OVS 3.1) gives each field.
 *
 * Exactness is the whole point: a megaflow matches in XDP only if it would
 * match in dpif-netdev.  So wherever OVS would stop early and leave fields
 * zero, or parse something we do not (a second VLAN tag, LLC/SNAP, IGMP,
 * IPv6 neighbour discovery, ARP other than Ethernet/IPv4), the parser says
 * PUNT and the frame goes to OVS.  Wherever OVS extracts nothing for a
 * protocol (unknown ethertypes, MPLS, NSH, IP protocols without ports), the
 * key's fields stay zero exactly as OVS's do: user space refuses flows that
 * match fields we never extract (MPLS labels, NSH, ...).
 *
 * Layers, each a small function that checks its bounds before reading:
 * Ethernet, one VLAN tag, then IPv4 / IPv6 (with extension headers and
 * fragments, as OVS does) / ARP, then TCP, UDP, SCTP, ICMP, ICMPv6.
 *
 * BPF only: included by the XDP program.
 */
#ifndef AFXDP_BPF_FLOW_PARSE_H
#define AFXDP_BPF_FLOW_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bpf/flow/flow_layout.h"

/* Where the layers start, for the actions. */
struct afxdp_parsed {
    struct afxdp_flow_key key;
    __u16 l3_off;    /* Offset of the IP header. */
    __u16 l4_off;    /* Offset of the L4 header (IP only). */
    __u16 ip_end;    /* Offset one past the IP datagram (no L2 padding). */
    __u8 has_vlan;
    __u8 l4_full;    /* TCP/UDP header complete and not a later fragment. */
};

enum afxdp_parse_result {
    AFXDP_PARSE_OK,
    AFXDP_PARSE_PUNT, /* OVS must see this frame. */
};

/* IPv6 extension headers followed before giving up (OVS has no limit; a
 * frame with more goes to OVS). */
#define AFXDP_IPV6_MAX_EXT 6

#define AFXDP_ETH_P_8021Q 0x8100
#define AFXDP_ETH_P_8021AD 0x88A8
#define AFXDP_VLAN_CFI 0x1000
#define AFXDP_ETH_TYPE_MIN 0x600

#define AFXDP_IPPROTO_HOPOPTS 0
#define AFXDP_IPPROTO_ICMP 1
#define AFXDP_IPPROTO_IGMP 2
#define AFXDP_IPPROTO_TCP 6
#define AFXDP_IPPROTO_UDP 17
#define AFXDP_IPPROTO_ROUTING 43
#define AFXDP_IPPROTO_FRAGMENT 44
#define AFXDP_IPPROTO_AH 51
#define AFXDP_IPPROTO_ICMPV6 58
#define AFXDP_IPPROTO_DSTOPTS 60
#define AFXDP_IPPROTO_SCTP 132

#define AFXDP_ND_NEIGHBOR_SOLICIT 135
#define AFXDP_ND_NEIGHBOR_ADVERT 136

static __always_inline int afxdp_is_vlan(__be16 type)
{
    return type == bpf_htons(AFXDP_ETH_P_8021Q) ||
           type == bpf_htons(AFXDP_ETH_P_8021AD);
}

/* Ethernet and at most one VLAN tag.  Returns the L3 offset, or -1. */
static __always_inline int afxdp_parse_l2(void *data, void *data_end,
                                          struct afxdp_parsed *p)
{
    struct ethhdr *eth = data;
    __be16 type;
    int off = sizeof(*eth);

    if ((void *)(eth + 1) > data_end) {
        return -1; /* OVS drops runts; let it. */
    }
    __builtin_memcpy(p->key.dl_dst, eth->h_dest, 6);
    __builtin_memcpy(p->key.dl_src, eth->h_source, 6);
    type = eth->h_proto;

    if (afxdp_is_vlan(type)) {
        /* OVS reads a tag only when the tag and the next type fit. */
        __be16 *tag = data + off;
        if ((void *)(tag + 2) > data_end) {
            return -1;
        }
        p->key.vlan_tpid = type;
        p->key.vlan_tci = tag[0] | bpf_htons(AFXDP_VLAN_CFI);
        type = tag[1];
        off += 4;
        p->has_vlan = 1;
        if (afxdp_is_vlan(type)) {
            return -1; /* A second tag: OVS parses it, we do not. */
        }
    }
    if (bpf_ntohs(type) < AFXDP_ETH_TYPE_MIN) {
        return -1; /* 802.3 length: OVS looks for LLC/SNAP. */
    }
    p->key.dl_type = type;
    return off;
}

/* TCP, UDP, SCTP, ICMP or ICMPv6 at 'off', within 'end' (the end of the IP
 * datagram).  A header OVS would find too short is a punt: OVS would leave
 * the fields zero, which the key cannot tell from real zeros. */
static __always_inline int afxdp_parse_l4(void *data, void *data_end,
                                          struct afxdp_parsed *p, int off,
                                          int end)
{
    __u8 proto = p->key.nw_proto;
    int size = end - off;
    __u8 *l4 = data + off;

    p->l4_off = off;
    if (proto == AFXDP_IPPROTO_TCP) {
        __u32 doff;
        if (size < 20 || (void *)(l4 + 20) > data_end) {
            return AFXDP_PARSE_PUNT;
        }
        doff = (l4[12] >> 4) * 4;
        if (doff < 20 || (int)doff > size) {
            return AFXDP_PARSE_PUNT;
        }
        __builtin_memcpy(&p->key.tp_src, l4, 4);
        p->key.tcp_flags = bpf_htons(((l4[12] << 8) | l4[13]) & 0x0fff);
        p->l4_full = 1;
    } else if (proto == AFXDP_IPPROTO_UDP) {
        if (size < 8 || (void *)(l4 + 8) > data_end) {
            return AFXDP_PARSE_PUNT;
        }
        __builtin_memcpy(&p->key.tp_src, l4, 4);
        p->l4_full = 1;
    } else if (proto == AFXDP_IPPROTO_SCTP) {
        if (size < 12 || (void *)(l4 + 12) > data_end) {
            return AFXDP_PARSE_PUNT;
        }
        __builtin_memcpy(&p->key.tp_src, l4, 4);
    } else if (proto == AFXDP_IPPROTO_ICMP) {
        /* OVS reads ICMP, ICMPv6 and IGMP by protocol number alone, in
         * IPv4 and IPv6 alike; so do we.  Type and code only once
         * ICMP_HEADER_LEN (8) bytes are there, as OVS. */
        if (size < 8 || (void *)(l4 + 8) > data_end) {
            return AFXDP_PARSE_PUNT;
        }
        p->key.tp_src = bpf_htons(l4[0]);
        p->key.tp_dst = bpf_htons(l4[1]);
    } else if (proto == AFXDP_IPPROTO_ICMPV6) {
        /* Type, code, checksum and the 4 data bytes. */
        if (size < 8 || (void *)(l4 + 8) > data_end) {
            return AFXDP_PARSE_PUNT;
        }
        if (l4[1] == 0 && (l4[0] == AFXDP_ND_NEIGHBOR_SOLICIT ||
                           l4[0] == AFXDP_ND_NEIGHBOR_ADVERT)) {
            return AFXDP_PARSE_PUNT; /* OVS extracts ND fields. */
        }
        p->key.tp_src = bpf_htons(l4[0]);
        p->key.tp_dst = bpf_htons(l4[1]);
    } else if (proto == AFXDP_IPPROTO_IGMP) {
        return AFXDP_PARSE_PUNT; /* OVS extracts the IGMP group. */
    }
    return AFXDP_PARSE_OK;
}

static __always_inline int afxdp_parse_ipv4(void *data, void *data_end,
                                            struct afxdp_parsed *p, int off)
{
    struct iphdr *ip = data + off;
    int size = (int)(data_end - data) - off;
    int ihl, tot_len;
    __u16 frag;

    /* ipv4_sanity_check(): no version check there either. */
    if ((void *)(ip + 1) > data_end) {
        return AFXDP_PARSE_PUNT;
    }
    ihl = ip->ihl * 4;
    tot_len = bpf_ntohs(ip->tot_len);
    if (ihl < 20 || ihl > size || tot_len > size || ihl > tot_len) {
        return AFXDP_PARSE_PUNT;
    }
    p->l3_off = off;
    p->ip_end = off + tot_len;
    __builtin_memcpy(&p->key.addr[AFXDP_ADDR_IPV4_SRC], &ip->saddr, 8);
    p->key.nw_tos = ip->tos;
    p->key.nw_ttl = ip->ttl;
    p->key.nw_proto = ip->protocol;

    frag = bpf_ntohs(ip->frag_off);
    if (frag & 0x3fff) { /* MF or an offset: a fragment. */
        p->key.nw_frag = AFXDP_NW_FRAG_ANY;
        if (frag & 0x1fff) {
            p->key.nw_frag |= AFXDP_NW_FRAG_LATER;
            return AFXDP_PARSE_OK; /* No L4 header in a later fragment. */
        }
    }
    return afxdp_parse_l4(data, data_end, p, off + ihl, off + tot_len);
}

/* One IPv6 extension header at '*off' as parse_ipv6_ext_hdrs__() reads it.
 * Returns 1 when the chain goes on, 0 when it ended, -1 to punt. */
static __always_inline int afxdp_ipv6_ext(void *data, void *data_end,
                                          struct afxdp_parsed *p, int *off,
                                          int end)
{
    __u8 nxt = p->key.nw_proto;
    __u8 *h = data + *off;
    int len;

    if (nxt != AFXDP_IPPROTO_HOPOPTS && nxt != AFXDP_IPPROTO_ROUTING &&
        nxt != AFXDP_IPPROTO_DSTOPTS && nxt != AFXDP_IPPROTO_AH &&
        nxt != AFXDP_IPPROTO_FRAGMENT) {
        return 0;
    }
    if (end - *off < 8 || (void *)(h + 8) > data_end) {
        return -1;
    }
    if (nxt == AFXDP_IPPROTO_FRAGMENT) {
        __u16 offlg = (h[2] << 8) | h[3];
        p->key.nw_proto = h[0];
        *off += 8;
        if (offlg) {
            p->key.nw_frag = AFXDP_NW_FRAG_ANY;
            if (offlg & 0xfff8) {
                /* OVS reports a later fragment's protocol as 44. */
                p->key.nw_frag |= AFXDP_NW_FRAG_LATER;
                p->key.nw_proto = AFXDP_IPPROTO_FRAGMENT;
                return 0;
            }
        }
        return 1;
    }
    len = nxt == AFXDP_IPPROTO_AH ? (h[1] + 2) * 4 : (h[1] + 1) * 8;
    if (end - *off < len) {
        return -1;
    }
    p->key.nw_proto = h[0];
    *off += len;
    return 1;
}

static __always_inline int afxdp_parse_ipv6(void *data, void *data_end,
                                            struct afxdp_parsed *p, int off)
{
    struct ipv6hdr *ip = data + off;
    int size = (int)(data_end - data) - off;
    int end, i, r;
    __u32 first;

    if ((void *)(ip + 1) > data_end) {
        return AFXDP_PARSE_PUNT;
    }
    end = off + 40 + bpf_ntohs(ip->payload_len);
    if (40 + bpf_ntohs(ip->payload_len) > size) {
        return AFXDP_PARSE_PUNT;
    }
    p->l3_off = off;
    p->ip_end = end;
    __builtin_memcpy(&p->key.addr[AFXDP_ADDR_IPV6_SRC], &ip->saddr, 32);
    first = bpf_ntohl(*(__be32 *)ip);
    p->key.nw_tos = (first >> 20) & 0xff;
    p->key.nw_ttl = ip->hop_limit;
    p->key.nw_proto = ip->nexthdr;
    p->key.ipv6_label = bpf_htonl(first & 0xfffff);

    off += 40;
    /* One call per extension header, and one more that sees the header
     * after the last: AFXDP_IPV6_MAX_EXT + 1 calls. */
    for (i = 0; i <= AFXDP_IPV6_MAX_EXT; i++) {
        r = afxdp_ipv6_ext(data, data_end, p, &off, end);
        if (r < 0) {
            return AFXDP_PARSE_PUNT;
        }
        if (r == 0) {
            break;
        }
    }
    if (i > AFXDP_IPV6_MAX_EXT) {
        return AFXDP_PARSE_PUNT;
    }
    if (p->key.nw_frag & AFXDP_NW_FRAG_LATER) {
        return AFXDP_PARSE_OK;
    }
    return afxdp_parse_l4(data, data_end, p, off, end);
}

/* ARP and RARP for Ethernet/IPv4, the only kind OVS extracts. */
static __always_inline int afxdp_parse_arp(void *data, void *data_end,
                                           struct afxdp_parsed *p, int off)
{
    __u8 *a = data + off;

    if ((void *)(a + 28) > data_end) {
        return AFXDP_PARSE_PUNT;
    }
    if (a[0] != 0 || a[1] != 1 || a[2] != 0x08 || a[3] != 0x00 ||
        a[4] != 6 || a[5] != 4 || a[6] != 0) {
        /* hrd 1, pro IPv4, hln 6, pln 4, and an opcode that fits the
         * byte OVS keeps. */
        return AFXDP_PARSE_PUNT;
    }
    p->key.nw_proto = a[7];
    __builtin_memcpy(&p->key.addr[AFXDP_ADDR_IPV4_SRC], a + 14, 4);
    __builtin_memcpy(&p->key.addr[AFXDP_ADDR_IPV4_DST], a + 24, 4);
    __builtin_memcpy(&p->key.addr[AFXDP_ADDR_ARP_SHA], a + 8, 6);
    __builtin_memcpy(&p->key.addr[AFXDP_ADDR_ARP_THA], a + 18, 6);
    return AFXDP_PARSE_OK;
}

/* Fills 'p' from the frame.  A global function: the verifier checks it
 * once, not once per path of its caller. */
__attribute__((noinline)) int afxdp_parse(struct xdp_md *ctx,
                                          struct afxdp_parsed *p)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    int off;

    if (!p) {
        return AFXDP_PARSE_PUNT;
    }
    __builtin_memset(p, 0, sizeof(*p));
    off = afxdp_parse_l2(data, data_end, p);
    if (off < 0) {
        return AFXDP_PARSE_PUNT;
    }
    if (p->key.dl_type == bpf_htons(ETH_P_IP)) {
        return afxdp_parse_ipv4(data, data_end, p, off);
    }
    if (p->key.dl_type == bpf_htons(ETH_P_IPV6)) {
        return afxdp_parse_ipv6(data, data_end, p, off);
    }
    if (p->key.dl_type == bpf_htons(ETH_P_ARP) ||
        p->key.dl_type == bpf_htons(ETH_P_RARP)) {
        return afxdp_parse_arp(data, data_end, p, off);
    }
    /* Anything else: OVS extracts no L3 fields from it either. */
    return AFXDP_PARSE_OK;
}

#endif /* AFXDP_BPF_FLOW_PARSE_H */
