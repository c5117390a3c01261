/*
 * XskQueue: the datapath of one AF_XDP queue.
 *
 * Four rings connect us to the kernel: we produce free chunks on the fill
 * ring, the kernel produces received frames on the rx ring; we produce
 * frames to send on a tx ring, the kernel gives their chunks back on the
 * completion ring.  XskQueue moves chunks between those rings, the calling
 * thread's cache of the UMEM (umem::ChunkCache) and the caller, in batches,
 * without allocating, without a lock or an atomic read-modify-write on the
 * chunks' way, and without a syscall other than the wakeups AF_XDP asks for
 * (a sendto() to make the kernel transmit, a recvfrom() when the fill ring
 * was starved).
 *
 * Transmission without a copy.  A frame the caller received from any of
 * our queues sits in a chunk of some UMEM; when that UMEM is this queue's,
 * the frame goes onto the tx ring by address, the chunk passes from held
 * to lent, and it comes back through the completion ring.  Any other frame
 * (another UMEM, a tap, a copy made by OVS) is copied into a chunk first.
 *
 * Two tx lanes.  When dpif-netdev lets several threads send on one queue
 * (concurrent txqs: more threads than queues), PMD threads share the
 * queue's own tx ring under a spin lock held only to reserve, write and
 * submit descriptors: never across a copy or a syscall, the kick comes
 * after it.  The main thread (packet-outs, afxdp-nonpmd ports) gets a tx
 * ring of its own, a second socket on the same device queue (the "main
 * lane"), so that it never holds a lock a PMD spins on: a main thread
 * preempted in the middle of a send cannot stall a PMD.  Both lanes'
 * chunks complete on the queue's one completion ring, which any sender
 * drains when it can take its lock without waiting (try-lock), and skips
 * otherwise.
 *
 * Chained frames (multi-buffer AF_XDP, see params.h).  With a jumbo area
 * in the config, a frame the kernel delivers as several descriptors linked
 * by XDP_PKT_CONTD is copied into one jumbo buffer, whose slot becomes the
 * frame's 'meta'; its chunks are free again at once.  A chain the peek
 * cut short stays on the rx ring until the rest is there (the kernel
 * publishes a packet's descriptors together); one longer than kMaxRxChain
 * or kMaxJumboFrameLen, or with no jumbo buffer free, is dropped whole and
 * counted, never handed over truncated.  On transmit, a frame longer than
 * a chunk (from the jumbo area, or any copy) is copied over up to
 * kMaxTxChain chunks and posted as one chain: a ring too full for all of
 * it drops the whole frame.
 *
 * It works on libxdp's ring structs and plain fds, not on socket objects,
 * so tests can back the rings with vectors and play the kernel's part.
 *
 * Chunk accounting.  Every chunk lent to the kernel through this queue is
 * in the fill ring or kernel transit (fill), the rx ring (rx), a tx ring or
 * transmission (tx), or the completion ring (completion).  We count what
 * we gave to the kernel in each direction and split it using the rings'
 * producer/consumer indexes.  Free and held chunks are the UMEM's business
 * (see SharedUmem for the whole balance).
 *
 * Threads: refill and rx_burst run on the queue's rx thread; tx_burst as
 * described above.  Each counter has one writer at a time and is a relaxed
 * atomic so stats() may read it from anywhere.
 */
#ifndef AFXDP_NETDEV_XSK_QUEUE_H
#define AFXDP_NETDEV_XSK_QUEUE_H

#include <xdp/xsk.h>

#include <atomic>
#include <cstdint>

#include "bpf/xdp_meta.h"
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

struct XskQueueConfig {
    XskRings rings = {};             // The queue's socket (all four).
    int fd = -1;                     // < 0: no kernel (tests), no wakeups.
    umem::UmemArea *area = nullptr;  // Of kChunkSize chunks.
    // The chunks this queue lends to the kernel carry 'owner_tag' in their
    // state when lent through the fill ring and 'owner_tag + 1' when lent
    // through a tx ring (they are not reclaimed alike, see SharedUmem).
    uint16_t owner_tag = umem::ChunkStates::kFirstOwner;
    bool use_need_wakeup = false;
    bool busy_poll = false;    // Drive the NAPI from every poll.
    uint32_t tx_headroom = 0;  // Where copied frames start in a chunk.
    uint32_t max_frame_len = 0;
    // Multi-buffer: the socket was bound with XDP_USE_SG.  Chained frames
    // are received into 'jumbo' (nullptr: dropped) and frames up to
    // kMaxJumboFrameLen are sent as chains.
    bool multi_buffer = false;
    umem::UmemArea *jumbo = nullptr;  // Of kJumboChunkSize chunks.
    // How many chunks to keep lent on the fill ring (a UMEM shared by
    // many queues cannot fill every ring); nullptr: the ring's size.
    const std::atomic<uint32_t> *fill_target = nullptr;
};

