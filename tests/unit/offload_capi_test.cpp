// The offload C ABI's error contract (afxdp_offload.h) where it needs no
// kernel: ports without an XDP program, in the process-wide registry.
#include "netdev-afxdp/offload/afxdp_offload.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "netdev-afxdp/offload/output_registry.h"
#include "tests/unit/offload_builders.h"

namespace {

using afxdp::test::ip4_match;

// The registry's monitor thread may log too.
std::mutex captured_mutex;
std::vector<std::pair<afxdp_log_level, std::string>> captured;

void capture(afxdp_log_level level, const char *message)
{
    std::lock_guard<std::mutex> guard(captured_mutex);
    captured.emplace_back(level, message);
}

class OffloadCApi : public ::testing::Test {
protected:
    void SetUp() override
    {
        afxdp_set_log_handler(capture);
        std::lock_guard<std::mutex> guard(captured_mutex);
        captured.clear();
        ASSERT_EQ(afxdp_offload_create("unit0", &off_), 0);
        ASSERT_EQ(afxdp_offload_create("unit1", &out_), 0);
    }
    void TearDown() override
    {
        afxdp_offload_destroy(out_);
        afxdp_offload_destroy(off_);
    }

    afxdp_offload_counters counters() const
    {
        afxdp_offload_counters c;
        afxdp_offload_get_counters(off_, &c);
        return c;
    }

