// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xsk_redirect: the XDP program attached to every afxdp port.
 *
 * Without the fast path (OVS's hw-offload off) each frame goes to the
 * AF_XDP socket bound to the queue it arrived on, and a frame on a queue
 * without a socket goes on to the kernel stack.  bpf_redirect_map() looks
 * the socket up itself and returns its flags argument (XDP_PASS) on a miss
 * (kernel net/core/filter.c, __bpf_xdp_redirect_map), so that is one helper
 * call per frame and the frame is never read.
 *
 * With the fast path (cfg_fast_path, set by the loader; the verifier drops
 * whatever a false constant disables), the program runs dpif-netdev's
 * megaflows itself: parse (flow/parse.h), tuple-space lookup
 * (flow/lookup.h), actions (flow/actions.h), output through a devmap or
 * drop, per-flow counters.  Every frame it does not finish goes to the
 * socket as before, with metadata (xdp_meta.h): the rx hash and, for a
 * frame that matched a flow OVS must run itself (partial offload, or an
 * output port that cannot take redirects now), the flow's mark, so that
 * dpif-netdev skips its own lookup.  cfg_rx_hash alone computes the hash
 * for every frame without running flows.  cfg_carrier says how the
 * metadata travels (xdp_meta.h): in the metadata area where the kernel
 * lets XDP programs use it, else in a header prepended to the frame.  The
 * loader picks it from a probe; the branch not taken is dead code the
 * verifier never sees, so a kernel that refuses bpf_xdp_adjust_meta()
 * still loads the program.
 *
 * Multi-buffer frames (section xdp.frags, so that the kernel hands over
 * frames larger than one buffer: jumbo MTUs).  The fast path never runs
 * one: it parses and rewrites only the first buffer and counts the linear
 * length, so a chained frame goes to the socket untouched but for the
 * metadata, which says it carries nothing (to_ovs_multi_buffer): the
 * kernel may deliver it in one descriptor (copy mode, a frame chained in
 * XDP that fits one chunk), and user space must not read an earlier
 * frame's mark in front of it.  The fast path therefore never forwards a
 * frame differently from dpif-netdev, and never redirects a chained frame
 * to a device.  The devmap holds plain ifindexes, no per-entry programs,
 * so the kernel's rule that programs sharing a devmap agree on frags
 * support (bpf_prog_map_compatible) binds only our own programs, all
 * xdp.frags.
 *
 * Maps are sized by the loader before loading; a disabled feature's maps
 * are shrunk to one entry.
 */
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "bpf/flow/actions.h"
#include "bpf/flow/flow_layout.h"
#include "bpf/flow/lookup.h"
#include "bpf/flow/parse.h"
#include "bpf/flow/rx_hash.h"
#include "bpf/xdp_meta.h"

const volatile __u8 cfg_fast_path = 0;
const volatile __u8 cfg_rx_hash = 0;
const volatile __u8 cfg_carrier = AFXDP_XDP_CARRIER_NONE;
/* The program is loaded as xdp.frags (kernel 5.18+); without, the loader
 * clears BPF_F_XDP_HAS_FRAGS and no frame is ever chained here. */
const volatile __u8 cfg_frags = 1;

/* Written by user space through the global data's memory mapping. */
struct afxdp_mask_table mask_table;
/* Raised by the program, read by user space: see xdp_meta.h. */
__u32 meta_unsupported;

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u32);
} xsks_map SEC(".maps");

/* afxdp_flow_hash() of the masked key -> the flow (flow/lookup.h). */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, __u64);
    __type(value, struct afxdp_flow_entry);
} flows SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct afxdp_flow_stats);
} flow_stats SEC(".maps");

/* Output slot -> ifindex.  A slot without an entry (the port is gone, or
 * its device cannot take redirects now) makes the redirect fail, and the
 * frame goes to OVS instead. */
struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} tx_ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct afxdp_xdp_counters);
} counters SEC(".maps");

#define AFXDP_COUNT(field)                                                     \
    do {                                                                       \
        __u32 zero_ = 0;                                                       \
        struct afxdp_xdp_counters *c_ =                                        \
            bpf_map_lookup_elem(&counters, &zero_);                            \
        if (c_) {                                                              \
            c_->field++;                                                       \
        }                                                                      \
    } while (0)

/* Writes the metadata into the XDP metadata area (carrier META).  A
 * driver that keeps none makes the helper fail: user space is told before
 * this frame reaches the ring. */
static __always_inline void afxdp_meta_write(struct xdp_md *ctx,
                                             __u32 meta_flags, __u32 hash,
                                             __u32 mark)
{
    struct afxdp_xdp_meta *meta;
    void *data;

    if (meta_unsupported) {
        return;
    }
    if (!bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct afxdp_xdp_meta))) {
        data = (void *)(long)ctx->data;
        meta = (void *)(long)ctx->data_meta;
        if ((void *)(meta + 1) <= data) {
            meta->flow_mark = mark;
            meta->rx_hash = hash;
            meta->flags = meta_flags;
            return;
        }
    }
    meta_unsupported = 1;
    AFXDP_COUNT(meta_failed);
}

/* Prepends the metadata to the frame (carrier HEAD).  False when there is
 * no room, which XDP's headroom (XDP_PACKET_HEADROOM, in native and
 * generic mode) leaves only to a broken driver: the frame cannot go to the
 * socket then, whose reader strips the header from every frame. */
