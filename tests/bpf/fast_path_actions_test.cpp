/*
 * The XDP fast path's actions (bpf/flow/actions.h) run with BPF_PROG_RUN:
 * each rewriting stage, output, drop, and the preconditions that hand a
 * frame to OVS instead.
 *
 * A flow's actions must leave the frame with exactly the bytes dpif-netdev
 * would have produced.  So each rewrite is checked twice: the whole output
 * frame against the same frame built from scratch with the new field values
 * (every checksum computed over the rewritten packet), and each updated
 * checksum against OVS's own incremental arithmetic (lib/csum.c's
 * recalc_csum16/32, applied in the order odp-execute.c and packets.c apply
 * them, with UDP's zero-checksum rules).
 *
 * Every flow here is installed under a catch-all mask: the parser and the
 * lookup are fast_path_test.cpp's subject.  Output through a devmap needs
 * a real ifindex, hence the veth fixture for those tests.
 */
#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>

#include <arpa/inet.h>
#include <linux/bpf.h>

#include <gtest/gtest.h>

#include "fast_path_fixture.h"
#include "fixtures.h"
#include "frame_builder.h"

namespace afxdp::test {
namespace {

constexpr std::uint32_t kFlowId = 5;
constexpr std::uint32_t kMark = 0x5a5a;

// ---- Frames -------------------------------------------------------------

// Odd payload lengths: the checksums' trailing-byte case is exercised.
constexpr std::size_t kPayload = 33;

Frame tcp4(const Ipv4Header &h, std::uint16_t sport = 40000,
           std::uint16_t dport = 443)
{
    Ipv4Header ip = h;
    ip.proto = kTcp;
    return FrameBuilder()
        .ethertype(kEthIp)
        .ipv4(ip)
        .tcp(sport, dport, kTcpAck | kTcpPsh)
        .payload(kPayload)
        .finish();
}

Frame udp4(const Ipv4Header &h, std::uint16_t sport = 5000,
           std::uint16_t dport = 5001, bool zero_csum = false)
{
    Ipv4Header ip = h;
    ip.proto = kUdp;
    return FrameBuilder()
        .ethertype(kEthIp)
        .ipv4(ip)
        .udp(sport, dport, zero_csum)
        .payload(kPayload)
        .finish();
}

Frame icmp4(const Ipv4Header &h)
{
    Ipv4Header ip = h;
    ip.proto = kIcmp;
    return FrameBuilder()
        .ethertype(kEthIp)
        .ipv4(ip)
        .icmp(8, 0)
        .payload(kPayload)
        .finish();
}

Frame l4_over_ipv6(const Ipv6Header &h, std::uint8_t proto,
                   bool zero_csum = false)
{
    Ipv6Header ip = h;
    ip.next = proto;
    FrameBuilder b;
    b.ethertype(kEthIpv6).ipv6(ip);
    if (proto == kTcp) {
        b.tcp(40000, 443, kTcpAck);
    } else if (proto == kUdp) {
        b.udp(5000, 5001, zero_csum);
    } else {
        b.icmp6(128, 0);
    }
    return b.payload(kPayload).finish();
}

Ipv6Header ipv6_header()
{
    Ipv6Header h;
    h.tclass = 0x2d;
    h.label = 0xabcde;
    h.hlimit = 33;
    return h;
}

std::size_t l4_csum_offset(std::uint8_t proto)
{
    return proto == kTcp ? 16 : proto == kUdp ? 6 : 2;
}

// ---- OVS's checksum updates, restated -----------------------------------

struct Csums {
    std::uint16_t ip = 0;  // As in memory (network order).
    std::uint16_t l4 = 0;
};

// packet_set_ipv4_addr(): the TCP checksum, the UDP checksum unless it is
// zero (and never to zero), then the IP checksum.
void ovs_set_ipv4_addr(Csums &c, std::uint8_t proto, std::uint32_t old_addr,
                       std::uint32_t new_addr)
{
    if (proto == kTcp) {
        c.l4 = ovs_recalc_csum32(c.l4, old_addr, new_addr);
    } else if (proto == kUdp && c.l4) {
        c.l4 = ovs_recalc_csum32(c.l4, old_addr, new_addr);
        if (!c.l4) {
            c.l4 = 0xffff;
        }
    }
    c.ip = ovs_recalc_csum32(c.ip, old_addr, new_addr);
}

// odp_set_ipv4() taking the header of 'in' to 'to': each address that
// changes, then TOS and TTL into the IP checksum only.
Csums ovs_set_ipv4(const Frame &in, std::uint8_t proto, const Ipv4Header &to)
{
    const Bytes &b = in.bytes;
    Csums c;
    c.ip = raw16(b, in.l3 + 10);
    if (proto == kTcp || proto == kUdp) {
        c.l4 = raw16(b, in.l4 + l4_csum_offset(proto));
    }
    if (raw32(b, in.l3 + 12) != raw32_of(to.src)) {
        ovs_set_ipv4_addr(c, proto, raw32(b, in.l3 + 12), raw32_of(to.src));
    }
    if (raw32(b, in.l3 + 16) != raw32_of(to.dst)) {
        ovs_set_ipv4_addr(c, proto, raw32(b, in.l3 + 16), raw32_of(to.dst));
    }
    const std::uint8_t tos = b[in.l3 + 1];
    if (tos != to.tos) {
        c.ip = ovs_recalc_csum16(c.ip, raw16_of(tos), raw16_of(to.tos));
    }
    const std::uint8_t ttl = b[in.l3 + 8];
    if (ttl != to.ttl) {
        c.ip = ovs_recalc_csum16(c.ip, raw16_of(std::uint16_t(ttl << 8)),
                                 raw16_of(std::uint16_t(to.ttl << 8)));
    }
    return c;
}

// packet_set_ipv6() -> packet_update_csum128() for each address that
// changes: four recalc_csum32() steps, UDP's zero rules once per address.
std::uint16_t ovs_set_ipv6_l4(const Frame &in, std::uint8_t proto,
                              const Ipv6Header &to)
{
    const Bytes &b = in.bytes;
    std::uint16_t c = raw16(b, in.l4 + l4_csum_offset(proto));
    const std::pair<std::size_t, const Ip6 *> addrs[] = {{in.l3 + 8, &to.src},
                                                         {in.l3 + 24, &to.dst}};
    for (const auto &[off, addr] : addrs) {
        const Bytes now(b.begin() + static_cast<std::ptrdiff_t>(off),
                        b.begin() + static_cast<std::ptrdiff_t>(off + 16));
        const Bytes next(addr->begin(), addr->end());
        if (now == next || (proto == kUdp && !c)) {
            continue;
        }
        for (std::size_t i = 0; i < 16; i += 4) {
            c = ovs_recalc_csum32(c, raw32(now, i), raw32(next, i));
        }
        if (proto == kUdp && !c) {
            c = 0xffff;
        }
    }
    return c;
}

// packet_set_tcp_port() / packet_set_udp_port(): a zero UDP checksum
// stays zero; otherwise each changed port updates it.
std::uint16_t ovs_set_ports(const Frame &in, std::uint8_t proto,
                            std::uint16_t sport, std::uint16_t dport)
{
    const Bytes &b = in.bytes;
    std::uint16_t c = raw16(b, in.l4 + l4_csum_offset(proto));
    if (proto == kUdp && !c) {
        return 0;
    }
    if (raw16(b, in.l4) != raw16_of(sport)) {
        c = ovs_recalc_csum16(c, raw16(b, in.l4), raw16_of(sport));
    }
    if (raw16(b, in.l4 + 2) != raw16_of(dport)) {
        c = ovs_recalc_csum16(c, raw16(b, in.l4 + 2), raw16_of(dport));
    }
    if (proto == kUdp && !c) {
        c = 0xffff;
    }
    return c;
}

// ---- Fixtures -----------------------------------------------------------

afxdp_flow_actions actions(std::uint16_t flags)
{
    afxdp_flow_actions a = drop_flow(kFlowId);
    a.flags = flags;
    a.mark = kMark;
    return a;
}

// One flow under a catch-all mask (mask 0, key 0).
void install_catch_all(FastPath &fp, const afxdp_flow_actions &a)
{
    afxdp_flow_key zero;
    std::memset(&zero, 0, sizeof zero);
    fp.set_mask(0, zero);
    fp.set_order({0});
    fp.put_flow(0, zero, a);
}

class FastPathActionsTest : public FastPathTest {
protected:
    XdpRun run(const Frame &in, const afxdp_flow_actions &a)
    {
        install_catch_all(fp_, a);
        return fp_.run(in.bytes);
    }

