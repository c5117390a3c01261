// SPDX-License-Identifier: GPL-2.0
/*
 * Transmit side of afxdp-pktgen, for both of its XDP engines (see the
 * design note in pktgen.cpp).  live: the generator runs pktgen_tx with
 * BPF_PROG_TEST_RUN and BPF_F_TEST_XDP_LIVE_FRAMES: the kernel builds each
 * frame in a page pool page from the template passed as data_in, runs the
 * program on it and turns XDP_TX into a redirect out of the ingress device
 * (net/bpf/test_run.c, xdp_test_run_batch), so every frame leaves through
 * the generator's veth towards its peer without any copy from user space.
 * devmap: pktgen_fanout copies seed frames with a broadcast redirect and
 * pktgen_egress, the devmap's egress program, does to each copy what
 * pktgen_tx does to a live frame (generate()).
 *
 * The pages are recycled without being rewritten from the template, so a
 * frame may still hold what an earlier run of this program wrote there.
 * Every field that varies is therefore written whole, and checksums are
 * derived from the template's checksum (given in .rodata) rather than from
 * whatever the page holds: RFC 1624 incremental update, template -> frame.
 *
 * A per-CPU counter numbers the frames: it picks the flow (UDP source port
 * and the low bits of the source address), the per-flow sequence number and
 * tells user space how many frames actually left.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <stdbool.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "pktgen_proto.h"

/* Set by user space before load; frozen, so the verifier sees constants. */
const volatile __u32 cfg_flows = 1;
const volatile __u32 cfg_seq = 0;
const volatile __u32 cfg_ipv6 = 0;
const volatile __u16 cfg_run = 0;
const volatile __u16 cfg_sport = 0;     /* host order, flow 0 */
const volatile __u32 cfg_saddr = 0;     /* host order, low 32 bits, flow 0 */
const volatile __u16 cfg_udp_csum = 0;  /* as stored in the template */
const volatile __u16 cfg_ip_csum = 0;   /* as stored in the template */
const volatile __u32 cfg_ifindex = 0;   /* the device the frames leave by */

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} tx_count SEC(".maps");

/* One's complement sum: adding ~old + new replaces 'old' by 'new'. */
static __always_inline __u32 csum_replace(__u32 sum, __u16 old, __u16 new)
{
    return sum + (__u16)~old + new;
}

static __always_inline __u32 csum_replace32(__u32 sum, __u32 old, __u32 new)
{
    sum = csum_replace(sum, old & 0xffff, new & 0xffff);
    return csum_replace(sum, old >> 16, new >> 16);
}

static __always_inline __u16 csum_fold(__u32 sum)
{
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (__u16)~sum;
}