static __always_inline int afxdp_head_write(struct xdp_md *ctx,
                                            __u32 meta_flags, __u32 hash,
                                            __u32 mark)
{
    struct afxdp_xdp_meta *head;

    if (bpf_xdp_adjust_head(ctx, -(int)AFXDP_XDP_HEAD_LEN)) {
        AFXDP_COUNT(meta_failed);
        return 0;
    }
    head = (void *)(long)ctx->data;
    if ((void *)head + AFXDP_XDP_HEAD_LEN > (void *)(long)ctx->data_end) {
        AFXDP_COUNT(meta_failed);
        return 0;
    }
    head->flow_mark = mark;
    head->rx_hash = hash;
    head->flags = meta_flags;
    ((__u32 *)head)[3] = 0;
    return 1;
}

/* Hands the frame to the queue's AF_XDP socket with metadata, through the
 * carrier chosen at load.  Every frame gets it, if only to say it has
 * nothing (flags 0): the bytes a reader finds are otherwise whatever an
 * earlier frame in the same chunk left there, and a stale mark would make
 * OVS run the wrong flow. */
static __always_inline int afxdp_to_ovs(struct xdp_md *ctx, __u32 meta_flags,
                                        __u32 hash, __u32 mark)
{
    int verdict;

    if (cfg_carrier == AFXDP_XDP_CARRIER_META) {
        afxdp_meta_write(ctx, meta_flags, hash, mark);
    } else if (cfg_carrier == AFXDP_XDP_CARRIER_HEAD) {
        if (!afxdp_head_write(ctx, meta_flags, hash, mark)) {
            return XDP_DROP;
        }
    }
    verdict = bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
    if (verdict != XDP_REDIRECT && cfg_carrier == AFXDP_XDP_CARRIER_HEAD) {
        /* No socket on this queue: the stack gets the frame as it came. */
        bpf_xdp_adjust_head(ctx, (int)AFXDP_XDP_HEAD_LEN);
    }
    return verdict;
}

static __always_inline void afxdp_count_flow(const struct afxdp_flow_actions *a,
                                             const struct afxdp_parsed *p,
                                             __u64 len)
{
    __u32 id = a->flow_id;
    struct afxdp_flow_stats *s = bpf_map_lookup_elem(&flow_stats, &id);

    if (s) {
        s->packets++;
        s->bytes += len;
        /* jiffies: an inlined load, where a clock read is a call. */
        s->used_jiffies = bpf_jiffies64();
        s->tcp_flags |= p->key.tcp_flags;
    }
}

/* Runs a fully offloaded flow.  The redirect target is chosen before the
 * frame is touched, so that a port that cannot take it now leaves an
 * unmodified frame for OVS. */
static __always_inline int afxdp_execute(struct xdp_md *ctx,
                                         const struct afxdp_parsed *p,
                                         const struct afxdp_flow_actions *a)
{
    __u64 len = ctx->data_end - ctx->data;
    int verdict = XDP_DROP;

    if (a->flags & AFXDP_ACT_OUTPUT) {
        verdict = bpf_redirect_map(&tx_ports, a->out_slot, XDP_PASS);
        if (verdict != XDP_REDIRECT) {
            AFXDP_COUNT(to_ovs_fallback);
            return afxdp_to_ovs(ctx, AFXDP_XDP_META_HASH | AFXDP_XDP_META_MARK,
                                afxdp_rx_hash(&p->key), a->mark);
        }
    }
    afxdp_count_flow(a, p, len);
    if ((a->flags & AFXDP_ACT_REWRITES) && afxdp_actions_apply(ctx, p, a)) {
        AFXDP_COUNT(action_failed);
        return XDP_DROP;
    }
    return verdict;
}

SEC("xdp.frags")
int xsk_redirect(struct xdp_md *ctx)
{
    struct afxdp_parsed p;
    struct afxdp_flow_actions *a;
    __u32 meta = AFXDP_XDP_META_HASH;

    if (!cfg_fast_path && !cfg_rx_hash) {
        return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
    }
    /* A chained frame: no hash, no lookup, and metadata that says so
     * (see the note at the top). */
    if (cfg_frags &&
        bpf_xdp_get_buff_len(ctx) > (__u64)(ctx->data_end - ctx->data)) {
        if (cfg_fast_path) {
            AFXDP_COUNT(to_ovs_multi_buffer);
        }
        return afxdp_to_ovs(ctx, 0, 0, 0);
    }

    if (afxdp_parse(ctx, &p) != AFXDP_PARSE_OK) {
        if (cfg_fast_path) {
            AFXDP_COUNT(to_ovs_parse);
        }
        return afxdp_to_ovs(ctx, 0, 0, 0);
    }
    if (!cfg_fast_path) {
        return afxdp_to_ovs(ctx, meta, afxdp_rx_hash(&p.key), 0);
    }

    a = afxdp_flow_lookup(&flows, &mask_table, &p.key);
    if (!a) {
        AFXDP_COUNT(to_ovs_miss);
        return afxdp_to_ovs(ctx, meta, afxdp_rx_hash(&p.key), 0);
    }
    if (a->flags & AFXDP_ACT_TO_OVS) {
        AFXDP_COUNT(to_ovs_partial);
    } else if (afxdp_actions_check(&p, a)) {
        AFXDP_COUNT(to_ovs_action);
    } else {
        return afxdp_execute(ctx, &p, a);
    }
    meta |= AFXDP_XDP_META_MARK;
    return afxdp_to_ovs(ctx, meta, afxdp_rx_hash(&p.key), a->mark);
}

/* Not attached anywhere: user space runs it with BPF_PROG_RUN to read the
 * kernel's jiffies next to CLOCK_MONOTONIC, to turn the flows' last-used
 * jiffies into OVS's milliseconds. */
__u64 clock_jiffies;
__u64 clock_ns;

SEC("xdp")
int afxdp_clock(struct xdp_md *ctx)
{
    clock_jiffies = bpf_jiffies64();
    clock_ns = bpf_ktime_get_ns();
    return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
