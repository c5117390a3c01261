/*
 * The receive hash our XDP program hands to OVS in the frame's metadata
 * (bpf/xdp_meta.h), so that dpif-netdev's flow caches need not hash the
 * frame again in software.
 *
 * dpif-netdev only needs a hash that is the same for every frame of a flow
 * and spreads flows well: it is the bucket index of its exact-match and
 * signature caches (which then compare the full key) and the input of the
 * L4 dp_hash action, where NIC RSS hashes serve too.  So this is a 5-tuple
 * hash in the spirit of OVS's miniflow_hash_5tuple(): addresses, protocol
 * and ports of IPv4, IPv6 and ARP frames, mixed with MurmurHash3's steps;
 * other frames hash their Ethernet type only.
 *
 * BPF only: included by the XDP program.
 */
#ifndef AFXDP_BPF_FLOW_RX_HASH_H
#define AFXDP_BPF_FLOW_RX_HASH_H

#include <linux/bpf.h>
#include <linux/if_ether.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bpf/flow/flow_layout.h"

static __always_inline __u32 afxdp_rotl32(__u32 x, int r)
{
    return (x << r) | (x >> (32 - r));
}

static __always_inline __u32 afxdp_hash_add(__u32 hash, __u32 data)
{
    data *= 0xcc9e2d51;
    data = afxdp_rotl32(data, 15);
    data *= 0x1b873593;
    hash ^= data;
    hash = afxdp_rotl32(hash, 13);
    return hash * 5 + 0xe6546b64;
}

static __always_inline __u32 afxdp_hash_finish(__u32 hash)
{
    hash ^= hash >> 16;
    hash *= 0x85ebca6b;
    hash ^= hash >> 13;
    hash *= 0xc2b2ae35;
    hash ^= hash >> 16;
    return hash;
}

static __always_inline __u32 afxdp_rx_hash(const struct afxdp_flow_key *key)
{
    const __u32 *addr = (const __u32 *)key->addr;
    __u32 hash = bpf_ntohs(key->dl_type);
    __u32 ports;
    int i;

    if (key->dl_type == bpf_htons(ETH_P_IPV6)) {
#pragma unroll
        for (i = 0; i < 8; i++) {
            hash = afxdp_hash_add(hash, addr[i]);
        }
    } else if (key->dl_type == bpf_htons(ETH_P_IP) ||
               key->dl_type == bpf_htons(ETH_P_ARP)) {
        hash = afxdp_hash_add(hash, addr[0]);
        hash = afxdp_hash_add(hash, addr[1]);
    } else {
        return afxdp_hash_finish(hash);
    }
    hash = afxdp_hash_add(hash, key->nw_proto);
    __builtin_memcpy(&ports, &key->tp_src, 4);
    hash = afxdp_hash_add(hash, ports);
    return afxdp_hash_finish(hash);
}

#endif /* AFXDP_BPF_FLOW_RX_HASH_H */
