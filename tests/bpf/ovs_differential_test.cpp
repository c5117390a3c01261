/*
 * The XDP parser against OVS itself.  Thousands of frames, well-formed and
 * mutated at random (a fixed seed), are parsed by bpf/flow/parse.h through
 * BPF_PROG_RUN and by OVS's flow_extract() in ovs-flow-keys
 * (tests/bpf/ovs_flow_keys.c, which scripts/build-ovs.sh links with the
 * libopenvswitch.a it builds).  For each frame the fast path may punt, which
 * is always safe; if it does not, its key must be OVS's bit for bit, and
 * OVS must have extracted nothing the key cannot hold.
 *
 * The program does not export the key it parsed.  It is compared by
 * installing OVS's key under an exact mask as a drop flow: a hit means the
 * two keys are equal in every bit, a miss with the rx hash that the parser
 * produced another key, and metadata without a hash that it punted.
 *
 * The tool is part of the OVS build: without it the test fails and says how
 * to build it.  AFXDP_OVS_FLOW_KEYS overrides its path; AFXDP_DIFF_SEED and
 * AFXDP_DIFF_FRAMES the corpus.
 */
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <linux/bpf.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "fast_path_fixture.h"
#include "frame_builder.h"

#ifndef AFXDP_OVS_FLOW_KEYS
#error "AFXDP_OVS_FLOW_KEYS: the path scripts/build-ovs.sh builds the tool to"
#endif

namespace afxdp::test {
namespace {

constexpr std::uint32_t kFlowId = 3;
constexpr unsigned kDefaultSeed = 0x5eed;
constexpr unsigned kDefaultFrames = 20000;
// Mutations stay in the headers, where the parser reads.
constexpr std::size_t kHeaderBytes = 100;

unsigned env_unsigned(const char *name, unsigned fallback)
{
    const char *v = std::getenv(name);
    return v && *v ? static_cast<unsigned>(std::strtoul(v, nullptr, 0))
                   : fallback;
}

std::string tool_path()
{
    const char *v = std::getenv("AFXDP_OVS_FLOW_KEYS");
    return v && *v ? v : AFXDP_OVS_FLOW_KEYS;
}

// ---- The corpus ---------------------------------------------------------

// Well-formed frames of every kind the parser knows, and of kinds it must
// punt: the mutations start from these.
std::vector<Bytes> base_frames()
{
    std::vector<Bytes> out;
    auto ip4 = [](std::uint8_t proto, std::uint16_t frag_off = 0,
                  Bytes options = {}) {
        Ipv4Header ip;
        ip.proto = proto;
        ip.frag_off = frag_off;
        ip.options = std::move(options);
        FrameBuilder b;
        b.ethertype(kEthIp).ipv4(ip);
        return b;
    };
    auto ip6 = [](std::uint8_t next) {
        Ipv6Header ip;
        ip.next = next;
        ip.tclass = 0x12;
        ip.label = 0x34567;
        FrameBuilder b;
        b.ethertype(kEthIpv6).ipv6(ip);
        return b;
    };
    out.push_back(ip4(kTcp).tcp(1, 2, kTcpSyn).payload(20).finish().bytes);
    out.push_back(ip4(kUdp).udp(3, 4).payload(20).finish().bytes);
    out.push_back(ip4(kSctp).sctp(5, 6).payload(20).finish().bytes);
    out.push_back(ip4(kIcmp).icmp(8, 0).payload(20).finish().bytes);
    out.push_back(ip4(kIgmp).payload(8).finish().bytes);
    out.push_back(ip4(47).payload(24).finish().bytes);
    out.push_back(ip4(kTcp, 0, {1, 1, 1, 0})
                      .tcp(7, 8, kTcpAck, 6)
                      .payload(9)
                      .finish()
                      .bytes);
    out.push_back(ip4(kUdp, 0x2000).udp(9, 10).payload(30).finish().bytes);
    out.push_back(ip4(kUdp, 0x2000 | 10).payload(30).finish().bytes);
    out.push_back(ip4(kUdp).udp(11, 12).payload(2).padding(12).finish().bytes);
    out.push_back(ip6(kTcp).tcp(1, 2, kTcpAck).payload(20).finish().bytes);
    out.push_back(ip6(kUdp).udp(3, 4).payload(20).finish().bytes);
    out.push_back(ip6(kIcmp6).icmp6(128, 0).payload(20).finish().bytes);
    out.push_back(ip6(kIcmp6).icmp6(135, 0).payload(24).finish().bytes);
    out.push_back(ip6(kIcmp6).icmp6(136, 0).payload(32).finish().bytes);
    out.push_back(ip6(kHopOpts)
                      .ipv6_ext(kRouting, 8)
                      .ipv6_ext(kDstOpts, 16)
                      .ipv6_ext(kUdp, 8)
                      .udp(5, 6)
                      .payload(8)
                      .finish()
                      .bytes);
    out.push_back(ip6(kAh).ipv6_ah(kTcp, 16).tcp(1, 2, 0).finish().bytes);
    out.push_back(
        ip6(kFragment).ipv6_frag(kUdp, 1).udp(7, 8).payload(16).finish().bytes);
    out.push_back(
        ip6(kFragment).ipv6_frag(kUdp, 8 << 3).payload(16).finish().bytes);
    Ipv4Header ip;
    ip.proto = kUdp;
    out.push_back(FrameBuilder()
                      .vlan(kEth8021q, 0x2064)
                      .ethertype(kEthIp)
                      .ipv4(ip)
                      .udp(1, 2)
                      .payload(10)
                      .finish()
                      .bytes);
    out.push_back(FrameBuilder()
                      .vlan(kEth8021ad, 0x0001)
                      .vlan(kEth8021q, 0x0002)
                      .ethertype(kEthIp)
                      .ipv4(ip)
                      .udp(1, 2)
                      .finish()
                      .bytes);
    out.push_back(FrameBuilder().ethertype(kEthArp).arp({}).finish().bytes);
    out.push_back(FrameBuilder().ethertype(kEthRarp).arp({}).finish().bytes);
    out.push_back(FrameBuilder().ethertype(0x8847).payload(40).finish().bytes);
    out.push_back(FrameBuilder().ethertype(0x88b5).payload(40).finish().bytes);
    Bytes llc = FrameBuilder().ethertype(46).payload(46).finish().bytes;
    out.push_back(llc);
    return out;
}

class Mutator {
public:
    explicit Mutator(unsigned seed) : rng_(seed) {}

