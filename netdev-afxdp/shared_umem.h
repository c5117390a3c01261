/*
 * SharedUmem: one UMEM (a umem::UmemArea) and the queues that use it.
 *
 * Who owns what.  UmemRegistry keeps one SharedUmem per NUMA node (more
 * when one is full) for every afxdp port on that node; each Port holds a
 * shared_ptr to the one it uses, and the SharedUmem holds the area's owner
 * reference, so the area is retired when the last port using it closes
 * (and unmapped once OVS released its last frame and every thread's cache
 * let go, see umem_area.h).  A port asked not to share, or with no room
 * left, gets a SharedUmem of its own ("private").
 *
 * The kernel's side.  Each queue's socket either shares the kernel UMEM
 * of a queue already bound here (XDP_SHARED_UMEM: the kernel then imposes
 * that socket's copy/zero-copy mode and need_wakeup setting, so only
 * queues with the same ones share), or registers the area itself when
 * there is none to share or the kernel refuses (a driver that cannot
 * share; the port's status says so).  Either way every descriptor is an
 * offset into the same memory, so a frame received on any of our queues
 * can be transmitted on any other without a copy.
 *
 * Members and their chunks.  A queue that joins gets a pair of owner
 * tags: the chunks it lends to the kernel carry the first in their state
 * (ChunkStates) when lent for receiving (fill ring), the second when lent
 * for transmitting (tx rings).  When it leaves (its sockets closed), the
 * chunks still lent to it are nobody's and must come back to the pool,
 * but only once the kernel cannot touch them any more:
 *  - in copy mode, the kernel stops receiving into a socket's buffers
 *    before close() returns (xsk_release() unbinds and waits for an RCU
 *    grace period, synchronize_net()), so its receive chunks come back at
 *    once;
 *  - chunks lent for transmission, and all of a zero-copy socket's (a
 *    driver may still DMA into its rx ring until the kernel's deferred
 *    release of the socket, an RCU grace period and a work item later),
 *    come back kReclaimDelay later, at the next port operation or
 *    statistics refresh after it.  Until then they are counted as lent
 *    (fill) and shown as reclaiming.
 *
 * Fill target.  Eight thousand chunks cannot fill a 2048-entry fill ring
 * for every queue of many ports, so each queue keeps at most its share
 * lent on its fill ring: half the UMEM divided among the queues, counting
 * at least kFullShares of them, within [kMinFill, ring size] (1024 chunks
 * for up to four queues, 256 for sixteen).  A queue gives back what it
 * has above a lowered target only as frames arrive: the kernel owns what
 * is on a fill ring, so an idle queue keeps what it was given, which is
 * why the first queues do not get more than four queues could.
 * kMaxQueues queues fit; the registry opens another UMEM beyond that.
 *
 * Jumbo buffers.  A frame the kernel delivers in several chunks (multi-
 * buffer AF_XDP) is copied into one buffer of a second area, kJumboChunks
 * of kJumboChunkSize bytes, which no socket registers: its chunks are
 * only ever free (pool, caches) or held (by OVS, as a frame), and its
 * chunk states refuse a double release as the UMEM's do.  The chunks the
 * frame arrived in are free again as soon as it is copied, so the UMEM's
 * balance holds as for single frames; the jumbo area keeps its own
 * (jumbo_free + jumbo_held == jumbo_total when quiescent).  It lives and
 * goes like the UMEM's area (owner reference here, frames OVS holds).
 *
 * Threads: everything here is control path, under one mutex, called by
 * the main thread (port open/close, statistics) except fill_target(),
 * which the rx path reads with a relaxed load.
 */
#ifndef AFXDP_NETDEV_SHARED_UMEM_H
#define AFXDP_NETDEV_SHARED_UMEM_H

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "netdev-afxdp/params.h"
#include "umem/result.h"
#include "umem/umem_area.h"

