/*
 * ChunkCache: one thread's private stock of free chunks of one UMEM.
 *
 * With one UMEM shared by every port and queue on a NUMA node, the pool
 * is shared by every PMD thread, and taking its lock once per burst (fill
 * refill, tx, completion, release: four or five times per burst) puts
 * every thread on one contended cache line.  The remedy is
 * bpf-examples' xsk_fwd: each thread keeps a small LIFO of free chunks and
 * goes to the shared pool only to exchange a whole slab of kSlab chunks,
 * once per kSlab chunks taken or returned in the worst case, and never in
 * the steady state where a thread gives back (completion, release) about
 * as many chunks as it takes (refill, tx copies): rx-drop and forwarding
 * between ports polled by one thread stay entirely in the cache.
 *
 * No count of held chunks is kept anywhere per packet: the chunks' states
 * (ChunkStates) say which are held, and the control path counts them when
 * it needs to.
 *
 * One writer (the owning thread), any reader: the count is a relaxed
 * atomic written with plain stores, read by statistics.  ThreadCaches
 * creates caches, finds this thread's, and flushes them.
 */
#ifndef AFXDP_UMEM_CHUNK_CACHE_H
#define AFXDP_UMEM_CHUNK_CACHE_H

#include <atomic>
#include <cstdint>

namespace afxdp::umem {

class UmemArea;

class ChunkCache {
public:
    // Chunks moved between a cache and the pool at once.
    static constexpr uint32_t kSlab = 128;
    static constexpr uint32_t kCapacity = 2 * kSlab;

    // Unbound; ThreadCaches binds it to an area (so that a thread's caches
    // can live in its thread-local storage, allocated with the thread).
    constexpr ChunkCache() noexcept = default;
    ChunkCache(const ChunkCache &) = delete;
    ChunkCache &operator=(const ChunkCache &) = delete;

    // Binds an empty cache to 'area' (nullptr: unbound again).
    void bind(UmemArea *area) noexcept { area_ = area; }

    // ---- Hot path (owning thread only) --------------------------------
    //
    // take() and reserve()/commit() let the caller read and write the
    // stack in place, so a chunk goes between a ring and the cache with
    // one load and one store, without a scratch array in between.

    // Up to 'n' (<= kSlab) free chunks, taken from the top; a slab comes
    // from the pool first when the cache has fewer.  Returns how many (0
    // only when the pool is empty too) and sets '*chunks' to them: the
    // most recently returned is (*chunks)[got - 1].  Valid until the next
    // call on this cache.
    uint32_t take(uint32_t n, const uint64_t **chunks) noexcept
    {
        uint32_t have = count_.get();
        if (have < n) [[unlikely]] {
            have = refill_from_pool(have);
        }
        uint32_t got = n < have ? n : have;
        count_.set(have - got);
        *chunks = stack_ + have - got;
        return got;
    }

    // Room for 'n' (<= kSlab) chunks on top, a slab going to the pool
    // first when there is not: returns where to write them.  Finish with
    // commit(end), 'end' one past the last chunk written.
    uint64_t *reserve(uint32_t n) noexcept
    {
        uint32_t have = count_.get();
        if (have + n > kCapacity) [[unlikely]] {
            have = spill_to_pool(have);
            count_.set(have);
        }
        return stack_ + have;
    }
    void commit(const uint64_t *end) noexcept
    {
        count_.set(uint32_t(end - stack_));
    }

    // Copying forms of take() and reserve()/commit(): into 'out' the most
    // recently returned first, and from 'addrs'.
    uint32_t get(uint64_t *out, uint32_t n) noexcept
    {
        const uint64_t *chunks;
        uint32_t got = take(n, &chunks);
        for (uint32_t i = 0; i < got; i++) {
            out[i] = chunks[got - 1 - i];
        }
        return got;
    }
    void put(const uint64_t *addrs, uint32_t n) noexcept
    {
        uint64_t *top = reserve(n);
        for (uint32_t i = 0; i < n; i++) {
            *top++ = addrs[i];
        }
        commit(top);
    }

    // Hot path: pushes one chunk when there is room; false when the cache
    // is full (the caller spills through put()).
    bool push_one(uint64_t addr) noexcept
    {
        uint32_t have = count_.get();
        if (have >= kCapacity) [[unlikely]] {
            return false;
        }
        stack_[have] = addr;
        count_.set(have + 1);
        return true;
    }

    // ---- Control path -------------------------------------------------

    // Everything back to the pool (owning thread, or under the area's lock
    // once the owner is gone).
    void flush() noexcept;

    UmemArea *area() const noexcept { return area_; }

    // Any thread (statistics).
    uint32_t count() const noexcept { return count_.get(); }

private:
    // One writer, any reader.
    template <typename T>
    class Owned {
    public:
        T get() const noexcept { return v_.load(std::memory_order_relaxed); }
        void set(T v) noexcept { v_.store(v, std::memory_order_relaxed); }

    private:
        std::atomic<T> v_{0};
    };

    uint32_t refill_from_pool(uint32_t have) noexcept;
    uint32_t spill_to_pool(uint32_t have) noexcept;

    friend class UmemArea;  // Keeps its caches in a list through next_.

    UmemArea *area_ = nullptr;
    ChunkCache *next_ = nullptr;  // Under the area's mutex.
    Owned<uint32_t> count_;
    uint64_t stack_[kCapacity] = {};  // stack_[count_ - 1] is the top.
};

}  // namespace afxdp::umem

#endif  // AFXDP_UMEM_CHUNK_CACHE_H
