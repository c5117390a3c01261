/*
 * UmemArea: the memory an AF_XDP UMEM is made of, with its chunk pool,
 * its chunk states and metadata slots, and the rule that decides when it
 * may go.
 *
 * Frames received into a UMEM travel through OVS as dp_packets and may be
 * freed long after the sockets that received them closed (a packet queued
 * on another port, a reconfiguration in the middle of a burst).  So the
 * area cannot die with its sockets.  It goes when three things are all
 * true:
 *  - no owner is left: owners are the sockets and ports using it, each
 *    holding an AreaRef (share() adds one, destroying the AreaRef retires
 *    it); the last one leaving makes the area "retired";
 *  - no thread cache is attached: each thread that touched the area has a
 *    ChunkCache of it (ThreadCaches); a retired area asks every thread to
 *    flush, and each detaches its cache at its next call;
 *  - no chunk is held by the caller.
 * The first two change on the control path or once per thread, under the
 * area's mutex; the third is not counted at all while the area lives: the
 * chunks' states say which are held.  Only once no owner and no cache is
 * left does the area count its held chunks (a scan of the states) and
 * then count them down as they are released; releases into such an area
 * take the mutex (rare: the frames OVS still held when the last socket
 * closed).  So there is no reference count to update per burst and no
 * atomic read-modify-write per packet.
 *
 * Chunks lent to the kernel (fill and tx rings) hold nothing: the kernel
 * gives them up when the socket closes, which happens before its owners
 * retire (see ChunkStates for how they are found again).
 *
 * Every chunk has a state (ChunkStates): the release path refuses a chunk
 * that is not held, in every build, counts it (release_errors()) and
 * reports it, so a double release costs a log line instead of a corrupted
 * pool and a freed area under a live port.
 *
 * Layout: the fields the hot path reads and nobody writes come first, on
 * their own cache lines; the pool (whose lock and count every exchange
 * writes) aligns its own; the lifetime fields and the error counters, which
 * other threads write, sit on lines of their own after them.
 */
#ifndef AFXDP_UMEM_UMEM_AREA_H
#define AFXDP_UMEM_UMEM_AREA_H

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "umem/chunk_cache.h"
#include "umem/chunk_pool.h"
#include "umem/chunk_states.h"
#include "umem/metadata_slots.h"
#include "umem/page_mapping.h"
#include "umem/result.h"
#include "umem/thread_caches.h"

namespace afxdp::umem {

struct UmemConfig {
    uint32_t n_chunks = 0;    // Power of two.
    uint32_t chunk_size = 0;  // Power of two, >= 2048 (AF_XDP minimum).
    uint32_t meta_size = 0;   // Caller bytes per chunk (may be 0).
    int numa_node = -1;       // -1: no preference.
    bool huge_pages = true;   // Try huge pages (see PageMapping).
};

class UmemArea;

// One owner reference; destruction retires it.
struct RetireArea {
    void operator()(UmemArea *area) const noexcept;
};
using AreaRef = std::unique_ptr<UmemArea, RetireArea>;

class UmemArea {
public:
    // Maps and populates the area; the returned reference is its first
    // owner.  EINVAL for a bad config, ENOMEM (or mmap's errno) otherwise.
    static Result<AreaRef> create(const UmemConfig &config);

    UmemArea(const UmemArea &) = delete;
    UmemArea &operator=(const UmemArea &) = delete;

    // Another owner reference to the same area.  Not on a retired area.
    AreaRef share() noexcept;

    // Drops one owner reference (use AreaRef instead of calling it).
    void retire() noexcept;

    // No owner is left; the area goes once its frames and caches have.
    bool retired() const noexcept
    {
        return retired_.load(std::memory_order_acquire);
    }

