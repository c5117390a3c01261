// ChunkPool: LIFO order, batches, exhaustion, and concurrent use (run under
// TSan in the AFXDP_SANITIZE=thread build).
#include "umem/chunk_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>
#include <vector>

namespace afxdp::umem {
namespace {

constexpr uint32_t kChunk = 4096;

TEST(ChunkPool, StartsFullLowestAddressFirst)
{
    ChunkPool pool(8, kChunk);
    EXPECT_EQ(pool.capacity(), 8u);
    EXPECT_EQ(pool.free_count(), 8u);
    uint64_t a[8];
    ASSERT_EQ(pool.get_batch(a, 8), 8u);
    for (uint32_t i = 0; i < 8; i++) {
        EXPECT_EQ(a[i], uint64_t(i) * kChunk);
    }
    EXPECT_EQ(pool.free_count(), 0u);
}

TEST(ChunkPool, MostRecentlyFreedComesBackFirst)
{
    ChunkPool pool(16, kChunk);
    uint64_t a[4];
    ASSERT_EQ(pool.get_batch(a, 4), 4u);
    pool.put(a[2]);
    pool.put(a[0]);
    uint64_t b[3];
    ASSERT_EQ(pool.get_batch(b, 3), 3u);
    EXPECT_EQ(b[0], a[0]);
    EXPECT_EQ(b[1], a[2]);
    EXPECT_EQ(b[2], 4u * kChunk);  // Then the untouched ones, in order.

    // A batch put behaves like puts in array order.
    const uint64_t back[2] = {b[0], b[1]};
    pool.put_batch(back, 2);
    uint64_t c[2];
    ASSERT_EQ(pool.get_batch(c, 2), 2u);
    EXPECT_EQ(c[0], back[1]);
    EXPECT_EQ(c[1], back[0]);
}

TEST(ChunkPool, ExhaustionGivesPartialThenNothing)
{
    ChunkPool pool(8, kChunk);
    uint64_t a[8];
    ASSERT_EQ(pool.get_batch(a, 5), 5u);
    EXPECT_EQ(pool.get_batch(a + 5, 5), 3u);
    EXPECT_EQ(pool.free_count(), 0u);
    uint64_t x;
    EXPECT_EQ(pool.get_batch(&x, 1), 0u);

    pool.put_batch(a, 8);
    EXPECT_EQ(pool.free_count(), 8u);
    uint64_t b[8];
    ASSERT_EQ(pool.get_batch(b, 8), 8u);
    std::set<uint64_t> got(b, b + 8);
    EXPECT_EQ(got, std::set<uint64_t>(a, a + 8));
}

TEST(ChunkPool, ConcurrentGetPutNeverDuplicatesOrLoses)
{
    constexpr uint32_t kChunks = 1024;
    constexpr int kThreads = 4;
    constexpr int kRounds = 20000;
    ChunkPool pool(kChunks, kChunk);
    std::vector<std::atomic<int>> owner(kChunks);
    for (auto &o : owner) {
        o.store(-1);
    }
    std::atomic<int> duplicates{0};

    auto worker = [&](int id) {
        uint64_t mine[64];
        uint32_t seed = id * 7919 + 1;
        for (int r = 0; r < kRounds; r++) {
            seed = seed * 1103515245 + 12345;
            uint32_t want = 1 + (seed >> 16) % 64;
            uint32_t got = pool.get_batch(mine, want);
            for (uint32_t i = 0; i < got; i++) {
                int expected = -1;
                if (!owner[mine[i] / kChunk].compare_exchange_strong(expected,
                                                                     id)) {
                    duplicates++;
                }
            }
            for (uint32_t i = 0; i < got; i++) {
                owner[mine[i] / kChunk].store(-1);
            }
            // Give back in two halves: one put_batch and single puts.
            uint32_t half = got / 2;
            pool.put_batch(mine, half);
            for (uint32_t i = half; i < got; i++) {
                pool.put(mine[i]);
            }
        }
    };
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; t++) {
        threads.emplace_back(worker, t);
    }
    for (auto &t : threads) {
        t.join();
    }
    EXPECT_EQ(duplicates.load(), 0);
    ASSERT_EQ(pool.free_count(), kChunks);
    std::vector<uint64_t> all(kChunks);
    ASSERT_EQ(pool.get_batch(all.data(), kChunks), kChunks);
    std::sort(all.begin(), all.end());
    for (uint32_t i = 0; i < kChunks; i++) {
        EXPECT_EQ(all[i], uint64_t(i) * kChunk);
    }
}

}  // namespace
}  // namespace afxdp::umem
