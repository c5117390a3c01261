// SPDX-License-Identifier: GPL-2.0
/*
 * Receive side of afxdp-sink: count every frame and drop it.  Counting is
 * per CPU (no atomics, no shared cache line) and summed by user space.
 *
 * With cfg_check_seq the program also follows the pktgen sequence header
 * per (run, stream, flow).  That state is shared, not per CPU: a veth rx
 * queue's NAPI context runs on whichever CPU scheduled it, so one stream
 * is seen by several CPUs over time, but never by two at once.  A key maps
 * to one rx queue (it fixes the generator CPU, which picks the veth queue,
 * and the 5-tuple, which picks an RSS queue), and a NAPI context runs on
 * one CPU at a time, so plain updates do not race.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "pktgen_proto.h"

const volatile __u32 cfg_check_seq = 0;

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct sink_counters);
} counters SEC(".maps");

/* key: run << 32 | stream << 16 | flow; value: next expected seq. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 1 << 17);
    __type(key, __u64);
    __type(value, __u64);
} flow_seq SEC(".maps");

static __always_inline struct pktgen_seq_hdr *
find_seq_hdr(void *data, void *data_end)
{
    struct ethhdr *eth = data;
    struct udphdr *udp;

    if ((void *)(eth + 1) > data_end)
        return 0;
    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *ip = (void *)(eth + 1);

        if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP ||
            ip->ihl != 5)
            return 0;
        udp = (void *)(ip + 1);
    } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = (void *)(eth + 1);

        if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_UDP)
            return 0;
        udp = (void *)(ip6 + 1);
    } else {
        return 0;
    }
    if ((void *)(udp + 1) > data_end)
        return 0;
    return (void *)(udp + 1);
}

static __always_inline void check_seq(struct sink_counters *c, void *data,
                                      void *data_end)
{
    struct pktgen_seq_hdr *hdr = find_seq_hdr(data, data_end);
    __u64 key, seq, *next;

    if (!hdr || (void *)(hdr + 1) > data_end ||
        hdr->magic != bpf_htons(PKTGEN_SEQ_MAGIC))
        return;
    c->seq_packets++;
    key = (__u64)bpf_ntohs(hdr->run) << 32 |
          (__u64)bpf_ntohs(hdr->stream) << 16 | bpf_ntohs(hdr->flow);
    seq = bpf_be64_to_cpu(hdr->seq);

    next = bpf_map_lookup_elem(&flow_seq, &key);
    if (!next) {
        __u64 first = seq + 1;

        c->flows++;
        bpf_map_update_elem(&flow_seq, &key, &first, BPF_ANY);
        return;
    }
    if (seq >= *next) {
        c->lost += seq - *next;
        *next = seq + 1;
    } else {
        c->reordered++;
    }
}

/* xdp.frags: frames larger than a page (jumbo MTUs) arrive as several
 * buffers; only the first, with the headers, is read. */
SEC("xdp.frags")
int sink_drop(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u32 key = 0;
    struct sink_counters *c = bpf_map_lookup_elem(&counters, &key);

    if (!c)
        return XDP_DROP;
    c->packets++;
    c->bytes += data_end - data;
    if (cfg_check_seq)
        check_seq(c, data, data_end);
    return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