    Bytes mutate(const Bytes &base)
    {
        Bytes f = base;
        const unsigned n = pick(4);  // 0 to 3 mutations.
        for (unsigned i = 0; i < n; i++) {
            switch (pick(6)) {
            case 0: at(f) ^= static_cast<std::uint8_t>(1u << pick(8)); break;
            case 1: at(f) = static_cast<std::uint8_t>(pick(256)); break;
            case 2: at(f) = kBytes[pick(std::size(kBytes))]; break;
            case 3: {
                std::uint16_t v = kWords[pick(std::size(kWords))];
                std::size_t off = pick(header_len(f) - 1);
                put16(f, off, v);
                break;
            }
            case 4:
                f.resize(std::max<std::size_t>(14, pick(f.size() + 1)));
                break;
            default:
                f.resize(f.size() + pick(16),
                         static_cast<std::uint8_t>(pick(256)));
                break;
            }
        }
        return f;
    }

private:
    // Values that decide how a frame parses: ethertypes and lengths, IP
    // versions and header lengths, protocol numbers, TCP data offsets.
    static constexpr std::uint16_t kWords[] = {
        0x0800, 0x86dd, 0x0806, 0x8035, 0x8100, 0x88a8, 0x8847,
        0x05dc, 0x05ff, 0x0600, 0x0000, 0xffff, 0x0001, 0x0014,
        0x0028, 0x2000, 0x0008, 0x1fff, 0x3fff};
    static constexpr std::uint8_t kBytes[] = {
        0,    1,    2,    4,    5,    6,    8,    17,   43,   44,   50,
        51,   58,   59,   60,   128,  132,  135,  136,  0x40, 0x44, 0x45,
        0x46, 0x4f, 0x50, 0xf0, 0x60, 0xff, 0x10, 0x11, 0x01};

    unsigned pick(std::size_t n)
    {
        return static_cast<unsigned>(
            std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_));
    }
    static std::size_t header_len(const Bytes &f)
    {
        return std::min(f.size(), kHeaderBytes);
    }
    std::uint8_t &at(Bytes &f) { return f[pick(header_len(f))]; }

