/*
 * The fast path's megaflow lookup: a tuple-space search, as dpif-netdev's
 * classifier does in user space (lib/dpif-netdev-lookup*.c).
 *
 * For each mask slot in the order user space ranked them (most hits
 * first), the frame's key is ANDed with the mask, the slot is written into
 * 'mask_id', and the result is looked up in the flows hash map by its
 * afxdp_flow_hash() (flow_layout.h says why not by the key itself), then
 * compared whole with the entry's key.  The first hit wins: megaflows
 * installed by dpif-netdev do not overlap, so at most one can match.
 *
 * The mask table lives in the program's global data, which user space
 * writes through a memory mapping, without a syscall.  A reader may see the
 * order change under it (a slot skipped or tried twice: a miss at worst,
 * and a miss only sends the frame to OVS); it never sees a slot rewritten
 * while it could be reading it, because user space reuses a slot only long
 * after it left 'order'.
 *
 * BPF only: included by the XDP program.
 */
#ifndef AFXDP_BPF_FLOW_LOOKUP_H
#define AFXDP_BPF_FLOW_LOOKUP_H

#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "bpf/flow/flow_layout.h"

static __always_inline struct afxdp_flow_actions *
afxdp_flow_lookup(void *flows, const struct afxdp_mask_table *table,
                  const struct afxdp_flow_key *key)
{
    const __u64 *k = (const __u64 *)key;
    struct afxdp_flow_key masked;
    __u64 *out = (__u64 *)&masked;
    __u32 n = *(volatile const __u32 *)&table->n_masks;
    __u32 i, j;

    for (i = 0; i < AFXDP_FLOW_MAX_MASKS; i++) {
        const __u64 *m;
        struct afxdp_flow_entry *e;
        const __u64 *ek;
        __u64 hash, diff = 0;
        __u32 slot;

        if (i >= n) {
            break;
        }
        slot = table->order[i] & (AFXDP_FLOW_MAX_MASKS - 1);
        m = (const __u64 *)&table->masks[slot];
#pragma unroll
        for (j = 0; j < AFXDP_FLOW_KEY_WORDS; j++) {
            out[j] = k[j] & m[j];
        }
        masked.mask_id = slot;
        hash = afxdp_flow_hash(&masked, table->words[slot]);
        e = bpf_map_lookup_elem(flows, &hash);
        if (!e) {
            continue;
        }
        /* The hash only narrows it down: the whole key decides. */
        ek = (const __u64 *)&e->key;
#pragma unroll
        for (j = 0; j < AFXDP_FLOW_KEY_WORDS; j++) {
            diff |= ek[j] ^ out[j];
        }
        if (!diff) {
            return &e->actions;
        }
    }
    return 0;
}

#endif /* AFXDP_BPF_FLOW_LOOKUP_H */
