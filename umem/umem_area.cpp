/*
 * UmemArea implementation.
 *
 * The chunk memory is one PageMapping: huge pages when the system has
 * them, bound to the requested NUMA node before it is populated, and
 * populated up front so the first packets do not page-fault (the kernel
 * pins it anyway when the UMEM is registered).
 *
 * Lifetime: owners and attached caches change under mutex_; once both
 * are gone the held chunks are counted (held_left_) and counted down by
 * the locked releases, and the change that leaves all at zero claims the
 * deletion (claim_deletion_locked) and deletes after unlocking.  The mutex
 * orders every earlier use of the area by other threads (they all went
 * through attach/detach or a locked release) before the delete.
 */
#include "umem/umem_area.h"

#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <new>
#include <string>

#include "umem/report.h"

namespace afxdp::umem {

namespace {

std::atomic<uint64_t> live_areas{0};

constexpr uint32_t kMinChunkSize = 2048;  // XDP_UMEM_MIN_CHUNK_SIZE.

uint32_t log2_of(uint32_t x) noexcept
{
    return 31 - __builtin_clz(x);
}

}  // namespace

void RetireArea::operator()(UmemArea *area) const noexcept
{
    area->retire();
}

UmemArea::UmemArea(const UmemConfig &config)
    : n_chunks_(config.n_chunks), chunk_size_(config.chunk_size),
      chunk_shift_(log2_of(config.chunk_size)),
      size_(uint64_t(config.n_chunks) * config.chunk_size),
      pool_(config.n_chunks, config.chunk_size), states_(config.n_chunks),
      slots_(this, config.n_chunks, config.meta_size, config.numa_node)
{
    live_areas.fetch_add(1, std::memory_order_relaxed);
}

UmemArea::~UmemArea()
{
    live_areas.fetch_sub(1, std::memory_order_relaxed);
}

Result<AreaRef> UmemArea::create(const UmemConfig &config)
{
    if (!is_power_of_two(config.n_chunks) ||
        !is_power_of_two(config.chunk_size) ||
        config.chunk_size < kMinChunkSize) {
        return Error{EINVAL, "umem: chunk count (" +
                                 std::to_string(config.n_chunks) +
                                 ") and chunk size (" +
                                 std::to_string(config.chunk_size) +
                                 ") must be powers of two, chunks >= 2048"};
    }

    UmemArea *raw;
    try {
        raw = new UmemArea(config);
    } catch (const std::bad_alloc &) {
        return Error{ENOMEM, "umem: out of memory for the chunk pool"};
    }
    AreaRef area(raw);
    if (!area->slots_.ok()) {
        return Error{ENOMEM, "umem: out of memory for " +
                                 std::to_string(config.n_chunks) +
                                 " metadata slots"};
    }

    auto mem =
        PageMapping::create(area->size_, config.numa_node, config.huge_pages);
    if (!mem) {
        return Error{mem.error().code, "umem: " + mem.error().message};
    }
    area->memory_ = std::move(mem).value();
    area->base_ = area->memory_.data();
    return area;
}

AreaRef UmemArea::share() noexcept
{
    std::lock_guard<std::mutex> guard(mutex_);
    owners_++;
    return AreaRef(this);
}

void UmemArea::retire() noexcept
{
    bool now_retired;
    bool delete_now;
    {
        std::lock_guard<std::mutex> guard(mutex_);
        now_retired = --owners_ == 0;
        if (now_retired) {
            retired_.store(true, std::memory_order_release);
            // This thread's own cache can go now; other threads' at their
            // next call.  Here, under the lock: once it is released,
            // another thread may delete the area.
            if (ChunkCache *own = ThreadCaches::take_own(this)) {
                detach_locked(own);
            }
        }
        delete_now = claim_deletion_locked();
    }
    if (now_retired) {
        // Every thread flushes its caches and detaches those of retired
        // areas at its next call; the last to go deletes this one.
        ThreadCaches::request_flush();
    }
    if (delete_now) {
        delete this;
    }
}

bool UmemArea::claim_deletion_locked() noexcept
{
    if (dying_ || owners_ || caches_) {
        return false;
    }
    if (held_left_ < 0) {
        // Nobody can take a chunk any more (no owner: no socket; no
        // cache): count once what OVS still holds.
        held_left_ = states_.count(ChunkStates::kHeld);
    }
    if (held_left_ > 0) {
        return false;
    }
    dying_ = true;
    return true;
}

bool UmemArea::attach_cache(ChunkCache *cache) noexcept
{
    std::lock_guard<std::mutex> guard(mutex_);
    if (owners_ == 0) {
        return false;
    }
    cache->bind(this);
    cache->next_ = caches_;
    caches_ = cache;
    return true;
}

void UmemArea::detach_locked(ChunkCache *cache) noexcept
{
    cache->flush();
    for (ChunkCache **p = &caches_; *p; p = &(*p)->next_) {
        if (*p == cache) {
            *p = cache->next_;
            break;
        }
    }
    cache->next_ = nullptr;
    cache->bind(nullptr);
}

void UmemArea::detach_cache(ChunkCache *cache) noexcept
{
    bool delete_now;
    {
        std::lock_guard<std::mutex> guard(mutex_);
        detach_locked(cache);
        delete_now = claim_deletion_locked();
    }
    if (delete_now) {
        delete this;
    }
}

uint32_t UmemArea::chunks_held() const noexcept
{
    return states_.count(ChunkStates::kHeld);
}

uint32_t UmemArea::chunks_cached() const noexcept
{
    std::lock_guard<std::mutex> guard(mutex_);
    uint32_t n = 0;
    for (const ChunkCache *c = caches_; c; c = c->next_) {
        n += c->count();
    }
    return n;
}

uint64_t UmemArea::live_count() noexcept
{
    return live_areas.load(std::memory_order_relaxed);
}

void UmemArea::refuse_release(uint32_t chunk, uint32_t n) noexcept
{
    uint64_t before = release_errors_.fetch_add(n, std::memory_order_relaxed);
    if (should_report(before, before + n)) {
        report_error("UMEM of %u chunks: refused to release %u chunk(s) "
                     "not held by the caller (chunk %u is %s); %" PRIu64
                     " refused so far",
                     n_chunks_, n, chunk,
                     states_.get(chunk) == ChunkStates::kFree ? "free" : "lent",
                     before + n);
    }
}

uint32_t UmemArea::release_run(void *const *metas, uint32_t i,
                               uint32_t n) noexcept
{
    ChunkCache *c = cache();
    if (!c) [[unlikely]] {
        return release_uncached(metas, i, n);  // May delete this.
    }
    // Straight into the cache: one state check and one store per frame.
    uint32_t end = n - i < ChunkCache::kSlab ? n : i + ChunkCache::kSlab;
    uint64_t *const start = c->reserve(end - i);
    uint64_t *top = start;
    std::atomic<uint16_t> *const states = states_.words();
    const uint32_t shift = chunk_shift_;
    for (; i < end; i++) {
        const SlotHeader *h = MetadataSlots::from_caller(metas[i]);
        if (h->owner != this) {
            break;
        }
        uint32_t chunk = h->chunk;
        if (states[chunk].load(std::memory_order_relaxed) == ChunkStates::kHeld)
            [[likely]] {
            ChunkStates::set(states, chunk, ChunkStates::kFree);
            *top++ = uint64_t(chunk) << shift;
        } else {
            refuse_release(chunk, 1);
        }
    }
    c->commit(top);
    return i;
}

uint32_t UmemArea::release_uncached(void *const *metas, uint32_t i,
                                    uint32_t n) noexcept
{
    bool delete_now;
    {
        std::lock_guard<std::mutex> guard(mutex_);
        for (; i < n; i++) {
            const SlotHeader *h = MetadataSlots::from_caller(metas[i]);
            if (h->owner != this) {
                break;
            }
            if (states_.release(h->chunk)) {
                pool_.put(uint64_t(h->chunk) << chunk_shift_);
                if (held_left_ > 0) {
                    held_left_--;
                }
            } else {
                refuse_release(h->chunk, 1);
            }
        }
        delete_now = claim_deletion_locked();
    }
    if (delete_now) {
        delete this;
    }
    return i;
}

void UmemArea::release(void *meta) noexcept
{
    // OVS frees dropped packets one by one, so this is the common case of
    // release: every condition of the fast path first, then a handful of
    // loads and stores and no call, so that the compiler saves no register
    // for it.
    const SlotHeader *h = MetadataSlots::from_caller(meta);
    UmemArea *area = h->owner;
    ChunkCache *c = ThreadCaches::peek(area);
    if (!c) [[unlikely]] {
        return release_slow(meta);
    }
    uint32_t chunk = h->chunk;
    std::atomic<uint16_t> *state = area->states_.words() + chunk;
    if (state->load(std::memory_order_relaxed) != ChunkStates::kHeld ||
        !c->push_one(uint64_t(chunk) << area->chunk_shift_)) [[unlikely]] {
        return release_slow(meta);
    }
    state->store(ChunkStates::kFree, std::memory_order_relaxed);
}

void UmemArea::release_slow(void *meta) noexcept
{
    // A first release on this thread, a full cache, a retired area, or a
    // chunk to refuse: the batch path knows them all.
    release_batch(&meta, 1);
}

void UmemArea::release_batch(void *const *metas, uint32_t n) noexcept
{
    // Runs of consecutive frames from one area.
    uint32_t i = 0;
    while (i < n) {
        UmemArea *area = MetadataSlots::from_caller(metas[i])->owner;
        i = area->release_run(metas, i, n);
    }
}

}  // namespace afxdp::umem
