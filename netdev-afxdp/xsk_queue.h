/*
 * XskQueue: the datapath of one AF_XDP socket.
 *
 * Four rings connect us to the kernel: we produce free chunks on the fill
 * ring, the kernel produces received frames on the rx ring; we produce
 * frames to send on the tx ring, the kernel gives their chunks back on the
 * completion ring.  XskQueue moves chunks between those rings, the UMEM's
 * chunk pool and the caller, in batches, without allocating and without a
 * syscall other than the wakeups AF_XDP asks for (a sendto() to make the
 * kernel transmit, a recvfrom() when the fill ring was starved).
 *
 * It works on libxdp's ring structs and a plain fd, not on a socket object,
 * so tests can back the rings with vectors and play the kernel's part.
 *
 * Chunk accounting.  Every chunk of the UMEM is in exactly one place:
 * free (pool), fill (given to the fill ring, not yet received: in the ring
 * or in kernel transit), rx (in the rx ring, not yet consumed), held (by
 * the caller), tx (submitted, not yet completed) or completion (in the
 * completion ring).  We count what we gave to the kernel in each direction
 * and split it using the rings' producer/consumer indexes, so the six add
 * up to the total whenever the queue is quiescent.
 *
 * Threads: refill and rx_burst run on the queue's rx thread; tx_burst and
 * complete on one tx thread at a time (the caller takes tx_lock() when
 * several threads share the queue).  Each counter has one writer and is a
 * relaxed atomic so stats() may read it from anywhere.
 */
#ifndef AFXDP_NETDEV_XSK_QUEUE_H
#define AFXDP_NETDEV_XSK_QUEUE_H

#include <xdp/xsk.h>

#include <atomic>
#include <cstdint>

#include "netdev-afxdp/afxdp.h"
#include "umem/spin_lock.h"
#include "umem/umem_area.h"

namespace afxdp::netdev {

struct XskRings {
    struct xsk_ring_prod *fill;
    struct xsk_ring_cons *comp;
    struct xsk_ring_cons *rx;
    struct xsk_ring_prod *tx;
};

struct XskQueueStats {
    uint64_t rx_packets = 0;
    uint64_t rx_bytes = 0;
    uint64_t tx_packets = 0;
    uint64_t tx_bytes = 0;
    uint64_t tx_dropped = 0;  // Sum of the three below.
    uint64_t tx_dropped_no_chunk = 0;
    uint64_t tx_dropped_ring_full = 0;
    uint64_t tx_dropped_bad_len = 0;  // Empty or longer than max_frame_len.
    uint64_t tx_kick_errors = 0;      // sendto() failures not tolerated.

    uint32_t chunks_total = 0;
    uint32_t chunks_free = 0;
    uint32_t chunks_fill = 0;
    uint32_t chunks_rx = 0;
    uint32_t chunks_held = 0;
    uint32_t chunks_tx = 0;
    uint32_t chunks_completion = 0;
};

class XskQueue {
public:
    // 'fd' < 0 means there is no kernel (tests): no wakeups are sent.
    // Frames are copied for tx at 'tx_headroom' into a chunk and may be at
    // most 'max_frame_len' long.
    // 'owner_tag' (>= umem::ChunkStates::kFirstOwner) marks the chunks
    // this queue lends to the kernel.
    XskQueue(const XskRings &rings, umem::UmemArea *area, int fd,
             bool use_need_wakeup, uint32_t tx_headroom, uint32_t max_frame_len,
             uint16_t owner_tag = umem::ChunkStates::kFirstOwner) noexcept;
    XskQueue(const XskQueue &) = delete;
    XskQueue &operator=(const XskQueue &) = delete;

    // ---- Hot path (noexcept, no allocation) ---------------------------

    // Moves free chunks to the fill ring, up to its free space.  Returns
    // the number added.
    uint32_t refill() noexcept;

    // Receives up to 'max' frames; each holds its chunk until released
    // through umem::UmemArea::release*().  An idle poll also kicks the
    // kernel when frames are still waiting on the tx ring.
    uint32_t rx_burst(afxdp_rx_frame *frames, uint32_t max) noexcept;

    // Drains the completion ring, then copies up to 'n' frames into chunks
    // and onto the tx ring and kicks the kernel if needed.  Frames that do
    // not fit are dropped and counted.  Returns the number queued.
    uint32_t tx_burst(const afxdp_tx_frame *frames, uint32_t n) noexcept;

    // Returns completed tx chunks to the pool.  Returns how many.
    uint32_t complete() noexcept;

    umem::SpinLock &tx_lock() noexcept { return tx_lock_; }

    // ---- Control path -------------------------------------------------
    XskQueueStats stats() const noexcept;
    int fd() const noexcept { return fd_; }
    umem::UmemArea *area() const noexcept { return area_; }

private:
    // One writer, any reader.
    class Counter {
    public:
        void add(uint64_t n) noexcept
        {
            v_.store(v_.load(std::memory_order_relaxed) + n,
                     std::memory_order_relaxed);
        }
        void sub(uint64_t n) noexcept { add(-n); }
        uint64_t get() const noexcept
        {
            return v_.load(std::memory_order_relaxed);
        }

    private:
        std::atomic<uint64_t> v_{0};
    };

    void kick_tx() noexcept;

    // Whether the kernel has not yet consumed everything on the tx ring.
    // Reads only the shared indexes, so any thread may ask.
    bool tx_pending() const noexcept
    {
        return __atomic_load_n(rings_.tx->producer, __ATOMIC_ACQUIRE) !=
               __atomic_load_n(rings_.tx->consumer, __ATOMIC_ACQUIRE);
    }

    const XskRings rings_;
    umem::UmemArea *const area_;
    char *const umem_base_;
    const uint64_t chunk_mask_;  // ~(chunk_size - 1)
    const uint32_t chunk_shift_;
    const uint32_t chunk_size_;
    const uint32_t tx_headroom_;
    const uint32_t max_frame_len_;
    const int fd_;
    const bool use_need_wakeup_;
    const uint16_t owner_tag_;

    // rx thread.
    alignas(64) Counter rx_packets_;
    Counter rx_bytes_;
    Counter fill_outstanding_;  // Fill ring + kernel transit + rx ring.

    // tx thread.
    alignas(64) umem::SpinLock tx_lock_;
    Counter tx_packets_;
    Counter tx_bytes_;
    Counter tx_dropped_no_chunk_;
    Counter tx_dropped_ring_full_;
    Counter tx_dropped_bad_len_;
    Counter tx_kick_errors_;
    Counter tx_outstanding_;  // tx ring + kernel + completion ring.
};

}  // namespace afxdp::netdev

#endif  // AFXDP_NETDEV_XSK_QUEUE_H
