// KernelFeatures against this kernel (root): every probe answers, the test
// switch AFXDP_DISABLE_FEATURES turns each one off, and each probe agrees
// with what the kernel then does when the feature is used for real on a
// veth pair in the test's own namespace (VethTest): binding sockets with
// the flag, sharing a UMEM across the two devices, attaching a bpf_link,
// busy polling a bound socket, loading a program that uses the helper.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fixtures.h"
#include "netdev-afxdp/afxdp.h"
#include "netdev-afxdp/kernel_features.h"
#include "netdev-afxdp/xdp_features.h"
#include "netdev-afxdp/xsk_socket.h"
#include "umem/umem_area.h"

namespace afxdp::netdev {
namespace {

using KF = KernelFeature;

constexpr const char *kDisabled = "disabled by AFXDP_DISABLE_FEATURES";

bool has(KF f)
{
    return kernel_feature(f).available;
}

TEST(KernelFeaturesRoot, EveryProbeAnswersAndSaysWhyNot)
{
    for (size_t i = 0; i < kKernelFeatureCount; i++) {
        auto f = static_cast<KF>(i);
        const FeatureProbe &p = kernel_feature(f);
        std::cout << kernel_feature_name(f) << ": "
                  << (p.available ? "yes" : "no") << " " << p.detail << "\n";
        if (!p.available) {
            EXPECT_FALSE(p.detail.empty()) << kernel_feature_name(f);
            EXPECT_NE(p.detail, kDisabled) << "AFXDP_DISABLE_FEATURES is set";
        }
    }
}

// The C ABI's table is the core's, entry for entry, and ends with ENOENT.
TEST(KernelFeaturesRoot, CApiTableIsTheCoresTable)
{
    size_t i = 0;
    afxdp_kernel_feature out = {};
    for (; afxdp_kernel_feature_get(i, &out) == 0; i++) {
        auto f = static_cast<KF>(i);
        EXPECT_STREQ(out.name, kernel_feature_name(f));
        EXPECT_EQ(out.available, kernel_feature(f).available);
        EXPECT_EQ(out.detail, kernel_feature(f).detail);
        EXPECT_STREQ(out.fallback, kernel_feature_fallback(f));
    }
    EXPECT_EQ(i, kKernelFeatureCount);
    EXPECT_EQ(afxdp_kernel_feature_get(i, &out), ENOENT);
}

// The table is probed once per process, and this one may have probed
// already: each feature is disabled in a fresh process (this binary run
// again on the helper below), with AFXDP_DISABLE_FEATURES naming it.
TEST(KernelFeaturesRoot, TheSwitchDisablesEachFeature)
{
    for (size_t i = 0; i < kKernelFeatureCount; i++) {
        const char *name = kernel_feature_name(static_cast<KF>(i));
        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            setenv("AFXDP_DISABLE_FEATURES", name, 1);
            execl("/proc/self/exe", "afxdp_bpf_tests",
                  "--gtest_also_run_disabled_tests",
                  "--gtest_filter=KernelFeaturesRoot.DISABLED_SwitchChild",
                  static_cast<char *>(nullptr));
            _exit(127);
        }
        int status = 0;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
            << name << " still available when disabled";
    }
}

// Run by the test above only: the features AFXDP_DISABLE_FEATURES names
// answer no with the switch as the reason, the others are probed.
TEST(KernelFeaturesRoot, DISABLED_SwitchChild)
{
    const char *list = std::getenv("AFXDP_DISABLE_FEATURES");
    ASSERT_NE(list, nullptr);
    size_t disabled = 0;
    for (size_t i = 0; i < kKernelFeatureCount; i++) {
        auto f = static_cast<KF>(i);
        const FeatureProbe &p = kernel_feature(f);
        if (feature_list_names(list, f)) {
            disabled++;
            EXPECT_FALSE(p.available) << kernel_feature_name(f);
            EXPECT_EQ(p.detail, kDisabled) << kernel_feature_name(f);
        } else {
            EXPECT_NE(p.detail, kDisabled) << kernel_feature_name(f);
        }
    }
    EXPECT_EQ(disabled, 1u) << list;
}

// ---- Agreement with reality ----------------------------------------------

using FeatureAgreement = test::VethTest;

umem::AreaRef small_area()
{
    umem::UmemConfig c;
    c.n_chunks = 64;
    c.chunk_size = 4096;
    c.huge_pages = false;
    auto area = umem::UmemArea::create(c);
    EXPECT_TRUE(area) << (area ? "" : area.error().message);
    return area ? std::move(area).value() : nullptr;
}

XskSocketConfig socket_config(const char *ifname)
{
    XskSocketConfig c;
    c.ifname = ifname;
    c.rx_size = c.tx_size = c.fill_size = c.comp_size = 64;
    return c;
}

TEST_F(FeatureAgreement, XdpMultiBufferProbeMatchesACopyModeBind)
{
    auto area = small_area();
    ASSERT_TRUE(area);
    XskSocketConfig c = socket_config(kIfname);
    c.multi_buffer = true;
    auto s = XskSocket::create(c, *area);
    EXPECT_EQ(bool(s), has(KF::kXdpMultiBuffer))
        << (s ? "bound" : s.error().message);
}

TEST_F(FeatureAgreement, NeedWakeupProbeMatchesACopyModeBind)
{
    auto area = small_area();
    ASSERT_TRUE(area);
    XskSocketConfig c = socket_config(kIfname);
    c.use_need_wakeup = true;
    auto s = XskSocket::create(c, *area);
    EXPECT_EQ(bool(s), has(KF::kNeedWakeup))
        << (s ? "bound" : s.error().message);
}

TEST_F(FeatureAgreement, SharedUmemProbeMatchesASharingAcrossDevices)
{
    auto area = small_area();
    ASSERT_TRUE(area);
    auto first = XskSocket::create(socket_config(kIfname), *area);
    ASSERT_TRUE(first) << first.error().message;
    XskSocketConfig c = socket_config(kPeerIfname);
    c.umem_bind = UmemBind::kShare;
    c.share_fd = first.value()->fd();
    auto second = XskSocket::create(c, *area);
    EXPECT_EQ(bool(second), has(KF::kSharedUmem))
        << (second ? "shared" : second.error().message);
}

TEST_F(FeatureAgreement, BusyPollProbeMatchesABoundSocket)
{
    auto area = small_area();
    ASSERT_TRUE(area);
    auto s = XskSocket::create(socket_config(kIfname), *area);
    ASSERT_TRUE(s) << s.error().message;
    auto r = s.value()->set_busy_poll(64, 20);
    EXPECT_EQ(bool(r), has(KF::kBusyPoll)) << (r ? "set" : r.error().message);
}

// A program load, as the probes do it; -errno on failure.
template <size_t N>
int load(const std::array<bpf_insn, N> &insns, __u32 flags = 0)
{
    LIBBPF_OPTS(bpf_prog_load_opts, opts, .prog_flags = flags);
    int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "agree", "GPL", insns.data(),
                           insns.size(), &opts);
    return fd >= 0 ? fd : -errno;
}

