// KernelFeatures without the kernel: the AFXDP_DISABLE_FEATURES list, the
// text of the INFO line and of afxdp/show's kernel section, the ports'
// observations, and the busy-poll refusal of the options.  No probe runs
// here except where the test switch answers first.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "netdev-afxdp/kernel_features.h"
#include "netdev-afxdp/options.h"

namespace afxdp::netdev {
namespace {

using KF = KernelFeature;

TEST(KernelFeatureList, NamesAreFoundAmongOthersWithBlanksIgnored)
{
    const char *list = "live-frames, xdp-multi-buffer ,need-wakeup";
    EXPECT_TRUE(feature_list_names(list, KF::kLiveFrames));
    EXPECT_TRUE(feature_list_names(list, KF::kXdpMultiBuffer));
    EXPECT_TRUE(feature_list_names(list, KF::kNeedWakeup));
    EXPECT_FALSE(feature_list_names(list, KF::kBusyPoll));
    EXPECT_FALSE(feature_list_names(list, KF::kXdpAdjustMeta));
}

TEST(KernelFeatureList, EmptyNullAndPrefixesNameNothing)
{
    EXPECT_FALSE(feature_list_names(nullptr, KF::kBusyPoll));
    EXPECT_FALSE(feature_list_names("", KF::kBusyPoll));
    EXPECT_FALSE(feature_list_names(",,", KF::kBusyPoll));
    // "devmap" must not disable "devmap-broadcast", nor the reverse.
    EXPECT_TRUE(feature_list_names("devmap", KF::kDevmap));
    EXPECT_FALSE(feature_list_names("devmap", KF::kDevmapBroadcast));
    EXPECT_FALSE(feature_list_names("devmap-broadcast", KF::kDevmap));
    EXPECT_FALSE(feature_list_names("busy", KF::kBusyPoll));
}

TEST(KernelFeatureList, UnknownNamesAreReported)
{
    auto unknown = unknown_feature_names("need-wakeup, mulit-buffer,,x");
    ASSERT_EQ(unknown.size(), 2u);
    EXPECT_EQ(unknown[0], "mulit-buffer");
    EXPECT_EQ(unknown[1], "x");
    EXPECT_TRUE(unknown_feature_names(nullptr).empty());
    // The fast path's switch is no kernel feature, but no typo either.
    EXPECT_TRUE(unknown_feature_names("xdp-fast-path").empty());
}

TEST(KernelFeatureList, EveryFeatureHasADistinctNameAndAFallback)
{
    for (size_t i = 0; i < kKernelFeatureCount; i++) {
        auto f = static_cast<KF>(i);
        EXPECT_NE(std::string(kernel_feature_name(f)), "unknown");
        EXPECT_NE(std::string(kernel_feature_fallback(f)), "");
        EXPECT_TRUE(unknown_feature_names(kernel_feature_name(f)).empty());
        for (size_t j = 0; j < i; j++) {
            EXPECT_STRNE(kernel_feature_name(f),
                         kernel_feature_name(static_cast<KF>(j)));
        }
    }
}

// The environment variable answers before any probe runs: this test
// needs no privilege because the busy-poll probe never runs.
TEST(KernelFeatureSwitch, DisabledFeatureAnswersNoWithTheReason)
{
    ASSERT_EQ(setenv("AFXDP_DISABLE_FEATURES", "xdp-link,busy-poll", 1), 0);
    EXPECT_TRUE(kernel_feature_disabled_by_test(KF::kBusyPoll));
    EXPECT_FALSE(kernel_feature_disabled_by_test(KF::kNeedWakeup));
    EXPECT_TRUE(disabled_by_test("xdp-link"));
    EXPECT_FALSE(disabled_by_test("xdp-fast-path"));
    const FeatureProbe &p = kernel_feature(KF::kBusyPoll);
    EXPECT_FALSE(p.available);
    EXPECT_EQ(p.detail, "disabled by AFXDP_DISABLE_FEATURES");
    ASSERT_EQ(unsetenv("AFXDP_DISABLE_FEATURES"), 0);
    // Probed once: the answer stays for the life of the process.
    EXPECT_FALSE(kernel_feature(KF::kBusyPoll).available);
}

std::vector<FeatureRow> sample_rows()
{
    return {
        {KF::kXdpAdjustMeta, {false, "the verifier refuses it: nope"}, {}},
        {KF::kXdpMultiBuffer,
         {true, ""},
         {{"p0", true, ""}, {"p1", false, "no rx-sg"}}},
        {KF::kNeedWakeup, {false, "disabled by AFXDP_DISABLE_FEATURES"}, {}},
    };
}

TEST(KernelFeatureText, SummaryIsOneLineOfYesAndNo)
{
    EXPECT_EQ(features_summary("6.18.44", sample_rows()),
              "kernel 6.18.44: xdp-adjust-meta no, xdp-multi-buffer yes, "
              "need-wakeup no");
}

TEST(KernelFeatureText, ShowSaysWhyAndWhatInsteadForEachNo)
{
    std::string expected =
        "kernel: 6.18.44\n"
        "  xdp-adjust-meta: no (the verifier refuses it: nope); instead: " +
        std::string(kernel_feature_fallback(KF::kXdpAdjustMeta)) +
        "\n"
        "  xdp-multi-buffer: yes\n"
        "    port p0: yes\n"
        "    port p1: no (no rx-sg); instead: " +
        kernel_feature_fallback(KF::kXdpMultiBuffer) +
        "\n"
        "  need-wakeup: no (disabled by AFXDP_DISABLE_FEATURES); instead: " +
        kernel_feature_fallback(KF::kNeedWakeup) + "\n";
    EXPECT_EQ(features_show("6.18.44", sample_rows()), expected);
}

TEST(KernelFeatureText, ShowOfNothingIsTheHeaderAlone)
{
    EXPECT_EQ(features_show("x", {}), "kernel: x\n");
}

TEST(KernelFeaturePorts, LastObservationPerPortUntilForgotten)
{
    record_port_feature(KF::kSharedUmem, "ut-a", false, "refused: EINVAL");
    record_port_feature(KF::kSharedUmem, "ut-b", true);
    record_port_feature(KF::kSharedUmem, "ut-a", true);
    auto seen = port_features(KF::kSharedUmem);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].port, "ut-a");
    EXPECT_TRUE(seen[0].ok);
    EXPECT_EQ(seen[1].port, "ut-b");
    forget_port_features("ut-a");
    forget_port_features("ut-b");
    EXPECT_TRUE(port_features(KF::kSharedUmem).empty());
}

