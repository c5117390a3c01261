/*
 * MaskTable implementation; the publication protocol is in mask_table.h.
 */
#include "netdev-afxdp/offload/mask_table.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace afxdp::offload {

void MaskTable::bind(afxdp_mask_table *shared) noexcept
{
    shared_ = shared;
    if (!shared_) {
        return;
    }
    // A new program: nobody reads the slots yet, so no reuse delay applies.
    for (uint32_t i = 0; i < kMaxMasks; i++) {
        slots_[i].freed = {};
        if (slots_[i].users) {
            write_slot(uint8_t(i));
        }
    }
    publish();
}

int MaskTable::find(const afxdp_flow_key &mask) const noexcept
{
    for (uint32_t i = 0; i < n_used_; i++) {
        const Slot &s = slots_[order_[i]];
        if (!std::memcmp(&s.mask, &mask, sizeof mask)) {
            return order_[i];
        }
    }
    return -1;
}

int MaskTable::free_slot(Clock::time_point now) const noexcept
{
    for (uint32_t i = 0; i < kMaxMasks; i++) {
        const Slot &s = slots_[i];
        if (!s.users && (!s.ever_used || now - s.freed >= kReuseDelay)) {
            return int(i);
        }
    }
    return -1;
}

Result<uint8_t> MaskTable::acquire(const afxdp_flow_key &mask,
                                   Clock::time_point now)
{
    if (int slot = find(mask); slot >= 0) {
        slots_[slot].users++;
        return uint8_t(slot);
    }
    int slot = free_slot(now);
    if (slot < 0) {
        return Error{ENOSPC, "all " + std::to_string(kMaxMasks) +
                                 " mask slots are in use"};
    }
    Slot &s = slots_[slot];
    s.mask = mask;
    s.users = 1;
    s.hits = 0;
    s.ever_used = true;
    write_slot(uint8_t(slot));
    // New masks go last: they have no hits yet.
    order_[n_used_++] = uint8_t(slot);
    publish();
    return uint8_t(slot);
}

void MaskTable::release(uint8_t slot, Clock::time_point now) noexcept
{
    Slot &s = slots_[slot];
    if (!s.users || --s.users) {
        return;
    }
    s.freed = now;
    auto end = order_.begin() + n_used_;
    auto it = std::find(order_.begin(), end, slot);
    if (it != end) {
        std::copy(it + 1, end, it);
        n_used_--;
    }
    publish();
}

void MaskTable::add_hits(uint8_t slot, uint64_t hits) noexcept
{
    slots_[slot].hits += hits;
}

void MaskTable::rank() noexcept
{
    auto end = order_.begin() + n_used_;
    std::stable_sort(order_.begin(), end, [this](uint8_t a, uint8_t b) {
        return slots_[a].hits > slots_[b].hits;
    });
    for (Slot &s : slots_) {
        s.hits = 0;
    }
    publish();
}

// The mask and the words it uses, before the slot enters 'order'.
void MaskTable::write_slot(uint8_t slot) noexcept
{
    if (!shared_) {
        return;
    }
    const afxdp_flow_key &mask = slots_[slot].mask;
    std::memcpy(&shared_->masks[slot], &mask, sizeof mask);
    shared_->words[slot] = afxdp_mask_words(&mask);
}

void MaskTable::publish() noexcept
{
    if (!shared_) {
        return;
    }
    // Order entries first, the count last: a reader that sees the new count
    // sees the entries it covers (x86 and arm64 readers load 'n_masks'
    // before the entries; the release store orders our writes).
    for (uint32_t i = 0; i < kMaxMasks; i++) {
        __atomic_store_n(&shared_->order[i], order_[i], __ATOMIC_RELAXED);
    }
    __atomic_store_n(&shared_->n_masks, n_used_, __ATOMIC_RELEASE);
}

}  // namespace afxdp::offload
