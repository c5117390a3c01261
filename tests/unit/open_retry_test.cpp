// The retry schedule of a port whose queue was still taken (open_retry.h):
// delays double from the first up to the longest, the retries stop once
// they would wait more than the give-up time in all, and the C ABI gives
// the same schedule.
#include "netdev-afxdp/afxdp.h"
#include "netdev-afxdp/open_retry.h"

#include <gtest/gtest.h>

namespace afxdp::netdev::open_retry {
namespace {

TEST(OpenRetryTest, DelaysDoubleUpToTheLongest)
{
    EXPECT_EQ(delay_ms(1), kFirstMs);
    EXPECT_EQ(delay_ms(2), 2 * kFirstMs);
    EXPECT_EQ(delay_ms(3), 4 * kFirstMs);
    uint32_t r = 1;
    while (delay_ms(r) && delay_ms(r) < kLongestMs) {
        EXPECT_EQ(delay_ms(r + 1), 2 * delay_ms(r)) << "retry " << r;
        r++;
    }
    EXPECT_EQ(delay_ms(r), kLongestMs);
    EXPECT_EQ(delay_ms(r + 1), kLongestMs);
}

TEST(OpenRetryTest, RetriesStopOnceTheyWouldWaitTooLong)
{
    uint64_t waited = 0;
    uint32_t r = 1;
    for (; delay_ms(r); r++) {
        waited += delay_ms(r);
        ASSERT_LE(waited, kGiveUpMs) << "retry " << r;
    }
    // The first refused retry is the one that would pass the limit.
    EXPECT_GT(waited + kLongestMs, kGiveUpMs);
    EXPECT_GT(r, 10u);
    EXPECT_EQ(delay_ms(r + 1), 0u);
    EXPECT_EQ(delay_ms(0), 0u);
}

TEST(OpenRetryTest, TheCAbiGivesTheSameSchedule)
{
    for (uint32_t r = 0; r < 40; r++) {
        EXPECT_EQ(afxdp_open_retry_delay_ms(r), delay_ms(r)) << "retry " << r;
    }
}

}  // namespace
}  // namespace afxdp::netdev::open_retry
