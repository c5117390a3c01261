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
#include "netdev-afxdp/xdp_compat.h"
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
      max_chain_len_(c.multi_buffer
                         ? std::min(std::max(c.max_frame_len, max_frame_len_),
                                    kMaxJumboFrameLen)
                         : max_frame_len_),
      jumbo_(c.multi_buffer ? c.jumbo : nullptr), fill_target_(c.fill_target),
      fd_(c.fd), owner_tag_(c.owner_tag), use_need_wakeup_(c.use_need_wakeup),
      busy_poll_(c.busy_poll)
{
    assert(c.area->chunk_size() == kChunkSize);
    assert(!jumbo_ || jumbo_->chunk_size() == kJumboChunkSize);
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

namespace {

// The hash and mark our XDP program handed over in 'm'.
[[gnu::always_inline]] inline void take_xdp_meta(afxdp_rx_frame *f,
                                                 const afxdp_xdp_meta *m)
{
    f->xdp_flags = m->flags;
    f->rx_hash = m->rx_hash;
    f->flow_mark = m->flow_mark;
}

// One received frame of one chunk at 'addr', its metadata slot 'meta'.
// 'head': bytes of metadata header in front of the frame (HEAD carrier),
// stripped here; else 'xdp_meta': metadata in front of 'addr'.
[[gnu::always_inline]] inline void describe_frame(afxdp_rx_frame *f, char *umem,
                                                  uint64_t addr, char *meta,
                                                  uint32_t len, bool xdp_meta,
                                                  uint32_t head) noexcept
{
    // In copy mode the kernel wrote the frame on the CPU that received it:
    // start pulling its first line (OVS parses it next) and the slot's (the
    // glue writes the dp_packet there) now, for the whole burst at once,
    // rather than one miss after the other later.
    __builtin_prefetch(umem + addr);
    __builtin_prefetch(meta, 1);
    f->xdp_flags = 0;
    if (head && len >= head) {
        take_xdp_meta(f, reinterpret_cast<const afxdp_xdp_meta *>(umem + addr));
        addr += head;
        len -= head;
    } else if (xdp_meta) {
        take_xdp_meta(f, reinterpret_cast<const afxdp_xdp_meta *>(
                             umem + addr - sizeof(afxdp_xdp_meta)));
    }
    uint64_t base = addr & kChunkMask;
    f->meta = meta;
    f->chunk = umem + base;
    f->chunk_size = kChunkSize;
    f->headroom = uint32_t(addr - base);
    f->len = len;
}

}  // namespace

// Turns the n descriptors peeked at 'idx' into frames; returns how many
// frames and, in '*consumed', how many descriptors it took (fewer than n
// when the peek ended inside a chain, which stays for the next call).
uint32_t XskQueue::receive(afxdp_rx_frame *frames, uint32_t idx, uint32_t n,
                           uint32_t *consumed) noexcept
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
    const bool xdp_meta = carrier_ == AFXDP_XDP_CARRIER_META &&
                          meta_unsupported_ && !*meta_unsupported_;
    const uint32_t head =
        carrier_ == AFXDP_XDP_CARRIER_HEAD ? AFXDP_XDP_HEAD_LEN : 0;
    // The kernel wrote the descriptors from the receiving CPU: ask for all
    // their lines at once (four to a line) instead of missing on each in
    // turn.
    constexpr uint32_t kPerLine = 64 / sizeof(struct xdp_desc);
    for (uint32_t i = 0; i < n; i += kPerLine) {
        __builtin_prefetch(&ring[(idx + i) & mask]);
    }
    uint32_t i = 0, k = 0;
    if (skipping_chain_) [[unlikely]] {
        i = skip_chain(idx, n);
    }
    while (i < n) {
        const struct xdp_desc *desc = &ring[(idx + i) & mask];
        if (desc->options & XDP_PKT_CONTD) [[unlikely]] {
            uint32_t got = 0;
            uint32_t used = take_chain(idx + i, n - i, &frames[k], &got);
            if (!used) {
                break;  // The rest of the chain is not peeked yet.
            }
            bytes += got ? frames[k].len : 0;
            i += used;
            k += got;
            continue;
        }
        uint64_t addr = desc->addr;
        uint64_t base = addr & kChunkMask;
        uint32_t chunk = uint32_t(base >> kShift);
        ChunkStates::set(states, chunk, ChunkStates::kHeld);
        describe_frame(&frames[k], umem, addr, slot0 + chunk * stride,
                       desc->len, xdp_meta, head);
        bytes += frames[k++].len;
        i++;
    }
    *consumed = i;
    rx_packets_.add(k);
    rx_bytes_.add(bytes);
    return k;
}