constexpr std::array<bpf_insn, 2> kPass = {{
    {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, XDP_PASS},
    {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
}};

TEST_F(FeatureAgreement, XdpLinkProbeMatchesALinkOnTheVeth)
{
    int prog = load(kPass);
    ASSERT_GE(prog, 0) << strerror(-prog);
    LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = XDP_FLAGS_SKB_MODE);
    int link = bpf_link_create(prog, ifindex_, BPF_XDP, &opts);
    EXPECT_EQ(link >= 0, has(KF::kXdpLink)) << strerror(errno);
    if (link >= 0) {
        close(link);
    }
    close(prog);
}

TEST_F(FeatureAgreement, XdpFeaturesProbeMatchesAQueryOfTheVeth)
{
    auto f = XdpFeatures::open();
    bool answered = f && f.value().query(ifindex_);
    EXPECT_EQ(answered, has(KF::kXdpFeaturesNetlink));
}

// Not the probe's program: bpf_xdp_adjust_meta() used as the fast path
// uses it, then the metadata written within the verifier's bounds.
TEST(KernelFeaturesRoot, AdjustMetaProbeMatchesAProgramWritingMetadata)
{
    const std::array<bpf_insn, 13> insns = {{
        {BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0},  // r6 = ctx
        {BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, -8},
        {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_xdp_adjust_meta},
        {BPF_JMP | BPF_JNE | BPF_K, 0, 0, 7, 0},  // Failed: pass.
        {BPF_LDX | BPF_MEM | BPF_W, 2, 6, offsetof(xdp_md, data_meta), 0},
        {BPF_LDX | BPF_MEM | BPF_W, 3, 6, offsetof(xdp_md, data), 0},
        {BPF_ALU64 | BPF_MOV | BPF_X, 4, 2, 0, 0},
        {BPF_ALU64 | BPF_ADD, 4, 0, 0, 8},        // | BPF_K, which is 0.
        {BPF_JMP | BPF_JGT | BPF_X, 4, 3, 2, 0},  // meta + 8 > data: pass.
        {BPF_ST | BPF_MEM | BPF_W, 2, 0, 0, 0x5a5a},
        {BPF_ST | BPF_MEM | BPF_W, 2, 0, 4, 0x5a5a},
        {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, XDP_PASS},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    }};
    int fd = load(insns);
    EXPECT_EQ(fd >= 0, has(KF::kXdpAdjustMeta)) << strerror(-fd);
    if (fd >= 0) {
        close(fd);
    }
}

TEST(KernelFeaturesRoot, FragsProbeMatchesALoadWithHasFrags)
{
    int fd = load(kPass, BPF_F_XDP_HAS_FRAGS);
    EXPECT_EQ(fd >= 0, has(KF::kXdpFragsProgram)) << strerror(-fd);
    if (fd >= 0) {
        close(fd);
    }
}

TEST(KernelFeaturesRoot, DevmapProbeMatchesAMapCreate)
{
    int fd =
        bpf_map_create(BPF_MAP_TYPE_DEVMAP_HASH, "agree", 4, 4, 4, nullptr);
    // DEVMAP_HASH (5.4) implies DEVMAP (4.14).
    if (fd >= 0) {
        EXPECT_TRUE(has(KF::kDevmap));
        close(fd);
    }
}

}  // namespace
}  // namespace afxdp::netdev
