/*
 * The metadata our XDP program writes in front of every frame it hands to
 * an AF_XDP socket, read by the rx path in user space.  One layout for both
 * sides; valid C for the BPF target, C and C++.
 *
 * The kernel keeps the bytes between data_meta and data when it copies a
 * frame into the UMEM (copy mode) or lets the driver DMA it (zero-copy), so
 * the struct ends exactly where the frame begins: at rx, it sits at
 * (frame address - sizeof(struct afxdp_xdp_meta)).
 *
 * A chunk is reused frame after frame, so stale bytes from an earlier frame
 * may sit where the metadata goes.  'flags' says what this frame's program
 * run wrote; a driver that cannot carry metadata at all makes
 * bpf_xdp_adjust_meta() fail for every frame, and the program then raises
 * the sticky AFXDP_XDP_META_UNSUPPORTED flag (in its global data) before the
 * frame reaches the ring, so the rx path knows to ignore those bytes.
 */
#ifndef AFXDP_BPF_XDP_META_H
#define AFXDP_BPF_XDP_META_H

#include <linux/types.h>

/* afxdp_xdp_meta.flags */
#define AFXDP_XDP_META_HASH 0x1u /* rx_hash is valid. */
#define AFXDP_XDP_META_MARK 0x2u /* flow_mark is valid (partial offload). */

struct afxdp_xdp_meta {
    __u32 flow_mark; /* OVS flow mark of the megaflow the frame matched. */
    __u32 rx_hash;   /* 5-tuple hash, for dpif-netdev's flow caches. */
    __u32 flags;     /* AFXDP_XDP_META_*. */
};

#endif /* AFXDP_BPF_XDP_META_H */
