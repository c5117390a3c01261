/*
 * ChunkPool implementation: see chunk_pool.h for why a LIFO under a spin
 * lock.  Both batch operations copy with memcpy-sized loops the compiler
 * vectorises; the lock is held only for the copy.
 */
#include "umem/chunk_pool.h"

#include <cassert>
#include <cinttypes>
#include <mutex>

#include "umem/report.h"

namespace afxdp::umem {

ChunkPool::ChunkPool(uint32_t n_chunks, uint32_t chunk_size)
    : capacity_(n_chunks), stack_(new uint64_t[n_chunks]), n_free_(n_chunks)
{
    assert(is_power_of_two(n_chunks) && is_power_of_two(chunk_size));
    // Highest address at the bottom so that address 0 is on top.
    for (uint32_t i = 0; i < n_chunks; i++) {
        stack_[i] = uint64_t(n_chunks - 1 - i) * chunk_size;
    }
}

uint32_t ChunkPool::get_batch(uint64_t *out, uint32_t n) noexcept
{
    std::lock_guard<SpinLock> guard(lock_);
    uint32_t n_free = n_free_.load(std::memory_order_relaxed);
    uint32_t got = n < n_free ? n : n_free;
    const uint64_t *top = &stack_[n_free];
    for (uint32_t i = 0; i < got; i++) {
        out[i] = *--top;
    }
    n_free_.store(n_free - got, std::memory_order_relaxed);
    return got;
}

uint32_t ChunkPool::put_batch(const uint64_t *addrs, uint32_t n) noexcept
{
    uint32_t taken;
    {
        std::lock_guard<SpinLock> guard(lock_);
        uint32_t n_free = n_free_.load(std::memory_order_relaxed);
        uint32_t room = capacity_ - n_free;
        taken = n <= room ? n : room;
        uint64_t *top = &stack_[n_free];
        for (uint32_t i = 0; i < taken; i++) {
            *top++ = addrs[i];
        }
        n_free_.store(n_free + taken, std::memory_order_relaxed);
    }
    if (taken < n) [[unlikely]] {
        refuse(n - taken);
    }
    return taken;
}

void ChunkPool::refuse(uint32_t n) noexcept
{
    uint64_t before = overflows_.fetch_add(n, std::memory_order_relaxed);
    if (should_report(before, before + n)) {
        report_error("chunk pool of %u chunks: refused %u chunk(s) that "
                     "would overflow it (a chunk released twice?); %" PRIu64
                     " refused so far",
                     capacity_, n, before + n);
    }
}

}  // namespace afxdp::umem