namespace afxdp::netdev {

class XskQueue;

// The balance of one UMEM: free + fill + rx + held + tx + completion ==
// total when nothing moves.
struct UmemStats {
    uint32_t chunks_total = 0;
    uint32_t chunks_free = 0;    // Pool and thread caches.
    uint32_t chunks_cached = 0;  // Of free: in thread caches.
    uint32_t chunks_fill = 0;    // Incl. those of closed sockets.
    uint32_t chunks_rx = 0;
    uint32_t chunks_held = 0;
    uint32_t chunks_tx = 0;
    uint32_t chunks_completion = 0;
    uint32_t chunks_reclaiming = 0;  // Of fill: closed sockets'.
    uint32_t queues = 0;
    uint64_t release_errors = 0;  // Releases of chunks not held.
    uint64_t pool_overflows = 0;
    // The jumbo area: free (pool and caches) + held == total.
    uint32_t jumbo_total = 0;
    uint32_t jumbo_free = 0;
    uint32_t jumbo_held = 0;
};

class SharedUmem {
public:
    static constexpr uint32_t kChunks = kChunksPerUmem;
    static constexpr uint32_t kMinFill = 256;
    static constexpr uint32_t kFullShares = 4;
    static constexpr uint32_t kMaxQueues = kChunks / (2 * kMinFill);
    static constexpr auto kReclaimDelay = std::chrono::seconds(2);

    using Clock = std::chrono::steady_clock;

    // A new UMEM of kChunks chunks with 'meta_size' caller bytes each, on
    // 'numa_node'; 'shareable' says whether the registry may give it to
    // other ports.
    static Result<std::shared_ptr<SharedUmem>> create(uint32_t id,
                                                      int numa_node,
                                                      uint32_t meta_size,
                                                      bool shareable);
    SharedUmem(const SharedUmem &) = delete;
    SharedUmem &operator=(const SharedUmem &) = delete;
    ~SharedUmem();

    umem::UmemArea &area() const noexcept { return *area_; }
    umem::UmemArea &jumbo() const noexcept { return *jumbo_; }
    uint32_t id() const noexcept { return id_; }
    int numa_node() const noexcept { return numa_node_; }
    uint32_t meta_size() const noexcept { return meta_size_; }
    bool shareable() const noexcept { return shareable_; }

    // The rx path: how many chunks each queue keeps on its fill ring.
    const std::atomic<uint32_t> *fill_target() const noexcept
    {
        return &fill_target_;
    }

    // ---- Members (control path) ---------------------------------------

    // Whether 'n' more queues fit.
    bool has_room(uint32_t n) const;

    // A queue joins: the first of its two owner tags.  ENOSPC when full.
    Result<uint16_t> join();

    // The queue's socket is bound: statistics now include it, and sockets
    // with the same mode may share its kernel UMEM through 'fd'.  The
    // kernel's UMEM carries the multi-buffer flag (XDP_USE_SG) of the
    // socket that registered it to every socket sharing it.
    void attach(uint16_t tag, const XskQueue *queue, int fd, bool zero_copy,
                bool need_wakeup, bool multi_buffer = false);

    // The queue is about to go: statistics stop reading it.
    void detach(uint16_t tag) noexcept;

    // The queue's sockets are closed (or never opened): its chunks come
    // back, at once or after kReclaimDelay (see above).
    void leave(uint16_t tag) noexcept;

    // Bound sockets whose kernel UMEM a new socket in this mode can share.
    std::vector<int> share_fds(bool zero_copy, bool need_wakeup,
                               bool multi_buffer = false) const;

    // Gives back the chunks of queues that left at least kReclaimDelay
    // before 'now'.  Returns how many chunks.
    uint32_t reclaim_expired(Clock::time_point now = Clock::now());

    UmemStats stats() const;

private:
    struct Member {
        uint16_t tag;
        const XskQueue *queue;  // nullptr until attach().
        int fd;
        bool zero_copy;
        bool need_wakeup;
        bool multi_buffer;
    };
    struct Leaver {
        uint16_t tag;  // Reclaims 'tag' and 'tag + 1'.
        Clock::time_point when;
        uint32_t chunks;
    };

    SharedUmem(uint32_t id, int numa_node, uint32_t meta_size, bool shareable,
               umem::AreaRef area, umem::AreaRef jumbo);
    void update_fill_target_locked() noexcept;
    uint16_t free_tag_locked() const;
    uint32_t reclaim_locked(uint16_t tag) noexcept;

    const uint32_t id_;
    const int numa_node_;
    const uint32_t meta_size_;
    const bool shareable_;
    umem::AreaRef area_;
    umem::AreaRef jumbo_;

    mutable std::mutex mutex_;
    std::vector<Member> members_;      // Under mutex_.
    std::vector<Leaver> leavers_;      // Under mutex_.
    std::vector<uint64_t> reclaimed_;  // Under mutex_; kChunks entries.
    std::atomic<uint32_t> fill_target_{kRingSize};
};

}  // namespace afxdp::netdev

#endif  // AFXDP_NETDEV_SHARED_UMEM_H
