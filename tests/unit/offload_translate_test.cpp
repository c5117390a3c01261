// translate_match and translate_actions: where every megaflow field lands
// in the fast path's key, which matches are refused (and why), which
// action lists run entirely in XDP and which only partially.
#include "netdev-afxdp/offload/translate.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "tests/unit/offload_builders.h"

namespace afxdp::offload {
namespace {

using test::eth_match;
using test::ip4_match;
using test::kEthArp;
using test::kEthIp;
using test::kEthIpv6;
using test::kEthRarp;
using test::kVlanCfi;

const uint8_t *bytes(const afxdp_flow_key &k)
{
    return reinterpret_cast<const uint8_t *>(&k);
}

// The bytes of 'k' outside [off, off + n) ranges listed in 'used' are zero:
// translate leaves nothing behind that it was not asked to match.
void expect_zero_except(const afxdp_flow_key &k,
                        const std::vector<std::pair<size_t, size_t>> &used)
{
    for (size_t i = 0; i < sizeof k; i++) {
        bool in_used = false;
        for (const auto &[off, n] : used) {
            in_used = in_used || (i >= off && i < off + n);
        }
        if (!in_used) {
            EXPECT_EQ(bytes(k)[i], 0) << "key byte " << i;
        }
    }
}

std::string refusal(const afxdp_flow_match &m)
{
    auto r = translate_match(m);
    EXPECT_FALSE(r.ok());
    if (r.ok()) {
        return "";
    }
    EXPECT_EQ(r.error().code, EOPNOTSUPP);
    EXPECT_FALSE(r.error().message.empty());
    return r.error().message;
}

// ---- translate_match: where the fields go --------------------------------

TEST(TranslateMatch, Ipv4FieldsLandInTheirKeyBytes)
{
    afxdp_flow_match m = eth_match(kEthIp);
    afxdp_flow_fields &v = m.value;
    afxdp_flow_fields &k = m.mask;
    const uint8_t dst[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
    const uint8_t src[6] = {0x02, 0x66, 0x77, 0x88, 0x99, 0xaa};
    std::memcpy(v.dl_dst, dst, 6);
    std::memset(k.dl_dst, 0xff, 6);
    std::memcpy(v.dl_src, src, 6);
    std::memset(k.dl_src, 0xff, 6);
    v.vlan_tci = htons(kVlanCfi | 100);
    k.vlan_tci = 0xffff;
    v.vlan_tpid = htons(0x8100);
    k.vlan_tpid = 0xffff;
    v.nw_src = htonl(0x0a000001);
    k.nw_src = UINT32_MAX;
    v.nw_dst = htonl(0xc0a80102);
    k.nw_dst = UINT32_MAX;
    v.nw_frag = AFXDP_NW_FRAG_ANY;
    k.nw_frag = 0xff;
    v.nw_tos = 0x2c;
    k.nw_tos = 0xff;
    v.nw_ttl = 63;
    k.nw_ttl = 0xff;
    v.nw_proto = 6;
    k.nw_proto = 0xff;
    v.tp_src = htons(40000);
    k.tp_src = 0xffff;
    v.tp_dst = htons(443);
    k.tp_dst = 0xffff;
    v.tcp_flags = htons(0x012);
    k.tcp_flags = htons(0x0fff);

    auto r = translate_match(m);
    ASSERT_TRUE(r.ok()) << r.error().message;
    const afxdp_flow_key &key = r.value().key;
    const afxdp_flow_key &mask = r.value().mask;

    EXPECT_EQ(key.mask_id, 0);  // The table sets it.
    EXPECT_EQ(key.nw_frag, AFXDP_NW_FRAG_ANY);
    EXPECT_EQ(key.nw_tos, 0x2c);
    EXPECT_EQ(key.nw_ttl, 63);
    EXPECT_EQ(key.nw_proto, 6);
    EXPECT_EQ(key.dl_type, htons(kEthIp));
    EXPECT_EQ(key.vlan_tci, htons(kVlanCfi | 100));
    EXPECT_EQ(key.vlan_tpid, htons(0x8100));
    EXPECT_EQ(key.tp_src, htons(40000));
    EXPECT_EQ(key.tp_dst, htons(443));
    EXPECT_EQ(0, std::memcmp(key.dl_dst, dst, 6));
    EXPECT_EQ(0, std::memcmp(key.dl_src, src, 6));
    EXPECT_EQ(key.tcp_flags, htons(0x012));
    // IPv4 source and destination at 'addr' bytes 0 and 4, network order.
    const uint8_t addr[8] = {10, 0, 0, 1, 192, 168, 1, 2};
    EXPECT_EQ(0, std::memcmp(key.addr, addr, 8));
    EXPECT_EQ(key.ipv6_label, 0u);

    EXPECT_EQ(mask.mask_id, 0);
    EXPECT_EQ(mask.dl_type, 0xffff);
    EXPECT_EQ(mask.tcp_flags, htons(0x0fff));
    for (int i = 0; i < 8; i++) {
        EXPECT_EQ(mask.addr[i], 0xff) << i;
    }
    // Nothing else: no padding, no bytes of other packet types' fields.
    const std::vector<std::pair<size_t, size_t>> used = {
        {offsetof(afxdp_flow_key, nw_frag), 4},
        {offsetof(afxdp_flow_key, dl_type), 2},
        {offsetof(afxdp_flow_key, vlan_tci), 8},
        {offsetof(afxdp_flow_key, dl_dst), 14},
        {offsetof(afxdp_flow_key, addr), 8}};
    expect_zero_except(key, used);
    expect_zero_except(mask, used);
}

TEST(TranslateMatch, ArpAddressesShareTheAddrBytes)
{
    afxdp_flow_match m = eth_match(kEthArp);
    m.value.nw_src = htonl(0x0a000001);
    m.mask.nw_src = UINT32_MAX;
    m.value.nw_dst = htonl(0x0a000002);
    m.mask.nw_dst = UINT32_MAX;
    m.value.nw_proto = 1;  // ARP request: the opcode's low byte.
    m.mask.nw_proto = 0xff;
    const uint8_t sha[6] = {0x02, 1, 2, 3, 4, 5};
    const uint8_t tha[6] = {0x02, 6, 7, 8, 9, 10};
    std::memcpy(m.value.arp_sha, sha, 6);
    std::memset(m.mask.arp_sha, 0xff, 6);
    std::memcpy(m.value.arp_tha, tha, 6);
    std::memset(m.mask.arp_tha, 0xff, 6);

    auto r = translate_match(m);
    ASSERT_TRUE(r.ok()) << r.error().message;
    const afxdp_flow_key &key = r.value().key;
    // spa, tpa at 0 and 4, sha at 8, tha at 14.
    const uint8_t addr[20] = {10, 0, 0, 1, 10,   0, 0, 2, 0x02, 1,
                              2,  3, 4, 5, 0x02, 6, 7, 8, 9,    10};
    EXPECT_EQ(0, std::memcmp(key.addr, addr, sizeof addr));
    for (size_t i = sizeof addr; i < sizeof key.addr; i++) {
        EXPECT_EQ(key.addr[i], 0) << i;
    }
    for (size_t i = 0; i < sizeof key.addr; i++) {
        EXPECT_EQ(r.value().mask.addr[i], i < 20 ? 0xff : 0) << i;
    }
    EXPECT_EQ(key.nw_proto, 1);

    // RARP carries the same fields in OVS.
    m.value.dl_type = htons(kEthRarp);
    auto rarp = translate_match(m);
    ASSERT_TRUE(rarp.ok()) << rarp.error().message;
    EXPECT_EQ(0, std::memcmp(rarp.value().key.addr, addr, sizeof addr));
}

TEST(TranslateMatch, Ipv6AddressesAndLabelLandInTheirKeyBytes)
{
    afxdp_flow_match m = eth_match(kEthIpv6);
    for (int i = 0; i < 16; i++) {
        m.value.ipv6_src[i] = uint8_t(0x20 + i);
        m.value.ipv6_dst[i] = uint8_t(0x40 + i);
    }
    std::memset(m.mask.ipv6_src, 0xff, 16);
    std::memset(m.mask.ipv6_dst, 0xff, 16);
    m.value.ipv6_label = htonl(0x12345);
    m.mask.ipv6_label = htonl(0xfffff);

    auto r = translate_match(m);
    ASSERT_TRUE(r.ok()) << r.error().message;
    const afxdp_flow_key &key = r.value().key;
    for (int i = 0; i < 16; i++) {
        EXPECT_EQ(key.addr[i], 0x20 + i) << i;       // src at 0.
        EXPECT_EQ(key.addr[16 + i], 0x40 + i) << i;  // dst at 16.
        EXPECT_EQ(r.value().mask.addr[i], 0xff);
        EXPECT_EQ(r.value().mask.addr[16 + i], 0xff);
    }
    EXPECT_EQ(key.ipv6_label, htonl(0x12345));
    EXPECT_EQ(r.value().mask.ipv6_label, htonl(0xfffff));
}

// Every value is ANDed with its mask, so that the key equals what the
// program computes from a frame (key & mask) for every frame the flow
// matches.
TEST(TranslateMatch, ValuesArePreMasked)
{
    afxdp_flow_match m = eth_match(kEthArp);
    afxdp_flow_fields &v = m.value;
    afxdp_flow_fields &k = m.mask;
    std::memset(v.dl_dst, 0xab, 6);
    std::memset(k.dl_dst, 0x0f, 6);
    std::memset(v.dl_src, 0xab, 6);
    std::memset(k.dl_src, 0xf0, 6);
    v.vlan_tci = 0xabab;
    k.vlan_tci = htons(0x0fff);
    v.nw_src = htonl(0x0a010203);
    k.nw_src = htonl(0xffff0000);
    v.nw_dst = htonl(0x0a010203);
    k.nw_dst = htonl(0xffffff00);
    v.nw_proto = 0xab;
    k.nw_proto = 0x0f;
    v.tp_src = 0xabab;
    k.tp_src = htons(0xff00);
    std::memset(v.arp_sha, 0xab, 6);
    std::memset(k.arp_sha, 0x0f, 6);
    std::memset(v.arp_tha, 0xab, 6);
    std::memset(k.arp_tha, 0xf0, 6);

    auto r = translate_match(m);
    ASSERT_TRUE(r.ok()) << r.error().message;
    const afxdp_flow_key &key = r.value().key;
    for (int i = 0; i < 6; i++) {
        EXPECT_EQ(key.dl_dst[i], 0x0b);
        EXPECT_EQ(key.dl_src[i], 0xa0);
        EXPECT_EQ(key.addr[AFXDP_ADDR_ARP_SHA + i], 0x0b);
        EXPECT_EQ(key.addr[AFXDP_ADDR_ARP_THA + i], 0xa0);
    }
    EXPECT_EQ(key.vlan_tci, htons(0x0bab));
    EXPECT_EQ(key.nw_proto, 0x0b);
    EXPECT_EQ(key.tp_src, htons(0xab00));
    const uint8_t addr[8] = {10, 1, 0, 0, 10, 1, 2, 0};
    EXPECT_EQ(0, std::memcmp(key.addr, addr, 8));
    // The mask is OVS's mask, unchanged.
    const uint8_t src_mask[4] = {0xff, 0xff, 0, 0};
    EXPECT_EQ(0, std::memcmp(r.value().mask.addr, src_mask, 4));
    EXPECT_EQ(r.value().mask.vlan_tci, htons(0x0fff));
}

// ---- translate_match: refusals -------------------------------------------

TEST(TranslateMatch, RefusesAnotherMatchedField)
{
    afxdp_flow_match m = eth_match(kEthIp);
    m.other_field = "ct_state";
    EXPECT_NE(refusal(m).find("ct_state"), std::string::npos);
}

TEST(TranslateMatch, RefusesInPortNotExact)
{
    afxdp_flow_match m = eth_match(kEthIp);
    m.mask.in_port = 0;
    EXPECT_NE(refusal(m).find("in_port"), std::string::npos);
    m.mask.in_port = 0xffff;
    EXPECT_NE(refusal(m).find("in_port"), std::string::npos);
}

TEST(TranslateMatch, RecircIdZeroOnlyUnderItsMask)
{
    afxdp_flow_match m = eth_match(kEthIp);
    EXPECT_TRUE(translate_match(m).ok());  // 0, exact.
    m.value.recirc_id = 5;
    EXPECT_NE(refusal(m).find("recirc_id"), std::string::npos);
    m.mask.recirc_id = 0x2;  // 5 & 2 == 0: only recirc_id 0 qualifies.
    EXPECT_TRUE(translate_match(m).ok());
    m.mask.recirc_id = 0x4;  // 5 & 4 != 0.
    EXPECT_NE(refusal(m).find("recirc_id"), std::string::npos);
    m.mask.recirc_id = 0;  // Wildcarded: frames from the wire qualify.
    EXPECT_TRUE(translate_match(m).ok());
}

TEST(TranslateMatch, RefusesPacketTypeOtherThanEthernet)
{
    afxdp_flow_match m = eth_match(kEthIp);
    m.value.packet_type = htonl(0x00010800);  // PT_IPV4: (1, 0x0800).
    EXPECT_NE(refusal(m).find("packet_type"), std::string::npos);
    m.mask.packet_type = 0;  // Wildcarded: fine, XDP sees Ethernet only.
    EXPECT_TRUE(translate_match(m).ok());
}

TEST(TranslateMatch, RefusesNwAddressesWithoutIpv4OrArpType)
{
    for (bool dst : {false, true}) {
        SCOPED_TRACE(dst ? "nw_dst" : "nw_src");
        afxdp_flow_match m = eth_match(kEthIpv6);
        (dst ? m.value.nw_dst : m.value.nw_src) = htonl(0x0a000001);
        (dst ? m.mask.nw_dst : m.mask.nw_src) = UINT32_MAX;
        EXPECT_NE(refusal(m).find("nw_src/nw_dst"), std::string::npos);
        // dl_type IPv4, but not exact: an IPv6 frame could match.
        m.value.dl_type = htons(kEthIp);
        m.mask.dl_type = htons(0xff00);
        EXPECT_NE(refusal(m).find("nw_src/nw_dst"), std::string::npos);
        m.mask.dl_type = 0;
        refusal(m);
        m.mask.dl_type = 0xffff;
        EXPECT_TRUE(translate_match(m).ok());
    }
}

TEST(TranslateMatch, RefusesIpv6AddressesWithoutIpv6Type)
{
    for (bool dst : {false, true}) {
        SCOPED_TRACE(dst ? "ipv6_dst" : "ipv6_src");
        afxdp_flow_match m = eth_match(kEthIp);
        (dst ? m.mask.ipv6_dst : m.mask.ipv6_src)[15] = 0x01;
        EXPECT_NE(refusal(m).find("ipv6"), std::string::npos);
        m.value.dl_type = htons(kEthIpv6);
        m.mask.dl_type = htons(0x00ff);
        refusal(m);
        m.mask.dl_type = 0xffff;
        EXPECT_TRUE(translate_match(m).ok());
    }
}

TEST(TranslateMatch, RefusesArpHardwareAddressesWithoutArpType)
{
    for (bool tha : {false, true}) {
        SCOPED_TRACE(tha ? "arp_tha" : "arp_sha");
        for (uint16_t type : {kEthIp, kEthIpv6}) {
            // With IPv6, OVS fills them from neighbour discovery.
            afxdp_flow_match m = eth_match(type);
            (tha ? m.mask.arp_tha : m.mask.arp_sha)[0] = 0xff;
            EXPECT_NE(refusal(m).find("arp_sha/arp_tha"), std::string::npos);
        }
        afxdp_flow_match m = eth_match(kEthArp);
        (tha ? m.mask.arp_tha : m.mask.arp_sha)[0] = 0xff;
        m.mask.dl_type = htons(0xfff0);
        refusal(m);
        m.mask.dl_type = 0xffff;
        EXPECT_TRUE(translate_match(m).ok());
    }
}

// ---- translate_actions: full offload ---------------------------------------

TranslatedActions translate(const afxdp_flow_match &m,
                            const std::vector<afxdp_flow_action> &acts)
{
    return translate_actions(m, acts.data(), acts.size());
}

void expect_full(const TranslatedActions &t)
{
    EXPECT_EQ(t.kind, AFXDP_OFFLOAD_FULL) << t.partial_reason;
    EXPECT_TRUE(t.partial_reason.empty()) << t.partial_reason;
    EXPECT_FALSE(t.actions.flags & AFXDP_ACT_TO_OVS);
}

template <typename T>
bool zero_bytes(const T &x)
{
    const auto *p = reinterpret_cast<const uint8_t *>(&x);
    return std::all_of(p, p + sizeof x, [](uint8_t b) { return b == 0; });
}

// A partial result tells the program nothing but "hand it to OVS": no
// stage of a list that cannot run whole may run.
std::string expect_partial(const TranslatedActions &t)
{
    EXPECT_EQ(t.kind, AFXDP_OFFLOAD_PARTIAL);
    EXPECT_FALSE(t.partial_reason.empty());
    const afxdp_flow_actions &a = t.actions;
    EXPECT_EQ(a.flags, AFXDP_ACT_TO_OVS);
    EXPECT_EQ(a.flow_id, 0u);
    EXPECT_EQ(a.mark, 0u);
    EXPECT_EQ(a.out_slot, 0);
    EXPECT_EQ(a.push_tpid, 0);
    EXPECT_EQ(a.push_tci, 0);
    EXPECT_EQ(a.tp_proto, 0);
    EXPECT_TRUE(zero_bytes(a.eth));
    EXPECT_TRUE(zero_bytes(a.tp));
    EXPECT_TRUE(zero_bytes(a.l3.ipv6));  // The larger of the union.
    EXPECT_EQ(t.output, nullptr);
    EXPECT_EQ(t.tx_bytes_delta, 0);
    return t.partial_reason;
}

afxdp_flow_action act(afxdp_flow_action_type type)
{
    return test::simple_action(type);
}

TEST(TranslateActions, OutputToAnAfxdpPortIsFull)
{
    auto t =
        translate(ip4_match(17), {test::output_action(test::fake_port(1), 4)});
    expect_full(t);
    EXPECT_EQ(t.actions.flags, AFXDP_ACT_OUTPUT);
    EXPECT_EQ(t.output, test::fake_port(1));
    EXPECT_EQ(t.tx_bytes_delta, 0);
}

TEST(TranslateActions, EmptyListAndExplicitDropAreFullDrops)
{
    for (const auto &acts :
         {std::vector<afxdp_flow_action>{},
          std::vector<afxdp_flow_action>{act(AFXDP_FLOW_ACTION_DROP)}}) {
        auto t = translate(ip4_match(17), acts);
        expect_full(t);
        // No stage and no output: the program drops the frame.
        EXPECT_EQ(t.actions.flags, 0);
        EXPECT_EQ(t.output, nullptr);
    }
}

TEST(TranslateActions, EthernetRewriteIsFullAndPreMasked)
{
    afxdp_flow_action a = act(AFXDP_FLOW_ACTION_SET_ETH);
    std::memset(a.eth.src, 0xab, 6);
    std::memset(a.eth.src_mask, 0x0f, 6);
    std::memset(a.eth.dst, 0xcd, 6);
    std::memset(a.eth.dst_mask, 0xff, 6);
    auto t = translate(eth_match(kEthArp), {a});
    expect_full(t);
    EXPECT_EQ(t.actions.flags, AFXDP_ACT_SET_ETH);
    for (int i = 0; i < 6; i++) {
        EXPECT_EQ(t.actions.eth.src[i], 0x0b);
        EXPECT_EQ(t.actions.eth.src_mask[i], 0x0f);
        EXPECT_EQ(t.actions.eth.dst[i], 0xcd);
        EXPECT_EQ(t.actions.eth.dst_mask[i], 0xff);
    }
}

TEST(TranslateActions, Ipv4RewriteIsFullAndPreMasked)
{
    afxdp_flow_action a = act(AFXDP_FLOW_ACTION_SET_IPV4);
    a.ipv4.src = htonl(0x0a0000ff);
    a.ipv4.src_mask = htonl(0xffffff00);
    a.ipv4.dst = htonl(0x0b000001);
    a.ipv4.dst_mask = UINT32_MAX;
    a.ipv4.tos = 0xff;
    a.ipv4.tos_mask = 0xfc;  // DSCP only.
    a.ipv4.ttl = 9;
    a.ipv4.ttl_mask = 0xff;
    auto t = translate(ip4_match(6), {a});
    expect_full(t);
    EXPECT_EQ(t.actions.flags, AFXDP_ACT_SET_IPV4);
    EXPECT_EQ(t.actions.l3.ipv4.src, htonl(0x0a000000));
    EXPECT_EQ(t.actions.l3.ipv4.src_mask, htonl(0xffffff00));
    EXPECT_EQ(t.actions.l3.ipv4.dst, htonl(0x0b000001));
    EXPECT_EQ(t.actions.l3.ipv4.tos, 0xfc);
    EXPECT_EQ(t.actions.l3.ipv4.tos_mask, 0xfc);
    EXPECT_EQ(t.actions.l3.ipv4.ttl, 9);
}

TEST(TranslateActions, Ipv6RewriteIsFullWithATwentyBitLabel)
{
    afxdp_flow_action a = act(AFXDP_FLOW_ACTION_SET_IPV6);
    std::memset(a.ipv6.dst, 0xee, 16);
    std::memset(a.ipv6.dst_mask, 0xff, 16);
    a.ipv6.label = UINT32_MAX;
    a.ipv6.label_mask = UINT32_MAX;  // Bits above the 20 are not the label.
    a.ipv6.hlimit = 5;
    a.ipv6.hlimit_mask = 0xff;
    auto t = translate(eth_match(kEthIpv6), {a});
    expect_full(t);
    EXPECT_EQ(t.actions.flags, AFXDP_ACT_SET_IPV6);
    EXPECT_EQ(t.actions.l3.ipv6.dst[0], 0xee);
    EXPECT_EQ(t.actions.l3.ipv6.src_mask[0], 0);
    EXPECT_EQ(t.actions.l3.ipv6.label, htonl(0xfffff));
    EXPECT_EQ(t.actions.l3.ipv6.label_mask, htonl(0xfffff));
    EXPECT_EQ(t.actions.l3.ipv6.hlimit, 5);
}

TEST(TranslateActions, PortRewritesAreFullForTheirProtocol)
{
    for (auto [type, proto] :
         {std::pair{AFXDP_FLOW_ACTION_SET_TCP, uint8_t(6)},
          std::pair{AFXDP_FLOW_ACTION_SET_UDP, uint8_t(17)}}) {
        afxdp_flow_action a = act(type);
        a.tp.src = htons(0x1234);
        a.tp.src_mask = htons(0xff00);
        a.tp.dst = htons(8080);
        a.tp.dst_mask = 0xffff;
        auto t = translate(ip4_match(proto), {a});
        expect_full(t);
        EXPECT_EQ(t.actions.flags, AFXDP_ACT_SET_TP);
        EXPECT_EQ(t.actions.tp_proto, proto);
        EXPECT_EQ(t.actions.tp.src, htons(0x1200));
        EXPECT_EQ(t.actions.tp.dst, htons(8080));

        afxdp_flow_match v6 = eth_match(kEthIpv6);
        v6.value.nw_proto = proto;
        v6.mask.nw_proto = 0xff;
        expect_full(translate(v6, {a}));
    }
}

TEST(TranslateActions, PushVlanAddsFourBytesWithoutOvsPresenceBit)
{
    auto t =
        translate(ip4_match(17), {test::push_vlan_action(100, 0x88a8),
                                  test::output_action(test::fake_port(2), 5)});
    expect_full(t);
    EXPECT_EQ(t.actions.flags, AFXDP_ACT_PUSH_VLAN | AFXDP_ACT_OUTPUT);
    EXPECT_EQ(t.actions.push_tpid, htons(0x88a8));
    EXPECT_EQ(t.actions.push_tci, htons(100));  // eth_push_vlan() drops CFI.
    EXPECT_EQ(t.tx_bytes_delta, 4);
}

TEST(TranslateActions, PopVlanOfATaggedFlowRemovesFourBytes)
{
    afxdp_flow_match m = ip4_match(17);
    m.value.vlan_tci = htons(kVlanCfi | 7);
    m.mask.vlan_tci = 0xffff;
    auto t = translate(m, {act(AFXDP_FLOW_ACTION_POP_VLAN),
                           test::output_action(test::fake_port(2), 5)});
    expect_full(t);
    EXPECT_EQ(t.actions.flags, AFXDP_ACT_POP_VLAN | AFXDP_ACT_OUTPUT);
    EXPECT_EQ(t.tx_bytes_delta, -4);
}

TEST(TranslateActions, PopVlanOfAnUntaggedFlowChangesNothing)
{
    // OVS's "no tag" match: the CFI bit masked, clear.
    afxdp_flow_match m = ip4_match(17);
    m.mask.vlan_tci = htons(kVlanCfi);
    auto t = translate(m, {act(AFXDP_FLOW_ACTION_POP_VLAN)});
    expect_full(t);
    EXPECT_EQ(t.actions.flags, AFXDP_ACT_POP_VLAN);
    EXPECT_EQ(t.tx_bytes_delta, 0);
}

TEST(TranslateActions, EveryStageOnceThenOutputIsFull)
{
    afxdp_flow_match m = ip4_match(6);
    m.value.vlan_tci = htons(kVlanCfi | 7);
    m.mask.vlan_tci = 0xffff;
    const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
    afxdp_flow_action ip = act(AFXDP_FLOW_ACTION_SET_IPV4);
    ip.ipv4.ttl_mask = 0xff;
    afxdp_flow_action tcp = act(AFXDP_FLOW_ACTION_SET_TCP);
    tcp.tp.dst_mask = 0xffff;
    auto t = translate(m, {test::set_eth_action(mac), ip, tcp,
                           act(AFXDP_FLOW_ACTION_POP_VLAN),
                           test::push_vlan_action(9),
                           test::output_action(test::fake_port(3), 6)});
    expect_full(t);
    EXPECT_EQ(t.actions.flags, AFXDP_ACT_SET_ETH | AFXDP_ACT_SET_IPV4 |
                                   AFXDP_ACT_SET_TP | AFXDP_ACT_POP_VLAN |
                                   AFXDP_ACT_PUSH_VLAN | AFXDP_ACT_OUTPUT);
    EXPECT_EQ(t.tx_bytes_delta, 0);  // -4 + 4.
}

// ---- translate_actions: partial offload -------------------------------------

TEST(TranslateActions, OutputToANonAfxdpPortIsPartial)
{
    auto t = translate(ip4_match(17), {test::output_action(nullptr, 42)});
    EXPECT_NE(expect_partial(t).find("port 42"), std::string::npos);
}

TEST(TranslateActions, TwoOutputsArePartial)
{
    auto t =
        translate(ip4_match(17), {test::output_action(test::fake_port(1), 4),
                                  test::output_action(test::fake_port(2), 5)});
    EXPECT_NE(expect_partial(t).find("more than one output"),
              std::string::npos);
}

TEST(TranslateActions, AnythingAfterAnOutputIsPartial)
{
    const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
    afxdp_flow_match tagged = ip4_match(17);
    tagged.value.vlan_tci = htons(kVlanCfi | 7);
    tagged.mask.vlan_tci = 0xffff;
    for (const afxdp_flow_action &after :
         {test::set_eth_action(mac), test::push_vlan_action(3),
          act(AFXDP_FLOW_ACTION_POP_VLAN), act(AFXDP_FLOW_ACTION_DROP)}) {
        SCOPED_TRACE(after.type);
        auto t = translate(tagged,
                           {test::output_action(test::fake_port(1), 4), after});
        EXPECT_NE(expect_partial(t).find("after an output"), std::string::npos);
    }
}

TEST(TranslateActions, AnActionAfterADropIsPartial)
{
    const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
    afxdp_flow_match tagged = ip4_match(17);
    tagged.value.vlan_tci = htons(kVlanCfi | 7);
    tagged.mask.vlan_tci = 0xffff;
    for (const afxdp_flow_action &after :
         {test::output_action(test::fake_port(1), 4), test::set_eth_action(mac),
          test::push_vlan_action(3), act(AFXDP_FLOW_ACTION_POP_VLAN)}) {
        SCOPED_TRACE(after.type);
        auto t = translate(tagged, {act(AFXDP_FLOW_ACTION_DROP), after});
        EXPECT_NE(expect_partial(t).find("after a drop"), std::string::npos);
    }
}

TEST(TranslateActions, OtherActionIsPartialAndNamed)
{
    auto t =
        translate(ip4_match(17), {test::other_action("ct"),
                                  test::output_action(test::fake_port(1), 4)});
    EXPECT_NE(expect_partial(t).find("ct"), std::string::npos);
    expect_partial(translate(ip4_match(17), {test::other_action(nullptr)}));
}

TEST(TranslateActions, SecondRewriteOfAHeaderIsPartial)
{
    const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
    EXPECT_NE(
        expect_partial(translate(ip4_match(6), {test::set_eth_action(mac),
                                                test::set_eth_action(mac)}))
            .find("a second Ethernet rewrite"),
        std::string::npos);
    afxdp_flow_action ip = act(AFXDP_FLOW_ACTION_SET_IPV4);
    EXPECT_NE(expect_partial(translate(ip4_match(6), {ip, ip}))
                  .find("a second IPv4 rewrite"),
              std::string::npos);
    afxdp_flow_action tcp = act(AFXDP_FLOW_ACTION_SET_TCP);
    EXPECT_NE(expect_partial(translate(ip4_match(6), {tcp, tcp}))
                  .find("a second TCP rewrite"),
              std::string::npos);
    expect_partial(translate(
        ip4_match(6), {test::push_vlan_action(1), test::push_vlan_action(2)}));
}

TEST(TranslateActions, Ipv4RewriteWithoutIpv4MatchIsPartial)
{
    afxdp_flow_action ip = act(AFXDP_FLOW_ACTION_SET_IPV4);
    afxdp_flow_match v6 = eth_match(kEthIpv6);
    EXPECT_NE(expect_partial(translate(v6, {ip})).find("does not match IPv4"),
              std::string::npos);
    afxdp_flow_match loose = ip4_match(6);
    loose.mask.dl_type = htons(0xff00);  // Not exact.
    expect_partial(translate(loose, {ip}));
    afxdp_flow_action ip6 = act(AFXDP_FLOW_ACTION_SET_IPV6);
    expect_partial(translate(ip4_match(6), {ip6}));
}

TEST(TranslateActions, TcpRewriteWithoutTcpMatchIsPartial)
{
    afxdp_flow_action tcp = act(AFXDP_FLOW_ACTION_SET_TCP);
    afxdp_flow_match m = ip4_match(6);
    m.mask.nw_proto = 0;  // Protocol wildcarded.
    EXPECT_NE(expect_partial(translate(m, {tcp})).find("TCP rewrite"),
              std::string::npos);
    m.mask.nw_proto = 0xfe;
    expect_partial(translate(m, {tcp}));
    expect_partial(translate(ip4_match(17), {tcp}));  // UDP.
    afxdp_flow_action udp = act(AFXDP_FLOW_ACTION_SET_UDP);
    expect_partial(translate(ip4_match(6), {udp}));
    // Protocol 6 in an ARP flow is an opcode, not TCP.
    afxdp_flow_match arp = eth_match(kEthArp);
    arp.value.nw_proto = 6;
    arp.mask.nw_proto = 0xff;
    expect_partial(translate(arp, {tcp}));
}

TEST(TranslateActions, PopAfterPushIsPartial)
{
    afxdp_flow_match m = ip4_match(17);
    m.mask.vlan_tci = htons(kVlanCfi);
    auto t = translate(
        m, {test::push_vlan_action(5), act(AFXDP_FLOW_ACTION_POP_VLAN)});
    EXPECT_NE(expect_partial(t).find("pop after a push"), std::string::npos);
}

TEST(TranslateActions, PopWithoutTagPresenceMatchedIsPartial)
{
    afxdp_flow_match m = ip4_match(17);
    m.value.vlan_tci = htons(7);
    m.mask.vlan_tci = htons(0x0fff);  // VID matched, CFI bit not.
    auto t = translate(m, {act(AFXDP_FLOW_ACTION_POP_VLAN)});
    EXPECT_NE(expect_partial(t).find("tag's presence"), std::string::npos);
}

}  // namespace
}  // namespace afxdp::offload
