// Per-thread chunk caches over a shared pool: LIFO order, slab exchanges
// (the pool's lock once per slab, never per burst), flushes (thread exit,
// a flush request, retirement), and the lifetime of a UMEM whose chunks
// and caches are spread over several threads.  The concurrent tests run
// under TSan in scripts/sanitize.sh.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "umem/chunk_cache.h"
#include "umem/thread_caches.h"
#include "umem/umem_area.h"

namespace afxdp::umem {
namespace {

constexpr uint32_t kSlab = ChunkCache::kSlab;

AreaRef make_area(uint32_t n_chunks)
{
    UmemConfig c;
    c.n_chunks = n_chunks;
    c.chunk_size = 4096;
    c.meta_size = 64;
    auto r = UmemArea::create(c);
    EXPECT_TRUE(r.ok());
    return std::move(r).value();
}

// Takes 'n' chunks through this thread's cache and holds them, as the rx
// path does; returns their metadata pointers.
std::vector<void *> take_held(UmemArea *area, uint32_t n)
{
    std::vector<void *> metas;
    ChunkCache *c = area->cache();
    while (n) {
        uint64_t addrs[32];
        uint32_t want = std::min(n, 32u);
        uint32_t got = c->get(addrs, want);
        for (uint32_t i = 0; i < got; i++) {
            uint32_t chunk = uint32_t(addrs[i] >> area->chunk_shift());
            area->states().set(chunk, ChunkStates::kHeld);
            metas.push_back(area->slots().slot(chunk));
        }
        if (got < want) {
            break;
        }
        n -= got;
    }
    return metas;
}

class ChunkCacheTest : public ::testing::Test {
protected:
    void TearDown() override { ThreadCaches::flush_all(); }
};

TEST_F(ChunkCacheTest, FirstUseTakesOneSlabInPoolOrder)
{
    AreaRef area = make_area(1024);
    ChunkCache *c = area->cache();
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c, area->cache());  // The same one every time.
    uint64_t a[4];
    ASSERT_EQ(c->get(a, 4), 4u);
    for (uint32_t i = 0; i < 4; i++) {
        EXPECT_EQ(a[i], uint64_t(i) * 4096);  // The pool's order.
    }
    EXPECT_EQ(area->pool().free_count(), 1024 - kSlab);
    EXPECT_EQ(c->count(), kSlab - 4);
    EXPECT_EQ(area->chunks_cached(), kSlab - 4);
    EXPECT_EQ(area->chunks_free(), 1020u);
    c->put(a, 4);
}

TEST_F(ChunkCacheTest, LastReturnedIsFirstHandedOut)
{
    AreaRef area = make_area(1024);
    ChunkCache *c = area->cache();
    uint64_t a[3];
    ASSERT_EQ(c->get(a, 3), 3u);
    const uint64_t back[2] = {a[2], a[0]};
    c->put(back, 2);
    uint64_t b[3];
    ASSERT_EQ(c->get(b, 3), 3u);
    EXPECT_EQ(b[0], a[0]);
    EXPECT_EQ(b[1], a[2]);
    EXPECT_EQ(b[2], 3u * 4096);
    c->put(b, 3);
    c->put(&a[1], 1);
}

TEST_F(ChunkCacheTest, PoolIsTouchedOncePerSlab)
{
    AreaRef area = make_area(4096);
    ChunkCache *c = area->cache();
    // Take 10 slabs' worth in bursts of 32: the pool shrinks by whole
    // slabs, one exchange per kSlab chunks.
    std::vector<uint64_t> taken;
    uint32_t exchanges = 0;
    uint32_t pool_before = area->pool().free_count();
    for (uint32_t i = 0; i < 10 * kSlab / 32; i++) {
        uint64_t a[32];
        ASSERT_EQ(c->get(a, 32), 32u);
        taken.insert(taken.end(), a, a + 32);
        uint32_t pool_now = area->pool().free_count();
        if (pool_now != pool_before) {
            EXPECT_EQ(pool_before - pool_now, kSlab);
            exchanges++;
            pool_before = pool_now;
        }
    }
    EXPECT_EQ(exchanges, 10u);
    // Giving them back spills a slab each time the cache would pass its
    // capacity, and keeps the most recent ones.
    exchanges = 0;
    for (size_t i = 0; i < taken.size(); i += 32) {
        c->put(&taken[i], 32);
        uint32_t pool_now = area->pool().free_count();
        if (pool_now != pool_before) {
            EXPECT_EQ(pool_now - pool_before, kSlab);
            exchanges++;
            pool_before = pool_now;
        }
        EXPECT_LE(c->count(), ChunkCache::kCapacity);
    }
    EXPECT_GE(exchanges, 8u);
    EXPECT_LE(exchanges, 10u);
    uint64_t top;
    ASSERT_EQ(c->get(&top, 1), 1u);
    EXPECT_EQ(top, taken.back());
    c->put(&top, 1);
    EXPECT_EQ(area->chunks_free(), 4096u);
}

TEST_F(ChunkCacheTest, RxDropStaysInTheCache)
{
    // Receive 32, release 32, refill 32, a thousand times: after the
    // first slab, the pool is never touched.
    AreaRef area = make_area(1024);
    std::vector<void *> metas = take_held(area.get(), 32);
    UmemArea::release_batch(metas.data(), 32);
    uint32_t pool_after_warmup = area->pool().free_count();
    for (int i = 0; i < 1000; i++) {
        metas = take_held(area.get(), 32);
        ASSERT_EQ(metas.size(), 32u);
        UmemArea::release_batch(metas.data(), 32);
    }
    EXPECT_EQ(area->pool().free_count(), pool_after_warmup);
    EXPECT_EQ(area->chunks_held(), 0u);
    EXPECT_EQ(area->chunks_free(), 1024u);
}

TEST_F(ChunkCacheTest, FlushAllReturnsEverythingToThePool)
{
    AreaRef area = make_area(1024);
    std::vector<void *> metas = take_held(area.get(), 40);
    UmemArea::release_batch(metas.data(), 40);
    EXPECT_GT(area->chunks_cached(), 0u);
    ThreadCaches::flush_all();
    EXPECT_EQ(area->chunks_cached(), 0u);
    EXPECT_EQ(area->pool().free_count(), 1024u);
    // A lookup attaches a fresh cache.
    EXPECT_NE(area->cache(), nullptr);
}

TEST_F(ChunkCacheTest, ThreadExitFlushesItsCaches)
{
    AreaRef area = make_area(1024);
    std::thread t([&] {
        std::vector<void *> metas = take_held(area.get(), 50);
        UmemArea::release_batch(metas.data(), 50);
        EXPECT_GT(area->chunks_cached(), 0u);
    });
    t.join();
    EXPECT_EQ(area->chunks_cached(), 0u);
    EXPECT_EQ(area->pool().free_count(), 1024u);
    EXPECT_EQ(area->chunks_held(), 0u);
}

TEST_F(ChunkCacheTest, FlushRequestEmptiesOtherThreadsCachesAtTheirNextCall)
{
    AreaRef area = make_area(1024);
    std::mutex m;
    std::condition_variable cv;
    int step = 0;
    std::thread t([&] {
        std::vector<void *> metas = take_held(area.get(), 50);
        UmemArea::release_batch(metas.data(), 50);
        std::unique_lock<std::mutex> lock(m);
        step = 1;
        cv.notify_all();
        cv.wait(lock, [&] { return step == 2; });
        // The next call notices the request.
        area->cache();
        step = 3;
        cv.notify_all();
        cv.wait(lock, [&] { return step == 4; });
    });
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return step == 1; });
    EXPECT_GT(area->chunks_cached(), 0u);
    ThreadCaches::request_flush();
    EXPECT_GT(area->chunks_cached(), 0u);  // Not until its next call.
    step = 2;
    cv.notify_all();
    cv.wait(lock, [&] { return step == 3; });
    EXPECT_EQ(area->chunks_cached(), 0u);
    EXPECT_EQ(area->pool().free_count(), 1024u);
    step = 4;
    cv.notify_all();
    lock.unlock();
    t.join();
}

