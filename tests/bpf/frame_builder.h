/*
 * Frames for the fast path's BPF_PROG_RUN tests, and the checksum
 * arithmetic those tests check the program against.
 *
 * FrameBuilder appends a frame layer by layer (Ethernet, tags, IPv4 or
 * IPv6 with options and extension headers, ARP, TCP/UDP/SCTP/ICMP/ICMPv6),
 * and finish() fills in every length and checksum, so that a test states
 * only what it is about.  A malformed frame is built well-formed and then
 * broken by hand (put16() and friends on the result), so that the test
 * names the one byte that is wrong.
 *
 * Checksums: csum_sum()/csum_fold() compute RFC 1071 sums from scratch,
 * over a whole header or pseudo-header and segment; ovs_recalc_csum16/32()
 * reimplement OVS's incremental updates (lib/csum.c, OVS 3.1) on values as
 * they sit in memory, exactly as OVS applies them to a packet.  A rewrite
 * by the fast path must agree with both.
 */
#ifndef AFXDP_TESTS_BPF_FRAME_BUILDER_H
#define AFXDP_TESTS_BPF_FRAME_BUILDER_H

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace afxdp::test {

using Bytes = std::vector<std::uint8_t>;
using Mac = std::array<std::uint8_t, 6>;
using Ip6 = std::array<std::uint8_t, 16>;

// Ethertypes, IP protocols and TCP flags the tests use.
inline constexpr std::uint16_t kEthIp = 0x0800;
inline constexpr std::uint16_t kEthArp = 0x0806;
inline constexpr std::uint16_t kEthRarp = 0x8035;
inline constexpr std::uint16_t kEthIpv6 = 0x86dd;
inline constexpr std::uint16_t kEth8021q = 0x8100;
inline constexpr std::uint16_t kEth8021ad = 0x88a8;
inline constexpr std::uint8_t kTcp = 6;
inline constexpr std::uint8_t kUdp = 17;
inline constexpr std::uint8_t kSctp = 132;
inline constexpr std::uint8_t kIcmp = 1;
inline constexpr std::uint8_t kIgmp = 2;
inline constexpr std::uint8_t kIcmp6 = 58;
inline constexpr std::uint8_t kHopOpts = 0;
inline constexpr std::uint8_t kRouting = 43;
inline constexpr std::uint8_t kFragment = 44;
inline constexpr std::uint8_t kAh = 51;
inline constexpr std::uint8_t kDstOpts = 60;
inline constexpr std::uint8_t kGre = 47;
inline constexpr std::uint16_t kTcpFin = 0x01;
inline constexpr std::uint16_t kTcpSyn = 0x02;
inline constexpr std::uint16_t kTcpPsh = 0x08;
inline constexpr std::uint16_t kTcpAck = 0x10;
inline constexpr std::uint16_t kTcpNs = 0x100;

// Defaults with distinct bytes everywhere, so that a field read from the
// wrong offset cannot come out right by accident.
inline constexpr Mac kDstMac = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
inline constexpr Mac kSrcMac = {0x02, 0x66, 0x77, 0x88, 0x99, 0xaa};
inline constexpr std::uint32_t kIp4Src = 0x0a010203;  // 10.1.2.3
inline constexpr std::uint32_t kIp4Dst = 0xc0a80a14;  // 192.168.10.20
inline constexpr Ip6 kIp6Src = {0xfd, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
                                0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e};
inline constexpr Ip6 kIp6Dst = {0xfd, 0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76,
                                0x87, 0x98, 0xa9, 0xba, 0xcb, 0xdc, 0xed, 0xfe};

// Big-endian (network order) access by offset.
void put16(Bytes &b, std::size_t off, std::uint16_t v);
void put32(Bytes &b, std::size_t off, std::uint32_t v);
std::uint16_t get16(const Bytes &b, std::size_t off);
std::uint32_t get32(const Bytes &b, std::size_t off);

struct Ipv4Header {
    std::uint8_t proto = 0;
    std::uint32_t src = kIp4Src;  // Host order.
    std::uint32_t dst = kIp4Dst;
    std::uint8_t tos = 0;
    std::uint8_t ttl = 64;
    std::uint16_t frag_off = 0;  // Flags and offset, as in the header.
    std::uint16_t id = 0x1234;
    Bytes options;  // A multiple of 4 bytes: IHL = 5 + size / 4.
};

struct Ipv6Header {
    std::uint8_t next = 0;
    Ip6 src = kIp6Src;
    Ip6 dst = kIp6Dst;
    std::uint8_t tclass = 0;
    std::uint32_t label = 0;  // 20 bits.
    std::uint8_t hlimit = 64;
};

struct ArpHeader {
    std::uint16_t op = 1;
    Mac sha = {0x02, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5};
    std::uint32_t spa = 0x0a000001;
    Mac tha = {0x00, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5};
    std::uint32_t tpa = 0x0a0000fe;
    std::uint8_t hln = 6;
};

// A finished frame and where its layers start (0: no such layer).
struct Frame {
    Bytes bytes;
    std::size_t l3 = 0;
    std::size_t l4 = 0;
};

class FrameBuilder {
public:
    explicit FrameBuilder(const Mac &dst = kDstMac, const Mac &src = kSrcMac);

    FrameBuilder &vlan(std::uint16_t tpid, std::uint16_t tci);
    FrameBuilder &ethertype(std::uint16_t type);
    FrameBuilder &ipv4(const Ipv4Header &h);
    FrameBuilder &ipv6(const Ipv6Header &h);
    // Hop-by-hop, routing or destination options header of 'len' bytes (a
    // multiple of 8, at least 8), whose next header is 'next'.
    FrameBuilder &ipv6_ext(std::uint8_t next, std::size_t len);
    // Authentication header of 'len' bytes (a multiple of 4, at least 12).
    FrameBuilder &ipv6_ah(std::uint8_t next, std::size_t len);
    // Fragment header: 'offlg' is offset << 3 | M, as in the header.
    FrameBuilder &ipv6_frag(std::uint8_t next, std::uint16_t offlg);
    FrameBuilder &arp(const ArpHeader &h);
    // 'flags': the 12 bits below the data offset.
    FrameBuilder &tcp(std::uint16_t sport, std::uint16_t dport,
                      std::uint16_t flags, unsigned doff_words = 5);
    FrameBuilder &udp(std::uint16_t sport, std::uint16_t dport,
                      bool zero_csum = false);
    FrameBuilder &sctp(std::uint16_t sport, std::uint16_t dport);
    // 8 bytes: type, code, checksum, identifier, sequence.
    FrameBuilder &icmp(std::uint8_t type, std::uint8_t code);
    FrameBuilder &icmp6(std::uint8_t type, std::uint8_t code);
    // 'n' bytes, each a function of its index in the payload.
    FrameBuilder &payload(std::size_t n);
    // Bytes after the IP datagram (Ethernet padding): not in any length.
    FrameBuilder &padding(std::size_t n);

    // Fills in IPv4 total length and header checksum, IPv6 payload length,
    // UDP length and the TCP, UDP, ICMP and ICMPv6 checksums.
    Frame finish() const;

private:
    enum class L3 { kNone, kIpv4, kIpv6 };
    enum class L4 { kNone, kTcp, kUdp, kUdpNoCsum, kIcmp, kIcmp6 };

    Bytes b_;
    std::size_t l3_ = 0;
    std::size_t l4_ = 0;
    std::size_t ip_end_ = 0;  // 0: the end of the frame.
    L3 l3_kind_ = L3::kNone;
    L4 l4_kind_ = L4::kNone;
    std::uint8_t l4_proto_ = 0;
};

// ---- Checksums ----------------------------------------------------------

// RFC 1071: 'sum' plus the bytes as big-endian 16-bit words, unfolded.
std::uint32_t csum_sum(std::uint32_t sum, const std::uint8_t *data,
                       std::size_t n);
// Folds and complements: the checksum as a host-order number.
std::uint16_t csum_fold(std::uint32_t sum);

// The IPv4 header checksum of the header at 'l3', computed from scratch.
std::uint16_t ipv4_header_csum(const Bytes &frame, std::size_t l3);
// The TCP/UDP/ICMPv6 checksum of the segment from 'l4' to 'end', with the
// IPv4 or IPv6 pseudo-header of the IP header at 'l3' (its addresses, and
// 'proto').  For ICMP (IPv4): no pseudo-header.
std::uint16_t l4_csum(const Bytes &frame, std::size_t l3, std::size_t l4,
                      std::size_t end, std::uint8_t proto);

// OVS's recalc_csum16() and recalc_csum32() (lib/csum.c): the arguments
// are checksums and fields in network order loaded into host integers,
// as OVS passes them (raw16/raw32 load them so).
std::uint16_t ovs_recalc_csum16(std::uint16_t old_csum, std::uint16_t old_u16,
                                std::uint16_t new_u16);
std::uint16_t ovs_recalc_csum32(std::uint16_t old_csum, std::uint32_t old_u32,
                                std::uint32_t new_u32);
std::uint16_t raw16(const Bytes &b, std::size_t off);
std::uint32_t raw32(const Bytes &b, std::size_t off);
std::uint16_t raw16_of(std::uint16_t host);  // htons().
std::uint32_t raw32_of(std::uint32_t host);  // htonl().

}  // namespace afxdp::test

#endif  // AFXDP_TESTS_BPF_FRAME_BUILDER_H
