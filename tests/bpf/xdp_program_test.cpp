/*
 * XdpProgram against real veths: attaching in both modes, detaching on
 * destruction, replacing a stale netlink-attached copy of our program, and
 * refusing to touch anybody else's program.  The promise under test is the
 * one in netdev-afxdp/xdp_program.h: what we attach goes away with us, and
 * what others attached stays.
 */
#include "netdev-afxdp/xdp_program.h"

#include <cerrno>
#include <cstring>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include "fixtures.h"
#include "netdev-afxdp/afxdp.h"
#include "xsk_redirect.skel.h"

namespace afxdp::netdev {

// Readable parameter values in test names and failure messages.
void PrintTo(XdpAttachMode mode, std::ostream *os)
{
    *os << (mode == XdpAttachMode::kNative ? "native" : "generic");
}

}  // namespace afxdp::netdev

namespace afxdp::test {
namespace {

using netdev::kXdpProgramName;
using netdev::XdpAttachMode;
using netdev::XdpProgram;

const char *mode_name(XdpAttachMode mode)
{
    return mode == XdpAttachMode::kNative ? "Native" : "Generic";
}

__u32 mode_flag(XdpAttachMode mode)
{
    return mode == XdpAttachMode::kNative ? XDP_FLAGS_DRV_MODE
                                          : XDP_FLAGS_SKB_MODE;
}

// ---- Helpers -------------------------------------------------------------

struct Attached {
    __u32 drv = 0;
    __u32 skb = 0;
};

Attached query_attached(int ifindex)
{
    bpf_xdp_query_opts opts;
    std::memset(&opts, 0, sizeof opts);
    opts.sz = sizeof opts;
    EXPECT_EQ(bpf_xdp_query(ifindex, 0, &opts), 0);
    return {opts.drv_prog_id, opts.skb_prog_id};
}

std::string prog_name(unsigned id)
{
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) {
        return "<gone>";
    }
    bpf_prog_info info;
    std::memset(&info, 0, sizeof info);
    __u32 len = sizeof info;
    std::string name = "<unknown>";
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
        name = info.name;
    }
    close(fd);
    return name;
}