TEST_F(ChunkCacheTest, RetiredAreaGoesWhenTheLastCacheDetaches)
{
    uint64_t live = UmemArea::live_count();
    AreaRef area = make_area(1024);
    UmemArea *raw = area.get();
    std::mutex m;
    std::condition_variable cv;
    int step = 0;
    std::vector<void *> held;
    std::thread t([&] {
        held = take_held(raw, 10);
        std::unique_lock<std::mutex> lock(m);
        step = 1;
        cv.notify_all();
        cv.wait(lock, [&] { return step == 2; });
        // Its next call: the cache (holding 10) detaches, the area stays
        // for the frames.
        UmemArea::release_batch(held.data(), 5);
        step = 3;
        cv.notify_all();
        cv.wait(lock, [&] { return step == 4; });
        UmemArea::release_batch(held.data() + 5, 5);  // The last ones.
    });
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return step == 1; });
    area.reset();  // Retired, but the other thread has a cache and frames.
    EXPECT_EQ(UmemArea::live_count(), live + 1);
    EXPECT_EQ(raw->chunks_held(), 10u);
    step = 2;
    cv.notify_all();
    cv.wait(lock, [&] { return step == 3; });
    EXPECT_EQ(UmemArea::live_count(), live + 1);
    EXPECT_EQ(raw->chunks_held(), 5u);
    EXPECT_EQ(raw->chunks_cached(), 0u);  // No cache attaches any more.
    EXPECT_EQ(raw->cache(), nullptr);
    step = 4;
    cv.notify_all();
    lock.unlock();
    t.join();
    EXPECT_EQ(UmemArea::live_count(), live);
}

