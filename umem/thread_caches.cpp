/*
 * ThreadCaches implementation: the slow half of the lookup (a new UMEM, a
 * new flush epoch) and the flushes.  Everything here runs at most once per
 * UMEM per thread, or once per flush request, never per burst.
 */
#include "umem/thread_caches.h"

#include "umem/umem_area.h"

namespace afxdp::umem {

constinit thread_local ThreadCacheTable thread_cache_table;

// Starts at 1 so that a thread's first lookup (its table says 0) takes the
// slow path once, which is where the exit-time flush gets registered.
std::atomic<uint64_t> thread_cache_epoch{1};

namespace {

// Flushes and detaches the thread's caches when it exits.  A separate
// thread_local because a destructor makes every access to its variable go
// through a guard: the table itself is accessed without one.
struct Reaper {
    bool armed = false;
    ~Reaper() { ThreadCaches::flush_all(); }
};

thread_local Reaper reaper;

}  // namespace

void ThreadCaches::request_flush() noexcept
{
    thread_cache_epoch.fetch_add(1, std::memory_order_relaxed);
}

void ThreadCaches::flush_all() noexcept
{
    ThreadCacheTable &t = table();
    t.last_area = nullptr;
    t.last_cache = nullptr;
    for (ChunkCache &c : t.caches) {
        if (c.area()) {
            detach(c);
        }
    }
}

ChunkCache *ThreadCaches::take_own(const UmemArea *area) noexcept
{
    ThreadCacheTable &t = table();
    for (ChunkCache &c : t.caches) {
        if (c.area() == area) {
            if (t.last_cache == &c) {
                t.last_area = nullptr;
                t.last_cache = nullptr;
            }
            return &c;
        }
    }
    return nullptr;
}

void ThreadCaches::flush_for_epoch(ThreadCacheTable &t) noexcept
{
    t.last_area = nullptr;
    t.last_cache = nullptr;
    for (ChunkCache &c : t.caches) {
        if (!c.area()) {
            continue;
        }
        if (c.area()->retired()) {
            detach(c);
        } else {
            c.flush();
        }
    }
}

ChunkCache *ThreadCaches::lookup(UmemArea *area) noexcept
{
    ThreadCacheTable &t = table();
    uint64_t epoch = thread_cache_epoch.load(std::memory_order_relaxed);
    if (t.epoch != epoch) {
        flush_for_epoch(t);
        t.epoch = epoch;
    }
    for (ChunkCache &c : t.caches) {
        if (c.area() == area) {
            t.last_area = area;
            t.last_cache = &c;
            return &c;
        }
    }
    return attach(t, area);
}

ChunkCache *ThreadCaches::attach(ThreadCacheTable &t, UmemArea *area) noexcept
{
    if (!t.reaper_armed) {
        // The first use constructs the thread's Reaper, which registers
        // its destructor for this thread's exit.
        reaper.armed = true;
        t.reaper_armed = true;
    }

    ChunkCache *slot = nullptr;
    for (ChunkCache &c : t.caches) {
        if (!c.area()) {
            slot = &c;
            break;
        }
    }
    if (!slot) {
        // More UMEMs than slots on one thread: give the first one up.
        slot = &t.caches[0];
        detach(*slot);
    }
    if (!area->attach_cache(slot)) {
        return nullptr;  // Retired.
    }
    t.last_area = area;
    t.last_cache = slot;
    return slot;
}

void ThreadCaches::detach(ChunkCache &cache) noexcept
{
    ThreadCacheTable &t = table();
    if (t.last_cache == &cache) {
        t.last_area = nullptr;
        t.last_cache = nullptr;
    }
    cache.area()->detach_cache(&cache);  // May delete the area.
}

}  // namespace afxdp::umem
