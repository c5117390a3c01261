/*
 * XskQueue implementation: the functions the PMD threads spend their time
 * in.  Chunks come from and go to the calling thread's ChunkCache (see
 * umem/chunk_cache.h), so no shared lock is taken on their way; each
 * chunk's state (umem/chunk_states.h) follows it with one store.
 *
 * Aligned UMEM mode: a descriptor's address is the chunk's base plus an
 * offset (the headroom the kernel left in front of the frame, or wherever
 * OVS moved the frame's start within its chunk), so the base is
 * addr & ~(chunk_size - 1) and the chunk index is base >> chunk_shift.
 * The kernel accepts any tx descriptor that stays within one chunk
 * (xp_aligned_validate_desc), which is what lets a received frame go out
 * as it is.
 *
 * Wakeups follow the need_wakeup protocol (kernel 5.4+, see
 * Documentation/networking/af_xdp.rst): with XDP_USE_NEED_WAKEUP the kernel
 * raises a flag on the fill ring when it ran out of buffers and on the tx
 * ring when it wants a sendto() to process the ring; without it, tx always
 * needs a kick in copy mode.  With busy polling (SO_PREFER_BUSY_POLL) the
 * application drives the device's NAPI itself: a recvfrom() when a poll
 * finds nothing and a sendto() after every transmit, as the kernel's
 * xdpsock sample does.
 */
#include "netdev-afxdp/xsk_queue.h"

#include <sys/socket.h>

#include <algorithm>
#include <bit>
#include <cassert>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <mutex>

#include "bpf/xdp_meta.h"
#include "netdev-afxdp/params.h"
#include "umem/report.h"

namespace afxdp::netdev {

// The rx frame's flags are the metadata's, copied as they are.
static_assert(AFXDP_RX_HASH == AFXDP_XDP_META_HASH);
static_assert(AFXDP_RX_FLOW_MARK == AFXDP_XDP_META_MARK);

using umem::ChunkStates;

namespace {

// Every UMEM our sockets use has kChunkSize chunks (XskSocket registers
// it so; XskQueue's constructor checks it): the hot loops shift and mask
// by constants, which frees a register the variable shift would pin.
constexpr uint32_t kShift = std::countr_zero(kChunkSize);
constexpr uint64_t kChunkMask = ~uint64_t(kChunkSize - 1);

}  // namespace

XskQueue::XskQueue(const XskQueueConfig &c) noexcept
    : rings_(c.rings), area_(c.area), umem_base_(c.area->base()),
      tx_headroom_(c.tx_headroom),
      max_frame_len_(
          std::min(c.max_frame_len, c.area->chunk_size() - c.tx_headroom)),
      fill_target_(c.fill_target), fd_(c.fd), owner_tag_(c.owner_tag),
      use_need_wakeup_(c.use_need_wakeup), busy_poll_(c.busy_poll)
{
    assert(c.area->chunk_size() == kChunkSize);
    pmd_.ring = c.rings.tx;
    pmd_.fd = c.fd;
}

void XskQueue::set_main_lane(struct xsk_ring_prod *tx, int fd) noexcept
{
    main_.ring = tx;
    main_.fd = fd;
}

// ---- rx ------------------------------------------------------------------

uint32_t XskQueue::refill() noexcept
{
    struct xsk_ring_prod *fill = rings_.fill;
    uint32_t space;
    if (fill_target_) {
        // Up to the target (a shared UMEM lends each queue only its
        // share), counted from what we lent, which we know without looking
        // at the ring; then the ring's room, which reads the kernel's
        // consumer index (a line the kernel writes from another CPU) only
        // when the room we last saw is not enough.
        uint64_t lent = fill_outstanding_.get();
        uint32_t target = fill_target_->load(std::memory_order_relaxed);
        if (lent >= target) {
            return 0;
        }
        uint32_t want = uint32_t(target - lent);
        space = std::min(xsk_prod_nb_free(fill, want), want);
    } else {
        space = xsk_prod_nb_free(fill, fill->size);  // The whole ring.
    }
    if (!space) {
        return 0;
    }

    // Straight from this thread's cache onto the ring, each chunk marked
    // as lent to this queue on the way.
    umem::ChunkCache *cache = area_->cache();
    std::atomic<uint16_t> *const states = area_->states().words();
    uint64_t *const ring = static_cast<uint64_t *>(fill->ring);
    const uint32_t mask = fill->mask;
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
            ChunkStates::set(states, uint32_t(addr >> kShift), tag);
            ring[(idx + i) & mask] = addr;
        }
        xsk_ring_prod__submit(fill, got);
        added += got;
        space -= got;
    }
    fill_outstanding_.add(added);
    return added;
}