static __always_inline int rewrite(struct xdp_md *ctx, __u64 n,
                                   const bool ipv6)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    const __u32 l4_off =
        PKTGEN_ETH_LEN + (ipv6 ? PKTGEN_IP6_LEN : PKTGEN_IP4_LEN);
    struct iphdr *ip4 = data + PKTGEN_ETH_LEN;
    struct ipv6hdr *ip6 = data + PKTGEN_ETH_LEN;
    struct udphdr *udp = data + l4_off;
    __u32 udp_sum = (__u16)~cfg_udp_csum;
    __u32 ip_sum = (__u16)~cfg_ip_csum;
    __u32 flow = 0;
    __u64 seq = n;

    if ((void *)(udp + 1) > data_end)
        return XDP_ABORTED;
    if (cfg_flows > 1) {
        flow = n % cfg_flows;
        seq = n / cfg_flows;
    }

    if (cfg_flows > 1) {
        __u16 old_port = bpf_htons(cfg_sport);
        __u16 new_port = bpf_htons((__u16)(cfg_sport + flow));
        __u32 old_addr = bpf_htonl(cfg_saddr);
        __u32 new_addr = bpf_htonl(cfg_saddr + flow);

        udp->source = new_port;
        udp_sum = csum_replace(udp_sum, old_port, new_port);
        /* The source address is in the UDP pseudo header too. */
        udp_sum = csum_replace32(udp_sum, old_addr, new_addr);
        if (ipv6) {
            ip6->saddr.in6_u.u6_addr32[3] = new_addr;
        } else {
            ip4->saddr = new_addr;
            ip_sum = csum_replace32(ip_sum, old_addr, new_addr);
            ip4->check = csum_fold(ip_sum);
        }
    }

    if (cfg_seq) {
        struct pktgen_seq_hdr *hdr = (void *)(udp + 1);
        __u16 stream = bpf_htons((__u16)bpf_get_smp_processor_id());
        __u16 flow_be = bpf_htons((__u16)flow);
        __u64 seq_be = bpf_cpu_to_be64(seq);

        if ((void *)(hdr + 1) > data_end)
            return XDP_ABORTED;
        /* The template holds zero in stream, flow and seq. */
        hdr->stream = stream;
        hdr->flow = flow_be;
        hdr->seq = seq_be;
        udp_sum = csum_replace(udp_sum, 0, stream);
        udp_sum = csum_replace(udp_sum, 0, flow_be);
        udp_sum = csum_replace32(udp_sum, 0, (__u32)seq_be);
        udp_sum = csum_replace32(udp_sum, 0, (__u32)(seq_be >> 32));
    }

    /* UDP sends a computed 0 as 0xffff (RFC 768). */
    udp->check = csum_fold(udp_sum) ?: 0xffff;
    return XDP_TX;
}

/* ---- --mix ------------------------------------------------------------
 *
 * Each frame's kind comes from cfg_mix[n % cfg_mix_len].  The page pool
 * pages keep whatever an earlier frame of any kind left in them, and the
 * kernel does not always restore a frame's length between runs (it resets
 * the context only when the head of the frame moved), so every kind sets
 * its length from whatever it finds and writes every byte it relies on;
 * the rest of the frame is leftover bytes, which is fine for garbage.
 * Valid frames carry UDP checksum 0 (legal for IPv4) because their payload
 * after the sequence header is leftover too.  Every other kind clears the
 * sequence magic so that no sink counts it.
 */
const volatile __u32 cfg_mix_len = 0;             /* 0: no --mix */
const volatile __u8 cfg_mix[PKTGEN_MIX_MAX] = {}; /* enum pktgen_kind */
const volatile __u32 cfg_valid_len = 0;           /* bytes */
const volatile __u32 cfg_max_len = 0;             /* template size */
/* The first PKTGEN_MIX_HEAD bytes of a valid frame of flow 0, seq 0. */
const volatile __u64 cfg_head[PKTGEN_MIX_HEAD / 8] = {};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, PKTGEN_KIND_N);
    __type(key, __u32);
    __type(value, __u64);
} mix_count SEC(".maps");

#define SEQ_MAGIC_OFF PKTGEN_PAYLOAD_OFF4

/* Sets the frame to 'len' bytes; 0 or -1. */
static __always_inline int set_len(struct xdp_md *ctx, __u32 len)
{
    int delta = (int)len - (int)(ctx->data_end - ctx->data);

    if (delta && bpf_xdp_adjust_tail(ctx, delta))
        return -1;
    return 0;
}

/* Writes the valid head (Ethernet, IPv4, UDP, sequence header) whole. */
static __always_inline int put_head(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u64 *w = data;

    if (data + PKTGEN_MIX_HEAD > data_end)
        return -1;
#pragma unroll
    for (int i = 0; i < PKTGEN_MIX_HEAD / 8; i++)
        w[i] = cfg_head[i];
    return 0;
}

/* Clears the sequence magic if the frame reaches it. */
static __always_inline void clear_magic(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u16 *magic = data + SEQ_MAGIC_OFF;

    if ((void *)(magic + 1) <= data_end)
        *magic = 0;
}

/* Random bytes over the first 64 bytes of the frame, or as far as it goes. */
static __always_inline void put_random(struct xdp_md *ctx, __u32 from)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;