// ---- rx: chained frames (cold) ---------------------------------------------

// The chain starting at ring index 'idx', of which 'avail' descriptors are
// peeked.  Returns the descriptors it took (0: wait for the rest) and sets
// '*got' to 1 when it produced a frame in '*f'.
uint32_t XskQueue::take_chain(uint32_t idx, uint32_t avail, afxdp_rx_frame *f,
                              uint32_t *got) noexcept
{
    const struct xdp_desc *const ring =
        static_cast<const struct xdp_desc *>(rings_.rx->ring);
    const uint32_t mask = rings_.rx->mask;
    uint64_t len = 0;
    uint32_t n = 0;
    bool ended = false;
    while (n < avail && n <= kMaxRxChain) {
        const struct xdp_desc &d = ring[(idx + n++) & mask];
        len += d.len;
        if (!(d.options & XDP_PKT_CONTD)) {
            ended = true;
            break;
        }
    }
    *got = 0;
    if (!ended) {
        if (n <= kMaxRxChain) {
            return 0;  // Cut short by the peek: the rest comes next time.
        }
        // Longer than any frame we take: drop what we have and the rest
        // of it as it comes, so that its tail is not taken for a frame.
        free_rx_chunks(idx, n);
        rx_dropped_multi_buffer_.add(1);
        skipping_chain_ = true;
        return n + skip_chain(idx + n, avail - n);
    }
    // The HEAD carrier's bytes in front of the first fragment are not the
    // frame's; the fast path marks no chained frame, so they say nothing.
    const uint32_t head =
        carrier_ == AFXDP_XDP_CARRIER_HEAD ? AFXDP_XDP_HEAD_LEN : 0;
    if (len >= head && len - head <= kMaxJumboFrameLen &&
        assemble(idx, n, uint32_t(len - head), head, f)) {
        *got = 1;
        rx_multi_buffer_.add(1);
    } else {
        rx_dropped_multi_buffer_.add(1);
    }
    free_rx_chunks(idx, n);
    return n;
}

// Drops descriptors of a chain being skipped, up to and including its
// last; returns how many of the 'avail' at 'idx' it took.
uint32_t XskQueue::skip_chain(uint32_t idx, uint32_t avail) noexcept
{
    const struct xdp_desc *const ring =
        static_cast<const struct xdp_desc *>(rings_.rx->ring);
    uint32_t n = 0;
    while (skipping_chain_ && n < avail) {
        skipping_chain_ =
            ring[(idx + n++) & rings_.rx->mask].options & XDP_PKT_CONTD;
    }
    free_rx_chunks(idx, n);
    return n;
}