void XskQueue::receive(afxdp_rx_frame *frames, uint32_t idx,
                       uint32_t n) noexcept
{
    // Everything the loop needs in locals: the stores through 'frames'
    // and the state words could otherwise alias them.
    const struct xdp_desc *const ring =
        static_cast<const struct xdp_desc *>(rings_.rx->ring);
    const uint32_t mask = rings_.rx->mask;
    std::atomic<uint16_t> *const states = area_->states().words();
    char *const slot0 = area_->slots().first();
    const size_t stride = area_->slots().stride();
    char *const umem = umem_base_;
    uint64_t bytes = 0;
    // Our XDP program's metadata is trusted only while the device keeps it
    // (the program raises the flag before any frame without it reaches the
    // ring, and the ring was read before this).
    const bool xdp_meta = meta_unsupported_ && !*meta_unsupported_;
    // The kernel wrote the descriptors from the receiving CPU: ask for all
    // their lines at once (four to a line) instead of missing on each in
    // turn.
    constexpr uint32_t kPerLine = 64 / sizeof(struct xdp_desc);
    for (uint32_t i = 0; i < n; i += kPerLine) {
        __builtin_prefetch(&ring[(idx + i) & mask]);
    }
    for (uint32_t i = 0; i < n; i++) {
        const struct xdp_desc *desc = &ring[(idx + i) & mask];
        uint64_t addr = desc->addr;
        uint64_t base = addr & kChunkMask;
        uint32_t chunk = uint32_t(base >> kShift);
        ChunkStates::set(states, chunk, ChunkStates::kHeld);
        afxdp_rx_frame *f = &frames[i];
        char *meta = slot0 + chunk * stride;
        // In copy mode the kernel wrote the frame on the CPU that received
        // it: start pulling its first line (OVS parses it next) and the
        // slot's (the glue writes the dp_packet there) now, for the whole
        // burst at once, rather than one miss after the other later.
        __builtin_prefetch(umem + addr);
        __builtin_prefetch(meta, 1);
        f->meta = meta;
        f->chunk = umem + base;
        f->chunk_size = kChunkSize;
        f->headroom = uint32_t(addr - base);
        f->len = desc->len;
        f->xdp_flags = 0;
        if (xdp_meta) {
            const auto *m = reinterpret_cast<const afxdp_xdp_meta *>(
                umem + addr - sizeof(afxdp_xdp_meta));
            f->xdp_flags = m->flags;
            f->rx_hash = m->rx_hash;
            f->flow_mark = m->flow_mark;
        }
        bytes += desc->len;
    }
    xsk_ring_cons__release(rings_.rx, n);
    fill_outstanding_.sub(n);
    rx_packets_.add(n);
    rx_bytes_.add(bytes);
}

