#include "fixtures.h"

#include <cerrno>
#include <cstring>
#include <string>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <net/if.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <xdp/xsk.h>

namespace afxdp::test {

int run_command(const std::vector<std::string> &argv)
{
    std::vector<char *> args;
    args.reserve(argv.size() + 1);
    for (const auto &arg : argv) {
        args.push_back(const_cast<char *>(arg.c_str()));
    }
    args.push_back(nullptr);

    pid_t pid;
    if (posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ) !=
        0) {
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void VethTest::SetUp()
{
    ASSERT_EQ(geteuid(), 0u)
        << "the bpf test tier must run as root (it loads XDP programs and "
           "creates network namespaces)";

    host_netns_fd_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(host_netns_fd_, 0) << std::strerror(errno);
    ASSERT_EQ(unshare(CLONE_NEWNET), 0)
        << "unshare(CLONE_NEWNET): " << std::strerror(errno);

    const std::string queues = std::to_string(kQueues);
    ASSERT_EQ(run_command({"ip", "link", "add", kIfname, "numrxqueues", queues,
                           "numtxqueues", queues, "type", "veth", "peer",
                           "name", kPeerIfname, "numrxqueues", queues,
                           "numtxqueues", queues}),
              0)
        << "ip link add " << kIfname << " type veth failed";
    veth_created_ = true;
    ASSERT_EQ(run_command({"ip", "link", "set", kIfname, "up"}), 0);
    ASSERT_EQ(run_command({"ip", "link", "set", kPeerIfname, "up"}), 0);

    ifindex_ = static_cast<int>(if_nametoindex(kIfname));
    peer_ifindex_ = static_cast<int>(if_nametoindex(kPeerIfname));
    ASSERT_GT(ifindex_, 0);
    ASSERT_GT(peer_ifindex_, 0);
}

void VethTest::TearDown()
{
    if (veth_created_) {
        EXPECT_EQ(run_command({"ip", "link", "del", kIfname}), 0);
        veth_created_ = false;
    }
    if (host_netns_fd_ >= 0) {
        EXPECT_EQ(setns(host_netns_fd_, CLONE_NEWNET), 0)
            << "setns back to the original namespace: " << std::strerror(errno);
        close(host_netns_fd_);
        host_netns_fd_ = -1;
    }
}

}  // namespace afxdp::test

namespace afxdp::test {

// ---- TestXsk -------------------------------------------------------------

namespace {
constexpr std::uint32_t kXskFrames = 64;
constexpr std::uint32_t kXskFrameSize = 4096;
constexpr std::uint32_t kXskRingSize = 64;
}  // namespace

struct TestXsk::Rings {
    xsk_ring_prod fill;
    xsk_ring_cons comp;
    xsk_ring_cons rx;
    xsk_ring_prod tx;
};

std::unique_ptr<TestXsk> TestXsk::create(const char *ifname, unsigned queue_id)
{
    std::unique_ptr<TestXsk> xsk(new TestXsk);
    xsk->rings_ = std::make_unique<Rings>();
    xsk->area_size_ = std::size_t{kXskFrames} * kXskFrameSize;
    void *area = mmap(nullptr, xsk->area_size_, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) {
        ADD_FAILURE() << "mmap UMEM: " << std::strerror(errno);
        return nullptr;
    }
    xsk->area_ = area;

    xsk_umem_config umem_config;
    std::memset(&umem_config, 0, sizeof umem_config);
    umem_config.fill_size = kXskRingSize;
    umem_config.comp_size = kXskRingSize;
    umem_config.frame_size = kXskFrameSize;
    int err =
        xsk_umem__create(&xsk->umem_, area, xsk->area_size_, &xsk->rings_->fill,
                         &xsk->rings_->comp, &umem_config);
    if (err) {
        ADD_FAILURE() << "xsk_umem__create: " << std::strerror(-err);
        return nullptr;
    }

    xsk_socket_config config;
    std::memset(&config, 0, sizeof config);
    config.rx_size = kXskRingSize;
    config.tx_size = kXskRingSize;
    config.libxdp_flags = XSK_LIBBPF_FLAGS__INHIBIT_PROG_LOAD;
    config.xdp_flags = XDP_FLAGS_SKB_MODE;
    config.bind_flags = XDP_COPY;
    err = xsk_socket__create(&xsk->xsk_, ifname, queue_id, xsk->umem_,
                             &xsk->rings_->rx, &xsk->rings_->tx, &config);
    if (err) {
        ADD_FAILURE() << "xsk_socket__create(" << ifname << ", queue "
                      << queue_id << "): " << std::strerror(-err);
        return nullptr;
    }
    return xsk;
}

TestXsk::~TestXsk()
{
    if (xsk_) {
        xsk_socket__delete(xsk_);
    }
    if (umem_) {
        xsk_umem__delete(umem_);
    }
    if (area_) {
        munmap(area_, area_size_);
    }
}

int TestXsk::fd() const
{
    return xsk_socket__fd(xsk_);
}

// ---- Frames --------------------------------------------------------------

namespace {

void put_ethernet(std::vector<std::uint8_t> &frame, std::uint16_t proto)
{
    ethhdr eth;
    const std::uint8_t dst[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x02};
    const std::uint8_t src[ETH_ALEN] = {0x02, 0, 0, 0, 0, 0x01};
    std::memcpy(eth.h_dest, dst, ETH_ALEN);
    std::memcpy(eth.h_source, src, ETH_ALEN);
    eth.h_proto = htons(proto);
    std::memcpy(frame.data(), &eth, sizeof eth);
}

void fill_payload(std::vector<std::uint8_t> &frame, std::size_t from)
{
    for (std::size_t i = from; i < frame.size(); i++) {
        frame[i] = static_cast<std::uint8_t>(i * 7 + 3);
    }
}

}  // namespace

std::vector<std::uint8_t> ipv4_udp_frame(std::size_t len)
{
    const std::size_t hdrs = sizeof(ethhdr) + sizeof(iphdr) + sizeof(udphdr);
    std::vector<std::uint8_t> frame(len < hdrs ? hdrs : len);
    put_ethernet(frame, ETH_P_IP);

    iphdr ip;
    std::memset(&ip, 0, sizeof ip);
    ip.version = 4;
    ip.ihl = 5;
    ip.ttl = 64;
    ip.protocol = IPPROTO_UDP;
    ip.tot_len =
        htons(static_cast<std::uint16_t>(frame.size() - sizeof(ethhdr)));
    ip.saddr = htonl(0x0a000001);  // 10.0.0.1
    ip.daddr = htonl(0x0a000002);
    std::memcpy(frame.data() + sizeof(ethhdr), &ip, sizeof ip);

    udphdr udp;
    udp.source = htons(4000);
    udp.dest = htons(4001);
    udp.len = htons(
        static_cast<std::uint16_t>(frame.size() - sizeof(ethhdr) - sizeof ip));
    udp.check = 0;
    std::memcpy(frame.data() + sizeof(ethhdr) + sizeof ip, &udp, sizeof udp);
    fill_payload(frame, hdrs);
    return frame;
}

std::vector<std::uint8_t> ipv6_udp_frame(std::size_t len)
{
    const std::size_t hdrs = sizeof(ethhdr) + sizeof(ipv6hdr) + sizeof(udphdr);
    std::vector<std::uint8_t> frame(len < hdrs ? hdrs : len);
    put_ethernet(frame, ETH_P_IPV6);

    ipv6hdr ip6;
    std::memset(&ip6, 0, sizeof ip6);
    ip6.version = 6;
    ip6.nexthdr = IPPROTO_UDP;
    ip6.hop_limit = 64;
    ip6.payload_len = htons(
        static_cast<std::uint16_t>(frame.size() - sizeof(ethhdr) - sizeof ip6));
    ip6.saddr.s6_addr[0] = 0xfd;  // fd00::1 -> fd00::2
    ip6.saddr.s6_addr[15] = 1;
    ip6.daddr.s6_addr[0] = 0xfd;
    ip6.daddr.s6_addr[15] = 2;
    std::memcpy(frame.data() + sizeof(ethhdr), &ip6, sizeof ip6);

    udphdr udp;
    udp.source = htons(4000);
    udp.dest = htons(4001);
    udp.len = ip6.payload_len;
    udp.check = 0;
    std::memcpy(frame.data() + sizeof(ethhdr) + sizeof ip6, &udp, sizeof udp);
    fill_payload(frame, hdrs);
    return frame;
}

std::vector<std::uint8_t> runt_frame()
{
    std::vector<std::uint8_t> frame(sizeof(ethhdr));
    put_ethernet(frame, ETH_P_IP);
    return frame;
}

// ---- BPF_PROG_RUN --------------------------------------------------------

RunResult run_xdp(int prog_fd, const std::vector<std::uint8_t> &frame,
                  int ingress_ifindex, std::uint32_t rx_queue)
{
    RunResult result;
    result.data_out.resize(frame.size());

    xdp_md ctx;
    std::memset(&ctx, 0, sizeof ctx);
    ctx.data = 0;
    ctx.data_end = static_cast<std::uint32_t>(frame.size());
    ctx.ingress_ifindex = static_cast<std::uint32_t>(ingress_ifindex);
    ctx.rx_queue_index = rx_queue;

    bpf_test_run_opts opts;
    std::memset(&opts, 0, sizeof opts);
    opts.sz = sizeof opts;
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<std::uint32_t>(frame.size());
    opts.data_out = result.data_out.data();
    opts.data_size_out = static_cast<std::uint32_t>(result.data_out.size());
    opts.ctx_in = &ctx;
    opts.ctx_size_in = sizeof ctx;
    opts.repeat = 1;

    result.err = bpf_prog_test_run_opts(prog_fd, &opts);
    result.verdict = opts.retval;
    result.data_out.resize(opts.data_size_out);
    return result;
}

}  // namespace afxdp::test
