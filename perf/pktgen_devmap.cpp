/*
 * afxdp-pktgen's devmap engine: frames without BPF_PROG_RUN.
 *
 * Why: some kernels refuse BPF_F_TEST_XDP_LIVE_FRAMES (before 5.18, or
 * locked-down cloud builds answer EPERM) while XDP redirects work.  A
 * sender in user space (AF_PACKET, AF_XDP in copy mode on a veth) builds
 * an skb per frame and tops out near 1 Mpps per core, about what the
 * forwarders under test do: it could not rank them.  So user space only
 * sends seeds and the kernel multiplies them:
 *
 *   seed (AF_PACKET, qdisc bypassed) -> pkg0 ==veth== pkg1 [pktgen_fanout]
 *     -> bpf_redirect_map(fanout, BPF_F_BROADCAST): one clone per entry,
 *        every entry = the output device
 *     -> pktgen_egress on each clone (devmap egress program): numbering,
 *        flows, sequence headers, --mix, --count limit
 *     -> the output device's ndo_xdp_xmit, as XDP_TX of a live frame.
 *
 * Kernel facts relied on: BPF_F_BROADCAST (5.13) clones the frame for each
 * devmap entry, the same ifindex may fill several entries; devmap egress
 * programs (5.8) run on each queued frame before ndo_xdp_xmit and may
 * resize it; a veth runs its peer's XDP in the sender's context (NAPI
 * raised on the sending CPU, run at local_bh_enable()), so a thread pinned
 * to CPU c generates on CPU c, as with live frames; devmap entries are
 * resolved in the updater's namespace and redirects do not check
 * namespaces, so the helper pair can live in a namespace of its own.
 *
 * The helper namespace is created with unshare() and only held by an fd
 * (and the sockets in it): when the process ends, SIGKILL included, the
 * kernel removes it, and with it the veth pair and the XDP link.
 */
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "perf/pktgen_engine.h"

