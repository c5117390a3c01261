/*
 * SharedUmem implementation: membership, owner tags, the delayed reclaim
 * of closed sockets' chunks, and the per-UMEM balance.
 */
#include "netdev-afxdp/shared_umem.h"

#include <algorithm>
#include <cerrno>
#include <string>

#include "netdev-afxdp/log.h"
#include "netdev-afxdp/xsk_queue.h"
#include "umem/thread_caches.h"

namespace afxdp::netdev {

using umem::ChunkStates;

Result<std::shared_ptr<SharedUmem>> SharedUmem::create(uint32_t id,
                                                       int numa_node,
                                                       uint32_t meta_size,
                                                       bool shareable)
{
    umem::UmemConfig c;
    c.n_chunks = kChunks;
    c.chunk_size = kChunkSize;
    c.meta_size = meta_size;
    c.numa_node = numa_node;
    c.huge_pages = true;
    auto area = umem::UmemArea::create(c);
    if (!area) {
        return area.error();
    }
    // Chained frames are assembled in here (see shared_umem.h); the same
    // slots, so that OVS frees them like any other frame.
    c.n_chunks = kJumboChunks;
    c.chunk_size = kJumboChunkSize;
    auto jumbo = umem::UmemArea::create(c);
    if (!jumbo) {
        return jumbo.error();
    }
    return std::shared_ptr<SharedUmem>(
        new SharedUmem(id, numa_node, meta_size, shareable,
                       std::move(area).value(), std::move(jumbo).value()));
}

SharedUmem::SharedUmem(uint32_t id, int numa_node, uint32_t meta_size,
                       bool shareable, umem::AreaRef area, umem::AreaRef jumbo)
    : id_(id), numa_node_(numa_node), meta_size_(meta_size),
      shareable_(shareable), area_(std::move(area)), jumbo_(std::move(jumbo)),
      reclaimed_(kChunks)
{
    // Allocated here so that reclaiming (from the statistics) never does.
    update_fill_target_locked();
}

SharedUmem::~SharedUmem()
{
    // Chunks of closed sockets need no reclaim now: the whole area is
    // retired here and goes once OVS and the threads' caches let go.
    jumbo_.reset();
    area_.reset();
}

bool SharedUmem::has_room(uint32_t n) const
{
    std::lock_guard<std::mutex> guard(mutex_);
    return members_.size() + n <= kMaxQueues;
}

uint16_t SharedUmem::free_tag_locked() const
{
    // Lowest pair of tags neither in use nor waiting to be reclaimed.
    for (uint32_t tag = ChunkStates::kFirstOwner;
         tag + 1 <= ChunkStates::kLastOwner; tag += 2) {
        auto same = [tag](const auto &x) { return x.tag == tag; };
        if (std::none_of(members_.begin(), members_.end(), same) &&
            std::none_of(leavers_.begin(), leavers_.end(), same)) {
            return uint16_t(tag);
        }
    }
    return 0;
}

void SharedUmem::update_fill_target_locked() noexcept
{
    // Counting at least kFullShares queues: the first ones must not take
    // a share they could not give back to the later ones.
    uint32_t n = std::max<uint32_t>(uint32_t(members_.size()), kFullShares);
    uint32_t share = kChunks / (2 * n);
    fill_target_.store(std::clamp(share, kMinFill, kRingSize),
                       std::memory_order_relaxed);
}

Result<uint16_t> SharedUmem::join()
{
    std::lock_guard<std::mutex> guard(mutex_);
    uint16_t tag = members_.size() < kMaxQueues ? free_tag_locked() : 0;
    if (!tag) {
        return Error{ENOSPC, "UMEM " + std::to_string(id_) + " is full (" +
                                 std::to_string(members_.size()) + " queues)"};
    }
    members_.push_back(Member{tag, nullptr, -1, false, false});
    update_fill_target_locked();
    return tag;
}

void SharedUmem::attach(uint16_t tag, const XskQueue *queue, int fd,
                        bool zero_copy, bool need_wakeup, bool multi_buffer)
{
    std::lock_guard<std::mutex> guard(mutex_);
    for (Member &m : members_) {
        if (m.tag == tag) {
            m = Member{tag, queue, fd, zero_copy, need_wakeup, multi_buffer};
        }
    }
}

void SharedUmem::detach(uint16_t tag) noexcept
{
    std::lock_guard<std::mutex> guard(mutex_);
    for (Member &m : members_) {
        if (m.tag == tag) {
            m.queue = nullptr;
        }
    }
}

void SharedUmem::leave(uint16_t tag) noexcept
{
    std::lock_guard<std::mutex> guard(mutex_);
    auto it = std::find_if(members_.begin(), members_.end(),
                           [tag](const Member &m) { return m.tag == tag; });
    if (it == members_.end()) {
        return;
    }
    bool zero_copy = it->zero_copy;
    members_.erase(it);
    update_fill_target_locked();
    if (!zero_copy) {
        reclaim_locked(tag);  // Receive chunks of a copy-mode socket.
    }
    uint32_t lent =
        area_->states().count(tag) + area_->states().count(uint16_t(tag + 1));
    if (lent) {
        leavers_.push_back(Leaver{tag, Clock::now(), lent});
    }
    // The port's threads may still have chunks of this UMEM in their
    // caches: ask every thread to flush, so that nothing stays stranded
    // with a thread that no longer polls it.
    umem::ThreadCaches::request_flush();
}

std::vector<int> SharedUmem::share_fds(bool zero_copy, bool need_wakeup,
                                       bool multi_buffer) const
{
    std::lock_guard<std::mutex> guard(mutex_);
    std::vector<int> fds;
    for (const Member &m : members_) {
        if (m.queue && m.zero_copy == zero_copy &&
            m.need_wakeup == need_wakeup && m.multi_buffer == multi_buffer) {
            fds.push_back(m.fd);
        }
    }
    return fds;
}

uint32_t SharedUmem::reclaim_locked(uint16_t tag) noexcept
{
    uint32_t n =
        area_->states().reclaim(tag, area_->chunk_shift(), reclaimed_.data());
    area_->pool().put_batch(reclaimed_.data(), n);
    return n;
}

uint32_t SharedUmem::reclaim_expired(Clock::time_point now)
{
    std::lock_guard<std::mutex> guard(mutex_);
    uint32_t total = 0;
    for (auto it = leavers_.begin(); it != leavers_.end();) {
        if (now - it->when < kReclaimDelay) {
            ++it;
            continue;
        }
        total += reclaim_locked(it->tag);
        total += reclaim_locked(uint16_t(it->tag + 1));
        it = leavers_.erase(it);
    }
    return total;
}

UmemStats SharedUmem::stats() const
{
    std::lock_guard<std::mutex> guard(mutex_);
    UmemStats s;
    s.chunks_total = area_->n_chunks();
    s.chunks_cached = area_->chunks_cached();
    s.chunks_free = area_->pool().free_count() + s.chunks_cached;
    s.chunks_held = area_->chunks_held();
    for (const Member &m : members_) {
        if (!m.queue) {
            continue;
        }
        XskQueueStats q = m.queue->stats();
        s.chunks_fill += q.chunks_fill;
        s.chunks_rx += q.chunks_rx;
        s.chunks_tx += q.chunks_tx;
        s.chunks_completion += q.chunks_completion;
        s.queues++;
    }
    for (const Leaver &l : leavers_) {
        s.chunks_reclaiming += l.chunks;
    }
    s.chunks_fill += s.chunks_reclaiming;
    s.release_errors = area_->release_errors();
    s.pool_overflows = area_->pool().overflows();
    s.jumbo_total = jumbo_->n_chunks();
    s.jumbo_free = jumbo_->chunks_free();
    s.jumbo_held = jumbo_->chunks_held();
    s.release_errors += jumbo_->release_errors();
    return s;
}

}  // namespace afxdp::netdev
