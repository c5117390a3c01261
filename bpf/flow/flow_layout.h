/*
 * The XDP fast path's data layout, shared by the BPF program (bpf/flow/)
 * and the user-space side that fills its maps (netdev-afxdp/offload/).
 * Valid C for the BPF target, C and C++; defined once so that both sides
 * can never disagree on an offset.
 *
 * Megaflows in XDP.  dpif-netdev classifies a packet by a tuple-space
 * search: for each mask in use, the packet's flow key ANDed with the mask
 * is looked up in a hash table.  The fast path does the same with
 *  - struct afxdp_flow_key: the fields the XDP parser extracts, each with
 *    exactly the value OVS's miniflow_extract() gives it (bpf/flow/parse.h);
 *  - up to AFXDP_FLOW_MAX_MASKS masks (struct afxdp_flow_key too), tried in
 *    the order user space ranks them by hits;
 *  - one hash map from masked key (with the mask's slot in 'mask_id', so
 *    that equal masked keys of different masks never collide) to the
 *    flow's actions, struct afxdp_flow_actions.  The map is keyed by a
 *    64-bit hash of the masked key's words that the mask uses
 *    (afxdp_flow_hash() below, computed the same way on both sides) and
 *    holds the whole masked key, which the program compares: the kernel's
 *    own hash of a 72-byte key cost more than all the rest of a lookup
 *    (measured: 45 ns of a 77 ns run), a 64-bit key hashes in a few.  Two
 *    megaflows whose hashes collide cannot both be installed; user space
 *    refuses the second one.
 * A miss, or anything the program cannot do exactly as dpif-netdev would,
 * sends the frame to the AF_XDP socket: dpif-netdev then decides.
 *
 * Key layout.  Several OVS fields share bytes where no packet can have both
 * (IPv4 and ARP addresses and IPv6 addresses in 'addr'): user space offloads
 * a flow that matches one of them only if the flow also matches dl_type
 * exactly, so keys of different packet types never compare equal.
 * All multi-byte fields are in network byte order, as in the packet.
 */
#ifndef AFXDP_BPF_FLOW_LAYOUT_H
#define AFXDP_BPF_FLOW_LAYOUT_H

#include <linux/types.h>

#define AFXDP_FLOW_MAX_MASKS 32
/* Output ports: keys of the devmap, one slot per afxdp port that may be a
 * redirect target. */
#define AFXDP_FLOW_MAX_OUTPUTS 256

/* OVS's FLOW_NW_FRAG_* (lib/packets.h), as stored in afxdp_flow_key. */
#define AFXDP_NW_FRAG_ANY 0x1
#define AFXDP_NW_FRAG_LATER 0x2

struct afxdp_flow_key {
    /* Word 0. */
    __u8 mask_id; /* Slot of the mask this key was masked with. */
    __u8 nw_frag; /* AFXDP_NW_FRAG_*. */
    __u8 nw_tos;  /* IPv4 TOS, IPv6 traffic class. */
    __u8 nw_ttl;  /* IPv4 TTL, IPv6 hop limit. */
    __u8 nw_proto; /* IP protocol; low byte of the ARP opcode. */
    __u8 pad0;
    __be16 dl_type;
    /* Word 1. */
    __be16 vlan_tci;  /* OVS style: the CFI bit set when a tag is present. */
    __be16 vlan_tpid; /* 0 without a tag. */
    __be16 tp_src;    /* L4 ports; ICMP/ICMPv6 type. */
    __be16 tp_dst;    /* L4 ports; ICMP/ICMPv6 code. */
    /* Words 2-3. */
    __u8 dl_dst[6];
    __u8 dl_src[6];
    __be16 tcp_flags; /* TCP control bits, 12 bits. */
    __be16 pad1;
    /* Words 4-7: IPv4 src, dst in bytes 0-7; IPv6 src in 0-15, dst in
     * 16-31; ARP spa, tpa in 0-7 and sha, tha in 8-19. */
    __u8 addr[32];
    /* Word 8. */
    __be32 ipv6_label; /* 20 bits. */
    __be32 pad2;
};

#define AFXDP_FLOW_KEY_WORDS (sizeof(struct afxdp_flow_key) / 8)

/* Offsets in 'addr'. */
#define AFXDP_ADDR_IPV4_SRC 0
#define AFXDP_ADDR_IPV4_DST 4
#define AFXDP_ADDR_IPV6_SRC 0
#define AFXDP_ADDR_IPV6_DST 16
#define AFXDP_ADDR_ARP_SHA 8
#define AFXDP_ADDR_ARP_THA 14

/* afxdp_flow_actions.flags: the stages a flow runs, always in the order
 * listed (user space only offloads action lists whose effect equals that
 * order; bpf/flow/actions.h).  Without AFXDP_ACT_OUTPUT or AFXDP_ACT_TO_OVS
 * the frame is dropped. */
#define AFXDP_ACT_SET_TP 0x0001   /* TCP/UDP ports, masked. */
#define AFXDP_ACT_SET_IPV4 0x0002 /* src, dst, tos, ttl, masked. */
#define AFXDP_ACT_SET_IPV6 0x0004 /* src, dst, tclass, hlimit, label. */
#define AFXDP_ACT_SET_ETH 0x0008  /* src, dst, masked. */
#define AFXDP_ACT_POP_VLAN 0x0010
#define AFXDP_ACT_PUSH_VLAN 0x0020
#define AFXDP_ACT_OUTPUT 0x0040 /* Redirect to devmap slot 'out_slot'. */
/* The stages that change the frame. */
#define AFXDP_ACT_REWRITES                                                    \
    (AFXDP_ACT_SET_TP | AFXDP_ACT_SET_IPV4 | AFXDP_ACT_SET_IPV6 |           \
     AFXDP_ACT_SET_ETH | AFXDP_ACT_POP_VLAN | AFXDP_ACT_PUSH_VLAN)