    std::mt19937 rng_;
};

// ---- ovs-flow-keys ------------------------------------------------------

struct OvsParse {
    afxdp_flow_key key;
    std::string extra;  // Fields OVS extracted that the key cannot hold.
};

std::string to_hex(const Bytes &b)
{
    static const char digits[] = "0123456789abcdef";
    std::string s;
    s.reserve(b.size() * 2);
    for (std::uint8_t c : b) {
        s += digits[c >> 4];
        s += digits[c & 0xf];
    }
    return s;
}

// Runs the tool on 'frames'; records a failure and returns nothing if it
// cannot.
std::vector<OvsParse> ovs_parse(const std::vector<Bytes> &frames)
{
    const std::string tool = tool_path();
    if (access(tool.c_str(), X_OK) != 0) {
        ADD_FAILURE() << tool << " not found (" << std::strerror(errno)
                      << "): scripts/build-ovs.sh (run by scripts/build.sh) "
                         "builds it with OVS";
        return {};
    }
    char in_path[] = "/tmp/afxdp-diff-in.XXXXXX";
    char out_path[] = "/tmp/afxdp-diff-out.XXXXXX";
    int in_fd = mkstemp(in_path);
    int out_fd = mkstemp(out_path);
    if (in_fd < 0 || out_fd < 0) {
        ADD_FAILURE() << "mkstemp: " << std::strerror(errno);
        return {};
    }
    close(out_fd);
    {
        std::ofstream in(in_path);
        for (const Bytes &f : frames) {
            in << to_hex(f) << '\n';
        }
    }
    close(in_fd);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, in_path, O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_path, O_WRONLY | O_TRUNC,
                                     0);
    char *argv[] = {const_cast<char *>(tool.c_str()), nullptr};
    pid_t pid;
    int err = posix_spawn(&pid, tool.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    int status = -1;
    if (err == 0) {
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    }

    std::vector<OvsParse> out;
    std::ifstream result(out_path);
    std::string line;
    while (err == 0 && std::getline(result, line)) {
        OvsParse p;
        std::istringstream fields(line);
        std::string hex;
        fields >> hex >> p.extra;
        if (hex.size() != 2 * sizeof p.key) {
            break;
        }
        auto *k = reinterpret_cast<std::uint8_t *>(&p.key);
        for (std::size_t i = 0; i < sizeof p.key; i++) {
            k[i] = static_cast<std::uint8_t>(
                std::stoul(hex.substr(2 * i, 2), nullptr, 16));
        }
        out.push_back(p);
    }
    unlink(in_path);
    unlink(out_path);
    if (err != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        out.size() != frames.size()) {
        ADD_FAILURE() << tool << " failed (spawn: " << std::strerror(err)
                      << ", status " << status << ", " << out.size() << " of "
                      << frames.size() << " frames parsed)";
        return {};
    }
    return out;
}

// ---- The comparison -----------------------------------------------------

using OvsDifferentialTest = FastPathTest;

TEST_F(OvsDifferentialTest, ParserNeverDisagreesWithFlowExtract)
{
    const unsigned seed = env_unsigned("AFXDP_DIFF_SEED", kDefaultSeed);
    const unsigned count = env_unsigned("AFXDP_DIFF_FRAMES", kDefaultFrames);
    RecordProperty("seed", static_cast<int>(seed));

    std::vector<Bytes> frames = base_frames();
    const std::size_t n_bases = frames.size();
    Mutator mutator(seed);
    while (frames.size() < count) {
        frames.push_back(mutator.mutate(frames[frames.size() % n_bases]));
    }
    const std::vector<OvsParse> ovs = ovs_parse(frames);
    ASSERT_EQ(ovs.size(), frames.size());

    fp_.set_mask(0, exact_mask());
    unsigned hits = 0;
    unsigned punts = 0;
    unsigned failures = 0;
    for (std::size_t i = 0; i < frames.size(); i++) {
        fp_.set_order({0});
        fp_.put_flow(0, ovs[i].key, drop_flow(kFlowId));
        XdpRun r = fp_.run(frames[i]);
        fp_.delete_raw(fp_.masked(0, ovs[i].key));
        ASSERT_EQ(r.err, 0) << "frame " << i << ": " << std::strerror(-r.err);

        std::string wrong;
        if (r.verdict == XDP_DROP) {
            hits++;
            if (ovs[i].extra != "-") {
                wrong = "parsed, but OVS also extracted " + ovs[i].extra;
            }
        } else if (r.meta && r.meta->flags == 0) {
            punts++;
        } else {
            wrong = "parsed into another key; fields that differ: " +
                    differing_fields(frames[i], ovs[i].key);
        }
        if (!wrong.empty() && ++failures <= 10) {
            ADD_FAILURE() << "frame " << i << " (seed " << seed
                          << "): " << wrong << "\n  frame " << to_hex(frames[i])
                          << "\n  OVS key "
                          << ::testing::PrintToString(ovs[i].key);
        }
    }
    EXPECT_EQ(failures, 0u);
    // Both sides of the comparison must be exercised: a parser that punted
    // everything would pass the loop above.
    EXPECT_GE(hits, frames.size() / 4) << punts << " punts";
    EXPECT_GE(punts, frames.size() / 20) << hits << " hits";
    RecordProperty("hits", static_cast<int>(hits));
    RecordProperty("punts", static_cast<int>(punts));
    std::printf("%zu frames (seed %u): %u parsed exactly as OVS, %u punted\n",
                frames.size(), seed, hits, punts);
}

}  // namespace
}  // namespace afxdp::test
