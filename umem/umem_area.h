/*
 * UmemArea: the memory an AF_XDP UMEM is made of, with its chunk pool and
 * its metadata slots, and the reference count that decides when it may go.
 *
 * Frames received into a UMEM travel through OVS as dp_packets and may be
 * freed long after the port that received them was closed (a packet queued
 * on another port, a reconfiguration in the middle of a burst).  So the
 * area cannot die with its socket.  It carries an intrusive atomic count:
 * one reference per owner (a socket, the port) plus one per chunk held by
 * the caller.  rx adds all of a burst's chunks with one fetch_add; release
 * subtracts.  An owner drops its reference with retire() (AreaRef does it on
 * destruction); whoever drops the last reference deletes the area.
 *
 * Chunks lent to the kernel (fill and tx rings) hold no reference: the
 * kernel gives them up when the socket closes, which happens before its
 * owners retire.
 *
 * Several owners may share one area (share()), which is what several
 * sockets bound with XDP_SHARED_UMEM will need: the area belongs to nobody
 * in particular and lives as long as any of them or any frame does.
 *
 * Every chunk has a state (ChunkStates): the release path refuses a chunk
 * that is not held, in every build, counts it (release_errors()) and
 * reports it, so a double release costs a log line instead of a corrupted
 * pool and a reference count that drops to zero under a live port.
 */
#ifndef AFXDP_UMEM_UMEM_AREA_H
#define AFXDP_UMEM_UMEM_AREA_H

#include <atomic>
#include <cstdint>
#include <memory>

#include "common/result.h"
#include "umem/chunk_pool.h"
#include "umem/chunk_states.h"
#include "umem/metadata_slots.h"

namespace afxdp::umem {

struct UmemConfig {
    uint32_t n_chunks = 0;    // Power of two.
    uint32_t chunk_size = 0;  // Power of two, >= 2048 (AF_XDP minimum).
    uint32_t meta_size = 0;   // Caller bytes per chunk (may be 0).
    int numa_node = -1;       // -1: no preference.
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

    // Another owner reference to the same area.
    AreaRef share() noexcept;

    // Drops one owner reference (use AreaRef instead of calling it).
    void retire() noexcept;

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

    // 'n' chunks were handed to the caller (one reference each).
    void hold(uint32_t n) noexcept
    {
        refs_.fetch_add(n, std::memory_order_relaxed);
    }

    // Gives back chunks held by the caller, named by their metadata slot's
    // caller pointer.  The batch may mix areas.  Any thread; may delete an
    // area that was retired.  A chunk that is not held is refused, counted
    // and reported (release_errors()).
    static void release(void *meta) noexcept { release_batch(&meta, 1); }
    static void release_batch(void *const *metas, uint32_t n) noexcept;

    // ---- Statistics ---------------------------------------------------
    // Chunks held by the caller (exact when no release/rx is in flight).
    uint32_t chunks_held() const noexcept;

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

    void drop_refs(uint64_t n) noexcept;
    void release_run(const uint32_t *chunks, uint32_t n) noexcept;
    void refuse_release(uint32_t chunk, uint32_t n) noexcept;

    const uint32_t n_chunks_;
    const uint32_t chunk_size_;
    const uint32_t chunk_shift_;
    const uint64_t size_;
    char *base_ = nullptr;  // mmap()ed; unmapped by ~UmemArea.
    ChunkPool pool_;
    ChunkStates states_;
    MetadataSlots slots_;
    std::atomic<uint64_t> refs_{1};  // Owners + held chunks.
    std::atomic<uint32_t> owners_{1};
    std::atomic<uint64_t> release_errors_{0};  // Error path only.
};

}  // namespace afxdp::umem

#endif  // AFXDP_UMEM_UMEM_AREA_H
