/*
 * ChunkPool: the free list of one UMEM's chunks.
 *
 * A chunk is named by its address, the byte offset of its first byte in the
 * UMEM, which is exactly what the fill, rx, tx and completion rings carry.
 * The pool is a LIFO stack of those addresses: the chunk freed last is the
 * one handed out next.  That keeps the chunks in use, and with them the
 * pages and metadata slots touched, to as few as the traffic needs instead
 * of cycling through the whole UMEM.  It does not keep a received frame's
 * chunk warm: a chunk put on the fill ring waits behind the ring's other
 * entries before the kernel writes a frame into it.
 *
 * Chunks leave and come back on different threads: the rx PMD thread
 * refills the fill ring, a tx thread takes chunks for transmission and
 * drains the completion ring, and OVS frees received packets from whatever
 * thread last held them.  Every operation is therefore a batch taken under
 * one short spin lock, so the lock cost is paid once per 32 frames rather
 * than once per frame.  free_count() is readable without the lock (stats).
 *
 * Pushing more chunks than the pool has room for can only be a caller's
 * bug (a chunk released twice).  It is checked in every build: the excess
 * is refused, counted (overflows()) and reported, and the stack never
 * grows past its allocation.
 *
 * Layout: the fields every operation reads but nobody writes (capacity,
 * the stack's address) share a cache line; the lock and the count, which
 * every operation writes, have one of their own, so that a thread spinning
 * on the lock does not keep invalidating the line the holder reads.
 */
#ifndef AFXDP_UMEM_CHUNK_POOL_H
#define AFXDP_UMEM_CHUNK_POOL_H

#include <atomic>
#include <cstdint>
#include <memory>

#include "umem/spin_lock.h"

namespace afxdp::umem {

constexpr bool is_power_of_two(uint64_t x) noexcept
{
    return x != 0 && (x & (x - 1)) == 0;
}

class ChunkPool {
public:
    // A full pool of 'n_chunks' chunks of 'chunk_size' bytes; both must be
    // powers of two (checked by the caller's factory; asserted here).  The
    // first get() returns address 0, then chunk_size, and so on.  Throws
    // std::bad_alloc only (the factory turns it into ENOMEM).
    ChunkPool(uint32_t n_chunks, uint32_t chunk_size);
    ChunkPool(const ChunkPool &) = delete;
    ChunkPool &operator=(const ChunkPool &) = delete;

    // Hot path.  Pops up to 'n' addresses into 'out'; returns how many (may
    // be fewer than 'n', 0 when empty).
    uint32_t get_batch(uint64_t *out, uint32_t n) noexcept;

    // Hot path.  Pushes 'n' chunk addresses; returns how many were taken,
    // which is 'n' unless the pool would overflow (a caller's bug: the
    // rest is refused, counted and reported).
    uint32_t put_batch(const uint64_t *addrs, uint32_t n) noexcept;
    uint32_t put(uint64_t addr) noexcept { return put_batch(&addr, 1); }

    uint32_t free_count() const noexcept
    {
        return n_free_.load(std::memory_order_relaxed);
    }
    uint32_t capacity() const noexcept { return capacity_; }

    // Chunks refused by put_batch() because they would have overflowed.
    uint64_t overflows() const noexcept
    {
        return overflows_.load(std::memory_order_relaxed);
    }

private:
    void refuse(uint32_t n) noexcept;

    alignas(64) const uint32_t capacity_;
    std::unique_ptr<uint64_t[]> stack_;  // stack_[n_free_ - 1] is the top.

    alignas(64) SpinLock lock_;
    // Written under lock_ only; atomic so stats may read it without it.
    std::atomic<uint32_t> n_free_;

    alignas(64) std::atomic<uint64_t> overflows_{0};  // Error path only.
};

}  // namespace afxdp::umem

#endif  // AFXDP_UMEM_CHUNK_POOL_H
