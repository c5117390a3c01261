// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's own forwarding path, the ceiling of the benchmark: every
 * frame that arrives on the ingress device is redirected through a devmap
 * to the egress device (or dropped, for the rx-drop scenario) without ever
 * leaving the driver's NAPI poll.  No user-space forwarder can beat this on
 * the same devices: AF_XDP adds a ring round trip and, on veth, the
 * copy-mode transmit on top of the same redirect.
 *
 * A devmap rather than bpf_redirect(ifindex): the devmap path batches
 * frames per NAPI poll and flushes them once (xdp_do_flush), which is what
 * production XDP forwarders use and what the kernel optimises.
 *
 * The egress veth needs no program of its own: veth's ndo_xdp_xmit only
 * asks that the egress device's peer (the sink) has XDP in native mode.
 *
 * Counting is per CPU, summed by the loader.
 */
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

const volatile __u32 cfg_drop = 0;

struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} tx_port SEC(".maps");

struct fwd_counters {
    __u64 packets;
    __u64 bytes;
    __u64 redirect_failed;
    __u64 pad;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct fwd_counters);
} counters SEC(".maps");

/* xdp.frags: frames larger than a page (jumbo MTUs) arrive as several
 * buffers; only the first, with the headers, is read. */
SEC("xdp.frags")
int xdp_fwd(struct xdp_md *ctx)
{
    __u32 key = 0;
    struct fwd_counters *c = bpf_map_lookup_elem(&counters, &key);
    long verdict;

    if (!c)
        return XDP_ABORTED;
    c->packets++;
    c->bytes += ctx->data_end - ctx->data;
    if (cfg_drop)
        return XDP_DROP;
    verdict = bpf_redirect_map(&tx_port, 0, XDP_DROP);
    if (verdict != XDP_REDIRECT)
        c->redirect_failed++;
    return verdict;
}

char LICENSE[] SEC("license") = "GPL";
