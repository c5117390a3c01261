// What a port reports to OVS about its device: the traffic statistics
// merge, the status text of a failed open, and when a device counts as
// replaced (netdev-afxdp/device_report.h, afxdp_device_replaced()).
#include "netdev-afxdp/device_report.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "netdev-afxdp/afxdp.h"
#include "netdev-afxdp/port.h"

namespace {

using afxdp::netdev::merge_traffic;
using afxdp::netdev::open_error_text;

// rx_packets, rx_bytes, tx_packets, tx_bytes, rx_dropped, tx_dropped.
constexpr afxdp_traffic kKernel = {10, 1000, 20, 2000, 7, 3};
constexpr afxdp_traffic kSockets = {100, 10000, 200, 20000, 5, 4};
constexpr afxdp_traffic kFastPath = {1, 64, 2, 128, 99, 99};

TEST(MergeTraffic, WithoutSocketsTheKernelCountersAreShown)
{
    const afxdp_traffic out = merge_traffic(kKernel, nullptr, &kFastPath);
    EXPECT_EQ(out.rx_packets, 10u);
    EXPECT_EQ(out.rx_bytes, 1000u);
    EXPECT_EQ(out.tx_packets, 20u);
    EXPECT_EQ(out.tx_bytes, 2000u);
    EXPECT_EQ(out.rx_dropped, 7u);
    EXPECT_EQ(out.tx_dropped, 3u);
}

TEST(MergeTraffic, PacketsAndBytesAreTheSocketsPlusTheFastPath)
{
    const afxdp_traffic out = merge_traffic(kKernel, &kSockets, &kFastPath);
    EXPECT_EQ(out.rx_packets, 101u);
    EXPECT_EQ(out.rx_bytes, 10064u);
    EXPECT_EQ(out.tx_packets, 202u);
    EXPECT_EQ(out.tx_bytes, 20128u);
    const afxdp_traffic no_fast = merge_traffic(kKernel, &kSockets, nullptr);
    EXPECT_EQ(no_fast.rx_packets, 100u);
    EXPECT_EQ(no_fast.tx_bytes, 20000u);
}

TEST(MergeTraffic, RxDropsCountOnceWhoeverCountedThem)
{
    // The driver counted the failed redirects too (veth): the larger.
    afxdp_traffic kernel = kKernel;
    afxdp_traffic sockets = kSockets;
    kernel.rx_dropped = 50;
    sockets.rx_dropped = 50;
    EXPECT_EQ(merge_traffic(kernel, &sockets, nullptr).rx_dropped, 50u);
    // Only the sockets saw them.
    kernel.rx_dropped = 0;
    EXPECT_EQ(merge_traffic(kernel, &sockets, nullptr).rx_dropped, 50u);
    // Only the kernel (drops before XDP).
    kernel.rx_dropped = 70;
    sockets.rx_dropped = 0;
    EXPECT_EQ(merge_traffic(kernel, &sockets, nullptr).rx_dropped, 70u);
    // The fast path's drops are its flows' business, not the device's.
    EXPECT_EQ(merge_traffic(kernel, &sockets, &kFastPath).rx_dropped, 70u);
}

TEST(MergeTraffic, TxDropsAreTheKernelsPlusThePorts)
{
    EXPECT_EQ(merge_traffic(kKernel, &kSockets, &kFastPath).tx_dropped, 7u);
}

TEST(OpenErrorText, SaysWhatWasAskedAndWhyWithoutTheDeviceTwice)
{
    EXPECT_EQ(open_error_text("eth0", AFXDP_XDP_MODE_NATIVE_ZC, 2,
                              "eth0: queue 0: cannot create AF_XDP socket "
                              "(zero-copy mode): Operation not supported"),
              "cannot open AF_XDP sockets with xdp-mode=native-with-zerocopy, "
              "n_rxq=2: queue 0: cannot create AF_XDP socket (zero-copy "
              "mode): Operation not supported");
}

TEST(OpenErrorText, OnlyTheExactDevicePrefixIsRemoved)
{
    // Another device whose name starts with this one's.
    EXPECT_EQ(open_error_text("eth0", AFXDP_XDP_MODE_GENERIC, 1,
                              "eth01: no such device"),
              "cannot open AF_XDP sockets with xdp-mode=generic, n_rxq=1: "
              "eth01: no such device");
    // The name elsewhere in the text.
    EXPECT_EQ(open_error_text("eth0", AFXDP_XDP_MODE_GENERIC, 1,
                              "Out of memory for eth0: x"),
              "cannot open AF_XDP sockets with xdp-mode=generic, n_rxq=1: "
              "Out of memory for eth0: x");
    EXPECT_EQ(open_error_text("", AFXDP_XDP_MODE_GENERIC, 1, ": x"),
              "cannot open AF_XDP sockets with xdp-mode=generic, n_rxq=1: "
              ": x");
}

TEST(OpenErrorText, CApiFallsBackOnTheErrnoText)
{
    afxdp_port_config c = {};
    c.ifname = "eth0";
    c.n_queues = 4;
    c.xdp_mode = AFXDP_XDP_MODE_BEST_EFFORT;
    char *text = afxdp_port_open_error(&c, nullptr, ENOMEM);
    ASSERT_NE(text, nullptr);
    EXPECT_STREQ(text, "cannot open AF_XDP sockets with xdp-mode=best-effort, "
                       "n_rxq=4: Cannot allocate memory");
    free(text);
}

TEST(DeviceReplaced, SameIfindexIsTheSameDevice)
{
    const int lo = afxdp_device_ifindex("lo");
    ASSERT_GT(lo, 0);
    EXPECT_FALSE(afxdp_device_replaced("lo", lo));
}

TEST(DeviceReplaced, NewIfindexMeansReCreated)
{
    const int lo = afxdp_device_ifindex("lo");
    EXPECT_TRUE(afxdp_device_replaced("lo", lo + 1000));
}

TEST(DeviceReplaced, AppearingAndVanishingDevicesAreReplaced)
{
    // Opened while missing, there now: open it.
    EXPECT_TRUE(afxdp_device_replaced("lo", 0));
    // Opened, gone now: close it.
    EXPECT_EQ(afxdp_device_ifindex("afxdp-nodev0"), 0);
    EXPECT_TRUE(afxdp_device_replaced("afxdp-nodev0", 5));
    // Missing then, missing now: nothing to do.
    EXPECT_FALSE(afxdp_device_replaced("afxdp-nodev0", 0));
}

TEST(PortTraffic, PortWithoutQueuesHasNone)
{
    auto port = afxdp::netdev::Port::make_unbound("test0");
    afxdp_traffic t = {1, 1, 1, 1, 1, 1};
    afxdp_port_traffic(reinterpret_cast<afxdp_port *>(port.get()), &t);
    EXPECT_EQ(t.rx_packets + t.rx_bytes + t.tx_packets + t.tx_bytes +
                  t.rx_dropped + t.tx_dropped,
              0u);
}

}  // namespace
