/*
 * Fixtures for the bpf tier.
 *
 * VethTest: each test runs in a fresh network namespace holding one veth
 * pair with 4 rx/tx queues.
 *
 * unshare(CLONE_NEWNET) moves only this (single) test thread; `ip` children
 * inherit the namespace.  TearDown deletes the veths (detaching whatever XDP
 * program a failed test left on them) and returns to the original
 * namespace, which drops the last reference to the test's namespace.  If
 * the process dies half-way, the kernel frees the namespace and everything
 * in it anyway: a crashed test cannot leave devices on the host.
 */
#ifndef AFXDP_TESTS_BPF_FIXTURES_H
#define AFXDP_TESTS_BPF_FIXTURES_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <linux/bpf.h>

#include <gtest/gtest.h>

struct xsk_socket;
struct xsk_umem;

namespace afxdp::test {

// Runs argv[0] (searched in PATH) and returns its exit status, or -1.
int run_command(const std::vector<std::string> &argv);

class VethTest : public ::testing::Test {
protected:
    static constexpr unsigned kQueues = 4;
    static constexpr const char *kIfname = "afxdp0";
    static constexpr const char *kPeerIfname = "afxdp1";

    void SetUp() override;
    void TearDown() override;

    int ifindex_ = 0;       // kIfname's.
    int peer_ifindex_ = 0;  // kPeerIfname's.

private:
    int host_netns_fd_ = -1;
    bool veth_created_ = false;
};

// An AF_XDP socket in copy mode on one queue, with its own small UMEM,
// created through libxdp without loading libxdp's program (we bring ours).
class TestXsk {
public:
    // Returns nullptr and records a gtest failure on error.
    static std::unique_ptr<TestXsk> create(const char *ifname,
                                           unsigned queue_id);
    ~TestXsk();
    TestXsk(const TestXsk &) = delete;
    TestXsk &operator=(const TestXsk &) = delete;

    int fd() const;

private:
    struct Rings;  // Ring views the socket and UMEM keep pointers to.

    TestXsk() = default;
    // The destructor deletes the socket, then the UMEM, then unmaps the
    // memory; the ring views go last, with the object.
    std::unique_ptr<Rings> rings_;
    void *area_ = nullptr;
    std::size_t area_size_ = 0;
    xsk_umem *umem_ = nullptr;
    xsk_socket *xsk_ = nullptr;
};

// Frames for BPF_PROG_RUN.  The contents only matter for realism: the
// program under test never reads them.
std::vector<std::uint8_t> ipv4_udp_frame(std::size_t len = 64);
std::vector<std::uint8_t> ipv6_udp_frame(std::size_t len = 78);
std::vector<std::uint8_t> runt_frame();  // Ethernet header only.

struct RunResult {
    int err = 0;  // bpf_prog_test_run_opts()'s return value.
    std::uint32_t verdict = ~0u;
    std::vector<std::uint8_t> data_out;
};

// Runs 'prog_fd' once on 'frame'.  With 'ingress_ifindex' nonzero, the
// frame arrives on that device's rx queue 'rx_queue'.
RunResult run_xdp(int prog_fd, const std::vector<std::uint8_t> &frame,
                  int ingress_ifindex = 0, std::uint32_t rx_queue = 0);

}  // namespace afxdp::test

#endif  // AFXDP_TESTS_BPF_FIXTURES_H
