/*
 * bpf/xsk_redirect.bpf.c run with BPF_PROG_RUN on crafted frames, the way
 * katran tests its XDP program: the verdict is the program's whole
 * behaviour.  A frame on a queue without a socket must reach the kernel
 * stack (XDP_PASS) untouched whatever it looks like; a frame on a queue
 * with a socket must be redirected (XDP_REDIRECT).
 *
 * Runs that set rx_queue_index need ingress_ifindex of a real device with
 * that many queues (kernel net/bpf/test_run.c, xdp_convert_md_to_buff()),
 * hence the veth fixture.
 */
#include <cerrno>
#include <cstring>
#include <memory>

#include <linux/bpf.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include "bpf/flow/flow_layout.h"  // Before the skeleton: it names these.
#include "fixtures.h"
#include "xsk_redirect.skel.h"

namespace afxdp::test {
namespace {

struct SkeletonDeleter {
    void operator()(xsk_redirect *skel) const noexcept
    {
        xsk_redirect__destroy(skel);
    }
};
using SkeletonPtr = std::unique_ptr<xsk_redirect, SkeletonDeleter>;

// Largest frame a device with the default MTU passes: 1500 + Ethernet.
constexpr std::size_t kMaxFrameAtDefaultMtu = 1514;
// A 9000-byte-MTU frame: BPF_PROG_RUN hands it over as a multi-buffer
// xdp_buff (first page plus fragments).
constexpr std::size_t kJumboFrame = 9014;

class XskRedirectTest : public VethTest {
protected:
    void SetUp() override
    {
        VethTest::SetUp();
        if (HasFatalFailure()) {
            return;
        }
        skel_.reset(xsk_redirect__open_and_load());
        ASSERT_TRUE(skel_) << "loading xsk_redirect: " << std::strerror(errno);
        prog_fd_ = bpf_program__fd(skel_->progs.xsk_redirect);
        map_fd_ = bpf_map__fd(skel_->maps.xsks_map);
    }

    void TearDown() override
    {
        skel_.reset();
        VethTest::TearDown();
    }

    void expect_pass_untouched(const std::vector<std::uint8_t> &frame,
                               int ifindex = 0, std::uint32_t queue = 0)
    {
        RunResult r = run_xdp(prog_fd_, frame, ifindex, queue);
        ASSERT_EQ(r.err, 0) << "BPF_PROG_RUN: " << std::strerror(-r.err);
        EXPECT_EQ(r.verdict, XDP_PASS)
            << "frame of " << frame.size() << " bytes on queue " << queue;
        EXPECT_EQ(r.data_out, frame) << "the program modified the frame";
    }

    SkeletonPtr skel_;
    int prog_fd_ = -1;
    int map_fd_ = -1;
};

TEST_F(XskRedirectTest, EmptyMapPassesIpv4Udp)
{
    expect_pass_untouched(ipv4_udp_frame());
}

TEST_F(XskRedirectTest, EmptyMapPassesIpv6Udp)
{
    expect_pass_untouched(ipv6_udp_frame());
}

TEST_F(XskRedirectTest, EmptyMapPassesRunt)
{
    auto frame = runt_frame();
    ASSERT_EQ(frame.size(), 14u);
    expect_pass_untouched(frame);
}

TEST_F(XskRedirectTest, EmptyMapPassesMaxSizeFrame)
{
    expect_pass_untouched(ipv4_udp_frame(kMaxFrameAtDefaultMtu));
}

TEST_F(XskRedirectTest, EmptyMapPassesJumboFrame)
{
    expect_pass_untouched(ipv4_udp_frame(kJumboFrame));
}

TEST_F(XskRedirectTest, EmptyMapPassesOnEveryRxQueue)
{
    for (std::uint32_t queue = 0; queue < kQueues; queue++) {
        expect_pass_untouched(ipv4_udp_frame(), ifindex_, queue);
    }
}

TEST_F(XskRedirectTest, SocketOnQueueZeroRedirectsOnlyQueueZero)
{
    auto xsk = TestXsk::create(kIfname, 0);
    ASSERT_TRUE(xsk);
    std::uint32_t key = 0;
    std::uint32_t value = static_cast<std::uint32_t>(xsk->fd());
    ASSERT_EQ(bpf_map_update_elem(map_fd_, &key, &value, BPF_ANY), 0)
        << std::strerror(errno);

    const auto frame = ipv4_udp_frame();
    RunResult r = run_xdp(prog_fd_, frame, ifindex_, 0);
    ASSERT_EQ(r.err, 0) << std::strerror(-r.err);
    EXPECT_EQ(r.verdict, XDP_REDIRECT);

    for (std::uint32_t queue = 1; queue < kQueues; queue++) {
        expect_pass_untouched(frame, ifindex_, queue);
    }

    // Without the socket, queue 0 goes back to the stack.
    ASSERT_EQ(bpf_map_delete_elem(map_fd_, &key), 0) << std::strerror(errno);
    expect_pass_untouched(frame, ifindex_, 0);
}

TEST_F(XskRedirectTest, SocketRedirectsIpv6AndRuntsToo)
{
    auto xsk = TestXsk::create(kIfname, 1);
    ASSERT_TRUE(xsk);
    std::uint32_t key = 1;
    std::uint32_t value = static_cast<std::uint32_t>(xsk->fd());
    ASSERT_EQ(bpf_map_update_elem(map_fd_, &key, &value, BPF_ANY), 0)
        << std::strerror(errno);

    for (const auto &frame : {ipv6_udp_frame(), runt_frame(),
                              ipv4_udp_frame(kMaxFrameAtDefaultMtu)}) {
        RunResult r = run_xdp(prog_fd_, frame, ifindex_, 1);
        ASSERT_EQ(r.err, 0) << std::strerror(-r.err);
        EXPECT_EQ(r.verdict, XDP_REDIRECT)
            << "frame of " << frame.size() << " bytes";
    }
}

// Not a fixture test: sizing happens between open and load.
TEST(XskRedirectSkeleton, MaxEntriesDefaultsTo64AndIsSettableBeforeLoad)
{
    ASSERT_EQ(geteuid(), 0u) << "the bpf test tier must run as root";

    SkeletonPtr skel(xsk_redirect__open());
    ASSERT_TRUE(skel) << std::strerror(errno);
    EXPECT_EQ(bpf_map__max_entries(skel->maps.xsks_map), 64u);
    EXPECT_EQ(bpf_map__type(skel->maps.xsks_map), BPF_MAP_TYPE_XSKMAP);
    ASSERT_EQ(bpf_map__set_max_entries(skel->maps.xsks_map, 4), 0);
    ASSERT_EQ(xsk_redirect__load(skel.get()), 0);

    bpf_map_info info;
    std::memset(&info, 0, sizeof info);
    __u32 len = sizeof info;
    ASSERT_EQ(
        bpf_obj_get_info_by_fd(bpf_map__fd(skel->maps.xsks_map), &info, &len),
        0);
    EXPECT_EQ(info.max_entries, 4u);
    EXPECT_STREQ(bpf_program__name(skel->progs.xsk_redirect), "xsk_redirect");
}

}  // namespace
}  // namespace afxdp::test
