/*
 * XskQueue implementation: the functions the PMD threads spend their time
 * in.  Every loop works on at most kBatch entries so that the pool's lock
 * is taken once per batch and the scratch arrays live on the stack.
 *
 * Aligned UMEM mode: a descriptor's address is the chunk's base plus an
 * offset (the headroom the kernel left in front of the frame), so the base
 * is addr & ~(chunk_size - 1) and the chunk index is base >> chunk_shift.
 *
 * Wakeups follow the need_wakeup protocol (kernel 5.4+, see
 * Documentation/networking/af_xdp.rst): with XDP_USE_NEED_WAKEUP the kernel
 * raises a flag on the fill ring when it ran out of buffers and on the tx
 * ring when it wants a sendto() to process the ring; without it, tx always
 * needs a kick in copy mode.
 */
#include "netdev-afxdp/xsk_queue.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "netdev-afxdp/params.h"

namespace afxdp::netdev {

XskQueue::XskQueue(const XskRings &rings, umem::UmemArea *area, int fd,
                   bool use_need_wakeup, uint32_t tx_headroom,
                   uint32_t max_frame_len, uint16_t owner_tag) noexcept
    : rings_(rings), area_(area), umem_base_(area->base()),
      chunk_mask_(~uint64_t(area->chunk_size() - 1)),
      chunk_shift_(area->chunk_shift()), chunk_size_(area->chunk_size()),
      tx_headroom_(tx_headroom),
      max_frame_len_(std::min(max_frame_len, area->chunk_size() - tx_headroom)),
      fd_(fd), use_need_wakeup_(use_need_wakeup), owner_tag_(owner_tag)
{
}

// ---- rx ------------------------------------------------------------------

uint32_t XskQueue::refill() noexcept
{
    struct xsk_ring_prod *fill = rings_.fill;
    uint32_t space = xsk_prod_nb_free(fill, fill->size);
    if (!space) {
        return 0;
    }

    // Straight from this thread's cache onto the ring, each chunk marked
    // as lent to this queue on the way.
    umem::ChunkCache *cache = area_->cache();
    std::atomic<uint16_t> *const states = area_->states().words();
    uint64_t *const ring = static_cast<uint64_t *>(fill->ring);
    const uint32_t mask = fill->mask;
    const uint32_t shift = chunk_shift_;
    const uint16_t tag = owner_tag_;
    uint32_t added = 0;
    while (space) {
        const uint64_t *chunks;
        uint32_t got =
            cache->take(std::min(space, umem::ChunkCache::kSlab), &chunks);
        if (!got) {
            break;
        }
        uint32_t idx = 0;
        // Cannot fail: 'got' <= free space and we are the only producer.
        xsk_ring_prod__reserve(fill, got, &idx);
        for (uint32_t i = 0; i < got; i++) {
            uint64_t addr = chunks[got - 1 - i];
            umem::ChunkStates::set(states, uint32_t(addr >> shift), tag);
            ring[(idx + i) & mask] = addr;
        }
        xsk_ring_prod__submit(fill, got);
        added += got;
        space -= got;
    }
    fill_outstanding_.add(added);
    return added;
}

uint32_t XskQueue::rx_burst(afxdp_rx_frame *frames, uint32_t max) noexcept
{
    uint32_t idx = 0;
    uint32_t n = xsk_ring_cons__peek(rings_.rx, max, &idx);
    uint64_t bytes = 0;

    if (n) {
        // Everything the loop needs in locals: the stores through 'frames'
        // and the state words could otherwise alias them.
        const struct xdp_desc *const ring =
            static_cast<const struct xdp_desc *>(rings_.rx->ring);
        const uint32_t mask = rings_.rx->mask;
        std::atomic<uint16_t> *const states = area_->states().words();
        char *const slot0 = area_->slots().first();
        const size_t stride = area_->slots().stride();
        char *const umem = umem_base_;
        const uint64_t chunk_mask = chunk_mask_;
        const uint32_t shift = chunk_shift_;
        const uint32_t chunk_size = chunk_size_;
        for (uint32_t i = 0; i < n; i++) {
            const struct xdp_desc *desc = &ring[(idx + i) & mask];
            uint64_t addr = desc->addr;
            uint64_t base = addr & chunk_mask;
            uint32_t chunk = uint32_t(base >> shift);
            umem::ChunkStates::set(states, chunk, umem::ChunkStates::kHeld);
            afxdp_rx_frame *f = &frames[i];
            f->meta = slot0 + chunk * stride;
            f->chunk = umem + base;
            f->chunk_size = chunk_size;
            f->headroom = uint32_t(addr - base);
            f->len = desc->len;
            bytes += desc->len;
        }
        // Count them held before the caller can release them.
        area_->cache()->add_held(n);
        xsk_ring_cons__release(rings_.rx, n);
        fill_outstanding_.sub(n);
        rx_packets_.add(n);
        rx_bytes_.add(bytes);
    } else if (fd_ >= 0 && tx_pending() &&
               (!use_need_wakeup_ || xsk_ring_prod__needs_wakeup(rings_.tx))) {
        // An idle poll with frames still on the tx ring.  In copy mode the
        // kernel transmits only from inside a syscall, so frames it could
        // not send while the peer pushed back would wait for the next
        // send, which may never come once traffic stops.  One kick per idle
        // poll while the backlog lasts; none while traffic flows.  The
        // kernel serialises this with the tx thread's own kicks (xs->mutex)
        // and we only read the ring here.
        sendto(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, 0);
    }

    // The kernel ran out of fill buffers and waits to be told there are
    // new ones (the caller refilled just before this burst).
    if (use_need_wakeup_ && fd_ >= 0 &&
        xsk_ring_prod__needs_wakeup(rings_.fill)) {
        recvfrom(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
    }
    return n;
}

// ---- tx ------------------------------------------------------------------

uint32_t XskQueue::complete() noexcept
{
    uint32_t done = 0;
    umem::ChunkCache *cache = area_->cache();
    umem::ChunkStates &states = area_->states();
    for (;;) {
        uint32_t idx = 0;
        uint32_t n =
            xsk_ring_cons__peek(rings_.comp, umem::ChunkCache::kSlab, &idx);
        if (!n) {
            break;
        }
        uint64_t *top = cache->reserve(n);
        for (uint32_t i = 0; i < n; i++) {
            uint64_t addr =
                *xsk_ring_cons__comp_addr(rings_.comp, idx + i) & chunk_mask_;
            states.set(uint32_t(addr >> chunk_shift_),
                       umem::ChunkStates::kFree);
            *top++ = addr;
        }
        cache->commit(top);
        xsk_ring_cons__release(rings_.comp, n);
        done += n;
    }
    tx_outstanding_.sub(done);
    return done;
}

void XskQueue::kick_tx() noexcept
{
    if (fd_ < 0) {
        return;
    }
    // Copy mode transmits synchronously, at most kKernelTxBatch frames per
    // sendto() (TX_BATCH_SIZE in net/xdp/xsk.c), and says EAGAIN when more
    // are left.  One kick per burst keeps up with a steady flow, but after
    // the ring filled up (link down, a stall) a slow flow would sit behind
    // the backlog for many bursts: kick until the ring is drained, bounded
    // by what is outstanding.
    constexpr uint32_t kKernelTxBatch = 32;
    uint64_t retries = tx_outstanding_.get() / kKernelTxBatch;
    for (;;) {
        if (sendto(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, 0) >= 0) {
            return;
        }
        if (errno == EAGAIN && retries) {
            retries--;
            continue;
        }
        switch (errno) {
        case EAGAIN:    // The kernel processed a budget; more next time.
        case EBUSY:     // Another kick is in progress.
        case ENOBUFS:   // No skb (copy mode) right now.
        case ENETDOWN:  // Link down: frames complete when it comes up.
            break;
        default: tx_kick_errors_.add(1);
        }
        return;
    }
}

uint32_t XskQueue::tx_burst(const afxdp_tx_frame *frames, uint32_t n) noexcept
{
    complete();

    umem::ChunkCache *cache = area_->cache();
    uint32_t sent = 0;
    uint64_t bytes = 0;
    uint64_t bad_len = 0, no_chunk = 0, ring_full = 0;

    for (uint32_t off = 0; off < n; off += kBatch) {
        const afxdp_tx_frame *batch = frames + off;
        uint32_t m = std::min(n - off, kBatch);

        uint32_t valid = 0;
        for (uint32_t i = 0; i < m; i++) {
            valid += batch[i].len && batch[i].len <= max_frame_len_;
        }

        uint64_t addrs[kBatch];
        uint32_t got = cache->get(addrs, valid);
        uint32_t space = xsk_prod_nb_free(rings_.tx, got);
        uint32_t k = std::min(got, space);
        if (k < got) {
            cache->put(addrs + k, got - k);
        }
        uint32_t idx = 0;
        if (k) {
            xsk_ring_prod__reserve(rings_.tx, k, &idx);
        }

        // Frames are queued in order; those past the k-th valid one are
        // dropped, for want of a chunk first, then of ring space.
        uint32_t j = 0;
        for (uint32_t i = 0; i < m; i++) {
            const afxdp_tx_frame *f = &batch[i];
            if (!f->len || f->len > max_frame_len_) {
                bad_len++;
            } else if (j < k) {
                uint64_t addr = addrs[j] + tx_headroom_;
                memcpy(umem_base_ + addr, f->data, f->len);
                area_->states().set(uint32_t(addrs[j] >> chunk_shift_),
                                    owner_tag_);
                struct xdp_desc *desc =
                    xsk_ring_prod__tx_desc(rings_.tx, idx + j);
                desc->addr = addr;
                desc->len = f->len;
                desc->options = 0;
                bytes += f->len;
                j++;
            } else if (j < got) {
                ring_full++;
                j++;
            } else {
                no_chunk++;
            }
        }
        if (k) {
            xsk_ring_prod__submit(rings_.tx, k);
            sent += k;
        }
        if (k < valid) {
            // The pool or the ring is exhausted: drop the rest without
            // asking again for every batch.
            for (uint32_t i = off + m; i < n; i++) {
                const afxdp_tx_frame *f = &frames[i];
                if (!f->len || f->len > max_frame_len_) {
                    bad_len++;
                } else if (got < valid) {
                    no_chunk++;
                } else {
                    ring_full++;
                }
            }
            break;
        }
    }

    if (sent) {
        tx_outstanding_.add(sent);
        tx_packets_.add(sent);
        tx_bytes_.add(bytes);
    }
    if (bad_len) {
        tx_dropped_bad_len_.add(bad_len);
    }
    if (no_chunk) {
        tx_dropped_no_chunk_.add(no_chunk);
    }
    if (ring_full) {
        tx_dropped_ring_full_.add(ring_full);
    }

    // Kick even when nothing new was queued if frames are still pending:
    // in copy mode the kernel only transmits from within a syscall.
    if ((sent || tx_outstanding_.get()) &&
        (!use_need_wakeup_ || xsk_ring_prod__needs_wakeup(rings_.tx))) {
        kick_tx();
    }
    return sent;
}

// ---- Statistics ----------------------------------------------------------

namespace {

uint32_t ring_entries(const uint32_t *producer, const uint32_t *consumer)
{
    return __atomic_load_n(producer, __ATOMIC_ACQUIRE) -
           __atomic_load_n(consumer, __ATOMIC_ACQUIRE);
}

uint32_t clamp_sub(uint64_t a, uint32_t b)
{
    return a > b ? uint32_t(a - b) : 0;
}

}  // namespace

XskQueueStats XskQueue::stats() const noexcept
{
    XskQueueStats s;
    s.rx_packets = rx_packets_.get();
    s.rx_bytes = rx_bytes_.get();
    s.tx_packets = tx_packets_.get();
    s.tx_bytes = tx_bytes_.get();
    s.tx_dropped_no_chunk = tx_dropped_no_chunk_.get();
    s.tx_dropped_ring_full = tx_dropped_ring_full_.get();
    s.tx_dropped_bad_len = tx_dropped_bad_len_.get();
    s.tx_dropped =
        s.tx_dropped_no_chunk + s.tx_dropped_ring_full + s.tx_dropped_bad_len;
    s.tx_kick_errors = tx_kick_errors_.get();

    s.chunks_total = area_->n_chunks();
    s.chunks_free = area_->chunks_free();
    s.chunks_held = area_->chunks_held();
    s.chunks_rx = ring_entries(rings_.rx->producer, rings_.rx->consumer);
    s.chunks_fill = clamp_sub(fill_outstanding_.get(), s.chunks_rx);
    s.chunks_completion =
        ring_entries(rings_.comp->producer, rings_.comp->consumer);
    s.chunks_tx = clamp_sub(tx_outstanding_.get(), s.chunks_completion);
    return s;
}

}  // namespace afxdp::netdev