// Copies the n fragments at 'idx' ('len' bytes in all, after the 'head'
// bytes of carrier header in front of the first) into a jumbo buffer,
// which becomes frame '*f'.  False when there is none to take.
bool XskQueue::assemble(uint32_t idx, uint32_t n, uint32_t len, uint32_t head,
                        afxdp_rx_frame *f) noexcept
{
    if (!jumbo_) {
        return false;  // Not bound for chains: the kernel sends none.
    }
    const uint64_t *top;
    if (!jumbo_->cache()->take(1, &top)) {
        return false;
    }
    const uint64_t base = *top;
    const struct xdp_desc *const ring =
        static_cast<const struct xdp_desc *>(rings_.rx->ring);
    char *to = jumbo_->base() + base + kRxHeadroom;
    for (uint32_t i = 0; i < n; i++) {
        const struct xdp_desc &d = ring[(idx + i) & rings_.rx->mask];
        const uint32_t skip = i == 0 ? std::min(head, d.len) : 0;
        std::memcpy(to, umem_base_ + d.addr + skip, d.len - skip);
        to += d.len - skip;
    }
    const uint32_t chunk = uint32_t(base >> jumbo_->chunk_shift());
    ChunkStates::set(jumbo_->states().words(), chunk, ChunkStates::kHeld);
    f->meta = jumbo_->slots().slot(chunk);
    f->chunk = jumbo_->base() + base;
    f->chunk_size = kJumboChunkSize;
    f->headroom = kRxHeadroom;
    f->len = len;
    // The XDP program's metadata sits in front of the first fragment only
    // when the kernel copied it; the hash is an optimisation, and the
    // fast path marks no chained frame, so none is used.
    f->xdp_flags = 0;
    return true;
}

// The chunks of the n received descriptors at 'idx' are free again.
void XskQueue::free_rx_chunks(uint32_t idx, uint32_t n) noexcept
{
    if (!n) {
        return;
    }
    const struct xdp_desc *const ring =
        static_cast<const struct xdp_desc *>(rings_.rx->ring);
    std::atomic<uint16_t> *const states = area_->states().words();
    uint64_t *top = area_->cache()->reserve(n);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t base = ring[(idx + i) & rings_.rx->mask].addr & kChunkMask;
        ChunkStates::set(states, uint32_t(base >> kShift), ChunkStates::kFree);
        *top++ = base;
    }
    area_->cache()->commit(top);
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
    if (chain_cut_) [[unlikely]] {
        // The peek reads the producer only once the entries it saw are
        // used up, and those are the start of the chain left last time.
        rings_.rx->cached_prod =
            __atomic_load_n(rings_.rx->producer, __ATOMIC_ACQUIRE);
        chain_cut_ = false;
    }
    uint32_t idx = 0;
    uint32_t n = xsk_ring_cons__peek(rings_.rx, max, &idx);
    uint32_t got = 0;
    if (n) {
        uint32_t consumed;
        got = receive(frames, idx, n, &consumed);
        if (consumed < n) [[unlikely]] {
            // A chain's end was not peeked: leave the chain on the ring.
            xsk_ring_cons__cancel(rings_.rx, n - consumed);
            chain_cut_ = true;
        }
        xsk_ring_cons__release(rings_.rx, consumed);
        fill_outstanding_.sub(consumed);
    } else {
        poll_idle();
    }

    // The kernel ran out of fill buffers and waits to be told there are
    // new ones (the caller refilled just before this burst).
    if (use_need_wakeup_ && fd_ >= 0 &&
        xsk_ring_prod__needs_wakeup(rings_.fill)) {
        recvfrom(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
    }
    return got;
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
    // A frame takes one descriptor, or up to kMaxTxChain for a chain.
    struct xdp_desc descs[kBatch * kMaxTxChain];
    void *released[kBatch];
    // Frames to copy: their index in the caller's array and the slots left
    // for them in 'descs' (the first, and how many).
    struct Copy {
        uint8_t frame;
        uint8_t slot;
        uint8_t n_slots;
    } copies[kBatch];
    uint32_t n_descs = 0;
    uint32_t n_frames = 0;       // Frames with descriptors in 'descs'.
    uint32_t n_copies = 0;       // Slots that hold (or held) a copy.
    uint32_t n_copy_chunks = 0;  // Slots reserved for copies.
    uint32_t n_chains = 0;       // Copies sent as chains.
    uint32_t n_released = 0;
    uint64_t bad_len = 0;
    uint64_t no_chunk = 0;
    uint64_t not_held = 0;

    // Whether descs[slot] starts a copy (only asked on rare paths).
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
static_assert(kBatch * kMaxTxChain <= 255, "TxBatch keeps indexes in bytes");
static_assert(kBatch * kMaxTxChain <= umem::ChunkCache::kSlab,
              "copy_in takes a batch's chunks in one go");

// The descriptors a copy of 'len' bytes takes: one, or a chain whose first
// fragment starts after the headroom and the others at their chunk's start.
uint32_t XskQueue::copy_slots(uint32_t len) const noexcept
{
    const uint32_t first = kChunkSize - tx_headroom_;
    if (len <= max_frame_len_ || len > max_chain_len_) {
        return 1;  // One chunk, or a bad length dropped in its one slot.
    }
    return 1 + (len - first + kChunkSize - 1) / kChunkSize;
}

// Turns up to kBatch frames into descriptors, in order: a frame held in
// one of this queue's UMEM's chunks by address, any other by copy into
// chunks from this thread's cache.  Every frame with a 'meta' is dealt
// with: sent, or listed in 'released' to go back to its UMEM.  No lock.
//
// Two passes, so that the common one, frames of our own UMEM going out by
// address, runs without a call (which would make the compiler spill its
// locals around it): the first writes their descriptors and leaves slots
// for every frame to copy, the second copies into those slots.
void XskQueue::prepare(const afxdp_tx_frame *frames, uint32_t n,
                       TxBatch *b) noexcept
{
    classify(frames, n, b);
    b->n_frames = n - uint32_t(b->not_held);
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
        const uint32_t slots = copy_slots(len);
        b->copies[b->n_copies++] = {uint8_t(f - frames), uint8_t(d - b->descs),
                                    uint8_t(slots)};
        b->n_copy_chunks += slots;
        d += slots;  // The copy's slots.
    }
    b->n_descs = uint32_t(d - b->descs);
}

