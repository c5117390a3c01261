/*
 * The XDP fast path's tuple-space lookup (bpf/flow/lookup.h), the
 * metadata it hands OVS (bpf/xdp_meta.h, bpf/flow/rx_hash.h) and its
 * counters, run with BPF_PROG_RUN on crafted frames (bpf/xsk_redirect.bpf.c
 * with cfg_fast_path and cfg_rx_hash; see fast_path_fixture.h).
 *
 * The lookup's promise: masks are tried in the order user space ranked
 * them, the first hit wins, and only the first n_masks slots of that order
 * are tried.  The metadata's: a frame handed to OVS says what the program
 * knows about it (the rx hash once parsed, the flow's mark once matched)
 * and nothing else.  The counters': per-flow packets, bytes, last use and
 * TCP flags for frames the fast path finished itself, and one counter per
 * reason for every frame it handed to OVS.
 *
 * The parser is fast_path_parse_test.cpp's subject, the actions
 * fast_path_actions_test.cpp's.
 */
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <linux/bpf.h>

#include <gtest/gtest.h>

#include "fast_path_fixture.h"
#include "frame_builder.h"

namespace afxdp::test {
namespace {

constexpr std::uint32_t kFlowId = 7;

// Frames and the keys the parser gives them (fast_path_parse_test.cpp
// proves those keys).
struct Keyed {
    Bytes frame;
    afxdp_flow_key key;
};

Keyed tcp4(std::uint16_t sport = 40000, std::uint16_t flags = kTcpSyn)
{
    Ipv4Header ip;
    ip.proto = kTcp;
    Keyed k{FrameBuilder()
                .ethertype(kEthIp)
                .ipv4(ip)
                .tcp(sport, 443, flags)
                .finish()
                .bytes,
            eth_key(kEthIp)};
    put_ipv4_addrs(k.key);
    put_nw(k.key, kTcp, 0, 64);
    put_ports(k.key, sport, 443);
    k.key.tcp_flags = htons(flags);
    return k;
}

Keyed udp4(std::uint16_t dport = 53)
{
    Ipv4Header ip;
    ip.proto = kUdp;
    Keyed k{FrameBuilder()
                .ethertype(kEthIp)
                .ipv4(ip)
                .udp(5353, dport)
                .finish()
                .bytes,
            eth_key(kEthIp)};
    put_ipv4_addrs(k.key);
    put_nw(k.key, kUdp, 0, 64);
    put_ports(k.key, 5353, dport);
    return k;
}

Keyed udp6()
{
    Ipv6Header ip;
    ip.next = kUdp;
    Keyed k{FrameBuilder()
                .ethertype(kEthIpv6)
                .ipv6(ip)
                .udp(546, 547)
                .finish()
                .bytes,
            eth_key(kEthIpv6)};
    put_ipv6_addrs(k.key);
    put_nw(k.key, kUdp, 0, 64);
    put_ports(k.key, 546, 547);
    return k;
}

Keyed arp()
{
    ArpHeader h;
    Keyed k{FrameBuilder().ethertype(kEthArp).arp(h).finish().bytes,
            eth_key(kEthArp)};
    put_ipv4_addrs(k.key, h.spa, h.tpa);
    std::memcpy(&k.key.addr[AFXDP_ADDR_ARP_SHA], h.sha.data(), 6);
    std::memcpy(&k.key.addr[AFXDP_ADDR_ARP_THA], h.tha.data(), 6);
    k.key.nw_proto = static_cast<std::uint8_t>(h.op);
    return k;
}

Keyed l2_only()
{
    return {FrameBuilder().ethertype(0x88b5).payload(46).finish().bytes,
            eth_key(0x88b5)};
}

// Never parsed: the parser hands IGMP to OVS.
Bytes igmp()
{
    Ipv4Header ip;
    ip.proto = kIgmp;
    Frame f = FrameBuilder().ethertype(kEthIp).ipv4(ip).finish();
    f.bytes.insert(f.bytes.end(), {0x16, 0, 0, 0, 239, 1, 2, 3});
    put16(f.bytes, f.l3 + 2, 28);
    return f.bytes;
}

// ---- Lookup -------------------------------------------------------------

class FastPathLookupTest : public FastPathTest {
protected:
    static constexpr std::uint8_t kSlotDst = 3;   // dl_type, nw_dst.
    static constexpr std::uint8_t kSlotPort = 7;  // dl_type, tp_dst.
    static constexpr std::uint32_t kMarkDst = 31;
    static constexpr std::uint32_t kMarkPort = 71;

