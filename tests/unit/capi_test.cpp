// The C ABI's contract that needs no privileges: positive errnos, one ERR
// log line per failed open, mode names, geometry.
#include "netdev-afxdp/afxdp.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "netdev-afxdp/port.h"

namespace {

std::vector<std::pair<afxdp_log_level, std::string>> captured;

void capture(afxdp_log_level level, const char *message)
{
    captured.emplace_back(level, message);
}

class CApi : public ::testing::Test {
protected:
    void SetUp() override
    {
        afxdp_set_log_handler(capture);
        captured.clear();
    }
    int errors() const
    {
        int n = 0;
        for (const auto &c : captured) {
            n += c.first == AFXDP_LOG_ERR;
        }
        return n;
    }
    std::string last_error() const
    {
        for (auto it = captured.rbegin(); it != captured.rend(); ++it) {
            if (it->first == AFXDP_LOG_ERR) {
                return it->second;
            }
        }
        return "";
    }
};

TEST_F(CApi, ModeNamesRoundTrip)
{
    const afxdp_xdp_mode modes[] = {
        AFXDP_XDP_MODE_BEST_EFFORT, AFXDP_XDP_MODE_NATIVE_ZC,
        AFXDP_XDP_MODE_NATIVE, AFXDP_XDP_MODE_GENERIC};
    const char *names[] = {"best-effort", "native-with-zerocopy", "native",
                           "generic"};
    for (int i = 0; i < 4; i++) {
        EXPECT_STREQ(afxdp_xdp_mode_to_string(modes[i]), names[i]);
        afxdp_xdp_mode m = AFXDP_XDP_MODE_BEST_EFFORT;
        EXPECT_EQ(afxdp_xdp_mode_from_string(names[i], &m), 0);
        EXPECT_EQ(m, modes[i]);
    }
}

TEST_F(CApi, UnknownModeIsEinval)
{
    afxdp_xdp_mode m = AFXDP_XDP_MODE_NATIVE;
    EXPECT_EQ(afxdp_xdp_mode_from_string("turbo", &m), EINVAL);
    EXPECT_EQ(afxdp_xdp_mode_from_string("", &m), EINVAL);
    EXPECT_EQ(afxdp_xdp_mode_from_string(nullptr, &m), EINVAL);
    EXPECT_EQ(m, AFXDP_XDP_MODE_NATIVE);  // Untouched on error.
}

TEST_F(CApi, OpenMissingDeviceIsEnodevWithOneError)
{
    afxdp_port_config c = {};
    c.ifname = "afxdp-nodev0";
    c.n_queues = 1;
    c.xdp_mode = AFXDP_XDP_MODE_BEST_EFFORT;
    c.meta_size = 128;
    c.numa_node = -1;
    afxdp_port *port = nullptr;
    EXPECT_EQ(afxdp_port_open(&c, &port), ENODEV);
    EXPECT_EQ(port, nullptr);
    EXPECT_EQ(errors(), 1);
    EXPECT_NE(last_error().find("afxdp-nodev0"), std::string::npos)
        << last_error();
}

TEST_F(CApi, OpenTooManyQueuesIsEinvalWithOvsMessage)
{
    // Loopback always exists and has one rx queue; the queue check comes
    // before anything that needs privileges.
    afxdp_device_queues queues = {};
    ASSERT_EQ(afxdp_device_get_queues("lo", &queues), 0);
    const uint32_t max = queues.current;
    ASSERT_GE(max, 1u);

    afxdp_port_config c = {};
    c.ifname = "lo";
    c.n_queues = max + 3;
    c.xdp_mode = AFXDP_XDP_MODE_GENERIC;
    c.numa_node = -1;
    afxdp_port *port = nullptr;
    EXPECT_EQ(afxdp_port_open(&c, &port), EINVAL);
    EXPECT_EQ(errors(), 1);
    EXPECT_EQ(last_error(), "lo: Too big 'n_rxq' (" + std::to_string(max + 3) +
                                " > " + std::to_string(max) + ").");
}

TEST_F(CApi, OpenWithoutConfigIsEinval)
{
    afxdp_port *port = nullptr;
    EXPECT_EQ(afxdp_port_open(nullptr, &port), EINVAL);
    afxdp_port_config c = {};
    EXPECT_EQ(afxdp_port_open(&c, &port), EINVAL);
    EXPECT_EQ(errors(), 2);
}

TEST_F(CApi, QueuesOfMissingDeviceIsEnodev)
{
    afxdp_device_queues q = {77, 78};
    EXPECT_EQ(afxdp_device_get_queues("afxdp-nodev0", &q), ENODEV);
    EXPECT_EQ(q.current, 77u);
    EXPECT_EQ(q.max, 78u);
}

TEST_F(CApi, LoopbackHasOneCurrentQueueAndNoReportedMaximum)
{
    // lo implements no ethtool channels: the count comes from sysfs
    // (queues/rx-0) and there is no maximum to report.
    afxdp_device_queues q = {77, 78};
    ASSERT_EQ(afxdp_device_get_queues("lo", &q), 0);
    EXPECT_EQ(q.current, 1u);
    EXPECT_EQ(q.max, 0u);
}

TEST_F(CApi, QueueStatsBadQidIsEinval)
{
    auto port = afxdp::netdev::Port::make_unbound("test0");
    auto *p = reinterpret_cast<afxdp_port *>(port.get());
    afxdp_queue_stats s;
    EXPECT_EQ(afxdp_port_queue_stats(p, 0, &s), EINVAL);
    EXPECT_EQ(afxdp_port_queue_stats(p, 12345, &s), EINVAL);
    EXPECT_EQ(afxdp_port_n_queues(p), 0u);
    EXPECT_EQ(afxdp_port_queue_fd(p, 0), -1);
    afxdp_rx_frame f[4];
    EXPECT_EQ(afxdp_rx_burst(p, 0, f, 4), 0u);
    const char byte = 0;
    afxdp_tx_frame t = {&byte, 1, nullptr};
    EXPECT_EQ(afxdp_tx_burst(p, 3, &t, 1, AFXDP_TXQ_SHARED), 0u);
    afxdp_port_detach_xdp(p);  // Nothing attached: a no-op.
    afxdp_port_detach_xdp(p);
    afxdp_umem_stats us;
    afxdp_port_umem_stats(p, &us);
    EXPECT_EQ(us.chunks_total, 0u);
    afxdp_umem_info ui;
    afxdp_port_umem_info(p, &ui);
    EXPECT_EQ(ui.id, 0u);
}

TEST_F(CApi, FrameGeometry)
{
    EXPECT_EQ(afxdp_frame_headroom() + afxdp_max_frame_len(), 4096u);
    EXPECT_GE(afxdp_max_frame_len(), 1518u);
    EXPECT_GE(afxdp_frame_headroom(), 128u);
}

}  // namespace