// Copies 'len' bytes at 'data' over the n chunks chunks[n - 1] down to
// chunks[0] (the cache's top first) as a chain of descriptors in 'out'.
void XskQueue::copy_chain(const char *data, uint32_t len,
                          const uint64_t *chunks, uint32_t n,
                          struct xdp_desc *out) noexcept
{
    std::atomic<uint16_t> *const states = area_->states().words();
    const uint16_t tag = owner_tag_ + 1;
    uint32_t at = tx_headroom_;  // The first fragment after the headroom.
    for (uint32_t i = 0; i < n; i++) {
        const uint64_t base = chunks[n - 1 - i];
        const uint32_t piece = std::min(len, kChunkSize - at);
        std::memcpy(umem_base_ + base + at, data, piece);
        ChunkStates::set(states, uint32_t(base >> kShift), tag);
        data += piece;
        len -= piece;
        out[i] = {base + at, piece, len ? uint32_t(XDP_PKT_CONTD) : 0};
        at = 0;
    }
}

void XskQueue::copy_in(const afxdp_tx_frame *frames, TxBatch *b) noexcept
{
    // The chunks for all the copies in one go, the most recently freed
    // first; those left over go back on top of the cache at the end.
    umem::ChunkCache *cache = area_->cache();
    const uint64_t *chunks;
    uint32_t left = cache->take(b->n_copy_chunks, &chunks);

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
    const bool all_copies = b->n_copy_chunks == b->n_descs;
    for (uint32_t slot = 0; slot < b->n_descs; slot++) {
        if (!all_copies && (k == b->n_copies || b->copies[k].slot != slot)) {
            descs[nd++] = descs[slot];  // Sent by address.
            continue;
        }
        const TxBatch::Copy c = b->copies[k++];
        const afxdp_tx_frame *f = &frames[c.frame];
        slot += c.n_slots - 1u;
        if (f->meta) {
            // Another UMEM's frame: released once copied (or dropped).
            b->released[b->n_released++] = f->meta;
        }
        const uint32_t len = f->len;
        if (!len || len > max_chain_len_) [[unlikely]] {
            b->bad_len++;
        } else if (left < c.n_slots) [[unlikely]] {
            b->no_chunk++;
        } else if (len > max_len) [[unlikely]] {
            left -= c.n_slots;
            copy_chain(static_cast<const char *>(f->data), len, chunks + left,
                       c.n_slots, descs + nd);
            b->copies[n_copied++] = {c.frame, uint8_t(nd), c.n_slots};
            b->n_chains++;
            nd += c.n_slots;
            continue;
        } else {
            uint64_t base = chunks[--left];
            std::memcpy(umem + base + headroom, f->data, len);
            ChunkStates::set(states, uint32_t(base >> kShift), tag);
            b->copies[n_copied++] = {c.frame, uint8_t(nd), 1};
            descs[nd++] = {base + headroom, len, 0};
            continue;
        }
        b->n_frames--;  // Dropped.
    }
    if (left) [[unlikely]] {
        cache->commit(chunks + left);  // Unused: still on the stack.
    }
    b->n_descs = nd;
    b->n_copies = n_copied;
}

