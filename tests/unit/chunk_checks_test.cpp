// The always-on chunk checks: a chunk released twice, or released while
// the kernel has it, and a pool pushed past its capacity are refused,
// counted and reported in every build (these tests run in the
// RelWithDebInfo build, where assert() is compiled out), and nothing is
// corrupted: the pool keeps its size, the area stays alive for its owner.
// The ASan build proves no write lands outside the pool's stack.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "umem/chunk_pool.h"
#include "umem/chunk_states.h"
#include "umem/report.h"
#include "umem/umem_area.h"

namespace afxdp::umem {
namespace {

std::vector<std::string> reports;

void capture(const char *message)
{
    reports.emplace_back(message);
}

class ChunkChecks : public ::testing::Test {
protected:
    void SetUp() override
    {
        reports.clear();
        set_error_hook(capture);
    }
    void TearDown() override { set_error_hook(nullptr); }

    static AreaRef make_area()
    {
        UmemConfig c;
        c.n_chunks = 16;
        c.chunk_size = 4096;
        c.meta_size = 64;
        auto r = UmemArea::create(c);
        EXPECT_TRUE(r.ok());
        return std::move(r).value();
    }

    // One chunk taken from the pool and held, as the rx path leaves it.
    static void *take_held(UmemArea *area)
    {
        uint64_t addr = 0;
        EXPECT_EQ(area->pool().get_batch(&addr, 1), 1u);
        uint32_t chunk = uint32_t(addr >> area->chunk_shift());
        area->states().set(chunk, ChunkStates::kHeld);
        return area->slots().slot(chunk);
    }
};

TEST_F(ChunkChecks, StatesReleaseOnlyHeldChunks)
{
    ChunkStates s(8);
    EXPECT_EQ(s.count(ChunkStates::kFree), 8u);
    EXPECT_FALSE(s.release(3));  // Free.
    s.set(3, ChunkStates::kHeld);
    EXPECT_TRUE(s.release(3));
    EXPECT_FALSE(s.release(3));  // Released already.
    s.set(4, ChunkStates::kFirstOwner);
    EXPECT_FALSE(s.release(4));  // Lent to the kernel.
    EXPECT_EQ(s.get(4), ChunkStates::kFirstOwner);
}

TEST_F(ChunkChecks, ReclaimReturnsEveryChunkOfOneOwner)
{
    ChunkStates s(8);
    const uint16_t a = ChunkStates::kFirstOwner;
    const uint16_t b = ChunkStates::kFirstOwner + 1;
    s.set(1, a);
    s.set(2, b);
    s.set(5, a);
    s.set(6, ChunkStates::kHeld);
    uint64_t addrs[8];
    ASSERT_EQ(s.reclaim(a, 12, addrs), 2u);
    EXPECT_EQ(addrs[0], 1u << 12);
    EXPECT_EQ(addrs[1], 5u << 12);
    EXPECT_EQ(s.get(1), ChunkStates::kFree);
    EXPECT_EQ(s.get(2), b);
    EXPECT_EQ(s.get(6), ChunkStates::kHeld);
    EXPECT_EQ(s.reclaim(a, 12, addrs), 0u);
}

TEST_F(ChunkChecks, DoubleReleaseIsCountedAndReportedNotCorrupting)
{
    uint64_t live = UmemArea::live_count();
    AreaRef area = make_area();
    void *meta = take_held(area.get());
    EXPECT_EQ(area->chunks_free(), 15u);

    UmemArea::release(meta);
    EXPECT_EQ(area->chunks_free(), 16u);
    EXPECT_EQ(area->release_errors(), 0u);
    EXPECT_TRUE(reports.empty());

    // The second release changes nothing but the error count.
    UmemArea::release(meta);
    UmemArea::release_batch(&meta, 1);
    EXPECT_EQ(area->chunks_free(), 16u);
    EXPECT_EQ(area->pool().overflows(), 0u);
    EXPECT_EQ(area->release_errors(), 2u);
    EXPECT_EQ(area->chunks_held(), 0u);
    ASSERT_EQ(reports.size(), 2u);  // 1st and 2nd: powers of two.
    EXPECT_NE(reports[0].find("not held"), std::string::npos) << reports[0];

    // The owner's reference survived both: the area is still alive and
    // goes exactly when its owner retires.
    EXPECT_EQ(UmemArea::live_count(), live + 1);
    area.reset();
    EXPECT_EQ(UmemArea::live_count(), live);
}

TEST_F(ChunkChecks, ReleaseOfALentChunkIsRefused)
{
    AreaRef area = make_area();
    uint64_t addr = 0;
    ASSERT_EQ(area->pool().get_batch(&addr, 1), 1u);
    uint32_t chunk = uint32_t(addr >> area->chunk_shift());
    area->states().set(chunk, ChunkStates::kFirstOwner);  // On a fill ring.
    void *meta = area->slots().slot(chunk);
    UmemArea::release(meta);
    EXPECT_EQ(area->release_errors(), 1u);
    EXPECT_EQ(area->chunks_free(), 15u);
    EXPECT_EQ(area->states().get(chunk), ChunkStates::kFirstOwner);
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_NE(reports[0].find("lent"), std::string::npos) << reports[0];
}

TEST_F(ChunkChecks, ReportsThinOutAsErrorsRepeat)
{
    AreaRef area = make_area();
    void *meta = take_held(area.get());
    UmemArea::release(meta);
    for (int i = 0; i < 1000; i++) {
        UmemArea::release(meta);
    }
    EXPECT_EQ(area->release_errors(), 1000u);
    // 1, 2, 4, ..., 512: ten lines for a thousand errors.
    EXPECT_EQ(reports.size(), 10u);
}

TEST_F(ChunkChecks, PoolOverflowIsRefusedCountedAndReported)
{
    ChunkPool pool(8, 4096);
    uint64_t a[8];
    ASSERT_EQ(pool.get_batch(a, 2), 2u);
    const uint64_t extra[5] = {a[0], a[1], a[0], a[1], a[0]};
    EXPECT_EQ(pool.put_batch(extra, 5), 2u);  // Room for two only.
    EXPECT_EQ(pool.free_count(), 8u);
    EXPECT_EQ(pool.overflows(), 3u);
    EXPECT_EQ(pool.put(a[0]), 0u);
    EXPECT_EQ(pool.overflows(), 4u);
    EXPECT_EQ(pool.free_count(), 8u);
    ASSERT_FALSE(reports.empty());
    EXPECT_NE(reports[0].find("overflow"), std::string::npos) << reports[0];
    // Still a working pool of eight.
    uint64_t b[9];
    EXPECT_EQ(pool.get_batch(b, 9), 8u);
}

TEST_F(ChunkChecks, WithoutHookReportsGoToStderr)
{
    set_error_hook(nullptr);
    testing::internal::CaptureStderr();
    ChunkPool pool(2, 4096);
    EXPECT_EQ(pool.put(0), 0u);
    std::string err = testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("overflow"), std::string::npos) << err;
}

}  // namespace
}  // namespace afxdp::umem
