/*
 * MaskTable: the masks of one port's offloaded megaflows, as the XDP
 * program reads them (struct afxdp_mask_table, in the program's global
 * data, mapped into this process).
 *
 * Each distinct mask gets one of AFXDP_FLOW_MAX_MASKS slots, counted by the
 * flows using it; a mask no flow uses leaves the lookup order.  The order
 * is the one the program tries them in, ranked by the hits user space
 * counts from the flows' statistics, so that the busiest mask costs one
 * lookup (dpif-netdev ranks its subtables the same way).
 *
 * Concurrency with the program, which reads without locks: a slot's mask
 * is written before the slot enters 'order', and 'n_masks' is published
 * last with a release store.  A reader racing with a reorder may try a
 * slot twice or skip one: a miss, which only sends the frame to OVS.  A
 * slot that left 'order' is not rewritten for kReuseDelay: the program
 * runs to completion within a softirq or a syscall, microseconds, so no
 * reader can still be comparing against the old mask when the slot takes a
 * new one (a torn mask could make a frame match the wrong flow).
 *
 * Not thread-safe: the owning FlowTable serialises calls.
 */
#ifndef AFXDP_OFFLOAD_MASK_TABLE_H
#define AFXDP_OFFLOAD_MASK_TABLE_H

#include <array>
#include <chrono>
#include <cstdint>

#include "bpf/flow/flow_layout.h"
#include "umem/result.h"

namespace afxdp::offload {

class MaskTable {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr auto kReuseDelay = std::chrono::seconds(1);
    static constexpr uint32_t kMaxMasks = AFXDP_FLOW_MAX_MASKS;

    MaskTable() = default;

    // Starts writing to 'shared' (a program's table, all zero), with every
    // mask in use written into it.  nullptr: keep the masks, write nowhere.
    void bind(afxdp_mask_table *shared) noexcept;

    // The slot of 'mask' with one more user, adding the mask if it is new.
    // ENOSPC when all slots are taken (or waiting to be reused).
    Result<uint8_t> acquire(const afxdp_flow_key &mask, Clock::time_point now);

    // One user less; the last one takes the mask out of the lookup order.
    void release(uint8_t slot, Clock::time_point now) noexcept;

    // Adds hits per slot since the last rank() and reorders the lookup by
    // them, most first.
    void add_hits(uint8_t slot, uint64_t hits) noexcept;
    void rank() noexcept;

    uint32_t size() const noexcept { return n_used_; }
    const afxdp_flow_key &mask(uint8_t slot) const noexcept
    {
        return slots_[slot].mask;
    }
    // The lookup order as the program sees it (tests, diagnostics).
    std::array<uint8_t, kMaxMasks> order() const noexcept { return order_; }

private:
    struct Slot {
        afxdp_flow_key mask{};
        uint32_t users = 0;
        uint64_t hits = 0;
        Clock::time_point freed{};  // When it left the order.
        bool ever_used = false;
    };

    void publish() noexcept;  // Writes order_ and n_used_ to 'shared_'.
    void write_slot(uint8_t slot) noexcept;
    int find(const afxdp_flow_key &mask) const noexcept;
    int free_slot(Clock::time_point now) const noexcept;

    std::array<Slot, kMaxMasks> slots_{};
    std::array<uint8_t, kMaxMasks> order_{};
    uint32_t n_used_ = 0;
    afxdp_mask_table *shared_ = nullptr;
};

}  // namespace afxdp::offload

#endif  // AFXDP_OFFLOAD_MASK_TABLE_H
