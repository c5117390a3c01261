/*
 * The kernel feature probes (kernel_features.h): one function per feature,
 * each asking the kernel the cheapest question whose answer cannot lie,
 * and touching no device of the host.
 *
 *  - Helper probes load a program that calls the helper and nothing else.
 *    libbpf's libbpf_probe_bpf_helper() is not used: it decides "missing"
 *    by matching the verifier's wording ("invalid func", "unknown func"),
 *    and a kernel that refuses a helper with other words ("program of this
 *    type cannot use helper bpf_xdp_adjust_meta#54", seen on a 6.18 cloud
 *    build) would be reported as having it.  A load that fails is a no
 *    here, whatever the words, with the verifier's last line as the reason.
 *  - Program flags (xdp.frags) and map types (devmap): a load or a create.
 *  - Run-time behaviour: BPF_PROG_RUN of a program on a made-up frame.
 *    Live frames: a program that drops, run once, so nothing reaches the
 *    loopback it is run on.  Devmap broadcast: bpf_redirect_map() answers
 *    XDP_REDIRECT for BPF_F_BROADCAST on 5.15+ and XDP_ABORTED before
 *    (older kernels refuse any flag above XDP_TX at run time, not at load),
 *    and without live frames a redirect is only a verdict.
 *  - AF_XDP bind flags (XDP_USE_SG, XDP_USE_NEED_WAKEUP): net/xdp/xsk.c
 *    xsk_bind() refuses unknown flags with EINVAL before it looks up the
 *    device, which is ENODEV for ifindex 0: so a bind to no device tells
 *    the flag apart without binding anything.
 *  - Shared UMEM across queues and devices came (5.10) with fill and
 *    completion rings that belong to the socket until bind (xs->fq_tmp);
 *    before, setting those rings on a socket without a registered UMEM
 *    was EINVAL.  So: XDP_UMEM_FILL_RING on a fresh socket.  The ports
 *    also record whether the kernel took each share (the driver decides
 *    too).
 *  - Busy poll: the socket options themselves, on a UDP socket.
 *  - bpf_link for XDP needs a device, and the errno for a missing one is
 *    EINVAL both when the kernel lacks XDP links and when it has them.
 *    So the link is made for real, on the loopback of a network namespace
 *    made for the probe in a thread of its own (unshare(CLONE_NEWNET)
 *    moves only the calling thread) and gone with it.  Where unshare is
 *    not allowed, the kernel's BTF says whether it has struct bpf_xdp_link.
 */
#include "netdev-afxdp/kernel_probes.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <string>
#include <thread>

#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "netdev-afxdp/log_hooks.h"
#include "netdev-afxdp/xdp_compat.h"
#include "netdev-afxdp/xdp_features.h"

#ifndef BPF_F_XDP_HAS_FRAGS
#define BPF_F_XDP_HAS_FRAGS (1U << 5)
#endif
#ifndef BPF_F_TEST_XDP_LIVE_FRAMES
#define BPF_F_TEST_XDP_LIVE_FRAMES (1U << 1)
#endif