void XskQueue::poll_idle() noexcept
{
    if (fd_ < 0) {
        return;
    }
    // Busy polling: nothing arrived, so run the device's NAPI now (it is
    // not interrupt-driven while we poll).
    if (busy_poll_) {
        recvfrom(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
    }
    // An idle poll with frames still on a tx ring.  In copy mode the
    // kernel transmits only from inside a syscall, so frames it could not
    // send while the peer pushed back would wait for the next send, which
    // may never come once traffic stops.  One kick per idle poll while the
    // backlog lasts; none while traffic flows.  The kernel serialises this
    // with the senders' own kicks (xs->mutex) and we only read the ring.
    for (const Lane *lane : {&pmd_, &main_}) {
        if (lane->ring && tx_pending(lane->ring) &&
            (!use_need_wakeup_ || xsk_ring_prod__needs_wakeup(lane->ring))) {
            sendto(lane->fd, nullptr, 0, MSG_DONTWAIT, nullptr, 0);
        }
    }
}

uint32_t XskQueue::rx_burst(afxdp_rx_frame *frames, uint32_t max) noexcept
{
    uint32_t idx = 0;
    uint32_t n = xsk_ring_cons__peek(rings_.rx, max, &idx);
    if (n) {
        receive(frames, idx, n);
    } else {
        poll_idle();
    }

    // The kernel ran out of fill buffers and waits to be told there are
    // new ones (the caller refilled just before this burst).
    if (use_need_wakeup_ && fd_ >= 0 &&
        xsk_ring_prod__needs_wakeup(rings_.fill)) {
        recvfrom(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
    }
    return n;
}

// ---- Completion ------------------------------------------------------------

uint32_t XskQueue::complete() noexcept
{
    struct xsk_ring_cons *comp = rings_.comp;
    umem::ChunkCache *cache = area_->cache();
    std::atomic<uint16_t> *const states = area_->states().words();
    const uint64_t *const ring = static_cast<const uint64_t *>(comp->ring);
    const uint32_t mask = comp->mask;
    uint32_t done = 0;
    for (;;) {
        uint32_t idx = 0;
        uint32_t n = xsk_ring_cons__peek(comp, umem::ChunkCache::kSlab, &idx);
        if (!n) {
            break;
        }
        uint64_t *top = cache->reserve(n);
        uint64_t *const end = top + n;
        while (top != end) {
            uint64_t addr = ring[idx++ & mask] & kChunkMask;
            ChunkStates::set(states, uint32_t(addr >> kShift),
                             ChunkStates::kFree);
            *top++ = addr;
        }
        cache->commit(top);
        xsk_ring_cons__release(comp, n);
        done += n;
        if (n < umem::ChunkCache::kSlab) {
            break;  // Drained, as far as the last look saw.
        }
    }
    completed_.add(done);
    return done;
}

// ---- tx --------------------------------------------------------------------

struct XskQueue::TxBatch {
    struct xdp_desc descs[kBatch];
    void *released[kBatch];
    // Frames to copy: their index in the caller's array and the slot left
    // for them in 'descs'.
    struct Copy {
        uint8_t frame;
        uint8_t slot;
    } copies[kBatch];
    uint32_t n_descs = 0;
    uint32_t n_copies = 0;  // Slots that hold (or held) a copy.
    uint32_t n_released = 0;
    uint64_t bad_len = 0;
    uint64_t no_chunk = 0;
    uint64_t not_held = 0;

    // Whether descs[slot] is a copy (only asked on rare paths).
    bool is_copy(uint32_t slot) const noexcept
    {
        for (uint32_t k = 0; k < n_copies; k++) {
            if (copies[k].slot == slot) {
                return true;
            }
        }
        return false;
    }
};
static_assert(kBatch <= 255, "TxBatch keeps indexes in bytes");

// Turns up to kBatch frames into descriptors, in order: a frame held in
// one of this queue's UMEM's chunks by address, any other by copy into a
// chunk from this thread's cache.  Every frame with a 'meta' is dealt
// with: sent, or listed in 'released' to go back to its UMEM.  No lock.
//
// Two passes, so that the common one, frames of our own UMEM going out by
// address, runs without a call (which would make the compiler spill its
// locals around it): the first writes their descriptors and leaves a slot
// for every frame to copy, the second copies into those slots.
void XskQueue::prepare(const afxdp_tx_frame *frames, uint32_t n,
                       TxBatch *b) noexcept
{
    classify(frames, n, b);
    if (b->n_copies) [[unlikely]] {
        copy_in(frames, b);
    }
}

void XskQueue::classify(const afxdp_tx_frame *frames, uint32_t n,
                        TxBatch *b) noexcept
{
    std::atomic<uint16_t> *const states = area_->states().words();
    const umem::UmemArea *const area = area_;
    const char *const umem = umem_base_;
    const uint16_t tag = owner_tag_ + 1;
    struct xdp_desc *d = b->descs;

    const afxdp_tx_frame *const end = frames + n;
    for (const afxdp_tx_frame *f = frames; f != end; f++) {
        const uint32_t len = f->len;
        if (f->meta) [[likely]] {
            const umem::SlotHeader *h =
                umem::MetadataSlots::from_caller(f->meta);
            uint64_t off = uint64_t(static_cast<const char *>(f->data) - umem);
            uint32_t chunk = h->chunk;
            // Ours, not empty, and from its first byte to its last within
            // its own chunk.
            if (h->owner == area && len && off >> kShift == chunk &&
                ((off ^ (off + len - 1)) >> kShift) == 0) [[likely]] {
                if (states[chunk].load(std::memory_order_relaxed) !=
                    ChunkStates::kHeld) [[unlikely]] {
                    b->not_held++;  // Not ours to send, nor to release.
                    continue;
                }
                ChunkStates::set(states, chunk, tag);
                *d++ = {off, len, 0};
                continue;
            }
        }
        b->copies[b->n_copies++] = {uint8_t(f - frames), uint8_t(d - b->descs)};
        d++;  // The copy's slot.
    }
    b->n_descs = uint32_t(d - b->descs);
}

void XskQueue::copy_in(const afxdp_tx_frame *frames, TxBatch *b) noexcept
{
    // The chunks for all the copies in one go, the most recently freed
    // first; those left over go back on top of the cache at the end.
    umem::ChunkCache *cache = area_->cache();
    const uint64_t *chunks;
    uint32_t left = cache->take(b->n_copies, &chunks);

    std::atomic<uint16_t> *const states = area_->states().words();
    char *const umem = umem_base_;
    const uint32_t headroom = tx_headroom_;
    const uint32_t max_len = max_frame_len_;
    const uint16_t tag = owner_tag_ + 1;
    struct xdp_desc *const descs = b->descs;
    uint32_t nd = 0, k = 0, n_copied = 0;

    // Walk the slots in order, filling the copies' and squeezing out the
    // ones that could not be filled.  When every slot is a copy (frames
    // from a tap, say), slot k is copy k: no lookup.
    const bool all_copies = b->n_copies == b->n_descs;
    for (uint32_t slot = 0; slot < b->n_descs; slot++) {
        if (!all_copies && (k == b->n_copies || b->copies[k].slot != slot)) {
            descs[nd++] = descs[slot];  // Sent by address.
            continue;
        }
        const afxdp_tx_frame *f = &frames[b->copies[k++].frame];
        if (f->meta) {
            // Another UMEM's frame: released once copied (or dropped).
            b->released[b->n_released++] = f->meta;
        }
        const uint32_t len = f->len;
        if (!len || len > max_len) [[unlikely]] {
            b->bad_len++;
        } else if (!left) [[unlikely]] {
            b->no_chunk++;
        } else {
            uint64_t base = chunks[--left];
            std::memcpy(umem + base + headroom, f->data, len);
            ChunkStates::set(states, uint32_t(base >> kShift), tag);
            b->copies[n_copied++].slot = uint8_t(nd);
            descs[nd++] = {base + headroom, len, 0};
        }
    }
    if (left) [[unlikely]] {
        cache->commit(chunks + left);  // Unused: still on the stack.
    }
    b->n_descs = nd;
    b->n_copies = n_copied;
}

// Puts the batch's descriptors on 'lane', as many as fit.  The only part
// that needs the lane to itself: the caller holds its lock when shared.
uint32_t XskQueue::post(Lane &lane, TxBatch *b) noexcept
{
    struct xsk_ring_prod *tx = lane.ring;
    uint32_t k = xsk_prod_nb_free(tx, b->n_descs);
    k = std::min(k, b->n_descs);
    if (!k) {
        return 0;
    }
    uint32_t idx = 0;
    xsk_ring_prod__reserve(tx, k, &idx);
    // At most two contiguous pieces: up to the ring's end, then from its
    // start.
    struct xdp_desc *const ring = static_cast<struct xdp_desc *>(tx->ring);
    uint32_t at = idx & tx->mask;
    uint32_t first = std::min(k, tx->size - at);
    std::memcpy(ring + at, b->descs, first * sizeof *ring);
    std::memcpy(ring, b->descs + first, (k - first) * sizeof *ring);
    xsk_ring_prod__submit(tx, k);
    return k;
}

// Descriptors from 'from' on did not fit on the ring: their chunks are
// free again (a copy's, or a caller's frame now dropped).
void XskQueue::give_back(const TxBatch &b, uint32_t from) noexcept
{
    if (from == b.n_descs) {
        return;
    }
    umem::ChunkCache *cache = area_->cache();
    std::atomic<uint16_t> *const states = area_->states().words();
    uint64_t *top = cache->reserve(b.n_descs - from);
    for (uint32_t i = from; i < b.n_descs; i++) {
        uint64_t base = b.descs[i].addr & kChunkMask;
        ChunkStates::set(states, uint32_t(base >> kShift), ChunkStates::kFree);
        *top++ = base;
    }
    cache->commit(top);
}

void XskQueue::account(Lane &lane, const TxBatch &b, uint32_t posted) noexcept
{
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < posted; i++) {
        bytes += b.descs[i].len;
    }
    uint64_t zc = posted - b.n_copies;
    if (posted < b.n_descs) [[unlikely]] {
        zc = 0;
        for (uint32_t i = 0; i < posted; i++) {
            zc += !b.is_copy(i);
        }
        lane.dropped_ring_full.add(b.n_descs - posted);
    }
    lane.posted.add(posted);
    lane.packets.add(posted);
    lane.bytes.add(bytes);
    lane.zero_copy.add(zc);
    if (b.bad_len | b.no_chunk | b.not_held) [[unlikely]] {
        lane.dropped_bad_len.add(b.bad_len);
        lane.dropped_no_chunk.add(b.no_chunk);
        lane.dropped_not_held.add(b.not_held);
        if (b.not_held) {
            uint64_t before = lane.dropped_not_held.get() - b.not_held;
            if (umem::should_report(before, before + b.not_held)) {
                umem::report_error(
                    "tx: refused to send %" PRIu64 " frame(s) whose chunk "
                    "the caller does not hold (sent or released twice?)",
                    b.not_held);
            }
        }
    }
}

void XskQueue::kick_tx(Lane &lane) noexcept
{
    if (lane.fd < 0) {
        return;
    }
    // Copy mode transmits synchronously, at most kKernelTxBatch frames per
    // sendto() (TX_BATCH_SIZE in net/xdp/xsk.c), and says EAGAIN when more
    // are left.  One kick per burst keeps up with a steady flow, but after
    // the ring filled up (link down, a stall) a slow flow would sit behind
    // the backlog for many bursts: kick until the ring is drained, bounded
    // by what is outstanding.
    constexpr uint32_t kKernelTxBatch = 32;
    uint64_t retries = tx_outstanding() / kKernelTxBatch;
    for (;;) {
        if (sendto(lane.fd, nullptr, 0, MSG_DONTWAIT, nullptr, 0) >= 0) {
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
        default: lane.kick_errors.add(1);
        }
        return;
    }
}

uint32_t XskQueue::tx_burst(const afxdp_tx_frame *frames, uint32_t n,
                            TxSharing sharing) noexcept
{
    const bool shared = sharing != TxSharing::kExclusive;
    Lane &lane =
        sharing == TxSharing::kSharedNonPmd && main_.ring ? main_ : pmd_;

    // 1. Completions first, so their chunks serve this burst's copies.
    //    When several threads send, whoever gets the lock drains; nobody
    //    waits for it.
    if (!shared) {
        complete();
    } else if (comp_lock_.try_lock()) {
        complete();
        comp_lock_.unlock();
    }

    uint32_t sent = 0;
    for (uint32_t off = 0; off < n; off += kBatch) {
        // 2. Copies and chunk states, outside any lock.
        TxBatch b;
        prepare(frames + off, std::min(n - off, kBatch), &b);

        // 3. The ring, under the lane's lock only when it is shared.
        uint32_t posted;
        if (shared) {
            std::lock_guard<umem::SpinLock> guard(lane.lock);
            posted = post(lane, &b);
            account(lane, b, posted);
        } else {
            posted = post(lane, &b);
            account(lane, b, posted);
        }

        // 4. What did not fit goes back; frames of other UMEMs go home.
        give_back(b, posted);
        if (b.n_released) {
            umem::UmemArea::release_batch(b.released, b.n_released);
        }
        sent += posted;
    }

    // 5. The kick, outside any lock.  Kick even when nothing new was
    //    queued if frames are still pending: in copy mode the kernel only
    //    transmits from within a syscall.
    if ((sent || tx_outstanding()) &&
        (busy_poll_ || !use_need_wakeup_ ||
         xsk_ring_prod__needs_wakeup(lane.ring))) {
        kick_tx(lane);
    }
    return sent;
}

// ---- Statistics ------------------------------------------------------------

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
    for (const Lane *l : {&pmd_, &main_}) {
        s.tx_packets += l->packets.get();
        s.tx_bytes += l->bytes.get();
        s.tx_zero_copy += l->zero_copy.get();
        s.tx_dropped_no_chunk += l->dropped_no_chunk.get();
        s.tx_dropped_ring_full += l->dropped_ring_full.get();
        s.tx_dropped_bad_len += l->dropped_bad_len.get();
        s.tx_dropped_not_held += l->dropped_not_held.get();
        s.tx_kick_errors += l->kick_errors.get();
    }
    s.tx_dropped = s.tx_dropped_no_chunk + s.tx_dropped_ring_full +
                   s.tx_dropped_bad_len + s.tx_dropped_not_held;

    s.chunks_rx = ring_entries(rings_.rx->producer, rings_.rx->consumer);
    s.chunks_fill = clamp_sub(fill_outstanding_.get(), s.chunks_rx);
    s.chunks_completion =
        ring_entries(rings_.comp->producer, rings_.comp->consumer);
    s.chunks_tx = clamp_sub(tx_outstanding(), s.chunks_completion);
    return s;
}

}  // namespace afxdp::netdev