afxdp_option_strings budget(const char *b)
{
    afxdp_option_strings s = {};
    s.busy_poll_budget = b;
    return s;
}

TEST(KernelFeatureOptions, BusyPollRefusedWithTheKernelsReason)
{
    PortOptions fresh("p0");
    auto out = fresh.update(budget("64"), 1, "SO_PREFER_BUSY_POLL: nope");
    EXPECT_EQ(out.verdict, PortOptions::Verdict::kRefused);
    EXPECT_NE(out.reason.find("'busy-poll-budget' (64) refused"),
              std::string::npos);
    EXPECT_NE(out.reason.find("SO_PREFER_BUSY_POLL: nope"), std::string::npos);

    PortOptions running("p0");
    ASSERT_EQ(running.update(budget(nullptr), 1, "x").verdict,
              PortOptions::Verdict::kAccepted);  // No budget, no refusal.
    out = running.update(budget("64"), 1, "disabled by AFXDP_DISABLE_FEATURES");
    EXPECT_EQ(out.verdict, PortOptions::Verdict::kKept);
    EXPECT_NE(running.error().find("disabled by AFXDP_DISABLE_FEATURES"),
              std::string::npos);
    EXPECT_EQ(running.requested().busy_poll_budget, 0u);
    EXPECT_EQ(running.update(budget("64"), 1, "").verdict,
              PortOptions::Verdict::kAccepted);
}

}  // namespace
}  // namespace afxdp::netdev
