// Interface options: what parses, what each bad value says, and the
// keep-or-refuse policy for a bad value on a running or a fresh port
// (netdev-afxdp/options.h).
#include "netdev-afxdp/options.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "netdev-afxdp/afxdp.h"

namespace {

using afxdp::netdev::parse_options;
using afxdp::netdev::PortOptions;
using Verdict = PortOptions::Verdict;

std::optional<uint32_t> queues(uint32_t current)
{
    return current;
}

afxdp_option_strings strings(const char *n_rxq, const char *mode = nullptr,
                             const char *wakeup = nullptr)
{
    afxdp_option_strings s = {};
    s.n_rxq = n_rxq;
    s.xdp_mode = mode;
    s.use_need_wakeup = wakeup;
    return s;
}

// The error message parse_options() gives, or "" when it accepts.
std::string parse_error(const afxdp_option_strings &s,
                        std::optional<uint32_t> q = queues(4))
{
    auto r = parse_options("eth0", s, q);
    return r ? "" : r.error().message;
}

TEST(ParseOptions, NothingSetGivesTheDefaults)
{
    auto r = parse_options("eth0", strings(nullptr), queues(1));
    ASSERT_TRUE(r);
    EXPECT_EQ(r.value().n_rxq, 1u);
    EXPECT_EQ(r.value().xdp_mode, AFXDP_XDP_MODE_BEST_EFFORT);
    EXPECT_TRUE(r.value().use_need_wakeup);
    EXPECT_TRUE(r.value().shared_umem);
    EXPECT_EQ(r.value().busy_poll_budget, 0u);
    EXPECT_EQ(r.value().busy_poll_usecs, 20u);
    EXPECT_TRUE(r.value().multi_buffer);
}

TEST(ParseOptions, MultiBuffer)
{
    afxdp_option_strings s = {};
    s.multi_buffer = "false";
    auto r = parse_options("eth0", s, queues(1));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(r.value().multi_buffer);
    EXPECT_EQ(afxdp::netdev::to_string(r.value()),
              "n_rxq=1, xdp-mode=best-effort, use-need-wakeup=true, "
              "shared-umem=true, multi-buffer=false");
    s.multi_buffer = "TRUE";
    auto t = parse_options("eth0", s, queues(1));
    ASSERT_TRUE(t);
    EXPECT_TRUE(t.value().multi_buffer);
    EXPECT_FALSE(afxdp::netdev::same_options(r.value(), t.value()));
    s.multi_buffer = "maybe";
    EXPECT_EQ(parse_error(s),
              "eth0: Invalid 'multi-buffer' (maybe): must be true or false.");
}

TEST(ParseOptions, ValidValues)
{
    auto r = parse_options("eth0", strings("4", "NATIVE", "False"), queues(4));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r.value().n_rxq, 4u);
    EXPECT_EQ(r.value().xdp_mode, AFXDP_XDP_MODE_NATIVE);
    EXPECT_FALSE(r.value().use_need_wakeup);
}

TEST(ParseOptions, NRxqNotAPositiveIntegerIsInvalid)
{
    for (const char *v : {"0", "-1", "-3", "abc", "", "2x", "+1", " 1"}) {
        EXPECT_EQ(parse_error(strings(v)),
                  std::string("eth0: Invalid 'n_rxq' (") + v +
                      "): must be a positive integer.")
            << v;
    }
}

TEST(ParseOptions, NRxqAboveTheCurrentQueuesIsTooBig)
{
    EXPECT_EQ(parse_error(strings("4096"), queues(2)),
              "eth0: Too big 'n_rxq' (4096 > 2).");
    EXPECT_EQ(parse_error(strings("3"), queues(2)),
              "eth0: Too big 'n_rxq' (3 > 2).");
    EXPECT_EQ(parse_error(strings("99999999999999999999999"), queues(2)),
              "eth0: Too big 'n_rxq' (99999999999999999999999 > 2).");
    EXPECT_EQ(parse_error(strings("2"), queues(2)), "");
}

