/*
 * ChunkCache: the slab exchanges with the shared pool, the only place a
 * cache takes the pool's lock.
 */
#include "umem/chunk_cache.h"

#include <algorithm>
#include <cstring>

#include "umem/umem_area.h"

namespace afxdp::umem {

uint32_t ChunkCache::refill_from_pool(uint32_t have) noexcept
{
    uint32_t room = kCapacity - have;
    uint32_t want = room < kSlab ? room : kSlab;
    uint32_t got = area_->pool().get_batch(stack_ + have, want);
    // The pool hands out its top first; keep it on top here too, so that
    // a cache is just the top of the pool's stack moved closer.
    std::reverse(stack_ + have, stack_ + have + got);
    return have + got;
}

uint32_t ChunkCache::spill_to_pool(uint32_t have) noexcept
{
    // The oldest slab goes (the bottom of the stack): the chunks returned
    // last, whose lines are warm, stay with this thread.
    uint32_t n = have < kSlab ? have : kSlab;
    area_->pool().put_batch(stack_, n);
    std::memmove(stack_, stack_ + n, (have - n) * sizeof stack_[0]);
    return have - n;
}

void ChunkCache::flush() noexcept
{
    uint32_t have = count_.get();
    area_->pool().put_batch(stack_, have);
    count_.set(0);
}

}  // namespace afxdp::umem