    // ---- Hot path -----------------------------------------------------
    char *base() const noexcept { return base_; }
    uint64_t size() const noexcept { return size_; }
    uint32_t n_chunks() const noexcept { return n_chunks_; }
    uint32_t chunk_size() const noexcept { return chunk_size_; }
    uint32_t chunk_shift() const noexcept { return chunk_shift_; }
    ChunkPool &pool() noexcept { return pool_; }
    const ChunkPool &pool() const noexcept { return pool_; }
    ChunkStates &states() noexcept { return states_; }
    const ChunkStates &states() const noexcept { return states_; }
    const MetadataSlots &slots() const noexcept { return slots_; }

    // What the chunks and the slots are mapped on (for status).
    const PageMapping &memory() const noexcept { return memory_; }

    // This thread's cache of the area; nullptr once it is retired.
    ChunkCache *cache() noexcept { return ThreadCaches::of(this); }

    // Gives back chunks held by the caller, named by their metadata slot's
    // caller pointer.  The batch may mix areas.  Any thread; may delete an
    // area that was retired.  A chunk that is not held is refused, counted
    // and reported (release_errors()).
    static void release(void *meta) noexcept;
    static void release_batch(void *const *metas, uint32_t n) noexcept;

    // ---- Thread caches (ThreadCaches only) ----------------------------
    // Binds 'cache' to this area; false when retired.
    bool attach_cache(ChunkCache *cache) noexcept;
    // Flushes 'cache' and unbinds it.  May delete the area.
    void detach_cache(ChunkCache *cache) noexcept;

    // ---- Statistics ---------------------------------------------------
    // Chunks held by the caller (exact when no release/rx is in flight).
    uint32_t chunks_held() const noexcept;
    // Free chunks sitting in thread caches (also counted as free).
    uint32_t chunks_cached() const noexcept;
    // Free chunks: in the pool or in a cache.
    uint32_t chunks_free() const noexcept
    {
        return pool_.free_count() + chunks_cached();
    }

    // Releases refused because the chunk was not held.
    uint64_t release_errors() const noexcept
    {
        return release_errors_.load(std::memory_order_relaxed);
    }

    // Areas alive in this process (for tests and leak checks).
    static uint64_t live_count() noexcept;

private:
    explicit UmemArea(const UmemConfig &config);
    ~UmemArea();

    [[gnu::noinline, gnu::cold]] static void release_slow(void *meta) noexcept;
    void detach_locked(ChunkCache *cache) noexcept;
    // Release metas[i..] while they belong to this area (at most a slab);
    // return the index of the first one not released here.
    uint32_t release_run(void *const *metas, uint32_t i, uint32_t n) noexcept;
    uint32_t release_uncached(void *const *metas, uint32_t i,
                              uint32_t n) noexcept;
    void refuse_release(uint32_t chunk, uint32_t n) noexcept;
    // Under mutex_: whether the area may go now; the first caller to see
    // it true must delete it (after unlocking).
    bool claim_deletion_locked() noexcept;

    // Read by the hot path, written once.
    alignas(64) const uint32_t n_chunks_;
    const uint32_t chunk_size_;
    const uint32_t chunk_shift_;
    const uint64_t size_;
    char *base_ = nullptr;  // memory_.data().
    ChunkPool pool_;
    ChunkStates states_;
    MetadataSlots slots_;
    PageMapping memory_;  // The chunks; unmapped by ~UmemArea.

    // Lifetime: control path and once per thread.
    alignas(64) mutable std::mutex mutex_;
    uint32_t owners_ = 1;           // Under mutex_.
    ChunkCache *caches_ = nullptr;  // Under mutex_; list through next_.
    // Under mutex_: once no owner and no cache is left, the held chunks
    // still to be released (-1 until then).
    int64_t held_left_ = -1;
    bool dying_ = false;  // Under mutex_.
    std::atomic<bool> retired_{false};

    alignas(64) std::atomic<uint64_t> release_errors_{0};  // Error path only.
};

}  // namespace afxdp::umem

#endif  // AFXDP_UMEM_UMEM_AREA_H