namespace afxdp::netdev {

namespace {

// ---- Small owners --------------------------------------------------------

class Fd {
public:
    explicit Fd(int fd) noexcept : fd_(fd) {}
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    ~Fd()
    {
        if (fd_ >= 0) {
            close(fd_);
        }
    }
    int get() const noexcept { return fd_; }
    bool ok() const noexcept { return fd_ >= 0; }

private:
    int fd_;
};

std::string errno_text(int err)
{
    return std::string(std::strerror(err)) + " (errno " + std::to_string(err) +
           ")";
}

// ---- BPF instructions (the kernel's filter.h macros are not uapi) ------

constexpr bpf_insn mov64_imm(__u8 dst, __s32 imm)
{
    return {BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm};
}
constexpr bpf_insn call_helper(__s32 id)
{
    return {BPF_JMP | BPF_CALL, 0, 0, 0, id};
}
constexpr bpf_insn exit_insn()
{
    return {BPF_JMP | BPF_EXIT, 0, 0, 0, 0};
}
// The two halves of "r<dst> = map fd" (BPF_LD_MAP_FD).
constexpr bpf_insn ld_map_fd(__u8 dst, int fd)
{
    // BPF_LD | BPF_DW | BPF_IMM, BPF_IMM being 0 (clang-tidy sees a
    // redundant operand in the spelled-out form).
    return {BPF_LD | BPF_DW, dst, BPF_PSEUDO_MAP_FD, 0, fd};
}
constexpr bpf_insn ld_imm64_upper()
{
    return {0, 0, 0, 0, 0};
}

// The verifier's line that says why: the last one before its statistics
// ("processed N insns ...").
std::string verifier_reason(const char *log)
{
    std::istringstream lines(log);
    std::string line, reason;
    while (std::getline(lines, line)) {
        if (!line.empty() && line.rfind("processed ", 0) != 0) {
            reason = line;
        }
    }
    return reason;
}

struct Load {
    int fd = -1;
    std::string why;  // When fd < 0.
};

// Loads an XDP program with 'prog_flags'; on failure the verifier's
// reason, or strerror when it gave none.
template <size_t N>
Load load_xdp(const std::array<bpf_insn, N> &insns, __u32 prog_flags = 0)
{
    static char log[4096];  // Probes run under the table's mutex.
    log[0] = '\0';
    LIBBPF_OPTS(bpf_prog_load_opts, opts);
    opts.log_level = 1;
    opts.log_size = sizeof log;
    opts.log_buf = log;
    opts.prog_flags = prog_flags;
    int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "afxdp_probe", "GPL",
                           insns.data(), insns.size(), &opts);
    if (fd >= 0) {
        return {fd, ""};
    }
    std::string why = verifier_reason(log);
    return {-1, why.empty() ? errno_text(errno) : why};
}

constexpr std::array<bpf_insn, 2> kDropProgram = {
    mov64_imm(0, XDP_DROP),
    exit_insn(),
};

// Runs 'prog_fd' once on a zeroed 64-byte frame; the verdict or -errno.
int run_once(int prog_fd, __u32 flags)
{
    std::array<unsigned char, 64> frame{};
    LIBBPF_OPTS(bpf_test_run_opts, opts);
    opts.data_in = frame.data();
    opts.data_size_in = frame.size();
    opts.repeat = 1;
    opts.flags = flags;
    if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) {
        return -errno;
    }
    return int(opts.retval);
}

// ---- BPF probes ----------------------------------------------------------

// An XDP program that calls helper 'id' with the context and 'arg2'.
FeatureProbe probe_xdp_helper(__s32 id, __s32 arg2)
{
    const std::array<bpf_insn, 4> insns = {
        mov64_imm(2, arg2),  // r1 is already the context.
        call_helper(id),
        mov64_imm(0, XDP_PASS),
        exit_insn(),
    };
    Load l = load_xdp(insns);
    Fd fd(l.fd);
    if (fd.ok()) {
        return {true, ""};
    }
    return {false, "a program calling it does not load: " + l.why};
}

FeatureProbe probe_live_frames()
{
    Load l = load_xdp(kDropProgram);
    Fd fd(l.fd);
    if (!fd.ok()) {
        return {false, "cannot load an XDP program: " + l.why};
    }
    int r = run_once(fd.get(), BPF_F_TEST_XDP_LIVE_FRAMES);
    if (r >= 0) {
        return {true, ""};
    }
    if (-r == EINVAL) {
        return {false, "BPF_PROG_RUN refuses BPF_F_TEST_XDP_LIVE_FRAMES "
                       "(EINVAL: kernel older than 5.18?)"};
    }
    return {false, "BPF_PROG_RUN with live frames: " + errno_text(-r)};
}