namespace afxdp::perf {
namespace {

constexpr const char *kSeedDev = "pkg0";  // user space sends seeds here
constexpr const char *kFanDev = "pkg1";   // pktgen_fanout runs here
constexpr unsigned kSeedBatch = 32;       // seeds per sendmmsg()

Error sys_error(const std::string &what, int err = errno)
{
    return Error{err, what + ": " + std::strerror(err)};
}

// ---- namespaces ------------------------------------------------------------

// Switches the calling thread into 'target' and back on destruction.
class NetnsScope {
public:
    NetnsScope(int target, int back) : back_(back)
    {
        ok_ = setns(target, CLONE_NEWNET) == 0;
    }
    ~NetnsScope()
    {
        if (ok_)
            setns(back_, CLONE_NEWNET);
    }
    NetnsScope(const NetnsScope &) = delete;
    NetnsScope &operator=(const NetnsScope &) = delete;
    bool ok() const noexcept { return ok_; }

private:
    int back_;
    bool ok_ = false;
};

// A new, unnamed network namespace; the calling thread stays where it was.
Result<Fd> new_netns(int back)
{
    if (unshare(CLONE_NEWNET) != 0)
        return sys_error("unshare(CLONE_NEWNET)");
    Fd ns(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    int err = errno;
    if (setns(back, CLONE_NEWNET) != 0)
        return sys_error("setns back to the caller's namespace");
    if (ns.get() < 0)
        return sys_error("open /proc/thread-self/ns/net", err);
    return ns;
}

// ---- rtnetlink: the helper veth pair ---------------------------------------

// A netlink message under construction, attributes appended in place.
struct NlMsg {
    alignas(NLMSG_ALIGNTO) char buf[512] = {};
    nlmsghdr *hdr() { return reinterpret_cast<nlmsghdr *>(buf); }

    rtattr *put(unsigned short type, const void *data, std::size_t len)
    {
        auto *a =
            reinterpret_cast<rtattr *>(buf + NLMSG_ALIGN(hdr()->nlmsg_len));
        a->rta_type = type;
        a->rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
        if (len)
            std::memcpy(RTA_DATA(a), data, len);
        hdr()->nlmsg_len =
            NLMSG_ALIGN(hdr()->nlmsg_len) + RTA_ALIGN(a->rta_len);
        return a;
    }
    rtattr *nest(unsigned short type) { return put(type, nullptr, 0); }
    void end(rtattr *a)
    {
        a->rta_len = static_cast<unsigned short>(buf + hdr()->nlmsg_len -
                                                 reinterpret_cast<char *>(a));
    }
    void put_str(unsigned short type, const char *s)
    {
        put(type, s, std::strlen(s) + 1);
    }
    void put_ifinfo()
    {
        ifinfomsg ifi{};
        ifi.ifi_family = AF_UNSPEC;
        std::memcpy(buf + NLMSG_ALIGN(hdr()->nlmsg_len), &ifi, sizeof ifi);
        hdr()->nlmsg_len =
            NLMSG_ALIGN(hdr()->nlmsg_len) + NLMSG_ALIGN(sizeof ifi);
    }
};

// Sends 'm' to the kernel and returns its answer (0 or an errno).
Result<void> rtnl_call(NlMsg &m)
{
    Fd fd(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (fd.get() < 0)
        return sys_error("netlink socket");
    m.hdr()->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    if (send(fd.get(), m.buf, m.hdr()->nlmsg_len, 0) < 0)
        return sys_error("netlink send");
    alignas(NLMSG_ALIGNTO) char reply[1024];
    ssize_t n = recv(fd.get(), reply, sizeof reply, 0);
    if (n < 0)
        return sys_error("netlink recv");
    auto *h = reinterpret_cast<nlmsghdr *>(reply);
    if (n < static_cast<ssize_t>(NLMSG_LENGTH(sizeof(nlmsgerr))) ||
        h->nlmsg_type != NLMSG_ERROR)
        return Error{EPROTO, "netlink: unexpected answer"};
    int err = -static_cast<nlmsgerr *>(NLMSG_DATA(h))->error;
    if (err)
        return sys_error("creating the helper veth pair", err);
    return {};
}

// ip link add kSeedDev mtu MTU type veth peer name kFanDev mtu MTU, in the
// calling thread's namespace.
Result<void> add_veth_pair(unsigned mtu)
{
    NlMsg m;
    m.hdr()->nlmsg_len = NLMSG_LENGTH(0);
    m.hdr()->nlmsg_type = RTM_NEWLINK;
    m.hdr()->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
    m.put_ifinfo();
    m.put_str(IFLA_IFNAME, kSeedDev);
    m.put(IFLA_MTU, &mtu, sizeof mtu);
    rtattr *info = m.nest(IFLA_LINKINFO);
    m.put_str(IFLA_INFO_KIND, "veth");
    rtattr *data = m.nest(IFLA_INFO_DATA);
    rtattr *peer = m.nest(VETH_INFO_PEER);
    m.put_ifinfo();
    m.put_str(IFLA_IFNAME, kFanDev);
    m.put(IFLA_MTU, &mtu, sizeof mtu);
    m.end(peer);
    m.end(data);
    m.end(info);
    return rtnl_call(m);
}

Result<void> set_up(const char *ifname)
{
    Fd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
    if (fd.get() < 0 || ioctl(fd.get(), SIOCGIFFLAGS, &ifr) != 0)
        return sys_error(std::string("SIOCGIFFLAGS ") + ifname);
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (ioctl(fd.get(), SIOCSIFFLAGS, &ifr) != 0)
        return sys_error(std::string("bringing up ") + ifname);
    return {};
}

// No IPv6 on the helper devices: no neighbour discovery frames to fan out.
// /proc/sys/net answers for the calling thread's namespace.
void disable_ipv6_by_default()
{
    Fd fd(open("/proc/sys/net/ipv6/conf/default/disable_ipv6",
               O_WRONLY | O_CLOEXEC));
    if (fd.get() >= 0 && write(fd.get(), "1", 1) != 1) {
        // Without IPv6 (no such file) there is nothing to disable either;
        // pktgen_fanout drops any frame that is not seed-sized anyway.
    }
}

// An AF_PACKET socket that sends straight to 'ifindex', qdisc bypassed.
Result<Fd> seed_socket(unsigned ifindex)
{
    Fd fd(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));  // Send only.
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = static_cast<int>(ifindex);
    int one = 1;
    if (fd.get() < 0 ||
        bind(fd.get(), reinterpret_cast<sockaddr *>(&sll), sizeof sll) != 0 ||
        setsockopt(fd.get(), SOL_PACKET, PACKET_QDISC_BYPASS, &one,
                   sizeof one) != 0)
        return sys_error("AF_PACKET socket on the helper veth");
    return fd;
}

// Every entry of 'fanout' (0..fanout-1) and of 'single': the output device
// with the egress program.  Resolved in the calling thread's (the
// caller's) namespace.
Result<void> fill_devmaps(const FanoutConfig &cfg)
{
    bpf_devmap_val val{};
    val.ifindex = cfg.out_ifindex;
    val.bpf_prog.fd = cfg.egress_prog_fd;
    std::uint32_t i = 0;
    for (; i < cfg.fanout; i++)
        if (bpf_map_update_elem(cfg.devmap_fd, &i, &val, 0) != 0)
            break;
    const std::uint32_t zero = 0;
    if (i < cfg.fanout ||
        bpf_map_update_elem(cfg.single_fd, &zero, &val, 0) != 0)
        return sys_error("devmap entry for the output device (the device "
                         "must be up and take XDP redirects)");
    return {};
}

}  // namespace

// ---- setup -----------------------------------------------------------------

Result<FanoutEngine> FanoutEngine::open(const FanoutConfig &cfg,
                                        const Template &tmpl)
{
    FanoutEngine e;
    e.tmpl_ = &tmpl;
    e.fanout_ = cfg.fanout;
    e.mode_fd_ = cfg.mode_fd;
    if (auto r = fill_devmaps(cfg); !r)
        return r.error();
    Fd home(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (home.get() < 0)
        return sys_error("open /proc/thread-self/ns/net");
    auto ns = new_netns(home.get());
    if (!ns)
        return ns.error();
    e.netns_ = std::move(ns.value());

    NetnsScope in(e.netns_.get(), home.get());
    if (!in.ok())
        return sys_error("setns into the helper namespace");
    disable_ipv6_by_default();
    // The seed must pass the helper veth; a veth's MTU excludes Ethernet.
    const auto mtu = static_cast<unsigned>(
        std::max<std::size_t>(tmpl.frame.size(), 1514) - 14);
    if (auto r = add_veth_pair(mtu); !r)
        return r.error();
    for (const char *dev : {kFanDev, kSeedDev})
        if (auto r = set_up(dev); !r)
            return r.error();
    LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = XDP_FLAGS_DRV_MODE);
    e.link_ = Fd(bpf_link_create(cfg.fanout_prog_fd, if_nametoindex(kFanDev),
                                 BPF_XDP, &opts));
    if (e.link_.get() < 0)
        return sys_error("attaching pktgen_fanout to the helper veth");
    for (unsigned i = 0; i < cfg.threads; i++) {
        auto fd = seed_socket(if_nametoindex(kSeedDev));
        if (!fd)
            return fd.error();
        e.sockets_.push_back(std::move(fd.value()));
    }
    return e;
}

// ---- sending ---------------------------------------------------------------

std::uint64_t FanoutEngine::send_seeds(unsigned index, std::uint64_t seeds,
                                       Shared *sh) const noexcept
{
    iovec iov = {const_cast<std::uint8_t *>(tmpl_->frame.data()),
                 tmpl_->frame.size()};
    mmsghdr msgs[kSeedBatch] = {};
    for (auto &m : msgs) {
        m.msg_hdr.msg_iov = &iov;
        m.msg_hdr.msg_iovlen = 1;
    }
    std::uint64_t sent = 0;
    while (sent < seeds && !stop_requested()) {
        const auto n = static_cast<unsigned>(
            std::min<std::uint64_t>(kSeedBatch, seeds - sent));
        int r = sendmmsg(sockets_[index].get(), msgs, n, 0);
        if (r > 0) {
            sent += static_cast<unsigned>(r);
        } else if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) {
            // The helper's ring is full: its receiver runs in softirq
            // (maybe ksoftirqd) on this CPU, so give it the CPU.
            sched_yield();
        } else {
            if (sh)
                sh->fail(sys_error("sending seeds"));
            break;
        }
    }
    return sent;
}

void FanoutEngine::run_worker(Shared &sh, WorkerPlan &plan) const noexcept
{
    const double cpu_start = thread_cpu_seconds();
    if (auto r = pin_thread(plan.cpu); !r) {
        sh.fail(r.error());
        return;
    }
    // Paced: one run per 1/kRunsPerSecond s, as the live engine does.
    const std::uint64_t per_run =
        plan.rate
            ? std::max<std::uint64_t>(
                  static_cast<std::uint64_t>(plan.rate / kRunsPerSecond), 1)
            : std::uint64_t{kSeedBatch} * fanout_;
    std::uint64_t done = 0;
    while (!stop_requested() && !sh.failed.load(std::memory_order_relaxed)) {
        std::uint64_t n = per_run;
        if (plan.quota)
            n = std::min(n, plan.quota - done);
        if (n == 0 || (plan.quota && n < fanout_))
            break;  // A part of a seed: top_up() sends it.
        if (plan.rate) {
            double due = sh.start + static_cast<double>(done) /
                                        static_cast<double>(plan.rate);
            if (sh.deadline && due >= sh.deadline)
                break;
            sleep_until(due);
        } else if (sh.deadline && monotonic_seconds() >= sh.deadline) {
            break;
        }
        const std::uint64_t seeds =
            plan.quota ? n / fanout_ : (n + fanout_ - 1) / fanout_;
        done += send_seeds(plan.index, seeds, &sh) * fanout_;
    }
    plan.cpu_seconds = thread_cpu_seconds() - cpu_start;
}

Result<void> FanoutEngine::top_up(unsigned index,
                                  std::uint64_t frames) const noexcept
{
    // From now on every seed makes one frame, also a full seed still in
    // the helper's ring: fewer frames than expected, which the caller's
    // count shows and tops up again, never more.
    const std::uint32_t zero = 0, once = 1;
    if (bpf_map_update_elem(mode_fd_, &zero, &once, 0) != 0)
        return sys_error("setting the fan-out mode");
    Shared sh;
    send_seeds(index, frames, &sh);
    if (sh.error)
        return *sh.error;
    return {};
}

}  // namespace afxdp::perf