TEST(ParseOptions, UnreadableDeviceDefersTheQueueCheckToTheOpen)
{
    const std::optional<uint32_t> gone;
    EXPECT_EQ(parse_error(strings("64"), gone), "");
    // Still an integer, and one a queue count can hold.
    EXPECT_EQ(parse_error(strings("0"), gone),
              "eth0: Invalid 'n_rxq' (0): must be a positive integer.");
    EXPECT_EQ(parse_error(strings("4294967296"), gone),
              "eth0: Too big 'n_rxq' (4294967296).");
}

TEST(ParseOptions, UnknownXdpModeIsIncorrect)
{
    EXPECT_EQ(parse_error(strings(nullptr, "bogus")),
              "eth0: Incorrect xdp-mode (bogus).");
    EXPECT_EQ(parse_error(strings(nullptr, "")),
              "eth0: Incorrect xdp-mode ().");
}

TEST(ParseOptions, NeedWakeupIsTrueOrFalseOnly)
{
    EXPECT_EQ(parse_error(strings(nullptr, nullptr, "yes")),
              "eth0: Invalid 'use-need-wakeup' (yes): must be true or false.");
    EXPECT_EQ(parse_error(strings(nullptr, nullptr, "TRUE")), "");
}

// The UMEM and busy-poll options, by name.
afxdp_option_strings umem_strings(const char *shared, const char *budget,
                                  const char *usecs)
{
    afxdp_option_strings s = {};
    s.shared_umem = shared;
    s.busy_poll_budget = budget;
    s.busy_poll_usecs = usecs;
    return s;
}

TEST(ParseOptions, SharedUmemAndBusyPollValues)
{
    auto r =
        parse_options("eth0", umem_strings("FALSE", "64", "50"), queues(1));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(r.value().shared_umem);
    EXPECT_EQ(r.value().busy_poll_budget, 64u);
    EXPECT_EQ(r.value().busy_poll_usecs, 50u);
    EXPECT_EQ(afxdp::netdev::to_string(r.value()),
              "n_rxq=1, xdp-mode=best-effort, use-need-wakeup=true, "
              "shared-umem=false, busy-poll-budget=64, busy-poll-usecs=50");
    EXPECT_EQ(parse_error(umem_strings(nullptr, "0", nullptr)), "");
    EXPECT_EQ(parse_error(umem_strings(nullptr, "65535", "1")), "");
}

TEST(ParseOptions, SharedUmemAndBusyPollOutOfRangeAreInvalid)
{
    EXPECT_EQ(parse_error(umem_strings("no", nullptr, nullptr)),
              "eth0: Invalid 'shared-umem' (no): must be true or false.");
    for (const char *v : {"65536", "-1", "x", "", "1e3"}) {
        EXPECT_EQ(parse_error(umem_strings(nullptr, v, nullptr)),
                  std::string("eth0: Invalid 'busy-poll-budget' (") + v +
                      "): must be an integer from 0 (off) to 65535.")
            << v;
    }
    for (const char *v : {"0", "-5", "2147483648", "ten"}) {
        EXPECT_EQ(parse_error(umem_strings(nullptr, "8", v)),
                  std::string("eth0: Invalid 'busy-poll-usecs' (") + v +
                      "): must be a positive integer.")
            << v;
    }
}

TEST(ParseOptions, ChangingAUmemOrBusyPollOptionIsAChange)
{
    PortOptions o("eth0");
    ASSERT_EQ(
        o.update(umem_strings(nullptr, nullptr, nullptr), queues(1)).verdict,
        Verdict::kAccepted);
    for (auto s : {umem_strings("false", nullptr, nullptr),
                   umem_strings("false", "16", nullptr),
                   umem_strings("false", "16", "30")}) {
        auto u = o.update(s, queues(1));
        EXPECT_EQ(u.verdict, Verdict::kAccepted);
        EXPECT_TRUE(u.changed);
    }
    EXPECT_FALSE(
        o.update(umem_strings("false", "16", "30"), queues(1)).changed);
}