#pragma unroll
    for (__u32 off = 0; off < 64; off += 4) {
        __u32 *p = data + off;
        if (off < from)
            continue;
        if ((void *)(p + 1) > data_end) {
            __u8 *b = data + off;
#pragma unroll
            for (int i = 0; i < 3; i++)
                if ((void *)(b + i + 1) <= data_end)
                    b[i] = (__u8)bpf_get_prandom_u32();
            break;
        }
        *p = bpf_get_prandom_u32();
    }
}

/* An Ethernet header from the valid head with EtherType 'proto'. */
static __always_inline int put_eth(struct xdp_md *ctx, __u16 proto)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    __u64 *w = data;

    if ((void *)(eth + 1) > data_end)
        return -1;
    w[0] = cfg_head[0];  /* destination and 2 bytes of source */
    __builtin_memcpy(eth->h_source + 2, (__u8 *)&cfg_head[1], 4);
    eth->h_proto = bpf_htons(proto);
    return 0;
}

static __always_inline int mix_valid(struct xdp_md *ctx, __u64 n)
{
    void *data, *data_end;
    struct iphdr *ip;
    struct udphdr *udp;
    struct pktgen_seq_hdr *hdr;
    __u32 flow = 0;
    __u64 seq = n;

    if (set_len(ctx, cfg_valid_len) || put_head(ctx))
        return XDP_ABORTED;
    data = (void *)(long)ctx->data;
    data_end = (void *)(long)ctx->data_end;
    ip = data + PKTGEN_ETH_LEN;
    udp = (void *)(ip + 1);
    hdr = (void *)(udp + 1);
    if ((void *)(hdr + 1) > data_end)
        return XDP_ABORTED;
    if (cfg_flows > 1) {
        __u32 old_addr = bpf_htonl(cfg_saddr);
        __u32 new_addr;

        flow = n % cfg_flows;
        seq = n / cfg_flows;
        new_addr = bpf_htonl(cfg_saddr + flow);
        udp->source = bpf_htons((__u16)(cfg_sport + flow));
        ip->saddr = new_addr;
        ip->check = csum_fold(csum_replace32((__u16)~cfg_ip_csum, old_addr,
                                             new_addr));
    }
    hdr->stream = bpf_htons((__u16)bpf_get_smp_processor_id());
    hdr->flow = bpf_htons((__u16)flow);
    hdr->seq = bpf_cpu_to_be64(seq);
    return XDP_TX;
}