    afxdp_offload *off_ = nullptr;
    afxdp_offload *out_ = nullptr;
    const uint8_t ufid_[16] = {1, 2,  3,  4,  5,  6,  7,  8,
                               9, 10, 11, 12, 13, 14, 15, 16};
};

TEST_F(OffloadCApi, FreshStateIsEmpty)
{
    EXPECT_EQ(afxdp_offload_n_flows(off_), 0u);
    afxdp_offload_counters c = counters();
    EXPECT_EQ(c.flows_full + c.flows_partial + c.masks + c.refused_match +
                  c.refused_full + c.to_ovs_miss,
              0u);
    struct afxdp_offload_port_stats s;  // Named like its function.
    afxdp_offload_port_stats(off_, &s);
    EXPECT_EQ(s.rx_packets + s.rx_bytes + s.tx_packets + s.tx_bytes, 0u);
    EXPECT_FALSE(afxdp_port_has_fast_path(nullptr));
}

TEST_F(OffloadCApi, UnknownUfidIsEnoent)
{
    afxdp_offload_flow_stats s;
    afxdp_offload_kind kind;
    EXPECT_EQ(afxdp_offload_flow_get(off_, ufid_, &s, &kind), ENOENT);
    EXPECT_EQ(afxdp_offload_flow_del(off_, ufid_, &s), ENOENT);
    EXPECT_EQ(afxdp_offload_flow_del(off_, ufid_, nullptr), ENOENT);
}

TEST_F(OffloadCApi, UntranslatableMatchIsEopnotsuppAndCounted)
{
    afxdp_flow_match m = ip4_match(17);
    m.other_field = "ct_state";
    afxdp_offload_kind kind = AFXDP_OFFLOAD_FULL;
    EXPECT_EQ(afxdp_offload_flow_put(off_, ufid_, &m, nullptr, 0, 1, &kind),
              EOPNOTSUPP);
    EXPECT_EQ(counters().refused_match, 1u);
    m.other_field = nullptr;
    m.mask.in_port = 0;
    EXPECT_EQ(afxdp_offload_flow_put(off_, ufid_, &m, nullptr, 0, 1, &kind),
              EOPNOTSUPP);
    EXPECT_EQ(counters().refused_match, 2u);
    EXPECT_EQ(afxdp_offload_n_flows(off_), 0u);
    // Logged at debug level only: a refusal is routine, not an error.
    std::lock_guard<std::mutex> guard(captured_mutex);
    for (const auto &c : captured) {
        EXPECT_EQ(c.first, AFXDP_LOG_DBG) << c.second;
    }
}

TEST_F(OffloadCApi, FlowsArePutGotAndDeletedWithoutAProgram)
{
    // Kept until a program with the fast path is bound.
    afxdp_flow_match m = ip4_match(17);
    afxdp_flow_action to_out = afxdp::test::output_action(out_, 2);
    afxdp_offload_kind kind = AFXDP_OFFLOAD_PARTIAL;
    ASSERT_EQ(afxdp_offload_flow_put(off_, ufid_, &m, &to_out, 1, 5, &kind), 0);
    EXPECT_EQ(kind, AFXDP_OFFLOAD_FULL);
    EXPECT_EQ(afxdp_offload_n_flows(off_), 1u);

    afxdp_offload_flow_stats s = {1, 1, 1, 1};
    kind = AFXDP_OFFLOAD_PARTIAL;
    ASSERT_EQ(afxdp_offload_flow_get(off_, ufid_, &s, &kind), 0);
    EXPECT_EQ(kind, AFXDP_OFFLOAD_FULL);
    EXPECT_EQ(s.n_packets, 0u);
    EXPECT_EQ(s.n_bytes, 0u);
    EXPECT_EQ(s.used, 0);
    EXPECT_EQ(s.tcp_flags, 0);

    // Output to a port that is not an afxdp port: partial.
    afxdp_flow_action to_other = afxdp::test::output_action(nullptr, 9);
    ASSERT_EQ(afxdp_offload_flow_put(off_, ufid_, &m, &to_other, 1, 5, &kind),
              0);
    EXPECT_EQ(kind, AFXDP_OFFLOAD_PARTIAL);
    EXPECT_EQ(afxdp_offload_n_flows(off_), 1u);

    s = {1, 1, 1, 1};
    EXPECT_EQ(afxdp_offload_flow_del(off_, ufid_, &s), 0);
    EXPECT_EQ(s.n_packets, 0u);
    EXPECT_EQ(afxdp_offload_n_flows(off_), 0u);
    EXPECT_EQ(afxdp_offload_flow_del(off_, ufid_, &s), ENOENT);
}

TEST_F(OffloadCApi, FlushRemovesEveryFlow)
{
    afxdp_flow_match m = ip4_match(17);
    afxdp_offload_kind kind;
    uint8_t ufid[16] = {};
    for (uint8_t i = 0; i < 5; i++) {
        ufid[0] = i;
        m.value.nw_dst = i;
        ASSERT_EQ(afxdp_offload_flow_put(off_, ufid, &m, nullptr, 0, i, &kind),
                  0);
    }
    EXPECT_EQ(afxdp_offload_n_flows(off_), 5u);
    afxdp_offload_flush(off_);
    EXPECT_EQ(afxdp_offload_n_flows(off_), 0u);
}

TEST_F(OffloadCApi, MorePortsThanOutputSlotsIsEnospc)
{
    std::vector<afxdp_offload *> ports;
    int err = 0;
    for (uint32_t i = 0; i <= afxdp::offload::OutputRegistry::kMaxSlots; i++) {
        afxdp_offload *p = nullptr;
        err = afxdp_offload_create(("many" + std::to_string(i)).c_str(), &p);
        if (err) {
            break;
        }
        ports.push_back(p);
    }
    EXPECT_EQ(err, ENOSPC);
    // Two slots are this fixture's.
    EXPECT_EQ(ports.size(), afxdp::offload::OutputRegistry::kMaxSlots - 2);
    for (afxdp_offload *p : ports) {
        afxdp_offload_destroy(p);
    }
    // Freed slots serve again.
    afxdp_offload *p = nullptr;
    EXPECT_EQ(afxdp_offload_create("again", &p), 0);
    afxdp_offload_destroy(p);
    afxdp_offload_destroy(nullptr);  // Like free(NULL).
}

}  // namespace