FeatureProbe probe_xdp_frags_program()
{
    Load l = load_xdp(kDropProgram, BPF_F_XDP_HAS_FRAGS);
    Fd fd(l.fd);
    if (fd.ok()) {
        return {true, ""};
    }
    return {false,
            "an XDP program with BPF_F_XDP_HAS_FRAGS does not load: " + l.why};
}

Fd create_devmap()
{
    return Fd(
        bpf_map_create(BPF_MAP_TYPE_DEVMAP, "afxdp_probe", 4, 4, 1, nullptr));
}

FeatureProbe probe_devmap()
{
    Fd map = create_devmap();
    if (map.ok()) {
        return {true, ""};
    }
    return {false, "cannot create a DEVMAP: " + errno_text(errno)};
}

FeatureProbe probe_devmap_broadcast()
{
    Fd map = create_devmap();
    if (!map.ok()) {
        return {false, "cannot create a DEVMAP: " + errno_text(errno)};
    }
    const std::array<bpf_insn, 6> insns = {
        ld_map_fd(1, map.get()),
        ld_imm64_upper(),
        mov64_imm(2, 0),
        mov64_imm(3, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS),
        call_helper(BPF_FUNC_redirect_map),
        exit_insn(),  // The helper's verdict.
    };
    Load l = load_xdp(insns);
    Fd fd(l.fd);
    if (!fd.ok()) {
        return {false, "cannot load bpf_redirect_map(): " + l.why};
    }
    int r = run_once(fd.get(), 0);
    if (r == XDP_REDIRECT) {
        return {true, ""};
    }
    if (r == XDP_ABORTED) {
        return {false, "bpf_redirect_map() aborts with BPF_F_BROADCAST"};
    }
    return {false, r < 0 ? "BPF_PROG_RUN: " + errno_text(-r)
                         : "bpf_redirect_map() with BPF_F_BROADCAST answered " +
                               std::to_string(r)};
}

// ---- bpf_link for XDP ----------------------------------------------------

FeatureProbe xdp_link_from_btf(const std::string &why_not_real)
{
    struct btf *btf = btf__load_vmlinux_btf();
    if (!btf) {
        return {false, "cannot tell: " + why_not_real +
                           ", and no kernel BTF: " + errno_text(errno)};
    }
    bool has =
        btf__find_by_name_kind(btf, "bpf_xdp_link", BTF_KIND_STRUCT) >= 0;
    btf__free(btf);
    if (has) {
        return {true, "struct bpf_xdp_link in the kernel's BTF (" +
                          why_not_real + ")"};
    }
    return {false, "no struct bpf_xdp_link in the kernel's BTF (" +
                       why_not_real + ")"};
}

// In the calling thread, which it moves to a new network namespace.
FeatureProbe xdp_link_in_private_netns()
{
    QuietLibraryLog quiet;  // This thread's own.
    if (unshare(CLONE_NEWNET) != 0) {
        return xdp_link_from_btf("unshare(CLONE_NEWNET): " + errno_text(errno));
    }
    Load l = load_xdp(kDropProgram);
    Fd prog(l.fd);
    if (!prog.ok()) {
        return {false, "cannot load an XDP program: " + l.why};
    }
    int lo = int(if_nametoindex("lo"));
    if (!lo) {
        return {false, "no loopback in the probe's namespace"};
    }
    LIBBPF_OPTS(bpf_link_create_opts, opts);
    opts.flags = XDP_FLAGS_SKB_MODE;
    Fd link(bpf_link_create(prog.get(), lo, BPF_XDP, &opts));
    if (link.ok()) {
        return {true, ""};
    }
    return {false, "BPF_LINK_CREATE with BPF_XDP on a private loopback: " +
                       errno_text(errno)};
}