// Who calls tx_burst(): the only sender of the queue, one of several PMD
// threads, or the main thread while PMDs may send too.
enum class TxSharing { kExclusive, kShared, kSharedNonPmd };

struct XskQueueStats {
    uint64_t rx_packets = 0;
    uint64_t rx_bytes = 0;
    uint64_t tx_packets = 0;
    uint64_t tx_bytes = 0;
    uint64_t tx_zero_copy = 0;  // Sent by address, of tx_packets.
    uint64_t tx_dropped = 0;    // Sum of the four below.
    uint64_t tx_dropped_no_chunk = 0;
    uint64_t tx_dropped_ring_full = 0;
    uint64_t tx_dropped_bad_len = 0;       // Empty or too long.
    uint64_t tx_dropped_not_held = 0;      // A chunk the caller did not hold.
    uint64_t tx_kick_errors = 0;           // sendto() failures not tolerated.
    uint64_t rx_multi_buffer = 0;          // Chained frames, of rx_packets.
    uint64_t rx_dropped_multi_buffer = 0;  // Chained frames dropped.
    uint64_t tx_multi_buffer = 0;          // Sent as chains, of tx_packets.

    // This queue's chunks lent to the kernel.
    uint32_t chunks_fill = 0;
    uint32_t chunks_rx = 0;
    uint32_t chunks_tx = 0;
    uint32_t chunks_completion = 0;
};

class XskQueue {
public:
    explicit XskQueue(const XskQueueConfig &config) noexcept;
    XskQueue(const XskQueue &) = delete;
    XskQueue &operator=(const XskQueue &) = delete;

    // Gives the main thread a tx ring of its own ('tx' on socket 'fd', on
    // the same device queue, completing on this queue's completion ring).
    // Control path, before any tx_burst.
    void set_main_lane(struct xsk_ring_prod *tx, int fd) noexcept;
    bool has_main_lane() const noexcept { return main_.ring != nullptr; }

    // ---- Hot path (noexcept, no allocation) ---------------------------

    // Moves free chunks to the fill ring, up to the fill target.  Returns
    // the number added.
    uint32_t refill() noexcept;

    // Receives up to 'max' (>= kMaxRxChain) frames; each holds its chunk
    // (or, for a chained frame, its jumbo buffer) until released
    // through umem::UmemArea::release*() or passed back to tx_burst().
    // An idle poll also kicks the kernel when frames are still waiting on
    // a tx ring.
    uint32_t rx_burst(afxdp_rx_frame *frames, uint32_t max) noexcept;

    // Drains the completion ring (when it can), then queues up to 'n'
    // frames on a tx ring (see the top of this file) and kicks the kernel
    // if needed.  Frames with a 'meta' are taken over, sent or released;
    // frames that do not fit are dropped and counted.  Returns the number
    // queued.
    uint32_t tx_burst(const afxdp_tx_frame *frames, uint32_t n,
                      TxSharing sharing = TxSharing::kExclusive) noexcept;

    // Returns completed tx chunks to this thread's cache; the caller must
    // be the only one draining (tx_burst knows when it is).  Returns how
    // many.
    uint32_t complete() noexcept;

    // Frames carry our XDP program's metadata (bpf/xdp_meta.h) through
    // 'carrier': in the metadata area, where '*unsupported' is the
    // program's flag that the device keeps none (then every frame's
    // metadata is ignored), or in a header the rx path strips from every
    // frame.  Control path, before the first rx_burst().
    void read_xdp_metadata(afxdp_xdp_carrier carrier,
                           const volatile uint32_t *unsupported) noexcept
    {
        carrier_ = carrier;
        meta_unsupported_ = unsupported;
    }

    // ---- Control path -------------------------------------------------
    XskQueueStats stats() const noexcept;
    int fd() const noexcept { return fd_; }
    umem::UmemArea *area() const noexcept { return area_; }
    uint16_t owner_tag() const noexcept { return owner_tag_; }

private:
    // One writer at a time, any reader.
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