static __always_inline int mix_bad(struct xdp_md *ctx, __u32 kind)
{
    __u32 r = bpf_get_prandom_u32();
    __u32 span = cfg_valid_len > 60 ? cfg_valid_len - 60 + 1 : 1;
    void *data, *data_end;
    struct iphdr *ip;
    __u32 len;

    switch (kind) {
    case PKTGEN_KIND_RUNT:
        if (set_len(ctx, 14 + r % 46) || put_eth(ctx, ETH_P_IP))
            return XDP_ABORTED;
        break;
    case PKTGEN_KIND_ETHERTYPE:
        if (set_len(ctx, 60 + (r >> 16) % span) || put_eth(ctx, r & 0xffff))
            return XDP_ABORTED;
        put_random(ctx, 16);
        break;
    case PKTGEN_KIND_BAD_IP:
        if (set_len(ctx, cfg_valid_len) || put_head(ctx))
            return XDP_ABORTED;
        data = (void *)(long)ctx->data;
        data_end = (void *)(long)ctx->data_end;
        ip = data + PKTGEN_ETH_LEN;
        if ((void *)(ip + 1) > data_end)
            return XDP_ABORTED;
        switch (r % 5) {
        case 0:  /* any version but 4 */
            ip->version = 5 + (r >> 8) % 11;
            break;
        case 1:  /* IHL below the minimum */
            ip->ihl = (r >> 8) % 5;
            break;
        case 2:  /* IHL past the end of the frame (60 bytes of header) */
            ip->ihl = 15;
            if (set_len(ctx, PKTGEN_ETH_LEN + 20 + (r >> 8) % 40))
                return XDP_ABORTED;
            break;
        case 3:  /* total length shorter than the header */
            ip->tot_len = bpf_htons((r >> 8) % 20);
            break;
        default: /* total length past the end of the frame */
            ip->tot_len = bpf_htons(0xffff - (r >> 8) % 256);
            break;
        }
        break;
    case PKTGEN_KIND_TRUNC_L3:
        switch (r % 3) {
        case 0:
            len = PKTGEN_ETH_LEN + 1 + (r >> 8) % 19;
            if (set_len(ctx, len) || put_eth(ctx, ETH_P_IP))
                return XDP_ABORTED;
            data = (void *)(long)ctx->data;
            data_end = (void *)(long)ctx->data_end;
            if (data + PKTGEN_ETH_LEN + 1 <= data_end)
                *(__u8 *)(data + PKTGEN_ETH_LEN) = 0x45;
            break;
        case 1:
            len = PKTGEN_ETH_LEN + 1 + (r >> 8) % 39;
            if (set_len(ctx, len) || put_eth(ctx, ETH_P_IPV6))
                return XDP_ABORTED;
            data = (void *)(long)ctx->data;
            data_end = (void *)(long)ctx->data_end;
            if (data + PKTGEN_ETH_LEN + 1 <= data_end)
                *(__u8 *)(data + PKTGEN_ETH_LEN) = 0x60;
            break;
        default:
            len = PKTGEN_ETH_LEN + 1 + (r >> 8) % 27;
            if (set_len(ctx, len) || put_eth(ctx, ETH_P_ARP))
                return XDP_ABORTED;
            break;
        }
        put_random(ctx, 16);
        break;
    case PKTGEN_KIND_TRUNC_L4: {
        const __u8 protos[4] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP,
                                IPPROTO_SCTP};
        /* Cut inside the L4 header: 1..19 bytes of it. */
        if (set_len(ctx, cfg_valid_len) || put_head(ctx))
            return XDP_ABORTED;
        data = (void *)(long)ctx->data;
        data_end = (void *)(long)ctx->data_end;
        ip = data + PKTGEN_ETH_LEN;
        if ((void *)(ip + 1) > data_end)
            return XDP_ABORTED;
        ip->protocol = protos[r & 3];
        len = PKTGEN_ETH_LEN + 20 + 1 + (r >> 8) % 19;
        if (set_len(ctx, len))
            return XDP_ABORTED;
        break;
    }
    case PKTGEN_KIND_RANDOM:
        if (set_len(ctx, 14 + (r >> 8) % (cfg_valid_len - 13)))
            return XDP_ABORTED;
        put_random(ctx, 0);
        break;
    case PKTGEN_KIND_OVERSIZE:
        if (set_len(ctx, cfg_max_len) || put_head(ctx))
            return XDP_ABORTED;
        data = (void *)(long)ctx->data;
        data_end = (void *)(long)ctx->data_end;
        ip = data + PKTGEN_ETH_LEN;
        if ((void *)(ip + 1) > data_end)
            return XDP_ABORTED;
        ip->tot_len = bpf_htons((__u16)(cfg_max_len - PKTGEN_ETH_LEN));
        break;
    case PKTGEN_KIND_VLAN:
        /* 14..41 bytes: a tag cut short, or one or two tags followed by a
         * cut IPv4 header. */
        len = PKTGEN_ETH_LEN + (r >> 8) % 28;
        if (set_len(ctx, len) ||
            put_eth(ctx, r & 1 ? ETH_P_8021Q : ETH_P_8021AD))
            return XDP_ABORTED;
        put_random(ctx, 14);
        data = (void *)(long)ctx->data;
        data_end = (void *)(long)ctx->data_end;
        if (data + 20 <= data_end) {
            __be16 *inner = data + 16;
            inner[0] = r & 2 ? bpf_htons(ETH_P_8021Q) : bpf_htons(ETH_P_IP);
        }
        break;
    default:
        return XDP_ABORTED;
    }
    clear_magic(ctx);
    return XDP_TX;
}

