// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xsk_redirect: the XDP program attached to every afxdp port.  Each frame
 * goes to the AF_XDP socket bound to the queue it arrived on; a frame on a
 * queue without a socket goes on to the kernel stack.
 *
 * Why so little:
 *  - The classification belongs to OVS's userspace datapath.  Any filtering
 *    here would be a second, unaccounted datapath that OVS cannot see.
 *  - bpf_redirect_map() looks the socket up itself and returns its flags
 *    argument (XDP_PASS) on a miss (kernel net/core/filter.c,
 *    __bpf_xdp_redirect_map), so an explicit bpf_map_lookup_elem() would
 *    only add a second lookup per frame.  That fallback needs kernel 5.3.
 *  - The frame is never read, so there is no bounds check to get wrong and
 *    runts and jumbo frames are treated like any other frame.
 *  - No per-program state: counters come from the sockets (XDP_STATISTICS),
 *    so the program has nothing to reset when a port is reconfigured.
 *
 * The XSKMAP is keyed by rx queue index; its value is an AF_XDP socket fd
 * on update.  max_entries is a default that the loader overrides with
 * bpf_map__set_max_entries() before loading, to the device's queue count.
 */
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u32);
} xsks_map SEC(".maps");

SEC("xdp")
int xsk_redirect(struct xdp_md *ctx)
{
    return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
