// SPDX-License-Identifier: GPL-2.0
/*
 * Transmit side of afxdp-pktgen.  The generator runs this program with
 * BPF_PROG_TEST_RUN and BPF_F_TEST_XDP_LIVE_FRAMES: the kernel builds each
 * frame in a page pool page from the template passed as data_in, runs the
 * program on it and turns XDP_TX into a redirect out of the ingress device
 * (net/bpf/test_run.c, xdp_test_run_batch), so every frame leaves through
 * the generator's veth towards its peer without any copy from user space.
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

SEC("xdp")
int pktgen_tx(struct xdp_md *ctx)
{
    __u32 key = 0;
    __u64 *count = bpf_map_lookup_elem(&tx_count, &key);
    __u64 n;

    /* Anything but our own test runs (see dispatcher_hold in pktgen.cpp)
     * passes untouched. */
    if (ctx->ingress_ifindex != cfg_ifindex)
        return XDP_PASS;
    if (!count)
        return XDP_ABORTED;
    n = (*count)++;
    if (cfg_flows <= 1 && !cfg_seq)
        return XDP_TX;
    if (cfg_ipv6)
        return rewrite(ctx, n, true);
    return rewrite(ctx, n, false);
}

char LICENSE[] SEC("license") = "GPL";