// Puts the batch's descriptors on 'lane', as many whole frames as fit.
// The only part that needs the lane to itself: the caller holds its lock
// when shared.
uint32_t XskQueue::post(Lane &lane, TxBatch *b) noexcept
{
    struct xsk_ring_prod *tx = lane.ring;
    uint32_t k = xsk_prod_nb_free(tx, b->n_descs);
    k = std::min(k, b->n_descs);
    // Never half a chain: the kernel would wait for its end.
    while (k < b->n_descs && k && (b->descs[k - 1].options & XDP_PKT_CONTD)) {
        k--;
    }
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

// Counts what 'post' did; returns the frames posted.
uint32_t XskQueue::account(Lane &lane, const TxBatch &b,
                           uint32_t posted) noexcept
{
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < posted; i++) {
        bytes += b.descs[i].len;
    }
    uint64_t frames = b.n_frames;
    uint64_t zc = b.n_frames - b.n_copies;
    uint64_t chains = b.n_chains;
    if (posted < b.n_descs) [[unlikely]] {
        // Whole frames only were posted (post()): count them.
        frames = zc = chains = 0;
        for (uint32_t i = 0; i < posted; i++) {
            uint32_t first = i;
            while (b.descs[i].options & XDP_PKT_CONTD) {
                i++;
            }
            frames++;
            zc += !b.is_copy(first);
            chains += i != first;
        }
        lane.dropped_ring_full.add(b.n_frames - frames);
    }
    lane.posted.add(posted);  // Chunks, as completions count them.
    lane.packets.add(frames);
    lane.bytes.add(bytes);
    lane.zero_copy.add(zc);
    if (chains) [[unlikely]] {
        lane.multi_buffer.add(chains);
    }
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
    return uint32_t(frames);
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
        uint32_t posted, queued;
        if (shared) {
            std::lock_guard<umem::SpinLock> guard(lane.lock);
            posted = post(lane, &b);
            queued = account(lane, b, posted);
        } else {
            posted = post(lane, &b);
            queued = account(lane, b, posted);
        }

        // 4. What did not fit goes back; frames of other UMEMs go home.
        give_back(b, posted);
        if (b.n_released) {
            umem::UmemArea::release_batch(b.released, b.n_released);
        }
        sent += queued;
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
    s.rx_multi_buffer = rx_multi_buffer_.get();
    s.rx_dropped_multi_buffer = rx_dropped_multi_buffer_.get();
    for (const Lane *l : {&pmd_, &main_}) {
        s.tx_packets += l->packets.get();
        s.tx_bytes += l->bytes.get();
        s.tx_zero_copy += l->zero_copy.get();
        s.tx_multi_buffer += l->multi_buffer.get();
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