    void SetUp() override
    {
        FastPathTest::SetUp();
        if (HasFatalFailure()) {
            return;
        }
        afxdp_flow_key m;
        std::memset(&m, 0, sizeof m);
        m.dl_type = 0xffff;
        std::memset(&m.addr[AFXDP_ADDR_IPV4_DST], 0xff, 4);
        fp_.set_mask(kSlotDst, m);
        std::memset(&m.addr[AFXDP_ADDR_IPV4_DST], 0, 4);
        m.tp_dst = 0xffff;
        fp_.set_mask(kSlotPort, m);

        // Flows that hand frames to OVS, so that the mark says which one
        // matched.
        afxdp_flow_key k = eth_key(kEthIp);
        put_ipv4_addrs(k);
        put_ports(k, 0, 53);
        fp_.put_flow(kSlotDst, k, to_ovs_flow(1, kMarkDst));
        fp_.put_flow(kSlotPort, k, to_ovs_flow(2, kMarkPort));
    }

    static Bytes udp_frame(std::uint32_t dst, std::uint16_t dport)
    {
        Ipv4Header ip;
        ip.proto = kUdp;
        ip.dst = dst;
        return FrameBuilder()
            .ethertype(kEthIp)
            .ipv4(ip)
            .udp(1111, dport)
            .finish()
            .bytes;
    }