TEST(ParseOptions, FirstBadOptionIsReported)
{
    EXPECT_EQ(parse_error(strings("0", "bogus", "maybe")),
              "eth0: Invalid 'n_rxq' (0): must be a positive integer.");
    EXPECT_EQ(parse_error(strings("1", "bogus", "maybe")),
              "eth0: Incorrect xdp-mode (bogus).");
}

TEST(PortOptions, FreshPortWithBadOptionIsRefusedEveryTime)
{
    PortOptions o("eth0");
    for (int i = 0; i < 2; i++) {
        auto out = o.update(strings("0"), queues(1));
        EXPECT_EQ(out.verdict, Verdict::kRefused);
        EXPECT_FALSE(out.changed);
        EXPECT_EQ(out.reason,
                  "eth0: Invalid 'n_rxq' (0): must be a positive integer.");
        // Logged by the caller once per refusal: OVS makes a new netdev
        // for each attempt, so nothing repeats on one object.
        EXPECT_EQ(out.log, out.reason);
        // Nothing is kept, so the status has nothing to show.
        EXPECT_EQ(o.error(), "");
    }
}

TEST(PortOptions, RunningPortKeepsItsOptionsAndLogsEachReasonOnce)
{
    PortOptions o("eth0");
    auto first = o.update(strings("2", "native"), queues(2));
    ASSERT_EQ(first.verdict, Verdict::kAccepted);
    EXPECT_TRUE(first.changed);
    EXPECT_EQ(first.log, "");

    // Bad: kept, one line that says what is kept.
    auto bad = o.update(strings("0", "native"), queues(2));
    EXPECT_EQ(bad.verdict, Verdict::kKept);
    EXPECT_FALSE(bad.changed);
    EXPECT_EQ(bad.log,
              "eth0: Invalid 'n_rxq' (0): must be a positive integer. "
              "Keeping the last valid options (n_rxq=2, xdp-mode=native, "
              "use-need-wakeup=true, shared-umem=true) until this is "
              "corrected.");
    EXPECT_EQ(o.error(),
              "eth0: Invalid 'n_rxq' (0): must be a positive integer.");
    EXPECT_EQ(o.requested().n_rxq, 2u);
    EXPECT_EQ(o.requested().xdp_mode, AFXDP_XDP_MODE_NATIVE);

    // The bridge calls again with the same column: silence.
    for (int i = 0; i < 3; i++) {
        auto again = o.update(strings("0", "native"), queues(2));
        EXPECT_EQ(again.verdict, Verdict::kKept);
        EXPECT_EQ(again.log, "");
        EXPECT_FALSE(again.changed);
    }

    // Another bad value is news.
    auto other = o.update(strings("2", "bogus"), queues(2));
    EXPECT_EQ(other.verdict, Verdict::kKept);
    EXPECT_NE(other.log.find("Incorrect xdp-mode (bogus)."), std::string::npos)
        << other.log;
    EXPECT_EQ(o.error(), "eth0: Incorrect xdp-mode (bogus).");
}

TEST(PortOptions, FixClearsTheErrorAndReconfiguresOnlyOnChange)
{
    PortOptions o("eth0");
    ASSERT_EQ(o.update(strings("2"), queues(4)).verdict, Verdict::kAccepted);
    ASSERT_EQ(o.update(strings("9"), queues(4)).verdict, Verdict::kKept);

    // Fixed to what was kept: nothing to reconfigure.
    auto same = o.update(strings("2"), queues(4));
    EXPECT_EQ(same.verdict, Verdict::kAccepted);
    EXPECT_FALSE(same.changed);
    EXPECT_EQ(o.error(), "");

    // The same mistake again is logged again: it was corrected meanwhile.
    EXPECT_NE(o.update(strings("9"), queues(4)).log, "");

    // Fixed to something new: reconfigure.
    auto changed = o.update(strings("4"), queues(4));
    EXPECT_EQ(changed.verdict, Verdict::kAccepted);
    EXPECT_TRUE(changed.changed);
    EXPECT_EQ(o.requested().n_rxq, 4u);
    EXPECT_EQ(o.error(), "");
}