unsigned prog_id_of_fd(int fd)
{
    bpf_prog_info info;
    std::memset(&info, 0, sizeof info);
    __u32 len = sizeof info;
    EXPECT_EQ(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
    return info.id;
}

// Log lines the core produced, captured through the C ABI's handler.
std::vector<std::pair<afxdp_log_level, std::string>> &captured_log()
{
    static std::vector<std::pair<afxdp_log_level, std::string>> lines;
    return lines;
}

void capture_log(afxdp_log_level level, const char *message)
{
    captured_log().emplace_back(level, message);
}

// A program detached through netlink on scope exit.  Simulates one left by
// an older or crashed process, or by an operator's tool.
class NetlinkAttachment {
public:
    NetlinkAttachment(int ifindex, __u32 flags)
        : ifindex_(ifindex), flags_(flags)
    {
    }
    ~NetlinkAttachment() { bpf_xdp_detach(ifindex_, flags_, nullptr); }
    NetlinkAttachment(const NetlinkAttachment &) = delete;
    NetlinkAttachment &operator=(const NetlinkAttachment &) = delete;

private:
    int ifindex_;
    __u32 flags_;
};

// Attaches a fresh copy of our own program through netlink and closes every
// fd to it, exactly what a crashed process of an older release leaves.
// Returns the program id.
unsigned attach_stale_copy(int ifindex, __u32 flags)
{
    xsk_redirect *skel = xsk_redirect__open_and_load();
    EXPECT_TRUE(skel) << std::strerror(errno);
    if (!skel) {
        return 0;
    }
    int fd = bpf_program__fd(skel->progs.xsk_redirect);
    unsigned id = prog_id_of_fd(fd);
    EXPECT_EQ(bpf_xdp_attach(ifindex, fd, flags, nullptr), 0);
    xsk_redirect__destroy(skel);
    return id;
}

// Loads "mov r0, XDP_PASS; exit" under another name.  Returns its fd.
int load_foreign_program()
{
    const bpf_insn insns[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "foreign_pass", "GPL", insns, 2,
                           nullptr);
    EXPECT_GE(fd, 0) << "loading the foreign program: " << std::strerror(-fd);
    return fd;
}

// ---- Attach and detach, per mode -----------------------------------------

class XdpProgramModeTest : public VethTest,
                           public ::testing::WithParamInterface<XdpAttachMode> {
};

TEST_P(XdpProgramModeTest, AttachesAndDetachesOnDestruction)
{
    const XdpAttachMode mode = GetParam();
    unsigned id = 0;
    {
        auto prog = XdpProgram::attach(ifindex_, kIfname, mode);
        ASSERT_TRUE(prog) << prog.error().message;
        id = prog.value().prog_id();
        EXPECT_GT(id, 0u);
        EXPECT_EQ(prog.value().mode(), mode);
        EXPECT_EQ(XdpProgram::attached_prog_id(ifindex_), id);
        EXPECT_EQ(prog_name(id), kXdpProgramName);

        Attached a = query_attached(ifindex_);
        if (mode == XdpAttachMode::kNative) {
            EXPECT_EQ(a.drv, id);
            EXPECT_EQ(a.skb, 0u);
        } else {
            EXPECT_EQ(a.drv, 0u);
            EXPECT_EQ(a.skb, id);
        }
        EXPECT_EQ(XdpProgram::attached_prog_id(peer_ifindex_), 0u);
    }
    EXPECT_EQ(XdpProgram::attached_prog_id(ifindex_), 0u);
}

TEST_P(XdpProgramModeTest, DetachIsImmediateAndIdempotent)
{
    auto prog = XdpProgram::attach(ifindex_, kIfname, GetParam());
    ASSERT_TRUE(prog) << prog.error().message;
    ASSERT_GT(XdpProgram::attached_prog_id(ifindex_), 0u);

    prog.value().detach();
    EXPECT_EQ(XdpProgram::attached_prog_id(ifindex_), 0u);
    prog.value().detach();
    EXPECT_EQ(XdpProgram::attached_prog_id(ifindex_), 0u);

    // The device is free again for a new attachment.
    auto again = XdpProgram::attach(ifindex_, kIfname, GetParam());
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(XdpProgram::attached_prog_id(ifindex_), again.value().prog_id());
}

TEST_P(XdpProgramModeTest, MovedProgramStaysAttached)
{
    auto prog = XdpProgram::attach(ifindex_, kIfname, GetParam());
    ASSERT_TRUE(prog) << prog.error().message;
    const unsigned id = prog.value().prog_id();
    {
        XdpProgram moved(std::move(prog.value()));
        EXPECT_EQ(moved.prog_id(), id);
        EXPECT_EQ(XdpProgram::attached_prog_id(ifindex_), id);

        auto other = XdpProgram::attach(peer_ifindex_, kPeerIfname, GetParam());
        ASSERT_TRUE(other) << other.error().message;
        const unsigned other_id = other.value().prog_id();
        // Move-assignment releases the target's own attachment.
        other.value() = std::move(moved);
        EXPECT_EQ(XdpProgram::attached_prog_id(peer_ifindex_), 0u)
            << "program " << other_id << " outlived its owner";
        EXPECT_EQ(XdpProgram::attached_prog_id(ifindex_), id);
        EXPECT_EQ(other.value().prog_id(), id);
    }
    EXPECT_EQ(XdpProgram::attached_prog_id(ifindex_), 0u);
}

TEST_P(XdpProgramModeTest, XskMapIsSizedToTheDeviceQueues)
{
    auto prog = XdpProgram::attach(ifindex_, kIfname, GetParam());
    ASSERT_TRUE(prog) << prog.error().message;
    bpf_map_info info;
    std::memset(&info, 0, sizeof info);
    __u32 len = sizeof info;
    ASSERT_EQ(bpf_obj_get_info_by_fd(prog.value().xsk_map_fd(), &info, &len),
              0);
    EXPECT_EQ(info.type, BPF_MAP_TYPE_XSKMAP);
    EXPECT_EQ(info.max_entries, kQueues);
}

TEST_P(XdpProgramModeTest, BindQueueRedirectsThatQueueOnly)
{
    auto prog = XdpProgram::attach(ifindex_, kIfname, GetParam());
    ASSERT_TRUE(prog) << prog.error().message;
    auto xsk = TestXsk::create(kIfname, 2);
    ASSERT_TRUE(xsk);

    int prog_fd = bpf_prog_get_fd_by_id(prog.value().prog_id());
    ASSERT_GE(prog_fd, 0) << std::strerror(-prog_fd);
    const auto frame = ipv4_udp_frame();

    auto bound = prog.value().bind_queue(2, xsk->fd());
    ASSERT_TRUE(bound) << bound.error().message;
    for (std::uint32_t queue = 0; queue < kQueues; queue++) {
        RunResult r = run_xdp(prog_fd, frame, ifindex_, queue);
        ASSERT_EQ(r.err, 0) << std::strerror(-r.err);
        EXPECT_EQ(r.verdict, queue == 2 ? XDP_REDIRECT : XDP_PASS)
            << "queue " << queue;
    }

    prog.value().unbind_queue(2);
    RunResult r = run_xdp(prog_fd, frame, ifindex_, 2);
    ASSERT_EQ(r.err, 0) << std::strerror(-r.err);
    EXPECT_EQ(r.verdict, XDP_PASS);
    prog.value().unbind_queue(2);  // Unbinding twice is harmless.
    close(prog_fd);
}

TEST_P(XdpProgramModeTest, BindQueueBeyondTheDeviceFails)
{
    auto prog = XdpProgram::attach(ifindex_, kIfname, GetParam());
    ASSERT_TRUE(prog) << prog.error().message;
    auto xsk = TestXsk::create(kIfname, 0);
    ASSERT_TRUE(xsk);

    auto bound = prog.value().bind_queue(kQueues, xsk->fd());
    ASSERT_FALSE(bound);
    EXPECT_EQ(bound.error().code, E2BIG);
    EXPECT_NE(bound.error().message.find(kIfname), std::string::npos)
        << bound.error().message;

    // Not a socket: the kernel refuses, and the error says so.
    auto not_socket = prog.value().bind_queue(0, prog.value().xsk_map_fd());
    ASSERT_FALSE(not_socket);
    EXPECT_GT(not_socket.error().code, 0);
}

TEST_P(XdpProgramModeTest, LiveLinkOfAnotherOwnerMakesAttachFailWithEbusy)
{
    auto first = XdpProgram::attach(ifindex_, kIfname, GetParam());
    ASSERT_TRUE(first) << first.error().message;

    for (XdpAttachMode mode :
         {XdpAttachMode::kNative, XdpAttachMode::kGeneric}) {
        auto second = XdpProgram::attach(ifindex_, kIfname, mode);
        ASSERT_FALSE(second) << mode_name(mode);
        EXPECT_EQ(second.error().code, EBUSY) << second.error().message;
        const std::string &msg = second.error().message;
        EXPECT_NE(msg.find(kIfname), std::string::npos) << msg;
        EXPECT_NE(msg.find(std::to_string(first.value().prog_id())),
                  std::string::npos)
            << msg;
        EXPECT_NE(msg.find("bpf_link"), std::string::npos) << msg;
    }
    // The live owner keeps its program.
    EXPECT_EQ(XdpProgram::attached_prog_id(ifindex_), first.value().prog_id());
}

INSTANTIATE_TEST_SUITE_P(Modes, XdpProgramModeTest,
                         ::testing::Values(XdpAttachMode::kNative,
                                           XdpAttachMode::kGeneric),
                         [](const auto &info) {
                             return std::string(mode_name(info.param));
                         });

// ---- Programs attached through netlink, per (their mode, our mode) -------

class XdpProgramNetlinkTest : public VethTest,
                              public ::testing::WithParamInterface<
                                  std::tuple<XdpAttachMode, XdpAttachMode>> {
protected:
    XdpAttachMode their_mode() const { return std::get<0>(GetParam()); }
    XdpAttachMode our_mode() const { return std::get<1>(GetParam()); }
};

TEST_P(XdpProgramNetlinkTest, StaleCopyOfOurProgramIsReplaced)
{
    NetlinkAttachment cleanup(ifindex_, mode_flag(their_mode()));
    const unsigned stale_id =
        attach_stale_copy(ifindex_, mode_flag(their_mode()));
    ASSERT_GT(stale_id, 0u);
    ASSERT_EQ(XdpProgram::attached_prog_id(ifindex_), stale_id);

    afxdp_set_log_handler(capture_log);
    captured_log().clear();
    {
        auto prog = XdpProgram::attach(ifindex_, kIfname, our_mode());
        ASSERT_TRUE(prog) << prog.error().message;
        EXPECT_NE(prog.value().prog_id(), stale_id);
        EXPECT_EQ(XdpProgram::attached_prog_id(ifindex_),
                  prog.value().prog_id());

        // libbpf's own (debug) messages go through the handler too.
        std::vector<std::pair<afxdp_log_level, std::string>> ours;
        for (const auto &entry : captured_log()) {
            if (entry.second.find("stale") != std::string::npos) {
                ours.push_back(entry);
            }
        }
        ASSERT_EQ(ours.size(), 1u);
        EXPECT_EQ(ours[0].first, AFXDP_LOG_INFO);
        const std::string &line = ours[0].second;
        EXPECT_NE(line.find(kIfname), std::string::npos) << line;
        EXPECT_NE(line.find(std::to_string(stale_id)), std::string::npos)
            << line;
    }
    // Gone with its owner, and the stale copy did not come back.
    Attached a = query_attached(ifindex_);
    EXPECT_EQ(a.drv, 0u);
    EXPECT_EQ(a.skb, 0u);
    EXPECT_EQ(XdpProgram::attached_prog_id(ifindex_), 0u);
}

TEST_P(XdpProgramNetlinkTest, ForeignProgramMakesAttachFailWithEbusy)
{
    int foreign_fd = load_foreign_program();
    ASSERT_GE(foreign_fd, 0);
    const unsigned foreign_id = prog_id_of_fd(foreign_fd);
    NetlinkAttachment cleanup(ifindex_, mode_flag(their_mode()));
    ASSERT_EQ(
        bpf_xdp_attach(ifindex_, foreign_fd, mode_flag(their_mode()), nullptr),
        0);
    close(foreign_fd);

    auto prog = XdpProgram::attach(ifindex_, kIfname, our_mode());
    ASSERT_FALSE(prog);
    EXPECT_EQ(prog.error().code, EBUSY);
    const std::string &msg = prog.error().message;
    EXPECT_NE(msg.find(kIfname), std::string::npos) << msg;
    EXPECT_NE(msg.find(std::to_string(foreign_id)), std::string::npos) << msg;
    EXPECT_NE(msg.find("foreign_pass"), std::string::npos) << msg;

    // Left alone.
    EXPECT_EQ(XdpProgram::attached_prog_id(ifindex_), foreign_id);
}

INSTANTIATE_TEST_SUITE_P(
    Modes, XdpProgramNetlinkTest,
    ::testing::Combine(
        ::testing::Values(XdpAttachMode::kNative, XdpAttachMode::kGeneric),
        ::testing::Values(XdpAttachMode::kNative, XdpAttachMode::kGeneric)),
    [](const auto &info) {
        return std::string("Their") + mode_name(std::get<0>(info.param)) +
               "Our" + mode_name(std::get<1>(info.param));
    });

// ---- Errors that name the device and the cause ---------------------------

class XdpProgramErrorTest : public VethTest {};

TEST_F(XdpProgramErrorTest, NativeModeOnADeviceWithoutDriverXdpFails)
{
    // The namespace's loopback device has no ndo_bpf.
    const int lo = static_cast<int>(if_nametoindex("lo"));
    ASSERT_GT(lo, 0);
    auto prog = XdpProgram::attach(lo, "lo", XdpAttachMode::kNative);
    ASSERT_FALSE(prog);
    EXPECT_EQ(prog.error().code, EOPNOTSUPP);
    const std::string &msg = prog.error().message;
    EXPECT_NE(msg.find("lo:"), std::string::npos) << msg;
    EXPECT_NE(msg.find("no native XDP"), std::string::npos) << msg;
    EXPECT_EQ(XdpProgram::attached_prog_id(lo), 0u);
}

TEST_F(XdpProgramErrorTest, MissingDeviceFails)
{
    auto prog =
        XdpProgram::attach(4242, "afxdp-missing", XdpAttachMode::kGeneric);
    ASSERT_FALSE(prog);
    EXPECT_EQ(prog.error().code, ENODEV) << prog.error().message;
    EXPECT_NE(prog.error().message.find("afxdp-missing"), std::string::npos)
        << prog.error().message;
}

}  // namespace
}  // namespace afxdp::test