    // The mark of the flow the frame matched, or 0 on a miss.
    std::uint32_t matched_mark(const Bytes &frame)
    {
        XdpRun r = fp_.run(frame);
        EXPECT_EQ(r.err, 0);
        EXPECT_EQ(r.verdict, XDP_PASS);
        if (!r.meta) {
            ADD_FAILURE() << "no metadata";
            return 0;
        }
        return r.meta->flags & AFXDP_XDP_META_MARK ? r.meta->flow_mark : 0;
    }
};

// Megaflows from dpif-netdev never overlap, but the lookup must still
// stop at the first hit in order: that is what makes the ranking safe.
TEST_F(FastPathLookupTest, FirstMaskInOrderWinsWhenBothMatch)
{
    const Bytes both = udp_frame(kIp4Dst, 53);
    fp_.set_order({kSlotDst, kSlotPort});
    EXPECT_EQ(matched_mark(both), kMarkDst);
    fp_.set_order({kSlotPort, kSlotDst});
    EXPECT_EQ(matched_mark(both), kMarkPort);
}

TEST_F(FastPathLookupTest, LaterMaskMatchesWhenTheFirstMisses)
{
    fp_.set_order({kSlotPort, kSlotDst});
    EXPECT_EQ(matched_mark(udp_frame(kIp4Dst, 54)), kMarkDst);
    fp_.set_order({kSlotDst, kSlotPort});
    EXPECT_EQ(matched_mark(udp_frame(kIp4Dst + 1, 53)), kMarkPort);
    EXPECT_EQ(matched_mark(udp_frame(kIp4Dst + 1, 54)), 0u);
    EXPECT_EQ(fp_.counters().to_ovs_partial, 2u);
    EXPECT_EQ(fp_.counters().to_ovs_miss, 1u);
}

TEST_F(FastPathLookupTest, NoMasksMeansMissWhateverTheFlows)
{
    fp_.set_order({});
    EXPECT_EQ(matched_mark(udp_frame(kIp4Dst, 53)), 0u);
    EXPECT_EQ(fp_.counters().to_ovs_miss, 1u);
}

// User space removes a mask by dropping it from the end of order[] and
// lowering n_masks; the slot's data stays until reused.
TEST_F(FastPathLookupTest, SlotBeyondNMasksIsNotTried)
{
    fp_.set_order({kSlotPort, kSlotDst});
    fp_.mask_table().n_masks = 1;
    EXPECT_EQ(matched_mark(udp_frame(kIp4Dst, 54)), 0u);
    EXPECT_EQ(matched_mark(udp_frame(kIp4Dst, 53)), kMarkPort);
    fp_.mask_table().n_masks = 2;
    EXPECT_EQ(matched_mark(udp_frame(kIp4Dst, 54)), kMarkDst);
}

// The map key carries the slot: the same masked key under an identical
// mask in another slot is another flow.
TEST_F(FastPathLookupTest, EqualMaskedKeysInDifferentSlotsDoNotCollide)
{
    constexpr std::uint8_t kTwin = 12;
    fp_.set_mask(kTwin, fp_.mask_table().masks[kSlotDst]);
    fp_.set_order({kTwin});
    EXPECT_EQ(matched_mark(udp_frame(kIp4Dst, 53)), 0u);
    fp_.set_order({kTwin, kSlotDst});
    EXPECT_EQ(matched_mark(udp_frame(kIp4Dst, 53)), kMarkDst);
}

// The flows map is keyed by a hash of the masked key and the entry's whole
// key decides (lookup.h): an entry found under the frame's hash that holds
// another flow's key must not match.
TEST_F(FastPathLookupTest, EntryUnderTheFramesHashWithAnotherKeyMisses)
{
    fp_.set_order({kSlotDst});
    afxdp_flow_key k = eth_key(kEthIp);
    put_ipv4_addrs(k);
    const afxdp_flow_key map_key = fp_.masked(kSlotDst, k);
    ASSERT_EQ(matched_mark(udp_frame(kIp4Dst, 53)), kMarkDst);

    afxdp_flow_entry other;
    std::memset(&other, 0, sizeof other);
    other.key = map_key;
    other.key.addr[AFXDP_ADDR_IPV4_DST + 3] ^= 1;
    other.actions = to_ovs_flow(9, 99);
    fp_.put_entry(fp_.flow_hash(map_key), other);
    EXPECT_EQ(matched_mark(udp_frame(kIp4Dst, 53)), 0u);
    EXPECT_EQ(matched_mark(udp_frame(kIp4Dst ^ 1, 53)), 0u)
        << "the entry's key matched under a hash that is not its own";
}

// ---- Metadata -----------------------------------------------------------

// bpf/flow/rx_hash.h, restated: MurmurHash3's steps over the ethertype,
// the addresses, the protocol and the ports as the key holds them.
std::uint32_t rotl32(std::uint32_t x, int r)
{
    return x << r | x >> (32 - r);
}

std::uint32_t hash_add(std::uint32_t hash, std::uint32_t data)
{
    data *= 0xcc9e2d51;
    data = rotl32(data, 15);
    data *= 0x1b873593;
    hash ^= data;
    hash = rotl32(hash, 13);
    return hash * 5 + 0xe6546b64;
}

std::uint32_t hash_finish(std::uint32_t hash)
{
    hash ^= hash >> 16;
    hash *= 0x85ebca6b;
    hash ^= hash >> 13;
    hash *= 0xc2b2ae35;
    hash ^= hash >> 16;
    return hash;
}

std::uint32_t expected_rx_hash(const afxdp_flow_key &key)
{
    std::uint32_t addr[8];
    std::memcpy(addr, key.addr, sizeof addr);
    std::uint32_t hash = ntohs(key.dl_type);
    int n_addr = 0;
    if (key.dl_type == htons(kEthIpv6)) {
        n_addr = 8;
    } else if (key.dl_type == htons(kEthIp) || key.dl_type == htons(kEthArp)) {
        n_addr = 2;
    } else {
        return hash_finish(hash);
    }
    for (int i = 0; i < n_addr; i++) {
        hash = hash_add(hash, addr[i]);
    }
    hash = hash_add(hash, key.nw_proto);
    std::uint32_t ports;
    std::memcpy(&ports, &key.tp_src, 4);
    return hash_finish(hash_add(hash, ports));
}

TEST_F(FastPathTest, MissCarriesRxHashWithoutMark)
{
    for (const Keyed &c : {tcp4(), udp6(), arp(), l2_only()}) {
        XdpRun r = fp_.run(c.frame);
        ASSERT_NO_FATAL_FAILURE(expect_miss(r, c.frame, "miss"));
        EXPECT_EQ(r.meta_len, fp_.carrier_len());
        EXPECT_EQ(r.meta->rx_hash, expected_rx_hash(c.key))
            << ::testing::PrintToString(c.key);
    }
    EXPECT_FALSE(fp_.meta_unsupported());
}

TEST_F(FastPathTest, PartialFlowCarriesHashAndMarkAndLeavesFrameAlone)
{
    const Keyed c = tcp4();
    fp_.set_mask(0, exact_mask());
    fp_.set_order({0});
    constexpr std::uint32_t kMark = 0xabcdef;
    fp_.put_flow(0, c.key, to_ovs_flow(kFlowId, kMark));

    XdpRun r = fp_.run(c.frame);
    ASSERT_EQ(r.err, 0);
    EXPECT_EQ(r.verdict, XDP_PASS);
    ASSERT_TRUE(r.meta);
    EXPECT_EQ(r.meta->flags, AFXDP_XDP_META_HASH | AFXDP_XDP_META_MARK);
    EXPECT_EQ(r.meta->flow_mark, kMark);
    EXPECT_EQ(r.meta->rx_hash, expected_rx_hash(c.key));
    EXPECT_EQ(r.frame, c.frame);
    // OVS runs and counts the flow: the fast path does not.
    EXPECT_EQ(fp_.flow_stats(kFlowId).packets, 0u);
    EXPECT_EQ(fp_.counters().to_ovs_partial, 1u);
}

TEST_F(FastPathTest, HashIsEqualForTheSameFiveTupleAndDiffersForAnother)
{
    auto hash_of = [this](const Bytes &frame) {
        XdpRun r = fp_.run(frame);
        EXPECT_TRUE(r.meta && r.meta->flags == AFXDP_XDP_META_HASH);
        return r.meta ? r.meta->rx_hash : 0;
    };
    auto tcp = [](std::uint16_t sport, std::uint8_t ttl, std::uint16_t flags,
                  std::size_t payload, const Mac &src) {
        Ipv4Header ip;
        ip.proto = kTcp;
        ip.ttl = ttl;
        return FrameBuilder(kDstMac, src)
            .ethertype(kEthIp)
            .ipv4(ip)
            .tcp(sport, 80, flags)
            .payload(payload)
            .finish()
            .bytes;
    };
    const Mac other_mac = {0x02, 1, 2, 3, 4, 5};
    const std::uint32_t h = hash_of(tcp(1000, 64, kTcpSyn, 0, kSrcMac));
    // Same addresses, protocol and ports; other TTL, flags, length, MAC.
    EXPECT_EQ(hash_of(tcp(1000, 3, kTcpAck | kTcpPsh, 100, other_mac)), h);
    // Another source port.
    EXPECT_NE(hash_of(tcp(1001, 64, kTcpSyn, 0, kSrcMac)), h);

    Ipv4Header ip;
    ip.proto = kUdp;
    EXPECT_NE(hash_of(FrameBuilder()
                          .ethertype(kEthIp)
                          .ipv4(ip)
                          .udp(1000, 80)
                          .finish()
                          .bytes),
              h)
        << "UDP with TCP's ports";
}

// Verdicts that end in the kernel carry no metadata: nothing reads it.
TEST_F(FastPathTest, HitOnDropFlowWritesNoMetadata)
{
    const Keyed c = udp4();
    fp_.set_mask(0, exact_mask());
    fp_.set_order({0});
    fp_.put_flow(0, c.key, drop_flow(kFlowId));
    XdpRun r = fp_.run(c.frame);
    ASSERT_EQ(r.err, 0);
    EXPECT_EQ(r.verdict, XDP_DROP);
    EXPECT_EQ(r.meta_len, 0u);
    EXPECT_EQ(r.frame, c.frame);
}

// ---- Counters -----------------------------------------------------------

TEST_F(FastPathTest, FlowStatsCountPacketsBytesJiffiesAndTcpFlags)
{
    // One flow for all TCP over IPv4 (dl_type and nw_proto), one for UDP
    // that must stay untouched.
    afxdp_flow_key mask;
    std::memset(&mask, 0, sizeof mask);
    mask.dl_type = 0xffff;
    mask.nw_proto = 0xff;
    fp_.set_mask(0, mask);
    fp_.set_order({0});
    fp_.put_flow(0, tcp4().key, drop_flow(kFlowId));
    fp_.put_flow(0, udp4().key, drop_flow(kFlowId + 1));

    Ipv4Header ip;
    ip.proto = kTcp;
    const Bytes syn = FrameBuilder()
                          .ethertype(kEthIp)
                          .ipv4(ip)
                          .tcp(1, 2, kTcpSyn)
                          .finish()
                          .bytes;
    const Bytes ack_psh = FrameBuilder()
                              .ethertype(kEthIp)
                              .ipv4(ip)
                              .tcp(1, 2, kTcpAck | kTcpPsh)
                              .payload(100)
                              .finish()
                              .bytes;
    constexpr std::uint32_t kSyns = 1000;
    constexpr std::uint32_t kAcks = 17;

    const std::uint64_t before = fp_.jiffies();
    XdpRun r = fp_.run(syn, kSyns);
    ASSERT_EQ(r.err, 0);
    EXPECT_EQ(r.verdict, XDP_DROP);
    r = fp_.run(ack_psh, kAcks);
    ASSERT_EQ(r.err, 0);
    EXPECT_EQ(r.verdict, XDP_DROP);
    const std::uint64_t after = fp_.jiffies();

    afxdp_flow_stats s = fp_.flow_stats(kFlowId);
    EXPECT_EQ(s.packets, kSyns + kAcks);
    EXPECT_EQ(s.bytes, kSyns * syn.size() + kAcks * ack_psh.size());
    EXPECT_NE(s.used_jiffies, 0u);
    EXPECT_GE(s.used_jiffies, before);
    EXPECT_LE(s.used_jiffies, after);
    // Network order, as the key holds them.
    EXPECT_EQ(s.tcp_flags, htons(kTcpSyn | kTcpAck | kTcpPsh));

    afxdp_flow_stats udp = fp_.flow_stats(kFlowId + 1);
    EXPECT_EQ(udp.packets, 0u);
    EXPECT_EQ(udp.used_jiffies, 0u);
    // Hits executed in XDP count nowhere else.
    afxdp_xdp_counters c = fp_.counters();
    EXPECT_EQ(c.to_ovs_miss + c.to_ovs_parse + c.to_ovs_partial +
                  c.to_ovs_action + c.to_ovs_fallback,
              0u);
}

// Each reason a frame goes to OVS, a different number of times, so that
// each counter is seen to count its own reason only.
TEST_F(FastPathTest, ProgramCountersCountEachReasonToOvs)
{
    afxdp_flow_key exact_udp_mask;
    std::memset(&exact_udp_mask, 0, sizeof exact_udp_mask);
    exact_udp_mask.dl_type = 0xffff;
    exact_udp_mask.tp_dst = 0xffff;
    fp_.set_mask(0, exact_udp_mask);
    fp_.set_order({0});

    auto udp_to = [](std::uint16_t dport, std::uint16_t frag_off) {
        Ipv4Header ip;
        ip.proto = kUdp;
        ip.frag_off = frag_off;
        return FrameBuilder()
            .ethertype(kEthIp)
            .ipv4(ip)
            .udp(1, dport)
            .finish()
            .bytes;
    };
    afxdp_flow_key k = eth_key(kEthIp);
    put_ports(k, 0, 100);
    fp_.put_flow(0, k, to_ovs_flow(1, 100));
    // An IPv4 rewrite cannot run on a fragment.
    afxdp_flow_actions set_ip = drop_flow(2);
    set_ip.flags = AFXDP_ACT_SET_IPV4;
    set_ip.l3.ipv4.ttl = 1;
    set_ip.l3.ipv4.ttl_mask = 0xff;
    put_ports(k, 0, 200);
    fp_.put_flow(0, k, set_ip);
    // An output slot without a devmap entry.
    afxdp_flow_actions out = drop_flow(3);
    out.flags = AFXDP_ACT_OUTPUT;
    out.out_slot = 9;
    put_ports(k, 0, 300);
    fp_.put_flow(0, k, out);

    const struct {
        Bytes frame;
        int times;
    } runs[] = {
        {udp_to(99, 0), 1},        // Miss.
        {igmp(), 2},               // Parse.
        {udp_to(100, 0), 3},       // Partial.
        {udp_to(200, 0x2000), 4},  // Action: a first fragment.
        {udp_to(300, 0), 5},       // Fallback.
    };
    for (const auto &run : runs) {
        for (int i = 0; i < run.times; i++) {
            XdpRun r = fp_.run(run.frame);
            ASSERT_EQ(r.err, 0);
            EXPECT_EQ(r.verdict, XDP_PASS);
        }
    }
    afxdp_xdp_counters c = fp_.counters();
    EXPECT_EQ(c.to_ovs_miss, 1u);
    EXPECT_EQ(c.to_ovs_parse, 2u);
    EXPECT_EQ(c.to_ovs_partial, 3u);
    EXPECT_EQ(c.to_ovs_action, 4u);
    EXPECT_EQ(c.to_ovs_fallback, 5u);
    EXPECT_EQ(c.meta_failed, 0u);
    EXPECT_EQ(c.action_failed, 0u);
    // Frames handed to OVS are OVS's to count.
    for (std::uint32_t id = 1; id <= 3; id++) {
        EXPECT_EQ(fp_.flow_stats(id).packets, 0u) << "flow " << id;
    }
}

}  // namespace
}  // namespace afxdp::test
