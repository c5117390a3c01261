/*
 * ChunkStates implementation: the control-path scans.  The array is small
 * (two bytes per 4 KiB chunk), so a linear scan on reclaim or for
 * statistics costs microseconds.
 */
#include "umem/chunk_states.h"

namespace afxdp::umem {

ChunkStates::ChunkStates(uint32_t n_chunks)
    : n_chunks_(n_chunks), states_(new std::atomic<uint16_t>[n_chunks])
{
    for (uint32_t i = 0; i < n_chunks; i++) {
        states_[i].store(kFree, std::memory_order_relaxed);
    }
}

uint32_t ChunkStates::reclaim(uint16_t owner, uint32_t chunk_shift,
                              uint64_t *addrs) noexcept
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < n_chunks_; i++) {
        if (get(i) == owner) {
            set(i, kFree);
            addrs[n++] = uint64_t(i) << chunk_shift;
        }
    }
    return n;
}

uint32_t ChunkStates::count(uint16_t state) const noexcept
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < n_chunks_; i++) {
        n += get(i) == state;
    }
    return n;
}

}  // namespace afxdp::umem