    // A tx ring and the fd that kicks it, with its poster's counters
    // (written by whoever holds 'lock', or by the only sender).
    struct alignas(64) Lane {
        struct xsk_ring_prod *ring = nullptr;
        int fd = -1;
        umem::SpinLock lock;
        Counter posted;  // Ever put on the ring.
        Counter packets;
        Counter bytes;
        Counter zero_copy;
        Counter multi_buffer;
        Counter dropped_no_chunk;
        Counter dropped_ring_full;
        Counter dropped_bad_len;
        Counter dropped_not_held;
        Counter kick_errors;
    };

    // One batch of frames turned into descriptors, outside any lock.
    struct TxBatch;

    void prepare(const afxdp_tx_frame *frames, uint32_t n, TxBatch *b) noexcept;
    void classify(const afxdp_tx_frame *frames, uint32_t n,
                  TxBatch *b) noexcept;
    void copy_in(const afxdp_tx_frame *frames, TxBatch *b) noexcept;
    uint32_t copy_slots(uint32_t len) const noexcept;
    void copy_chain(const char *data, uint32_t len, const uint64_t *chunks,
                    uint32_t n, struct xdp_desc *out) noexcept;
    uint32_t post(Lane &lane, TxBatch *b) noexcept;
    void give_back(const TxBatch &b, uint32_t from) noexcept;
    uint32_t account(Lane &lane, const TxBatch &b, uint32_t posted) noexcept;
    void kick_tx(Lane &lane) noexcept;
    uint32_t receive(afxdp_rx_frame *frames, uint32_t idx, uint32_t n,
                     uint32_t *consumed) noexcept;
    uint32_t take_chain(uint32_t idx, uint32_t avail, afxdp_rx_frame *f,
                        uint32_t *got) noexcept;
    uint32_t skip_chain(uint32_t idx, uint32_t avail) noexcept;
    bool assemble(uint32_t idx, uint32_t n, uint32_t len, uint32_t head,
                  afxdp_rx_frame *f) noexcept;
    void free_rx_chunks(uint32_t idx, uint32_t n) noexcept;
    void poll_idle() noexcept;

    // Whether the kernel has not yet consumed everything on 'ring'.
    // Reads only the shared indexes, so any thread may ask.
    static bool tx_pending(const struct xsk_ring_prod *ring) noexcept
    {
        return __atomic_load_n(ring->producer, __ATOMIC_ACQUIRE) !=
               __atomic_load_n(ring->consumer, __ATOMIC_ACQUIRE);
    }
    uint64_t tx_outstanding() const noexcept
    {
        return pmd_.posted.get() + main_.posted.get() - completed_.get();
    }

    // Read-only after construction.
    const XskRings rings_;
    umem::UmemArea *const area_;
    char *const umem_base_;  // Its chunks are kChunkSize bytes.
    const uint32_t tx_headroom_;
    const uint32_t max_frame_len_;
    const uint32_t max_chain_len_;  // Longest frame sent (chained or not).
    umem::UmemArea *const jumbo_;
    const std::atomic<uint32_t> *const fill_target_;
    const int fd_;
    const uint16_t owner_tag_;  // Fill ring; owner_tag_ + 1: tx rings.
    const bool use_need_wakeup_;
    const bool busy_poll_;
    const volatile uint32_t *meta_unsupported_ = nullptr;
    afxdp_xdp_carrier carrier_ = AFXDP_XDP_CARRIER_NONE;

    // rx thread.
    alignas(64) Counter rx_packets_;
    Counter rx_bytes_;
    Counter fill_outstanding_;  // Fill ring + kernel transit + rx ring.
    Counter rx_multi_buffer_;
    Counter rx_dropped_multi_buffer_;
    // Dropping the rest of an overlong chain, up to its last descriptor.
    bool skipping_chain_ = false;
    bool chain_cut_ = false;  // The last peek ended inside a chain.

    // Completion ring: whoever holds comp_lock_ (or the only sender).
    alignas(64) umem::SpinLock comp_lock_;
    Counter completed_;

    Lane pmd_;   // The queue's own tx ring.
    Lane main_;  // The main thread's, when set_main_lane() gave one.
};

}  // namespace afxdp::netdev

#endif  // AFXDP_NETDEV_XSK_QUEUE_H
