// JiffiesClock: the tick rate measured between samples and snapped to a
// rate Linux is built with, and the flows' last-used jiffies turned into
// CLOCK_MONOTONIC milliseconds.
#include "netdev-afxdp/offload/jiffies_clock.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace afxdp::offload {
namespace {

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kT0 = 100 * kSec;        // Monotonic ns of the first sample.
constexpr uint64_t kJ0 = 4'294'000'000ull;  // Jiffies then.

TEST(JiffiesClock, AssumesTheCommonRateUntilMeasured)
{
    JiffiesClock c;
    EXPECT_EQ(c.hz(), JiffiesClock::kDefaultHz);
    c.sample(kJ0, kT0);
    // A HZ=1000 kernel, but the span is one ns short of kMinSpanNs.
    const uint64_t span = JiffiesClock::kMinSpanNs - 1;
    c.sample(kJ0 + span * 1000 / kSec, kT0 + span);
    EXPECT_EQ(c.hz(), 250u);
}

TEST(JiffiesClock, MeasuresAndSnapsToAKconfigRate)
{
    // Each rate with the measured count off by a few jiffies (samples
    // are not taken at tick edges).
    const struct {
        uint32_t hz;
        uint64_t jiffies_in_span;  // In kMinSpanNs = 0.5 s.
    } cases[] = {{100, 52}, {250, 121}, {300, 152}, {1000, 497}};
    for (const auto &k : cases) {
        SCOPED_TRACE(k.hz);
        JiffiesClock c;
        c.sample(kJ0, kT0);
        c.sample(kJ0 + k.jiffies_in_span, kT0 + JiffiesClock::kMinSpanNs);
        EXPECT_EQ(c.hz(), k.hz);
    }
}

TEST(JiffiesClock, MeasuresOnceFromTheFirstSample)
{
    JiffiesClock c;
    c.sample(kJ0, kT0);
    c.sample(kJ0 + 10, kT0 + kSec / 10);  // Too early to tell.
    c.sample(kJ0 + 300, kT0 + kSec);      // 300 over 1 s from the first.
    EXPECT_EQ(c.hz(), 300u);
    c.sample(kJ0 + 300 + 1000, kT0 + 2 * kSec);  // Nonsense later: kept.
    EXPECT_EQ(c.hz(), 300u);
}

TEST(JiffiesClock, PastJiffiesBecomeMillisecondsBeforeTheLastSample)
{
    JiffiesClock c;
    c.sample(kJ0, kT0);
    c.sample(kJ0 + 1000, kT0 + kSec);  // HZ=1000.
    ASSERT_EQ(c.hz(), 1000u);
    const long long last_ms = (kT0 + kSec) / 1'000'000;
    EXPECT_EQ(c.to_msec(kJ0 + 1000), last_ms);
    EXPECT_EQ(c.to_msec(kJ0 + 1000 - 250), last_ms - 250);
    EXPECT_EQ(c.to_msec(kJ0), last_ms - 1000);

    JiffiesClock d;  // Unmeasured: 250 Hz, 4 ms a jiffy.
    d.sample(kJ0, kT0);
    EXPECT_EQ(d.to_msec(kJ0 - 25), (long long)(kT0 / 1'000'000) - 100);
}

TEST(JiffiesClock, ThreeHundredHertzConvertsWithoutDrift)
{
    JiffiesClock c;
    c.sample(kJ0, kT0);
    c.sample(kJ0 + 150, kT0 + kSec / 2);
    ASSERT_EQ(c.hz(), 300u);
    const long long last_ms = (kT0 + kSec / 2) / 1'000'000;
    // 300 jiffies are one second: 3333333 ns each, rounded down.
    EXPECT_EQ(c.to_msec(kJ0 + 150 - 300), last_ms - 1000);
}

TEST(JiffiesClock, ZeroMeansNeverUsed)
{
    JiffiesClock c;
    EXPECT_EQ(c.to_msec(0), 0);
    EXPECT_EQ(c.to_msec(kJ0), 0);  // No sample yet: unknown, not a time.
    c.sample(kJ0, kT0);
    EXPECT_EQ(c.to_msec(0), 0);
}

TEST(JiffiesClock, JiffiesAfterTheSampleCountAsTheSample)
{
    // A frame counted between the sample and the read of its counters.
    JiffiesClock c;
    c.sample(kJ0, kT0);
    EXPECT_EQ(c.to_msec(kJ0 + 3), (long long)(kT0 / 1'000'000));
    EXPECT_EQ(c.to_msec(UINT64_MAX), (long long)(kT0 / 1'000'000));
}

TEST(JiffiesClock, JiffiesBeforeTheClockStartedClampToZeroTime)
{
    JiffiesClock c;
    c.sample(kJ0, kSec);  // One second after the monotonic clock's start.
    EXPECT_EQ(c.to_msec(kJ0 - 2500), 0);  // Ten seconds (at 250 Hz) earlier.
}

}  // namespace
}  // namespace afxdp::offload