static __always_inline int mix(struct xdp_md *ctx, __u64 n)
{
    __u32 idx = n % cfg_mix_len;
    __u32 kind;
    __u64 *kcount, k;

    if (idx >= PKTGEN_MIX_MAX)
        return XDP_ABORTED;
    kind = cfg_mix[idx];
    kcount = bpf_map_lookup_elem(&mix_count, &kind);
    if (!kcount)
        return XDP_ABORTED;
    k = (*kcount)++;
    if (kind == PKTGEN_KIND_VALID)
        return mix_valid(ctx, k);
    return mix_bad(ctx, kind);
}

/* One frame of any engine: numbers it, then varies it.  XDP_TX when the
 * frame is to be sent, XDP_ABORTED when it could not be built. */
static __always_inline int generate(struct xdp_md *ctx)
{
    __u32 key = 0;
    __u64 *count = bpf_map_lookup_elem(&tx_count, &key);
    __u64 n;

    if (!count)
        return XDP_ABORTED;
    n = (*count)++;
    if (cfg_mix_len)
        return mix(ctx, n);
    if (cfg_flows <= 1 && !cfg_seq)
        return XDP_TX;
    if (cfg_ipv6)
        return rewrite(ctx, n, true);
    return rewrite(ctx, n, false);
}

/* ---- live engine: BPF_PROG_RUN with live frames ----------------------- */

SEC("xdp")
int pktgen_tx(struct xdp_md *ctx)
{
    /* Anything but our own test runs (see dispatcher_hold in pktgen.cpp)
     * passes untouched. */
    if (ctx->ingress_ifindex != cfg_ifindex)
        return XDP_PASS;
    return generate(ctx);
}

/* Run once with BPF_F_TEST_XDP_LIVE_FRAMES to learn whether the kernel
 * allows live frames at all (5.18+, and not refused by a lockdown). */
SEC("xdp")
int pktgen_probe(struct xdp_md *ctx)
{
    return XDP_DROP;
}

/* ---- devmap engine: seeds fanned out by a broadcast redirect ----------
 *
 * User space sends seed frames (the template) into a helper veth of its
 * own; pktgen_fanout runs on the helper's peer and redirects each seed
 * with BPF_F_BROADCAST to every entry of 'fanout', all of which name the
 * output device: the kernel clones the frame once per entry
 * (dev_map_enqueue_multi, xdpf_clone) and queues the copies for that
 * device's ndo_xdp_xmit.  Before they are sent, the devmap runs the
 * entry's egress program, pktgen_egress, on each copy (bq_xmit_all): there
 * every copy is numbered and varied by generate(), as a live frame is.
 * Every copy starts as an untouched seed (clones are taken before any
 * egress program runs), so nothing is left over from earlier frames.
 */
const volatile __u32 cfg_seed_len = 0; /* bytes of a seed frame */

struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP);
    __uint(max_entries, 1); /* the fan-out, set before load */
    __type(key, __u32);
    __type(value, struct bpf_devmap_val);
} fanout SEC(".maps");

/* Entry 0: the output device, for one copy per seed. */
struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct bpf_devmap_val);
} single SEC(".maps");

/* Set by user space: 0 fans each seed out, 1 sends it once.  --count
 * sends its remainder (and makes up for seeds lost on the way) one frame
 * per seed, so that it never sends more than asked.  The egress program
 * cannot drop the surplus instead: on 6.18 a devmap bulk queue whose
 * egress program dropped some frames lost the frames it passed too. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} fanout_mode SEC(".maps");

SEC("xdp")
int pktgen_fanout(struct xdp_md *ctx)
{
    __u32 key = 0;
    __u32 *once = bpf_map_lookup_elem(&fanout_mode, &key);

    /* Only seeds: the helper veth is in a namespace of the generator's
     * own, but drop anything else there might be. */
    if (ctx->data_end - ctx->data != cfg_seed_len)
        return XDP_DROP;
    if (once && *once)
        return bpf_redirect_map(&single, 0, 0);
    return bpf_redirect_map(&fanout, 0, BPF_F_BROADCAST);
}

SEC("xdp/devmap")
int pktgen_egress(struct xdp_md *ctx)
{
    return generate(ctx) == XDP_TX ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