/* Partial offload: the frame goes to OVS, tagged with 'mark', and
 * dpif-netdev runs the flow's actions without a lookup of its own. */
#define AFXDP_ACT_TO_OVS 0x0080

struct afxdp_set_eth {
    __u8 dst[6];
    __u8 dst_mask[6];
    __u8 src[6];
    __u8 src_mask[6];
};

struct afxdp_set_ipv4 {
    __be32 src;
    __be32 src_mask;
    __be32 dst;
    __be32 dst_mask;
    __u8 tos;
    __u8 tos_mask;
    __u8 ttl;
    __u8 ttl_mask;
};

struct afxdp_set_ipv6 {
    __u8 src[16];
    __u8 src_mask[16];
    __u8 dst[16];
    __u8 dst_mask[16];
    __be32 label; /* 20 bits. */
    __be32 label_mask;
    __u8 tclass;
    __u8 tclass_mask;
    __u8 hlimit;
    __u8 hlimit_mask;
};

struct afxdp_set_tp {
    __be16 src;
    __be16 src_mask;
    __be16 dst;
    __be16 dst_mask;
};

/* Which 64-bit words of a key a mask uses (bit i: word i), word 0 always:
 * it holds mask_id. */
static inline __u32 afxdp_mask_words(const struct afxdp_flow_key *mask)
{
    const __u64 *m = (const __u64 *)mask;
    __u32 words = 1;
    int i;

    for (i = 1; i < (int)AFXDP_FLOW_KEY_WORDS; i++) {
        if (m[i]) {
            words |= 1u << i;
        }
    }
    return words;
}

/* The flow table's key for a masked key (with its mask_id set): a
 * multiply-rotate mix of the words 'words' names.  Defined here, once, so
 * that the XDP program and user space hash alike. */
static inline __u64 afxdp_flow_hash(const struct afxdp_flow_key *masked,
                                    __u32 words)
{
    const __u64 *k = (const __u64 *)masked;
    __u64 h = 0x9e3779b97f4a7c15ULL;
    int i;

#if defined(__clang__)
#pragma unroll
#endif
    for (i = 0; i < (int)AFXDP_FLOW_KEY_WORDS; i++) {
        if (words & (1u << i)) {
            h ^= k[i] * 0xc2b2ae3d27d4eb4fULL;
            h = ((h << 31) | (h >> 33)) * 0x9e3779b185ebca87ULL;
        }
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 33);
}

struct afxdp_flow_actions {
    __u32 flow_id; /* Index of the flow's counters in flow_stats. */
    __u32 mark;    /* OVS flow mark, for frames handed to OVS. */
    __u16 flags;   /* AFXDP_ACT_*. */
    __u16 out_slot;
    __be16 push_tpid;
    __be16 push_tci; /* As written to the tag (no OVS CFI bit). */
    __u8 tp_proto;   /* AFXDP_ACT_SET_TP: TCP or UDP. */
    __u8 pad[3];
    struct afxdp_set_eth eth;
    struct afxdp_set_tp tp;
    union {
        struct afxdp_set_ipv4 ipv4;
        struct afxdp_set_ipv6 ipv6;
    } l3;
};

/* A flow table entry: the masked key, compared on lookup, and the flow's
 * actions. */
struct afxdp_flow_entry {
    struct afxdp_flow_key key;
    struct afxdp_flow_actions actions;
};

/* Per-flow counters, one copy per CPU.  Only frames the fast path executed
 * entirely are counted: frames it hands to OVS are counted by OVS. */
struct afxdp_flow_stats {
    __u64 packets;
    __u64 bytes;
    __u64 used_jiffies; /* The kernel's jiffies at the last frame. */
    __u64 tcp_flags;    /* OR of the frames' tcp_flags, network order. */
};

/* The program's own counters (one copy per CPU): frames that did not take
 * the fast path, by reason.  None is touched on the fast path itself. */
struct afxdp_xdp_counters {
    __u64 to_ovs_miss;      /* No megaflow matched. */
    __u64 to_ovs_partial;   /* Matched a partially offloaded flow. */
    __u64 to_ovs_parse;     /* Not parsed exactly like OVS would: punted. */
    __u64 to_ovs_action;    /* Actions need OVS for this frame. */
    __u64 to_ovs_fallback;  /* Output port cannot take redirects now. */
    __u64 meta_failed;      /* bpf_xdp_adjust_meta() refused. */
    __u64 action_failed;    /* Headroom change failed after the redirect
                             * was chosen: the frame was dropped. */
    __u64 to_ovs_multi_buffer; /* Larger than one buffer: never run here. */
};

/* The fast path's table of masks, in the program's global data (mmapped by
 * user space).  'order' lists the first 'n_masks' slots to try, best
 * first.  User space never rewrites a slot that 'order' lists or listed
 * less than a second ago (see netdev-afxdp/offload/mask_table.h). */
struct afxdp_mask_table {
    __u32 n_masks;
    __u8 order[AFXDP_FLOW_MAX_MASKS];
    __u32 pad;
    struct afxdp_flow_key masks[AFXDP_FLOW_MAX_MASKS];
    __u32 words[AFXDP_FLOW_MAX_MASKS]; /* afxdp_mask_words() of each. */
};

#endif /* AFXDP_BPF_FLOW_LAYOUT_H */
