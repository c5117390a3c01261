/*
 * The XDP fast path's parser (bpf/flow/parse.h) run with BPF_PROG_RUN on
 * crafted frames (bpf/xsk_redirect.bpf.c with cfg_fast_path and
 * cfg_rx_hash; see fast_path_fixture.h).
 *
 * The parser's promise is exactness: every field of struct afxdp_flow_key
 * holds what OVS 3.1's miniflow_extract() (lib/flow.c) gives the same
 * frame, and a frame OVS would parse in a way the key cannot express never
 * matches a flow at all.  So each parse case states the key OVS would
 * extract, with the reason from lib/flow.c, and installs it under an exact
 * mask (every field, not only the ones the frame has: fields OVS leaves
 * zero must be zero) as a drop flow: the frame must hit it, and must miss
 * each copy of it with one bit flipped.  Each punt case puts a catch-all
 * flow in place that the frame must still not reach.
 *
 * Lookup, metadata and counters are in fast_path_test.cpp, the actions in
 * fast_path_actions_test.cpp.
 */
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <ostream>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <linux/bpf.h>

#include <gtest/gtest.h>

#include "fast_path_fixture.h"
#include "frame_builder.h"

namespace afxdp::test {
namespace {

// AFXDP_IPV6_MAX_EXT of bpf/flow/parse.h, which is BPF-only: the
// extension headers the parser follows.  If it changes, the two cases that
// use this fail until it is changed here too.
constexpr int kIpv6MaxExt = 6;

constexpr std::uint32_t kFlowId = 7;

// ---- Parse cases --------------------------------------------------------

struct ParseCase {
    Frame frame;
    afxdp_flow_key key;
};

ParseCase ipv4_tcp()
{
    // nw_tos is the whole TOS byte (DSCP and ECN), nw_ttl the TTL; DF alone
    // is not a fragment (IP_IS_FRAGMENT() tests MF and the offset only);
    // tcp_flags is TCP_FLAGS_BE16(): the 12 bits below the data offset;
    // ipv6_label is pushed as 0 for IPv4 and vlan_tci stays 0 untagged.
    Ipv4Header ip;
    ip.proto = kTcp;
    ip.tos = 0xb9;
    ip.ttl = 61;
    ip.frag_off = 0x4000;  // DF.
    Frame f = FrameBuilder()
                  .ethertype(kEthIp)
                  .ipv4(ip)
                  .tcp(40000, 443, kTcpSyn | kTcpAck)
                  .payload(10)
                  .finish();
    afxdp_flow_key k = eth_key(kEthIp);
    put_ipv4_addrs(k);
    put_nw(k, kTcp, 0xb9, 61);
    put_ports(k, 40000, 443);
    k.tcp_flags = htons(kTcpSyn | kTcpAck);
    return {f, k};
}

ParseCase ipv4_udp()
{
    // UDP: ports once 8 bytes are there; tcp_flags stays 0.
    Ipv4Header ip;
    ip.proto = kUdp;
    Frame f = FrameBuilder()
                  .ethertype(kEthIp)
                  .ipv4(ip)
                  .udp(5353, 53)
                  .payload(20)
                  .finish();
    afxdp_flow_key k = eth_key(kEthIp);
    put_ipv4_addrs(k);
    put_nw(k, kUdp, 0, 64);
    put_ports(k, 5353, 53);
    return {f, k};
}

ParseCase ipv4_sctp()
{
    // SCTP: ports once SCTP_HEADER_LEN (12) bytes are there.
    Ipv4Header ip;
    ip.proto = kSctp;
    Frame f = FrameBuilder()
                  .ethertype(kEthIp)
                  .ipv4(ip)
                  .sctp(2905, 36412)
                  .payload(16)
                  .finish();
    afxdp_flow_key k = eth_key(kEthIp);
    put_ipv4_addrs(k);
    put_nw(k, kSctp, 0, 64);
    put_ports(k, 2905, 36412);
    return {f, k};
}

ParseCase ipv4_icmp()
{
    // ICMP: tp_src = htons(type), tp_dst = htons(code) once
    // ICMP_HEADER_LEN (8) bytes are there.  Type 3 code 4 (fragmentation
    // needed), so that the code is not zero.
    Ipv4Header ip;
    ip.proto = kIcmp;
    Frame f = FrameBuilder()
                  .ethertype(kEthIp)
                  .ipv4(ip)
                  .icmp(3, 4)
                  .payload(28)
                  .finish();
    afxdp_flow_key k = eth_key(kEthIp);
    put_ipv4_addrs(k);
    put_nw(k, kIcmp, 0, 64);
    put_ports(k, 3, 4);
    return {f, k};
}

ParseCase ipv4_options()
{
    // IHL 8: 12 bytes of options (record route), which no field holds;
    // the ports come from after them (data_pull(ip_len)).
    Ipv4Header ip;
    ip.proto = kTcp;
    ip.options = {0x07, 11, 4, 1, 2, 3, 4, 5, 6, 7, 8, 0x00};
    Frame f = FrameBuilder()
                  .ethertype(kEthIp)
                  .ipv4(ip)
                  .tcp(1234, 80, kTcpAck | kTcpPsh)
                  .payload(5)
                  .finish();
    afxdp_flow_key k = eth_key(kEthIp);
    put_ipv4_addrs(k);
    put_nw(k, kTcp, 0, 64);
    put_ports(k, 1234, 80);
    k.tcp_flags = htons(kTcpAck | kTcpPsh);
    return {f, k};
}

ParseCase ipv4_first_fragment()
{
    // MF with offset 0: ipv4_get_nw_frag() gives ANY only, and the L4
    // header of a first fragment is parsed (only LATER skips it).
    Ipv4Header ip;
    ip.proto = kUdp;
    ip.frag_off = 0x2000;
    Frame f = FrameBuilder()
                  .ethertype(kEthIp)
                  .ipv4(ip)
                  .udp(7000, 7001)
                  .payload(64)
                  .finish();
    afxdp_flow_key k = eth_key(kEthIp);
    put_ipv4_addrs(k);
    put_nw(k, kUdp, 0, 64, AFXDP_NW_FRAG_ANY);
    put_ports(k, 7000, 7001);
    return {f, k};
}

ParseCase ipv4_later_fragment()
{
    // An offset: ANY | LATER, nw_proto stays the header's, and the bytes
    // where the ports would be are payload: no L4 field is read.
    Ipv4Header ip;
    ip.proto = kUdp;
    ip.frag_off = 0x2000 | 185;
    Frame f = FrameBuilder().ethertype(kEthIp).ipv4(ip).payload(64).finish();
    afxdp_flow_key k = eth_key(kEthIp);
    put_ipv4_addrs(k);
    put_nw(k, kUdp, 0, 64, AFXDP_NW_FRAG_ANY | AFXDP_NW_FRAG_LATER);
    return {f, k};
}

ParseCase ipv4_last_fragment()
{
    // An offset without MF is a fragment too: ANY | LATER.
    Ipv4Header ip;
    ip.proto = kTcp;
    ip.frag_off = 370;
    Frame f = FrameBuilder().ethertype(kEthIp).ipv4(ip).payload(40).finish();
    afxdp_flow_key k = eth_key(kEthIp);
    put_ipv4_addrs(k);
    put_nw(k, kTcp, 0, 64, AFXDP_NW_FRAG_ANY | AFXDP_NW_FRAG_LATER);
    return {f, k};
}

ParseCase ipv4_unknown_protocol()
{
    // GRE: the L3 fields and no L4 field (OVS extracts none for it).
    Ipv4Header ip;
    ip.proto = kGre;
    Frame f = FrameBuilder().ethertype(kEthIp).ipv4(ip).payload(30).finish();
    afxdp_flow_key k = eth_key(kEthIp);
    put_ipv4_addrs(k);
    put_nw(k, kGre, 0, 64);
    return {f, k};
}

ParseCase ipv4_with_ethernet_padding()
{
    // A minimum-size frame: 14 bytes of padding after the datagram.  OVS
    // parses up to tot_len ("never pull padding"); the key is the same.
    Ipv4Header ip;
    ip.proto = kUdp;
    Frame f = FrameBuilder()
                  .ethertype(kEthIp)
                  .ipv4(ip)
                  .udp(68, 67)
                  .payload(4)
                  .padding(14)
                  .finish();
    afxdp_flow_key k = eth_key(kEthIp);
    put_ipv4_addrs(k);
    put_nw(k, kUdp, 0, 64);
    put_ports(k, 68, 67);
    return {f, k};
}

ParseCase tcp_all_flag_bits()
{
    // TCP_FLAGS_BE16() keeps all 12 bits below the data offset: the 3
    // reserved bits and NS too.
    Ipv4Header ip;
    ip.proto = kTcp;
    Frame f =
        FrameBuilder().ethertype(kEthIp).ipv4(ip).tcp(1, 2, 0x0fff).finish();
    afxdp_flow_key k = eth_key(kEthIp);
    put_ipv4_addrs(k);
    put_nw(k, kTcp, 0, 64);
    put_ports(k, 1, 2);
    k.tcp_flags = htons(0x0fff);
    return {f, k};
}

ParseCase tcp_ns_flag_and_options()
{
    // Data offset 8 (12 bytes of options) and NS | FIN: the offset is not
    // part of tcp_flags.
    Ipv4Header ip;
    ip.proto = kTcp;
    Frame f = FrameBuilder()
                  .ethertype(kEthIp)
                  .ipv4(ip)
                  .tcp(65535, 22, kTcpNs | kTcpFin, 8)
                  .payload(3)
                  .finish();
    afxdp_flow_key k = eth_key(kEthIp);
    put_ipv4_addrs(k);
    put_nw(k, kTcp, 0, 64);
    put_ports(k, 65535, 22);
    k.tcp_flags = htons(kTcpNs | kTcpFin);
    return {f, k};
}

Ipv6Header ipv6_header(std::uint8_t next)
{
    Ipv6Header h;
    h.next = next;
    h.tclass = 0x2d;
    h.label = 0xabcde;
    h.hlimit = 33;
    return h;
}

// IPv6: nw_tos is the traffic class (ntohl(tc_flow) >> 20, as a byte),
// nw_ttl the hop limit, ipv6_label the low 20 bits of the first word.
afxdp_flow_key ipv6_key(std::uint8_t proto, std::uint8_t frag = 0)
{
    afxdp_flow_key k = eth_key(kEthIpv6);
    put_ipv6_addrs(k);
    put_nw(k, proto, 0x2d, 33, frag);
    k.ipv6_label = htonl(0xabcde);
    return k;
}

ParseCase ipv6_tcp()
{
    Frame f = FrameBuilder()
                  .ethertype(kEthIpv6)
                  .ipv6(ipv6_header(kTcp))
                  .tcp(50000, 8080, kTcpSyn)
                  .payload(7)
                  .finish();
    afxdp_flow_key k = ipv6_key(kTcp);
    put_ports(k, 50000, 8080);
    k.tcp_flags = htons(kTcpSyn);
    return {f, k};
}

ParseCase ipv6_udp()
{
    Frame f = FrameBuilder()
                  .ethertype(kEthIpv6)
                  .ipv6(ipv6_header(kUdp))
                  .udp(546, 547)
                  .payload(12)
                  .finish();
    afxdp_flow_key k = ipv6_key(kUdp);
    put_ports(k, 546, 547);
    return {f, k};
}

ParseCase ipv6_icmp6_echo()
{
    // ICMPv6 that is not ND (type 128): type and code in the ports, no ND
    // fields.
    Frame f = FrameBuilder()
                  .ethertype(kEthIpv6)
                  .ipv6(ipv6_header(kIcmp6))
                  .icmp6(128, 0)
                  .payload(32)
                  .finish();
    afxdp_flow_key k = ipv6_key(kIcmp6);
    put_ports(k, 128, 0);
    return {f, k};
}

ParseCase ipv6_ns_nonzero_code()
{
    // parse_icmpv6() takes 135/136 for ND only with code 0: with code 1
    // it is plain ICMPv6, type and code in the ports.
    Frame f = FrameBuilder()
                  .ethertype(kEthIpv6)
                  .ipv6(ipv6_header(kIcmp6))
                  .icmp6(135, 1)
                  .payload(16)
                  .finish();
    afxdp_flow_key k = ipv6_key(kIcmp6);
    put_ports(k, 135, 1);
    return {f, k};
}

ParseCase ipv6_extension_headers()
{
    // Hop-by-hop (8 bytes), routing (24), destination options (16), TCP:
    // parse_ipv6_ext_hdrs__() skips them by (len + 1) * 8 and nw_proto is
    // the last next-header, TCP, with its ports.
    Frame f = FrameBuilder()
                  .ethertype(kEthIpv6)
                  .ipv6(ipv6_header(kHopOpts))
                  .ipv6_ext(kRouting, 8)
                  .ipv6_ext(kDstOpts, 24)
                  .ipv6_ext(kTcp, 16)
                  .tcp(3333, 4444, kTcpAck)
                  .finish();
    afxdp_flow_key k = ipv6_key(kTcp);
    put_ports(k, 3333, 4444);
    k.tcp_flags = htons(kTcpAck);
    return {f, k};
}

ParseCase ipv6_authentication_header()
{
    // AH is skipped by (len + 2) * 4 bytes, not (len + 1) * 8: 24 bytes.
    Frame f = FrameBuilder()
                  .ethertype(kEthIpv6)
                  .ipv6(ipv6_header(kAh))
                  .ipv6_ah(kUdp, 24)
                  .udp(500, 4500)
                  .payload(8)
                  .finish();
    afxdp_flow_key k = ipv6_key(kUdp);
    put_ports(k, 500, 4500);
    return {f, k};
}

ParseCase ipv6_max_extension_headers()
{
    // AFXDP_IPV6_MAX_EXT headers are followed (parse.h); OVS has no limit
    // and gives the same key as for one.
    FrameBuilder b;
    b.ethertype(kEthIpv6).ipv6(ipv6_header(kDstOpts));
    for (int i = 1; i < kIpv6MaxExt; i++) {
        b.ipv6_ext(kDstOpts, 8);
    }
    Frame f = b.ipv6_ext(kUdp, 8).udp(1000, 2000).payload(4).finish();
    afxdp_flow_key k = ipv6_key(kUdp);
    put_ports(k, 1000, 2000);
    return {f, k};
}

ParseCase ipv6_first_fragment()
{
    // Fragment header with offset 0 and M: nw_frag ANY, and the walk goes
    // on to the next header (UDP) and its ports.
    Frame f = FrameBuilder()
                  .ethertype(kEthIpv6)
                  .ipv6(ipv6_header(kFragment))
                  .ipv6_frag(kUdp, 0x0001)
                  .udp(9000, 9001)
                  .payload(40)
                  .finish();
    afxdp_flow_key k = ipv6_key(kUdp, AFXDP_NW_FRAG_ANY);
    put_ports(k, 9000, 9001);
    return {f, k};
}

ParseCase ipv6_later_fragment()
{
    // An offset (here 100 * 8 bytes): ANY | LATER, and OVS sets nw_proto
    // to IPPROTO_FRAGMENT (44), not the fragment header's next header.
    Frame f = FrameBuilder()
                  .ethertype(kEthIpv6)
                  .ipv6(ipv6_header(kFragment))
                  .ipv6_frag(kUdp, 100 << 3 | 1)
                  .payload(40)
                  .finish();
    afxdp_flow_key k =
        ipv6_key(kFragment, AFXDP_NW_FRAG_ANY | AFXDP_NW_FRAG_LATER);
    return {f, k};
}

ParseCase ipv6_atomic_fragment()
{
    // An atomic fragment (offset 0, no M: RFC 6946): ip6f_offlg is 0, so
    // OVS sets no nw_frag bit and reads the ports as if unfragmented.
    Frame f = FrameBuilder()
                  .ethertype(kEthIpv6)
                  .ipv6(ipv6_header(kFragment))
                  .ipv6_frag(kUdp, 0)
                  .udp(9000, 9001)
                  .payload(8)
                  .finish();
    afxdp_flow_key k = ipv6_key(kUdp);
    put_ports(k, 9000, 9001);
    return {f, k};
}

ParseCase vlan_8021q()
{
    // parse_vlan(): vlan_tci is the TCI with VLAN_CFI (0x1000) ORed in,
    // so that a present tag is never 0; the TPID is kept; dl_type is the
    // inner type.  PCP 5, VID 100.
    Ipv4Header ip;
    ip.proto = kUdp;
    Frame f = FrameBuilder()
                  .vlan(kEth8021q, 0xa064)
                  .ethertype(kEthIp)
                  .ipv4(ip)
                  .udp(10, 20)
                  .finish();
    afxdp_flow_key k = eth_key(kEthIp);
    k.vlan_tpid = htons(kEth8021q);
    k.vlan_tci = htons(0xb064);
    put_ipv4_addrs(k);
    put_nw(k, kUdp, 0, 64);
    put_ports(k, 10, 20);
    return {f, k};
}

ParseCase vlan_8021ad()
{
    // One 802.1ad tag (PCP 3, VID 0x123): the same, TPID 0x88a8.
    Frame f = FrameBuilder()
                  .vlan(kEth8021ad, 0x6123)
                  .ethertype(0x88b5)
                  .payload(46)
                  .finish();
    afxdp_flow_key k = eth_key(0x88b5);
    k.vlan_tpid = htons(kEth8021ad);
    k.vlan_tci = htons(0x7123);
    return {f, k};
}

ParseCase vlan_dei_set()
{
    // DEI (the old CFI bit) set in the tag: OVS's OR leaves it set, so
    // the key is the one a tag without DEI would give.
    Frame f = FrameBuilder()
                  .vlan(kEth8021q, 0x3064)
                  .ethertype(0x88b5)
                  .payload(46)
                  .finish();
    afxdp_flow_key k = eth_key(0x88b5);
    k.vlan_tpid = htons(kEth8021q);
    k.vlan_tci = htons(0x3064);
    return {f, k};
}

ParseCase vlan_priority_tag()
{
    // A priority tag (TCI 0): vlan_tci is 0x1000, not 0.
    Frame f = FrameBuilder()
                  .vlan(kEth8021q, 0)
                  .ethertype(0x88b5)
                  .payload(46)
                  .finish();
    afxdp_flow_key k = eth_key(0x88b5);
    k.vlan_tpid = htons(kEth8021q);
    k.vlan_tci = htons(0x1000);
    return {f, k};
}

afxdp_flow_key arp_key(std::uint16_t dl_type, const ArpHeader &h)
{
    // nw_src/nw_dst are spa/tpa, arp_sha/arp_tha the hardware addresses,
    // and nw_proto the low byte of the opcode (OVS pushes
    // htonl(ntohs(ar_op)) over nw_frag..nw_proto: tos, ttl, frag are 0).
    afxdp_flow_key k = eth_key(dl_type);
    put_ipv4_addrs(k, h.spa, h.tpa);
    std::memcpy(&k.addr[AFXDP_ADDR_ARP_SHA], h.sha.data(), 6);
    std::memcpy(&k.addr[AFXDP_ADDR_ARP_THA], h.tha.data(), 6);
    k.nw_proto = static_cast<std::uint8_t>(h.op);
    return k;
}

ParseCase arp_request()
{
    ArpHeader h;
    Frame f = FrameBuilder().ethertype(kEthArp).arp(h).padding(18).finish();
    return {f, arp_key(kEthArp, h)};
}

ParseCase arp_reply()
{
    ArpHeader h;
    h.op = 2;
    h.tha = {0x02, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5};
    Frame f = FrameBuilder().ethertype(kEthArp).arp(h).finish();
    return {f, arp_key(kEthArp, h)};
}

ParseCase rarp_request()
{
    // RARP is parsed as ARP (opcode 3).
    ArpHeader h;
    h.op = 3;
    Frame f = FrameBuilder().ethertype(kEthRarp).arp(h).finish();
    return {f, arp_key(kEthRarp, h)};
}

ParseCase unknown_ethertype()
{
    // An ethertype OVS knows nothing about (local experimental): the L2
    // fields only, everything else 0.
    Frame f = FrameBuilder().ethertype(0x88b5).payload(46).finish();
    return {f, eth_key(0x88b5)};
}

ParseCase ethernet_header_only()
{
    // The smallest frame BPF_PROG_RUN takes: an Ethernet header with an
    // unknown type, nothing after it.
    Frame f = FrameBuilder().ethertype(0x88b6).finish();
    return {f, eth_key(0x88b6)};
}

struct NamedCase {
    const char *name;
    ParseCase (*make)();
};

void PrintTo(const NamedCase &c, std::ostream *os)
{
    *os << c.name;
}

const NamedCase kParseCases[] = {
    {"Ipv4Tcp", ipv4_tcp},
    {"Ipv4Udp", ipv4_udp},
    {"Ipv4Sctp", ipv4_sctp},
    {"Ipv4IcmpTypeAndCodeInPorts", ipv4_icmp},
    {"Ipv4WithOptions", ipv4_options},
    {"Ipv4FirstFragmentIsAnyWithPorts", ipv4_first_fragment},
    {"Ipv4LaterFragmentIsAnyLaterWithoutPorts", ipv4_later_fragment},
    {"Ipv4LastFragmentIsAnyLater", ipv4_last_fragment},
    {"Ipv4UnknownProtocolHasNoPorts", ipv4_unknown_protocol},
    {"Ipv4WithEthernetPadding", ipv4_with_ethernet_padding},
    {"TcpAllTwelveFlagBits", tcp_all_flag_bits},
    {"TcpNsFlagWithOptions", tcp_ns_flag_and_options},
    {"Ipv6Tcp", ipv6_tcp},
    {"Ipv6Udp", ipv6_udp},
    {"Ipv6Icmpv6Echo", ipv6_icmp6_echo},
    {"Ipv6NeighborSolicitationWithNonzeroCodeIsPlainIcmpv6",
     ipv6_ns_nonzero_code},
    {"Ipv6HopByHopRoutingDestOptsThenTcp", ipv6_extension_headers},
    {"Ipv6AuthenticationHeaderThenUdp", ipv6_authentication_header},
    {"Ipv6MaxExtensionHeadersAreFollowed", ipv6_max_extension_headers},
    {"Ipv6FirstFragmentIsAnyWithPorts", ipv6_first_fragment},
    {"Ipv6LaterFragmentIsAnyLaterWithProto44", ipv6_later_fragment},
    {"Ipv6AtomicFragmentIsNotAFragment", ipv6_atomic_fragment},
    {"Vlan8021qTciHasCfiOredIn", vlan_8021q},
    {"Vlan8021adKeepsTpid", vlan_8021ad},
    {"VlanDeiSetGivesTheSameTci", vlan_dei_set},
    {"VlanPriorityTagIsCfiOnly", vlan_priority_tag},
    {"ArpRequest", arp_request},
    {"ArpReply", arp_reply},
    {"RarpRequest", rarp_request},
    {"UnknownEthertypeIsL2Only", unknown_ethertype},
    {"EthernetHeaderOnly", ethernet_header_only},
};

class FastPathParseTest : public FastPathTest,
                          public ::testing::WithParamInterface<NamedCase> {};

// ---- Parser exactness ---------------------------------------------------

TEST_P(FastPathParseTest, ExactKeyHitsAndEveryOneBitChangeMisses)
{
    const ParseCase c = GetParam().make();
    constexpr std::uint8_t kSlot = 0;
    fp_.set_mask(kSlot, exact_mask());
    fp_.set_order({kSlot});

    fp_.put_flow(kSlot, c.key, drop_flow(kFlowId));
    XdpRun hit = fp_.run(c.frame.bytes);
    ASSERT_EQ(hit.err, 0) << std::strerror(-hit.err);
    ASSERT_EQ(hit.verdict, XDP_DROP)
        << "the frame did not hit the flow keyed "
        << ::testing::PrintToString(c.key) << " (metadata flags "
        << (hit.meta ? hit.meta->flags : ~0u)
        << ", 0 for a punt); fields that differ: "
        << differing_fields(c.frame.bytes, c.key);
    EXPECT_EQ(fp_.flow_stats(kFlowId).packets, 1u);
    fp_.delete_raw(fp_.masked(kSlot, c.key));

    // The same flow with any one bit of any field flipped must miss: every
    // bit of the key is significant, fields OVS leaves zero included.
    std::uint64_t flips = 0;
    for (const KeyField &f : key_fields()) {
        for (std::size_t bit = 0; bit < f.size * 8; bit++) {
            afxdp_flow_key k = c.key;
            reinterpret_cast<std::uint8_t *>(&k)[f.offset + bit / 8] ^=
                static_cast<std::uint8_t>(0x80 >> (bit % 8));
            fp_.put_flow(kSlot, k, drop_flow(kFlowId));
            XdpRun r = fp_.run(c.frame.bytes);
            ASSERT_NO_FATAL_FAILURE(expect_miss(r, c.frame.bytes,
                                                std::string(f.name) + " bit " +
                                                    std::to_string(bit) +
                                                    " flipped"));
            fp_.delete_raw(fp_.masked(kSlot, k));
            flips++;
        }
    }
    EXPECT_EQ(fp_.flow_stats(kFlowId).packets, 1u);
    EXPECT_EQ(fp_.counters().to_ovs_miss, flips);
}

INSTANTIATE_TEST_SUITE_P(Frames, FastPathParseTest,
                         ::testing::ValuesIn(kParseCases),
                         [](const ::testing::TestParamInfo<NamedCase> &info) {
                             return std::string(info.param.name);
                         });

// ---- Punts --------------------------------------------------------------

Frame ipv4_frame(std::uint8_t proto)
{
    Ipv4Header ip;
    ip.proto = proto;
    return FrameBuilder().ethertype(kEthIp).ipv4(ip).finish();
}

// Cuts 'f' to 'ip_len' bytes of IP datagram and says so in tot_len (the
// parser does not read the IP checksum).
Bytes ipv4_cut(Frame f, std::size_t ip_len)
{
    f.bytes.resize(f.l3 + ip_len);
    put16(f.bytes, f.l3 + 2, static_cast<std::uint16_t>(ip_len));
    return f.bytes;
}

Bytes ipv4_l4_cut(FrameBuilder &b, std::size_t l4_len)
{
    Frame f = b.finish();
    return ipv4_cut(f, f.l4 - f.l3 + l4_len);
}

Bytes punt_llc()
{
    // An 802.3 length (38) and STP's LLC: parse_ethertype() looks for
    // SNAP and gives FLOW_DL_TYPE_NONE (0x5ff) here.
    Frame f = FrameBuilder().ethertype(38).finish();
    f.bytes.insert(f.bytes.end(), {0x42, 0x42, 0x03});
    f.bytes.resize(14 + 38);
    return f.bytes;
}

Bytes punt_llc_snap_ipv4()
{
    // 802.3 with LLC/SNAP carrying IPv4: OVS reads dl_type 0x0800 from
    // the SNAP header and parses the IP header after it.
    Ipv4Header ip;
    ip.proto = kUdp;
    Frame inner = FrameBuilder().ethertype(kEthIp).ipv4(ip).udp(1, 2).finish();
    Bytes b(inner.bytes.begin(), inner.bytes.begin() + 12);
    const std::size_t len = 8 + inner.bytes.size() - 14;
    b.push_back(static_cast<std::uint8_t>(len >> 8));
    b.push_back(static_cast<std::uint8_t>(len));
    b.insert(b.end(), {0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00});
    b.insert(b.end(), inner.bytes.begin() + 14, inner.bytes.end());
    return b;
}

Bytes punt_two_tags(std::uint16_t outer)
{
    // Two tags: OVS reads both (flow_vlan_limit permitting) or takes the
    // inner TPID as dl_type; the key has room for one tag.
    Ipv4Header ip;
    ip.proto = kUdp;
    return FrameBuilder()
        .vlan(outer, 100)
        .vlan(kEth8021q, 200)
        .ethertype(kEthIp)
        .ipv4(ip)
        .udp(1, 2)
        .finish()
        .bytes;
}

Bytes punt_tag_without_type()
{
    // A TPID and a TCI but no inner type: parse_vlan() reads no tag and
    // dl_type becomes 0x8100.
    Frame f = FrameBuilder().ethertype(kEth8021q).finish();
    f.bytes.insert(f.bytes.end(), {0x00, 0x64});
    return f.bytes;
}

Bytes punt_ipv4_truncated_header()
{
    Bytes b = ipv4_frame(kUdp).bytes;
    b.resize(14 + 19);
    return b;
}

Bytes punt_ipv4_ihl(std::uint8_t ihl)
{
    Ipv4Header ip;
    ip.proto = kUdp;
    Frame f = FrameBuilder().ethertype(kEthIp).ipv4(ip).udp(1, 2).finish();
    f.bytes[f.l3] = static_cast<std::uint8_t>(0x40 | ihl);
    return f.bytes;
}

Bytes punt_ipv4_ihl_beyond_tot_len()
{
    // IHL 6 (24 bytes) with tot_len 20.
    Ipv4Header ip;
    ip.proto = kUdp;
    ip.options = {1, 1, 1, 0};
    Frame f = FrameBuilder().ethertype(kEthIp).ipv4(ip).payload(8).finish();
    put16(f.bytes, f.l3 + 2, 20);
    return f.bytes;
}

Bytes punt_ipv4_tot_len_beyond_frame()
{
    Ipv4Header ip;
    ip.proto = kUdp;
    Frame f = FrameBuilder().ethertype(kEthIp).ipv4(ip).udp(1, 2).finish();
    put16(f.bytes, f.l3 + 2,
          static_cast<std::uint16_t>(f.bytes.size() - f.l3 + 1));
    return f.bytes;
}

Bytes punt_l4_cut(std::uint8_t proto, std::size_t l4_len)
{
    // The L4 header cut short inside tot_len: OVS leaves the L4 fields
    // zero, which the key could not tell from real zeros.
    Ipv4Header ip;
    ip.proto = proto;
    FrameBuilder b;
    b.ethertype(kEthIp).ipv4(ip);
    switch (proto) {
    case kTcp: b.tcp(1, 2, kTcpAck); break;
    case kUdp: b.udp(1, 2); break;
    case kSctp: b.sctp(1, 2); break;
    case kIcmp: b.icmp(8, 0); break;
    default: break;
    }
    b.payload(16);
    return ipv4_l4_cut(b, l4_len);
}

Bytes punt_tcp_doff(unsigned doff)
{
    Ipv4Header ip;
    ip.proto = kTcp;
    Frame f = FrameBuilder()
                  .ethertype(kEthIp)
                  .ipv4(ip)
                  .tcp(1, 2, kTcpAck)
                  .payload(8)
                  .finish();
    f.bytes[f.l4 + 12] = static_cast<std::uint8_t>(doff << 4);
    return f.bytes;
}

Bytes punt_igmp()
{
    // IGMP: OVS extracts the group address, which the key has no room
    // for.  A v2 membership report.
    Ipv4Header ip;
    ip.proto = kIgmp;
    ip.ttl = 1;
    Frame f = FrameBuilder().ethertype(kEthIp).ipv4(ip).finish();
    f.bytes.insert(f.bytes.end(), {0x16, 0, 0, 0, 239, 1, 2, 3});
    put16(f.bytes, f.l3 + 2, 28);
    return f.bytes;
}

Bytes punt_nd(std::uint8_t type)
{
    // Neighbour discovery (code 0): OVS extracts the target and the link
    // layer options.
    Frame f = FrameBuilder()
                  .ethertype(kEthIpv6)
                  .ipv6(ipv6_header(kIcmp6))
                  .icmp6(type, 0)
                  .payload(24)
                  .finish();
    return f.bytes;
}

Bytes punt_icmp6_cut()
{
    Frame f = FrameBuilder()
                  .ethertype(kEthIpv6)
                  .ipv6(ipv6_header(kIcmp6))
                  .icmp6(128, 0)
                  .finish();
    f.bytes.resize(f.bytes.size() - 1);
    put16(f.bytes, f.l3 + 4, 7);
    return f.bytes;
}

Bytes punt_ipv6_truncated_header()
{
    Bytes b = FrameBuilder()
                  .ethertype(kEthIpv6)
                  .ipv6(ipv6_header(kUdp))
                  .finish()
                  .bytes;
    b.resize(14 + 39);
    return b;
}

Bytes punt_ipv6_plen_beyond_frame()
{
    Frame f = FrameBuilder()
                  .ethertype(kEthIpv6)
                  .ipv6(ipv6_header(kUdp))
                  .udp(1, 2)
                  .finish();
    put16(f.bytes, f.l3 + 4, 9);
    return f.bytes;
}

Bytes punt_ipv6_ext_beyond_payload()
{
    // A hop-by-hop header that says 16 bytes with 8 left: data_try_pull()
    // fails and OVS stops with the L3 fields half pushed.
    Frame f = FrameBuilder()
                  .ethertype(kEthIpv6)
                  .ipv6(ipv6_header(kHopOpts))
                  .ipv6_ext(kUdp, 8)
                  .finish();
    f.bytes[f.l3 + 40 + 1] = 1;
    return f.bytes;
}

Bytes punt_ipv6_too_many_ext()
{
    // One more than AFXDP_IPV6_MAX_EXT: OVS would follow them all.
    FrameBuilder b;
    b.ethertype(kEthIpv6).ipv6(ipv6_header(kDstOpts));
    for (int i = 0; i < kIpv6MaxExt; i++) {
        b.ipv6_ext(kDstOpts, 8);
    }
    return b.ipv6_ext(kUdp, 8).udp(1, 2).finish().bytes;
}

Bytes punt_arp(std::uint8_t hln, std::uint16_t op, std::uint16_t hrd)
{
    // OVS extracts ARP fields only for hrd 1 (Ethernet), pro 0x0800,
    // hln 6, pln 4, and nw_proto only for an opcode below 256.
    ArpHeader h;
    h.hln = hln;
    h.op = op;
    Frame f = FrameBuilder().ethertype(kEthArp).arp(h).finish();
    put16(f.bytes, f.l3, hrd);
    return f.bytes;
}

Bytes punt_arp_truncated()
{
    Bytes b = FrameBuilder().ethertype(kEthArp).arp({}).finish().bytes;
    b.resize(b.size() - 1);
    return b;
}

struct NamedPunt {
    const char *name;
    Bytes (*make)();
};

void PrintTo(const NamedPunt &c, std::ostream *os)
{
    *os << c.name;
}

// A function, not a static array: the table is built when gtest asks.
std::vector<NamedPunt> punt_cases()
{
    return {
        {"Llc8023Length", punt_llc},
        {"LlcSnapIpv4", punt_llc_snap_ipv4},
        {"TwoVlanTags8021adOuter", [] { return punt_two_tags(kEth8021ad); }},
        {"TwoVlanTags8021qOuter", [] { return punt_two_tags(kEth8021q); }},
        {"VlanTagWithoutInnerType", punt_tag_without_type},
        {"Ipv4TruncatedHeader", punt_ipv4_truncated_header},
        {"Ipv4IhlBelow5", [] { return punt_ipv4_ihl(4); }},
        {"Ipv4IhlBeyondFrame", [] { return punt_ipv4_ihl(15); }},
        {"Ipv4IhlBeyondTotalLength", punt_ipv4_ihl_beyond_tot_len},
        {"Ipv4TotalLengthBeyondFrame", punt_ipv4_tot_len_beyond_frame},
        {"TcpTruncatedHeader", [] { return punt_l4_cut(kTcp, 19); }},
        {"TcpDataOffsetBelow5", [] { return punt_tcp_doff(4); }},
        {"TcpDataOffsetBeyondSegment", [] { return punt_tcp_doff(15); }},
        {"UdpTruncatedHeader", [] { return punt_l4_cut(kUdp, 7); }},
        {"SctpTruncatedHeader", [] { return punt_l4_cut(kSctp, 11); }},
        {"IcmpShorterThanIcmpHeaderLen", [] { return punt_l4_cut(kIcmp, 7); }},
        {"IcmpOnlyTypeCodeChecksum", [] { return punt_l4_cut(kIcmp, 4); }},
        {"Igmp", punt_igmp},
        {"Ipv6NeighborSolicitation", [] { return punt_nd(135); }},
        {"Ipv6NeighborAdvertisement", [] { return punt_nd(136); }},
        {"Icmpv6TruncatedHeader", punt_icmp6_cut},
        {"Ipv6TruncatedHeader", punt_ipv6_truncated_header},
        {"Ipv6PayloadLengthBeyondFrame", punt_ipv6_plen_beyond_frame},
        {"Ipv6ExtensionHeaderBeyondPayload", punt_ipv6_ext_beyond_payload},
        {"Ipv6MoreThanMaxExtensionHeaders", punt_ipv6_too_many_ext},
        {"ArpHlnNot6", [] { return punt_arp(8, 1, 1); }},
        {"ArpOpcodeAbove255", [] { return punt_arp(6, 0x0101, 1); }},
        {"ArpHardwareNotEthernet", [] { return punt_arp(6, 1, 6); }},
        {"ArpTruncated", punt_arp_truncated},
    };
}

// A catch-all drop flow: mask 0 matches every key.
class FastPathCatchAllTest : public FastPathTest {
protected:
    void SetUp() override
    {
        FastPathTest::SetUp();
        if (HasFatalFailure()) {
            return;
        }
        afxdp_flow_key zero;
        std::memset(&zero, 0, sizeof zero);
        fp_.set_mask(0, zero);
        fp_.set_order({0});
        fp_.put_flow(0, zero, drop_flow(kFlowId));
    }
};

class FastPathPuntTest : public FastPathCatchAllTest,
                         public ::testing::WithParamInterface<NamedPunt> {};

TEST_P(FastPathPuntTest, GoesToOvsWithoutMetadataDespiteCatchAllFlow)
{
    const Bytes frame = GetParam().make();
    XdpRun r = fp_.run(frame);
    ASSERT_EQ(r.err, 0) << std::strerror(-r.err);
    EXPECT_EQ(r.verdict, XDP_PASS);
    ASSERT_TRUE(r.meta) << "no metadata (" << r.meta_len << " bytes)";
    // Flags 0: neither a hash (the parser did not finish) nor a mark.
    EXPECT_EQ(r.meta->flags, 0u);
    EXPECT_TRUE(r.frame == frame) << frame_difference(r.frame, frame);
    EXPECT_EQ(fp_.counters().to_ovs_parse, 1u);
    EXPECT_EQ(fp_.flow_stats(kFlowId).packets, 0u);
}

INSTANTIATE_TEST_SUITE_P(Frames, FastPathPuntTest,
                         ::testing::ValuesIn(punt_cases()),
                         [](const ::testing::TestParamInfo<NamedPunt> &info) {
                             return std::string(info.param.name);
                         });

// Without this the punt tests could pass with a flow that catches nothing.
TEST_F(FastPathCatchAllTest, DropsEveryParseCase)
{
    for (const NamedCase &c : kParseCases) {
        XdpRun r = fp_.run(c.make().frame.bytes);
        ASSERT_EQ(r.err, 0) << std::strerror(-r.err);
        EXPECT_EQ(r.verdict, XDP_DROP) << c.name;
    }
    EXPECT_EQ(fp_.flow_stats(kFlowId).packets, std::size(kParseCases));
}

// An IPv4/UDP frame of 'size' bytes: above a page, BPF_PROG_RUN hands it
// to the program in several buffers, as a driver does a jumbo frame.
Bytes udp4_frame(std::size_t size)
{
    Ipv4Header ip;
    ip.proto = kUdp;
    return FrameBuilder()
        .ethertype(kEthIp)
        .ipv4(ip)
        .udp(5353, 53)
        .payload(size - 14 - 20 - 8)
        .finish()
        .bytes;
}

// A jumbo frame arrives in several buffers (the program is xdp.frags; a
// BPF_PROG_RUN frame above a page is built the same way).  The fast path
// never runs it, catch-all flow or not: it goes to OVS untouched, with
// metadata that says it carries nothing (the kernel may hand it over in
// one descriptor, where a reader would otherwise find an earlier frame's
// mark), and is counted as multi-buffer.
TEST_F(FastPathCatchAllTest, MultiBufferFrameGoesToOvsUnrun)
{
    const Bytes frame = udp4_frame(9000);
    XdpRun r = fp_.run(frame);
    ASSERT_EQ(r.err, 0) << std::strerror(-r.err);
    EXPECT_EQ(r.verdict, XDP_PASS);  // To OVS (see fast_path_fixture.h).
    ASSERT_TRUE(r.meta) << "no metadata (" << r.meta_len << " bytes)";
    EXPECT_EQ(r.meta->flags, 0u);
    EXPECT_TRUE(r.frame == frame) << frame_difference(r.frame, frame);
    EXPECT_EQ(fp_.counters().to_ovs_multi_buffer, 1u);
    EXPECT_EQ(fp_.counters().to_ovs_parse, 0u);
    EXPECT_EQ(fp_.flow_stats(kFlowId).packets, 0u);

    // The same flow still drops a frame that fits one buffer.
    XdpRun small = fp_.run(ipv4_udp().frame.bytes);
    ASSERT_EQ(small.err, 0) << std::strerror(-small.err);
    EXPECT_EQ(small.verdict, XDP_DROP);
    EXPECT_EQ(fp_.counters().to_ovs_multi_buffer, 1u);
}

// A marked (partially offloaded) catch-all flow: a frame in one buffer
// earns its mark; a chained frame right after it, which the fast path
// never looks up, carries flags 0, so that no reader can take the mark
// left in front of the buffer by the frame before for its own.
TEST_F(FastPathTest, ChainedFrameAfterMarkedFrameEarnsNoMark)
{
    constexpr std::uint32_t kMark = 77;
    afxdp_flow_key zero;
    std::memset(&zero, 0, sizeof zero);
    fp_.set_mask(0, zero);
    fp_.set_order({0});
    fp_.put_flow(0, zero, to_ovs_flow(kFlowId, kMark));

    XdpRun marked = fp_.run(ipv4_udp().frame.bytes);
    ASSERT_EQ(marked.err, 0) << std::strerror(-marked.err);
    ASSERT_TRUE(marked.meta) << "no metadata (" << marked.meta_len << ")";
    EXPECT_EQ(marked.meta->flags, AFXDP_XDP_META_HASH | AFXDP_XDP_META_MARK);
    EXPECT_EQ(marked.meta->flow_mark, kMark);

    for (std::size_t size : {3600u, 9000u}) {
        const Bytes frame = udp4_frame(size);
        XdpRun r = fp_.run(frame);
        ASSERT_EQ(r.err, 0) << std::strerror(-r.err);
        EXPECT_EQ(r.verdict, XDP_PASS) << size;  // To OVS.
        ASSERT_TRUE(r.meta) << size << ": no metadata (" << r.meta_len << ")";
        EXPECT_EQ(r.meta->flags & AFXDP_XDP_META_MARK, 0u) << size;
        EXPECT_TRUE(r.frame == frame) << frame_difference(r.frame, frame);
    }
}

// The kernel refuses a frame shorter than an Ethernet header before the
// program runs (net/bpf/test_run.c: data_size_in < ETH_HLEN is EINVAL), so
// the parser's own runt check cannot be reached through BPF_PROG_RUN; a
// driver never hands XDP less than a header either.
TEST_F(FastPathTest, RuntShorterThanEthernetIsRefusedByProgRun)
{
    Bytes runt = ipv4_udp().frame.bytes;
    runt.resize(13);
    XdpRun r = fp_.run(runt);
    EXPECT_EQ(r.err, -EINVAL);
    EXPECT_EQ(fp_.counters().to_ovs_parse, 0u);
}

}  // namespace
}  // namespace afxdp::test