// Chunks flow the way a forwarding PMD pair moves them: one thread takes
// and holds (rx), hands frames to a second one that releases them (OVS
// freeing a packet elsewhere) or takes chunks for "transmission" and gives
// them back (completion), while the main thread shares and retires owner
// references.  At the end every chunk is free, none is held, and the area
// is gone once the owners and the threads are.
TEST_F(ChunkCacheTest, ConcurrentHoldReleaseRetire)
{
    constexpr uint32_t kChunks = 2048;
    constexpr int kRounds = 3000;
    uint64_t live = UmemArea::live_count();
    AreaRef owner = make_area(kChunks);
    UmemArea *area = owner.get();

    std::mutex m;
    std::condition_variable cv;
    std::deque<std::vector<void *>> handoff;
    bool producer_done = false;

    std::thread rx([&] {
        for (int r = 0; r < kRounds; r++) {
            std::vector<void *> metas = take_held(area, 1 + r % 32);
            std::lock_guard<std::mutex> lock(m);
            handoff.push_back(std::move(metas));
            cv.notify_one();
        }
        std::lock_guard<std::mutex> lock(m);
        producer_done = true;
        cv.notify_one();
    });
    std::thread release([&] {
        uint64_t tx[32];
        for (;;) {
            std::vector<void *> metas;
            {
                std::unique_lock<std::mutex> lock(m);
                cv.wait(lock,
                        [&] { return producer_done || !handoff.empty(); });
                if (handoff.empty()) {
                    break;
                }
                metas = std::move(handoff.front());
                handoff.pop_front();
            }
            UmemArea::release_batch(metas.data(), uint32_t(metas.size()));
            // A transmission: chunks out of this thread's cache and back.
            ChunkCache *c = area->cache();
            uint32_t got = c->get(tx, 16);
            c->put(tx, got);
        }
    });
    std::thread owners([&] {
        for (int r = 0; r < 200; r++) {
            AreaRef extra = area->share();
            std::this_thread::yield();
        }
    });
    rx.join();
    release.join();
    owners.join();

    EXPECT_EQ(area->chunks_held(), 0u);
    EXPECT_EQ(area->chunks_free(), kChunks);
    EXPECT_EQ(area->states().count(ChunkStates::kFree), kChunks);
    EXPECT_EQ(area->release_errors(), 0u);
    std::vector<uint64_t> all(kChunks);
    ThreadCaches::flush_all();
    ASSERT_EQ(area->pool().get_batch(all.data(), kChunks), kChunks);
    std::set<uint64_t> distinct(all.begin(), all.end());
    EXPECT_EQ(distinct.size(), kChunks);
    area->pool().put_batch(all.data(), kChunks);
    owner.reset();
    EXPECT_EQ(UmemArea::live_count(), live);
}

// The same, but the owner retires while the other threads still hold
// frames and caches: the area must stay until the last of them is gone
// (ASan would catch a use after free, TSan a missing ordering).
TEST_F(ChunkCacheTest, RetireUnderTraffic)
{
    uint64_t live = UmemArea::live_count();
    for (int iter = 0; iter < 20; iter++) {
        AreaRef owner = make_area(1024);
        UmemArea *area = owner.get();
        AreaRef second = area->share();
        std::atomic<bool> go{false};
        std::thread a([&, ref = std::move(second)]() mutable {
            while (!go.load()) {
                std::this_thread::yield();
            }
            for (int r = 0; r < 200; r++) {
                std::vector<void *> metas = take_held(area, 8);
                UmemArea::release_batch(metas.data(), uint32_t(metas.size()));
            }
            std::vector<void *> kept = take_held(area, 4);
            ref.reset();  // The last owner may be this one.
            UmemArea::release_batch(kept.data(), uint32_t(kept.size()));
        });
        go = true;
        owner.reset();
        a.join();
        EXPECT_EQ(UmemArea::live_count(), live) << "iteration " << iter;
    }
}

}  // namespace
}  // namespace afxdp::umem