FeatureProbe probe_xdp_link()
{
    FeatureProbe result;
    try {
        std::thread t([&result] { result = xdp_link_in_private_netns(); });
        t.join();
    } catch (const std::system_error &e) {
        return xdp_link_from_btf(std::string("no probe thread: ") + e.what());
    }
    return result;
}

// ---- Socket probes -------------------------------------------------------

// A bind to no device with 'flag': ENODEV if the kernel knows the flag.
FeatureProbe probe_bind_flag(__u16 flag, const char *name)
{
    Fd fd(socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0));
    if (!fd.ok()) {
        return {false, "no AF_XDP socket: " + errno_text(errno)};
    }
    sockaddr_xdp sxdp = {};
    sxdp.sxdp_family = AF_XDP;
    sxdp.sxdp_flags = XDP_COPY | flag;
    sxdp.sxdp_ifindex = 0;  // No device: the flags are checked first.
    if (bind(fd.get(), reinterpret_cast<sockaddr *>(&sxdp), sizeof sxdp) == 0) {
        return {false, "bind to ifindex 0 succeeded: cannot tell"};
    }
    int err = errno;
    if (err == ENODEV) {
        return {true, ""};
    }
    return {false,
            std::string("bind refuses ") + name + ": " + errno_text(err)};
}

FeatureProbe probe_shared_umem()
{
    Fd fd(socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0));
    if (!fd.ok()) {
        return {false, "no AF_XDP socket: " + errno_text(errno)};
    }
    int entries = 64;
    if (setsockopt(fd.get(), SOL_XDP, XDP_UMEM_FILL_RING, &entries,
                   sizeof entries) == 0) {
        return {true, ""};
    }
    int err = errno;
    return {false, "a socket cannot have fill rings of its own before "
                   "bind (kernel older than 5.10?): " +
                       errno_text(err)};
}

FeatureProbe probe_busy_poll()
{
    Fd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd.ok()) {
        return {false, "no UDP socket to try: " + errno_text(errno)};
    }
    int one = 1;
    if (setsockopt(fd.get(), SOL_SOCKET, SO_PREFER_BUSY_POLL, &one,
                   sizeof one) != 0) {
        return {false, "SO_PREFER_BUSY_POLL: " + errno_text(errno)};
    }
    int budget = 8;
    if (setsockopt(fd.get(), SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget,
                   sizeof budget) != 0) {
        return {false, "SO_BUSY_POLL_BUDGET: " + errno_text(errno)};
    }
    return {true, ""};
}

FeatureProbe probe_xdp_features_netlink()
{
    auto f = XdpFeatures::open();
    if (f) {
        return {true, ""};
    }
    return {false, f.error().message};
}

}  // namespace

FeatureProbe probe_kernel_feature(KernelFeature f)
{
    QuietLibraryLog quiet;
    switch (f) {
    case KernelFeature::kXdpAdjustMeta:
        return probe_xdp_helper(BPF_FUNC_xdp_adjust_meta, -4);
    case KernelFeature::kLiveFrames: return probe_live_frames();
    case KernelFeature::kXdpMultiBuffer:
        return probe_bind_flag(XDP_USE_SG, "XDP_USE_SG");
    case KernelFeature::kSharedUmem: return probe_shared_umem();
    case KernelFeature::kXdpFeaturesNetlink:
        return probe_xdp_features_netlink();
    case KernelFeature::kDevmap: return probe_devmap();
    case KernelFeature::kDevmapBroadcast: return probe_devmap_broadcast();
    case KernelFeature::kXdpLink: return probe_xdp_link();
    case KernelFeature::kNeedWakeup:
        return probe_bind_flag(XDP_USE_NEED_WAKEUP, "XDP_USE_NEED_WAKEUP");
    case KernelFeature::kBusyPoll: return probe_busy_poll();
    case KernelFeature::kXdpFragsProgram: return probe_xdp_frags_program();
    case KernelFeature::kCount: break;
    }
    return {false, "unknown feature"};
}

}  // namespace afxdp::netdev