TEST(PortOptions, DefaultsOnAFreshPortChangeNothing)
{
    // The port was constructed with the defaults requested.
    PortOptions o("eth0");
    auto out = o.update(strings(nullptr), queues(1));
    EXPECT_EQ(out.verdict, Verdict::kAccepted);
    EXPECT_FALSE(out.changed);
}

TEST(PortOptions, QueueCountDroppingBelowTheRequestKeepsThePort)
{
    // ethtool -L took queues away; the bridge's next set_config finds
    // n_rxq too big: the port keeps its sockets rather than leaving.
    PortOptions o("eth0");
    ASSERT_EQ(o.update(strings("4"), queues(4)).verdict, Verdict::kAccepted);
    auto out = o.update(strings("4"), queues(2));
    EXPECT_EQ(out.verdict, Verdict::kKept);
    EXPECT_EQ(o.error(), "eth0: Too big 'n_rxq' (4 > 2).");
    EXPECT_EQ(o.requested().n_rxq, 4u);
}

// The C ABI over it, on the loopback device (one queue, no privileges).
std::vector<std::pair<afxdp_log_level, std::string>> logged;

void capture(afxdp_log_level level, const char *message)
{
    logged.emplace_back(level, message);
}

TEST(PortOptionsCApi, RefusalLogsOneErrorAndHandsOverTheReason)
{
    afxdp_set_log_handler(capture);
    logged.clear();
    afxdp_port_options *o = afxdp_port_options_create("lo");
    const afxdp_option_strings s = strings("2");
    bool changed = true;
    char *reason = nullptr;
    EXPECT_EQ(afxdp_port_options_update(o, &s, &changed, &reason), EINVAL);
    ASSERT_NE(reason, nullptr);
    EXPECT_STREQ(reason, "lo: Too big 'n_rxq' (2 > 1).");
    EXPECT_FALSE(changed);
    ASSERT_EQ(logged.size(), 1u);
    EXPECT_EQ(logged[0].first, AFXDP_LOG_ERR);
    EXPECT_EQ(logged[0].second, reason);
    EXPECT_EQ(afxdp_port_options_error(o), nullptr);
    free(reason);
    afxdp_port_options_destroy(o);
}

TEST(PortOptionsCApi, KeptOptionsShowTheReasonUntilFixed)
{
    afxdp_set_log_handler(capture);
    logged.clear();
    afxdp_port_options *o = afxdp_port_options_create("lo");
    bool changed = false;
    char *reason = nullptr;

    const afxdp_option_strings good = strings("1", "generic");
    ASSERT_EQ(afxdp_port_options_update(o, &good, &changed, &reason), 0);
    EXPECT_TRUE(changed);
    const afxdp_option_strings bad = strings("1", "bogus");
    for (int i = 0; i < 3; i++) {
        EXPECT_EQ(afxdp_port_options_update(o, &bad, &changed, &reason), 0);
        EXPECT_EQ(reason, nullptr);
        EXPECT_FALSE(changed);
    }
    ASSERT_EQ(logged.size(), 1u);
    EXPECT_EQ(logged[0].first, AFXDP_LOG_ERR);
    EXPECT_STREQ(afxdp_port_options_error(o),
                 "lo: Incorrect xdp-mode (bogus).");
    afxdp_options req;
    afxdp_port_options_requested(o, &req);
    EXPECT_EQ(req.xdp_mode, AFXDP_XDP_MODE_GENERIC);

    ASSERT_EQ(afxdp_port_options_update(o, &good, &changed, &reason), 0);
    EXPECT_FALSE(changed);
    EXPECT_EQ(afxdp_port_options_error(o), nullptr);
    EXPECT_EQ(logged.size(), 1u);
    afxdp_port_options_destroy(o);
}

}  // namespace
