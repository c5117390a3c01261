/*
 * ThreadCaches: each thread's ChunkCaches, one per UMEM it touches, found
 * in a few instructions from the hot path.
 *
 * Who caches what: a thread that refills a fill ring, drains a completion
 * ring, copies a frame for transmission or releases a frame (OVS frees
 * packets on whatever thread holds them) does it through its own cache of
 * that frame's UMEM.  The caches live in the thread's thread-local
 * storage, allocated with the thread: attaching one to a UMEM costs one
 * lock of that UMEM, once per thread; using it costs nothing shared.
 *
 * Flushing: chunks in a cache are free but only usable by that thread, so
 * caches are emptied back into their pools
 *  - when the thread exits (a thread_local destructor);
 *  - on every thread at its next call after request_flush(), which the
 *    provider calls when a port is removed or a UMEM retired: a global
 *    epoch changes, each thread notices on its next lookup (one relaxed
 *    load per lookup) and flushes every cache, detaching those of retired
 *    UMEMs so that the UMEM can go;
 *  - on this thread at once with flush_all().
 * A thread that never calls into the provider again (a PMD left without
 * queues) keeps its caches until it exits: its chunks count as free in
 * the statistics, and a retired UMEM stays mapped until then.
 */
#ifndef AFXDP_UMEM_THREAD_CACHES_H
#define AFXDP_UMEM_THREAD_CACHES_H

#include <atomic>
#include <cstdint>

#include "umem/chunk_cache.h"

namespace afxdp::umem {

class UmemArea;

// This thread's caches (internal to ThreadCaches; in the header so that
// the lookup inlines).
struct ThreadCacheTable {
    static constexpr uint32_t kMaxAreas = 8;

    UmemArea *last_area = nullptr;  // The last lookup's hit.
    ChunkCache *last_cache = nullptr;
    uint64_t epoch = 0;  // The flush epoch this thread has acted on.
    bool reaper_armed = false;
    ChunkCache caches[kMaxAreas];  // Bound ones are in use.
};

extern constinit thread_local ThreadCacheTable thread_cache_table;
extern std::atomic<uint64_t> thread_cache_epoch;

class ThreadCaches {
public:
    // Hot path: this thread's cache for 'area', attached on first use.
    // nullptr only for a retired area (no new caches attach to it).
    static ChunkCache *of(UmemArea *area) noexcept
    {
        ThreadCacheTable &t = table();
        if (t.last_area == area &&
            t.epoch == thread_cache_epoch.load(std::memory_order_relaxed))
            [[likely]] {
            return t.last_cache;
        }
        return lookup(area);
    }

    // Hot path: this thread's cache for 'area' if it is the last one used
    // and no flush is pending, else nullptr (then use of()).  No call.
    static ChunkCache *peek(const UmemArea *area) noexcept
    {
        ThreadCacheTable &t = table();
        if (t.last_area == area &&
            t.epoch == thread_cache_epoch.load(std::memory_order_relaxed))
            [[likely]] {
            return t.last_cache;
        }
        return nullptr;
    }

    // Every thread flushes its caches at its next lookup.  Any thread.
    static void request_flush() noexcept;

    // This thread's caches back to their pools, and detached.
    static void flush_all() noexcept;

    // For UmemArea, under its mutex: this thread's cache of 'area', or
    // nullptr; forgotten by the lookup (the caller detaches it).
    static ChunkCache *take_own(const UmemArea *area) noexcept;

private:
    // The table's address, opaque to the optimiser: GCC 12 with UBSan
    // otherwise null-checks a hoisted TLS offset instead of the address
    // and reports "member access within null pointer" where none is
    // (a thread-local is never null).  Costs nothing in a normal build.
    static ThreadCacheTable &table() noexcept
    {
        ThreadCacheTable *t = &thread_cache_table;
        asm("" : "+r"(t));
        return *t;
    }

    static ChunkCache *lookup(UmemArea *area) noexcept;
    static void flush_for_epoch(ThreadCacheTable &t) noexcept;
    static ChunkCache *attach(ThreadCacheTable &t, UmemArea *area) noexcept;
    static void detach(ChunkCache &cache) noexcept;
};

}  // namespace afxdp::umem

#endif  // AFXDP_UMEM_THREAD_CACHES_H