    // Executed in XDP: the verdict, no metadata, exactly 'expected', and
    // the flow counted with the frame's length on arrival.
    void expect_executed(const XdpRun &r, const Frame &in,
                         std::uint32_t verdict, const Bytes &expected)
    {
        ASSERT_EQ(r.err, 0) << std::strerror(-r.err);
        EXPECT_EQ(r.verdict, verdict);
        EXPECT_EQ(r.meta_len, 0u);
        EXPECT_TRUE(r.frame == expected) << frame_difference(r.frame, expected);
        afxdp_flow_stats s = fp_.flow_stats(kFlowId);
        EXPECT_EQ(s.packets, 1u);
        EXPECT_EQ(s.bytes, in.bytes.size());
    }

    // Handed to OVS: unmodified, with the hash and the flow's mark, and
    // not counted (OVS counts it).
    void expect_to_ovs(const XdpRun &r, const Frame &in)
    {
        ASSERT_EQ(r.err, 0) << std::strerror(-r.err);
        EXPECT_EQ(r.verdict, XDP_PASS);
        ASSERT_TRUE(r.meta) << "no metadata (" << r.meta_len << " bytes)";
        EXPECT_EQ(r.meta->flags, AFXDP_XDP_META_HASH | AFXDP_XDP_META_MARK);
        EXPECT_EQ(r.meta->flow_mark, kMark);
        EXPECT_TRUE(r.frame == in.bytes) << "the frame was modified: "
                                         << frame_difference(r.frame, in.bytes);
        EXPECT_EQ(fp_.flow_stats(kFlowId).packets, 0u);
    }
};

// ---- Set Ethernet -------------------------------------------------------

TEST_F(FastPathActionsTest, SetEthernetMaskedRewritesOnlyMaskedBits)
{
    const Frame in = udp4({});
    afxdp_flow_actions a = actions(AFXDP_ACT_SET_ETH);
    // ether_addr_copy_masked(): OVS's keys are masked already, so are ours.
    const Mac dst = {0x0a, 0x0b, 0x0c, 0x00, 0x00, 0x00};
    const Mac dst_mask = {0xff, 0xff, 0xff, 0x00, 0x00, 0x00};
    const Mac src = {0x06, 0x00, 0x00, 0x00, 0x00, 0x01};
    const Mac src_mask = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    std::memcpy(a.eth.dst, dst.data(), 6);
    std::memcpy(a.eth.dst_mask, dst_mask.data(), 6);
    std::memcpy(a.eth.src, src.data(), 6);
    std::memcpy(a.eth.src_mask, src_mask.data(), 6);

    const Mac want_dst = {0x0a, 0x0b, 0x0c, kDstMac[3], kDstMac[4], kDstMac[5]};
    Frame want = FrameBuilder(want_dst, src)
                     .ethertype(kEthIp)
                     .ipv4([] {
                         Ipv4Header ip;
                         ip.proto = kUdp;
                         return ip;
                     }())
                     .udp(5000, 5001)
                     .payload(kPayload)
                     .finish();
    expect_executed(run(in, a), in, XDP_DROP, want.bytes);
}

// ---- Set IPv4 -----------------------------------------------------------

// The rewrite every IPv4 test applies: the whole source, the first half of
// the destination, DSCP without ECN, the TTL.
afxdp_flow_actions set_ipv4_actions()
{
    afxdp_flow_actions a = actions(AFXDP_ACT_SET_IPV4);
    a.l3.ipv4.src = htonl(0xac100009);  // 172.16.0.9
    a.l3.ipv4.src_mask = 0xffffffff;
    a.l3.ipv4.dst = htonl(0x0a630000);  // 10.99.x.x
    a.l3.ipv4.dst_mask = htonl(0xffff0000);
    a.l3.ipv4.tos = 0x80;
    a.l3.ipv4.tos_mask = 0xfc;
    a.l3.ipv4.ttl = 9;
    a.l3.ipv4.ttl_mask = 0xff;
    return a;
}

Ipv4Header original_ipv4()
{
    Ipv4Header ip;
    ip.tos = 0x2d;  // DSCP 11, ECN 1.
    return ip;
}

Ipv4Header rewritten_ipv4()
{
    Ipv4Header ip = original_ipv4();
    ip.src = 0xac100009;
    ip.dst = 0x0a630000 | (kIp4Dst & 0xffff);
    ip.tos = 0x80 | (0x2d & 0x03);  // ECN kept.
    ip.ttl = 9;
    return ip;
}

TEST_F(FastPathActionsTest, SetIpv4OnTcpUpdatesIpAndTcpChecksumsAsOvs)
{
    const Frame in = tcp4(original_ipv4());
    const Frame want = tcp4(rewritten_ipv4());
    XdpRun r = run(in, set_ipv4_actions());
    ASSERT_NO_FATAL_FAILURE(expect_executed(r, in, XDP_DROP, want.bytes));

    Csums ovs = ovs_set_ipv4(in, kTcp, rewritten_ipv4());
    EXPECT_EQ(raw16(r.frame, in.l3 + 10), ovs.ip);
    EXPECT_EQ(raw16(r.frame, in.l4 + 16), ovs.l4);
}

TEST_F(FastPathActionsTest, SetIpv4OnUdpUpdatesIpAndUdpChecksumsAsOvs)
{
    const Frame in = udp4(original_ipv4());
    const Frame want = udp4(rewritten_ipv4());
    XdpRun r = run(in, set_ipv4_actions());
    ASSERT_NO_FATAL_FAILURE(expect_executed(r, in, XDP_DROP, want.bytes));

    Csums ovs = ovs_set_ipv4(in, kUdp, rewritten_ipv4());
    EXPECT_EQ(raw16(r.frame, in.l3 + 10), ovs.ip);
    EXPECT_EQ(raw16(r.frame, in.l4 + 6), ovs.l4);
}

TEST_F(FastPathActionsTest, SetIpv4OnUdpWithZeroChecksumKeepsItZero)
{
    const Frame in = udp4(original_ipv4(), 5000, 5001, true);
    ASSERT_EQ(get16(in.bytes, in.l4 + 6), 0);
    const Frame want = udp4(rewritten_ipv4(), 5000, 5001, true);
    XdpRun r = run(in, set_ipv4_actions());
    ASSERT_NO_FATAL_FAILURE(expect_executed(r, in, XDP_DROP, want.bytes));
    EXPECT_EQ(get16(r.frame, in.l4 + 6), 0);
    EXPECT_EQ(raw16(r.frame, in.l3 + 10),
              ovs_set_ipv4(in, kUdp, rewritten_ipv4()).ip);
}

// RFC 768 and packet_set_ipv4_addr(): a UDP checksum that computes to zero
// is sent as 0xffff, zero meaning "none".  The new source address is
// searched for so that OVS's arithmetic gives exactly zero.
TEST_F(FastPathActionsTest, SetIpv4UdpChecksumComputingToZeroBecomesFfff)
{
    const Frame in = udp4({});
    const std::uint16_t before = raw16(in.bytes, in.l4 + 6);
    std::uint32_t src = 0;
    for (std::uint32_t low = 0; low <= 0xffff && !src; low++) {
        const std::uint32_t candidate = 0xac100000 | low;
        if (ovs_recalc_csum32(before, raw32(in.bytes, in.l3 + 12),
                              raw32_of(candidate)) == 0) {
            src = candidate;
        }
    }
    ASSERT_NE(src, 0u) << "no source address gives a zero checksum";

    afxdp_flow_actions a = actions(AFXDP_ACT_SET_IPV4);
    a.l3.ipv4.src = htonl(src);
    a.l3.ipv4.src_mask = 0xffffffff;
    Ipv4Header to;
    to.src = src;
    XdpRun r = run(in, a);
    ASSERT_NO_FATAL_FAILURE(expect_executed(r, in, XDP_DROP, udp4(to).bytes));
    EXPECT_EQ(get16(r.frame, in.l4 + 6), 0xffff);
}

TEST_F(FastPathActionsTest, SetIpv4OnIcmpLeavesTheIcmpChecksumAlone)
{
    // ICMP has no pseudo-header: OVS updates no L4 checksum for it.
    const Frame in = icmp4(original_ipv4());
    const Frame want = icmp4(rewritten_ipv4());
    XdpRun r = run(in, set_ipv4_actions());
    ASSERT_NO_FATAL_FAILURE(expect_executed(r, in, XDP_DROP, want.bytes));
    EXPECT_EQ(get16(r.frame, in.l4 + 2), get16(in.bytes, in.l4 + 2));
    EXPECT_EQ(raw16(r.frame, in.l3 + 10),
              ovs_set_ipv4(in, kIcmp, rewritten_ipv4()).ip);
}

TEST_F(FastPathActionsTest, SetIpv4TosAndTtlOnlyLeaveTheTcpChecksumAlone)
{
    const Frame in = tcp4(original_ipv4());
    afxdp_flow_actions a = set_ipv4_actions();
    a.l3.ipv4.src_mask = 0;
    a.l3.ipv4.dst_mask = 0;
    Ipv4Header to = rewritten_ipv4();
    to.src = kIp4Src;
    to.dst = kIp4Dst;
    XdpRun r = run(in, a);
    ASSERT_NO_FATAL_FAILURE(expect_executed(r, in, XDP_DROP, tcp4(to).bytes));
    EXPECT_EQ(get16(r.frame, in.l4 + 16), get16(in.bytes, in.l4 + 16));
    EXPECT_EQ(raw16(r.frame, in.l3 + 10), ovs_set_ipv4(in, kTcp, to).ip);
}

// ---- Set IPv6 -----------------------------------------------------------

constexpr Ip6 kIp6NewSrc = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                            0,    0,    0,    0,    0, 0, 0, 0x99};

// The whole source, the last 64 bits of the destination, the DSCP bits of
// the traffic class, the whole label, the hop limit.
afxdp_flow_actions set_ipv6_actions()
{
    afxdp_flow_actions a = actions(AFXDP_ACT_SET_IPV6);
    afxdp_set_ipv6 &s = a.l3.ipv6;
    std::memcpy(s.src, kIp6NewSrc.data(), 16);
    std::memset(s.src_mask, 0xff, 16);
    for (int i = 8; i < 16; i++) {
        s.dst[i] = static_cast<std::uint8_t>(0x70 + i);
        s.dst_mask[i] = 0xff;
    }
    s.tclass = 0xa0;
    s.tclass_mask = 0xfc;
    s.label = htonl(0x12345);
    s.label_mask = htonl(0xfffff);
    s.hlimit = 7;
    s.hlimit_mask = 0xff;
    return a;
}

Ipv6Header rewritten_ipv6()
{
    Ipv6Header h = ipv6_header();
    h.src = kIp6NewSrc;
    for (int i = 8; i < 16; i++) {
        h.dst[i] = static_cast<std::uint8_t>(0x70 + i);
    }
    h.tclass = 0xa0 | (0x2d & 0x03);
    h.label = 0x12345;
    h.hlimit = 7;
    return h;
}

// The parameter: the L4 protocol (unsigned, to print as a number).
class FastPathSetIpv6Test : public FastPathActionsTest,
                            public ::testing::WithParamInterface<unsigned> {};

TEST_P(FastPathSetIpv6Test, RewritesHeaderAndL4ChecksumAsOvs)
{
    const auto proto = static_cast<std::uint8_t>(GetParam());
    const Frame in = l4_over_ipv6(ipv6_header(), proto);
    const Frame want = l4_over_ipv6(rewritten_ipv6(), proto);
    XdpRun r = run(in, set_ipv6_actions());
    ASSERT_NO_FATAL_FAILURE(expect_executed(r, in, XDP_DROP, want.bytes));
    EXPECT_EQ(raw16(r.frame, in.l4 + l4_csum_offset(proto)),
              ovs_set_ipv6_l4(in, proto, rewritten_ipv6()));
}

INSTANTIATE_TEST_SUITE_P(L4, FastPathSetIpv6Test,
                         ::testing::Values(unsigned{kTcp}, unsigned{kUdp},
                                           unsigned{kIcmp6}),
                         [](const ::testing::TestParamInfo<unsigned> &info) {
                             return std::string(info.param == kTcp ? "Tcp"
                                                : info.param == kUdp
                                                    ? "Udp"
                                                    : "Icmpv6");
                         });

// OVS keeps a zero UDP checksum over IPv6 as it is (packet_update_csum128),
// though IPv6 does not allow it: so must we.
TEST_F(FastPathActionsTest, SetIpv6OnUdpWithZeroChecksumKeepsItZero)
{
    const Frame in = l4_over_ipv6(ipv6_header(), kUdp, true);
    const Frame want = l4_over_ipv6(rewritten_ipv6(), kUdp, true);
    XdpRun r = run(in, set_ipv6_actions());
    ASSERT_NO_FATAL_FAILURE(expect_executed(r, in, XDP_DROP, want.bytes));
    EXPECT_EQ(get16(r.frame, in.l4 + 6), 0);
}

// ---- Set TCP/UDP ports --------------------------------------------------

TEST_F(FastPathActionsTest, SetTcpPortsMaskedUpdatesChecksumAsOvs)
{
    const Frame in = tcp4({}, 40000, 443);
    afxdp_flow_actions a = actions(AFXDP_ACT_SET_TP);
    a.tp_proto = kTcp;
    a.tp.src = htons(8080);
    a.tp.src_mask = 0xffff;
    a.tp.dst = htons(0x2200);  // The high byte only: 443 -> 0x22bb.
    a.tp.dst_mask = htons(0xff00);
    XdpRun r = run(in, a);
    ASSERT_NO_FATAL_FAILURE(
        expect_executed(r, in, XDP_DROP, tcp4({}, 8080, 0x22bb).bytes));
    EXPECT_EQ(raw16(r.frame, in.l4 + 16),
              ovs_set_ports(in, kTcp, 8080, 0x22bb));
}

TEST_F(FastPathActionsTest, SetUdpPortsUpdatesChecksumAsOvs)
{
    const Frame in = udp4({}, 5000, 5001);
    afxdp_flow_actions a = actions(AFXDP_ACT_SET_TP);
    a.tp_proto = kUdp;
    a.tp.src = htons(53);
    a.tp.src_mask = 0xffff;
    a.tp.dst = htons(1053);
    a.tp.dst_mask = 0xffff;
    XdpRun r = run(in, a);
    ASSERT_NO_FATAL_FAILURE(
        expect_executed(r, in, XDP_DROP, udp4({}, 53, 1053).bytes));
    EXPECT_EQ(raw16(r.frame, in.l4 + 6), ovs_set_ports(in, kUdp, 53, 1053));
}

TEST_F(FastPathActionsTest, SetUdpPortsWithZeroChecksumKeepsItZero)
{
    const Frame in = udp4({}, 5000, 5001, true);
    afxdp_flow_actions a = actions(AFXDP_ACT_SET_TP);
    a.tp_proto = kUdp;
    a.tp.src = htons(53);
    a.tp.src_mask = 0xffff;
    XdpRun r = run(in, a);
    ASSERT_NO_FATAL_FAILURE(
        expect_executed(r, in, XDP_DROP, udp4({}, 53, 5001, true).bytes));
    EXPECT_EQ(get16(r.frame, in.l4 + 6), 0);
}

// ---- VLAN ---------------------------------------------------------------

Frame udp4_tagged(
    const Mac &dst, const Mac &src,
    const std::vector<std::pair<std::uint16_t, std::uint16_t>> &tags)
{
    FrameBuilder b(dst, src);
    for (const auto &[tpid, tci] : tags) {
        b.vlan(tpid, tci);
    }
    Ipv4Header ip;
    ip.proto = kUdp;
    return b.ethertype(kEthIp)
        .ipv4(ip)
        .udp(5000, 5001)
        .payload(kPayload)
        .finish();
}

// eth_push_vlan() writes tci & ~VLAN_CFI; user space strips the bit when
// it translates (push_tci is "as written to the tag"), so the program
// writes push_tci as it is.
TEST_F(FastPathActionsTest, PushVlanInsertsTagAfterTheAddresses)
{
    const Frame in = udp4_tagged(kDstMac, kSrcMac, {});
    afxdp_flow_actions a = actions(AFXDP_ACT_PUSH_VLAN);
    a.push_tpid = htons(kEth8021q);
    a.push_tci = htons(0xa064);
    expect_executed(run(in, a), in, XDP_DROP,
                    udp4_tagged(kDstMac, kSrcMac, {{kEth8021q, 0xa064}}).bytes);
}

TEST_F(FastPathActionsTest, PushVlan8021adOnTaggedFrameAddsOuterTag)
{
    const Frame in = udp4_tagged(kDstMac, kSrcMac, {{kEth8021q, 100}});
    afxdp_flow_actions a = actions(AFXDP_ACT_PUSH_VLAN);
    a.push_tpid = htons(kEth8021ad);
    a.push_tci = htons(0x0200);
    expect_executed(
        run(in, a), in, XDP_DROP,
        udp4_tagged(kDstMac, kSrcMac, {{kEth8021ad, 0x0200}, {kEth8021q, 100}})
            .bytes);
}

TEST_F(FastPathActionsTest, PopVlanRemovesTheTag)
{
    const Frame in = udp4_tagged(kDstMac, kSrcMac, {{kEth8021q, 0xa064}});
    expect_executed(run(in, actions(AFXDP_ACT_POP_VLAN)), in, XDP_DROP,
                    udp4_tagged(kDstMac, kSrcMac, {}).bytes);
}

// eth_pop_vlan() leaves a frame without a tag alone.
TEST_F(FastPathActionsTest, PopVlanOnUntaggedFrameLeavesItAlone)
{
    const Frame in = udp4_tagged(kDstMac, kSrcMac, {});
    expect_executed(run(in, actions(AFXDP_ACT_POP_VLAN)), in, XDP_DROP,
                    in.bytes);
}

TEST_F(FastPathActionsTest, PopThenPushReplacesTheTag)
{
    const Frame in = udp4_tagged(kDstMac, kSrcMac, {{kEth8021q, 5}});
    afxdp_flow_actions a = actions(AFXDP_ACT_POP_VLAN | AFXDP_ACT_PUSH_VLAN);
    a.push_tpid = htons(kEth8021ad);
    a.push_tci = htons(0x2064);
    expect_executed(
        run(in, a), in, XDP_DROP,
        udp4_tagged(kDstMac, kSrcMac, {{kEth8021ad, 0x2064}}).bytes);
}

// All the stages of one flow, in their fixed order: ports, IPv4, Ethernet,
// pop, push.
TEST_F(FastPathActionsTest, AllStagesTogetherGiveTheFrameBuiltFromScratch)
{
    Ipv4Header ip = original_ipv4();
    ip.proto = kTcp;
    const Frame in = FrameBuilder()
                         .vlan(kEth8021q, 7)
                         .ethertype(kEthIp)
                         .ipv4(ip)
                         .tcp(40000, 443, kTcpAck)
                         .payload(kPayload)
                         .finish();
    afxdp_flow_actions a = set_ipv4_actions();
    a.flags = AFXDP_ACT_SET_TP | AFXDP_ACT_SET_IPV4 | AFXDP_ACT_SET_ETH |
              AFXDP_ACT_POP_VLAN | AFXDP_ACT_PUSH_VLAN;
    a.tp_proto = kTcp;
    a.tp.dst = htons(8443);
    a.tp.dst_mask = 0xffff;
    const Mac dst = {0x02, 0xde, 0xad, 0xbe, 0xef, 0x01};
    std::memcpy(a.eth.dst, dst.data(), 6);
    std::memset(a.eth.dst_mask, 0xff, 6);
    a.push_tpid = htons(kEth8021q);
    a.push_tci = htons(0x6009);

    Ipv4Header to = rewritten_ipv4();
    to.proto = kTcp;
    const Frame want = FrameBuilder(dst, kSrcMac)
                           .vlan(kEth8021q, 0x6009)
                           .ethertype(kEthIp)
                           .ipv4(to)
                           .tcp(40000, 8443, kTcpAck)
                           .payload(kPayload)
                           .finish();
    expect_executed(run(in, a), in, XDP_DROP, want.bytes);
}

// ---- Drop ---------------------------------------------------------------

TEST_F(FastPathActionsTest, DropFlowDropsAndCountsTheFrame)
{
    const Frame in = tcp4({});
    expect_executed(run(in, actions(0)), in, XDP_DROP, in.bytes);
}

// ---- Preconditions: to OVS, unmodified ----------------------------------

struct Precondition {
    const char *name;
    Frame (*frame)();
    afxdp_flow_actions (*flow)();
};

void PrintTo(const Precondition &p, std::ostream *os)
{
    *os << p.name;
}

Frame udp4_first_fragment()
{
    Ipv4Header ip;
    ip.frag_off = 0x2000;
    return udp4(ip);
}

Frame udp4_later_fragment()
{
    Ipv4Header ip;
    ip.proto = kUdp;
    ip.frag_off = 0x2000 | 64;
    return FrameBuilder().ethertype(kEthIp).ipv4(ip).payload(40).finish();
}

Frame tcp6_with_hop_by_hop()
{
    Ipv6Header h = ipv6_header();
    h.next = kHopOpts;
    return FrameBuilder()
        .ethertype(kEthIpv6)
        .ipv6(h)
        .ipv6_ext(kTcp, 8)
        .tcp(1, 2, kTcpAck)
        .payload(kPayload)
        .finish();
}

Frame udp6_first_fragment()
{
    Ipv6Header h = ipv6_header();
    h.next = kFragment;
    return FrameBuilder()
        .ethertype(kEthIpv6)
        .ipv6(h)
        .ipv6_frag(kUdp, 1)
        .udp(1, 2)
        .payload(kPayload)
        .finish();
}

afxdp_flow_actions set_tp(std::uint8_t proto)
{
    afxdp_flow_actions a = actions(AFXDP_ACT_SET_TP);
    a.tp_proto = proto;
    a.tp.src = htons(9);
    a.tp.src_mask = 0xffff;
    return a;
}

// A function, not a static array: the table is built when gtest asks.
std::vector<Precondition> precondition_cases()
{
    return {
        {"Ipv4RewriteOnFirstFragment", udp4_first_fragment, set_ipv4_actions},
        {"Ipv4RewriteOnLaterFragment", udp4_later_fragment, set_ipv4_actions},
        {"PortRewriteOnFirstFragment", udp4_first_fragment,
         [] { return set_tp(kUdp); }},
        {"Ipv6RewriteWithHopByHopHeader", tcp6_with_hop_by_hop,
         set_ipv6_actions},
        {"Ipv6RewriteWithFragmentHeader", udp6_first_fragment,
         set_ipv6_actions},
        {"TcpPortRewriteOnUdpFrame", [] { return udp4({}); },
         [] { return set_tp(kTcp); }},
        {"UdpPortRewriteOnTcpFrame", [] { return tcp4({}); },
         [] { return set_tp(kUdp); }},
        {"UdpPortRewriteOnIcmpFrame", [] { return icmp4({}); },
         [] { return set_tp(kUdp); }},
        {"Ipv4RewriteOnIpv6Frame",
         [] { return l4_over_ipv6(ipv6_header(), kUdp); }, set_ipv4_actions},
        {"Ipv6RewriteOnIpv4Frame", [] { return udp4({}); }, set_ipv6_actions},
        {"Ipv4RewriteOnArp",
         [] { return FrameBuilder().ethertype(kEthArp).arp({}).finish(); },
         set_ipv4_actions},
    };
}

class FastPathPreconditionTest
    : public FastPathActionsTest,
      public ::testing::WithParamInterface<Precondition> {};

TEST_P(FastPathPreconditionTest, HandsFrameToOvsUnmodifiedWithMark)
{
    const Frame in = GetParam().frame();
    ASSERT_NO_FATAL_FAILURE(expect_to_ovs(run(in, GetParam().flow()), in));
    EXPECT_EQ(fp_.counters().to_ovs_action, 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Frames, FastPathPreconditionTest, ::testing::ValuesIn(precondition_cases()),
    [](const ::testing::TestParamInfo<Precondition> &info) {
        return std::string(info.param.name);
    });

// ---- Output -------------------------------------------------------------

class FastPathOutputTest : public VethTest {
protected:
    static constexpr std::uint16_t kSlot = 5;

    void SetUp() override
    {
        VethTest::SetUp();
        if (HasFatalFailure()) {
            return;
        }
        ASSERT_NO_FATAL_FAILURE(fp_.load());
        afxdp_flow_actions a = actions(AFXDP_ACT_SET_ETH | AFXDP_ACT_OUTPUT);
        a.out_slot = kSlot;
        std::memset(a.eth.dst, 0xee, 6);
        std::memset(a.eth.dst_mask, 0xff, 6);
        install_catch_all(fp_, a);
    }

    FastPath fp_;
};

TEST_F(FastPathOutputTest, RedirectsToDevmapSlotAfterRewriting)
{
    fp_.set_output(kSlot, ifindex_);
    const Frame in = udp4({});
    XdpRun r = fp_.run(in.bytes);
    ASSERT_EQ(r.err, 0);
    EXPECT_EQ(r.verdict, XDP_REDIRECT);
    EXPECT_EQ(r.meta_len, 0u);
    const Mac dst = {0xee, 0xee, 0xee, 0xee, 0xee, 0xee};
    Bytes want = in.bytes;
    std::copy(dst.begin(), dst.end(), want.begin());
    EXPECT_EQ(r.frame, want);
    EXPECT_EQ(fp_.flow_stats(kFlowId).packets, 1u);
    EXPECT_EQ(fp_.counters().to_ovs_fallback, 0u);
}

// A slot without a devmap entry (the port is not, or no longer, a redirect
// target): the program chooses the target before touching the frame, so
// OVS gets it unmodified, with the mark, to run the flow itself.
TEST_F(FastPathOutputTest, EmptySlotFallsBackToOvsWithFrameUnmodified)
{
    const Frame in = udp4({});
    XdpRun r = fp_.run(in.bytes);
    ASSERT_EQ(r.err, 0);
    EXPECT_EQ(r.verdict, XDP_PASS);
    ASSERT_TRUE(r.meta);
    EXPECT_EQ(r.meta->flags, AFXDP_XDP_META_HASH | AFXDP_XDP_META_MARK);
    EXPECT_EQ(r.meta->flow_mark, kMark);
    EXPECT_EQ(r.frame, in.bytes);
    EXPECT_EQ(fp_.counters().to_ovs_fallback, 1u);
    EXPECT_EQ(fp_.flow_stats(kFlowId).packets, 0u);
}

TEST_F(FastPathOutputTest, RemovedPortFallsBackToOvs)
{
    const Frame in = udp4({});
    fp_.set_output(kSlot, ifindex_);
    EXPECT_EQ(fp_.run(in.bytes).verdict, XDP_REDIRECT);
    fp_.clear_output(kSlot);
    XdpRun r = fp_.run(in.bytes);
    EXPECT_EQ(r.verdict, XDP_PASS);
    ASSERT_TRUE(r.meta);
    EXPECT_EQ(r.meta->flags, AFXDP_XDP_META_HASH | AFXDP_XDP_META_MARK);
    EXPECT_EQ(r.frame, in.bytes);
    EXPECT_EQ(fp_.counters().to_ovs_fallback, 1u);
    EXPECT_EQ(fp_.flow_stats(kFlowId).packets, 1u);
}

}  // namespace
}  // namespace afxdp::test
