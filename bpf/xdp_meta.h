/*
 * The metadata our XDP program hands over with every frame it gives an
 * AF_XDP socket, read by the rx path in user space.  One layout for both
 * sides; valid C for the BPF target, C and C++.
 *
 * Two carriers, one chosen when the program loads (afxdp_xdp_carrier):
 *
 * - META: in the XDP metadata area, written with bpf_xdp_adjust_meta().
 *   The kernel keeps the bytes between data_meta and data when it copies a
 *   frame into the UMEM (copy mode, also for the first buffer of a frame
 *   the kernel assembled from several) or lets the driver DMA it
 *   (zero-copy), so the struct ends exactly where the frame begins: at rx
 *   it sits at (frame address - sizeof(struct afxdp_xdp_meta)).  A chunk is
 *   reused frame after frame, so stale bytes from an earlier frame may sit
 *   there: every frame the program redirects gets the struct written, if
 *   only to say it carries nothing (flags 0).  A driver that keeps no
 *   metadata makes bpf_xdp_adjust_meta() fail for every frame, and the
 *   program then raises its sticky 'meta_unsupported' flag (global data)
 *   before the frame reaches the ring, so the rx path ignores those bytes.
 *
 * - HEAD: where the kernel refuses bpf_xdp_adjust_meta() in XDP programs
 *   (some cloud builds do), the program prepends AFXDP_XDP_HEAD_LEN bytes
 *   to the frame itself with bpf_xdp_adjust_head(), the struct first.  They
 *   are part of the frame the socket receives: the rx path strips them from
 *   every frame (the first buffer of a chained one), and the program puts
 *   them on every frame it redirects to a socket, so there is never a frame
 *   with and one without.  A frame that finds no socket goes to the kernel
 *   stack without them.
 */
#ifndef AFXDP_BPF_XDP_META_H
#define AFXDP_BPF_XDP_META_H

#include <linux/types.h>

/* afxdp_xdp_meta.flags */
#define AFXDP_XDP_META_HASH 0x1u /* rx_hash is valid. */
#define AFXDP_XDP_META_MARK 0x2u /* flow_mark is valid (partial offload). */

/* Which carrier the program was loaded with. */
enum afxdp_xdp_carrier {
    AFXDP_XDP_CARRIER_NONE = 0, /* Nothing is handed over. */
    AFXDP_XDP_CARRIER_META = 1,
    AFXDP_XDP_CARRIER_HEAD = 2,
};

/* Bytes the HEAD carrier puts in front of a frame: the struct, padded so
 * that the frame after it keeps its alignment. */
#define AFXDP_XDP_HEAD_LEN 16u

struct afxdp_xdp_meta {
    __u32 flow_mark; /* OVS flow mark of the megaflow the frame matched. */
    __u32 rx_hash;   /* 5-tuple hash, for dpif-netdev's flow caches. */
    __u32 flags;     /* AFXDP_XDP_META_*. */
};

#endif /* AFXDP_BPF_XDP_META_H */
