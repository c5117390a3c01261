// EventReport: the queues' drop and error counters become per-call deltas
// for OVS's coverage counters, and kick errors a log line at most once per
// kLogInterval that loses no error (netdev-afxdp/event_report.h).
#include "netdev-afxdp/event_report.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace {

using afxdp::netdev::EventReport;
using std::chrono::seconds;

afxdp_port_events events(uint64_t no_chunk, uint64_t ring_full,
                         uint64_t bad_len, uint64_t kicks,
                         uint64_t not_held = 0)
{
    return afxdp_port_events{.tx_dropped_no_chunk = no_chunk,
                             .tx_dropped_ring_full = ring_full,
                             .tx_dropped_bad_len = bad_len,
                             .tx_dropped_not_held = not_held,
                             .tx_kick_errors = kicks};
}

class EventReportTest : public ::testing::Test {
protected:
    EventReport::Taken take(const afxdp_port_events &totals, int at_seconds)
    {
        return report_.take(totals, t0_ + seconds(at_seconds));
    }

    EventReport report_{"eth0"};
    const EventReport::Clock::time_point t0_{};
};

TEST_F(EventReportTest, ReturnsWhatWasCountedSinceTheLastCall)
{
    auto a = take(events(5, 3, 1, 0), 0);
    EXPECT_EQ(a.since_last.tx_dropped_no_chunk, 5u);
    EXPECT_EQ(a.since_last.tx_dropped_ring_full, 3u);
    EXPECT_EQ(a.since_last.tx_dropped_bad_len, 1u);
    EXPECT_EQ(a.since_last.tx_kick_errors, 0u);
    EXPECT_EQ(a.log, "");

    auto b = take(events(7, 3, 4, 0), 5);
    EXPECT_EQ(b.since_last.tx_dropped_no_chunk, 2u);
    EXPECT_EQ(b.since_last.tx_dropped_ring_full, 0u);
    EXPECT_EQ(b.since_last.tx_dropped_bad_len, 3u);

    auto c = take(events(7, 3, 4, 0), 10);
    EXPECT_EQ(c.since_last.tx_dropped_no_chunk, 0u);
    EXPECT_EQ(c.since_last.tx_dropped_bad_len, 0u);

    auto d = take(events(7, 3, 4, 0, 2), 15);
    EXPECT_EQ(d.since_last.tx_dropped_not_held, 2u);
    EXPECT_EQ(d.since_last.tx_dropped_bad_len, 0u);
}

TEST_F(EventReportTest, CountersThatStartedOverCountAsNew)
{
    take(events(100, 0, 0, 0), 0);
    // A reconfiguration gave the queues new counters.
    auto t = take(events(4, 0, 0, 0), 5);
    EXPECT_EQ(t.since_last.tx_dropped_no_chunk, 4u);
}

TEST_F(EventReportTest, FirstKickErrorIsLoggedAtOnce)
{
    auto t = take(events(0, 0, 0, 2), 0);
    EXPECT_EQ(t.since_last.tx_kick_errors, 2u);
    EXPECT_EQ(t.log,
              "eth0: 2 AF_XDP transmit kick(s) (sendto) failed since the "
              "port was opened; their frames wait on the tx ring for the "
              "next kick (statistics q<N>_tx_kick_errors say on which "
              "queue).");
}

TEST_F(EventReportTest, KickErrorStormGivesOneLineAMinuteAndLosesNone)
{
    ASSERT_NE(take(events(0, 0, 0, 1), 0).log, "");
    // Every 5 s, 10 more errors: silent until a minute has passed...
    uint64_t total = 1;
    for (int t = 5; t < 60; t += 5) {
        total += 10;
        auto taken = take(events(0, 0, 0, total), t);
        EXPECT_EQ(taken.log, "") << "at " << t << " s";
        EXPECT_EQ(taken.since_last.tx_kick_errors, 10u);
    }
    // ...then one line with all of them.
    total += 10;
    auto at60 = take(events(0, 0, 0, total), 60);
    EXPECT_EQ(at60.log.rfind("eth0: 120 AF_XDP transmit kick(s) (sendto) "
                             "failed since the last report;",
                             0),
              0u)
        << at60.log;
}

TEST_F(EventReportTest, ErrorsCountedInsideTheIntervalAreLoggedAfterIt)
{
    ASSERT_NE(take(events(0, 0, 0, 1), 0).log, "");
    EXPECT_EQ(take(events(0, 0, 0, 2), 30).log, "");
    // No new error since, but one is still unreported.
    auto later = take(events(0, 0, 0, 2), 65);
    EXPECT_EQ(later.since_last.tx_kick_errors, 0u);
    EXPECT_EQ(later.log.rfind("eth0: 1 AF_XDP transmit kick(s)", 0), 0u)
        << later.log;
    // And then nothing more to say.
    EXPECT_EQ(take(events(0, 0, 0, 2), 200).log, "");
}

TEST_F(EventReportTest, DropsAloneAreNeverLogged)
{
    for (int t = 0; t < 300; t += 5) {
        EXPECT_EQ(take(events(uint64_t(t) * 7, uint64_t(t), 1, 0), t).log, "");
    }
}

}  // namespace
