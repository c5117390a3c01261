#include "frame_builder.h"

#include <cstring>

namespace afxdp::test {

// ---- Byte access --------------------------------------------------------

void put16(Bytes &b, std::size_t off, std::uint16_t v)
{
    b.at(off) = static_cast<std::uint8_t>(v >> 8);
    b.at(off + 1) = static_cast<std::uint8_t>(v);
}

void put32(Bytes &b, std::size_t off, std::uint32_t v)
{
    put16(b, off, static_cast<std::uint16_t>(v >> 16));
    put16(b, off + 2, static_cast<std::uint16_t>(v));
}

std::uint16_t get16(const Bytes &b, std::size_t off)
{
    return static_cast<std::uint16_t>(b.at(off) << 8 | b.at(off + 1));
}

std::uint32_t get32(const Bytes &b, std::size_t off)
{
    return std::uint32_t{get16(b, off)} << 16 | get16(b, off + 2);
}

namespace {

void append(Bytes &b, const std::uint8_t *p, std::size_t n)
{
    b.insert(b.end(), p, p + n);
}

void append16(Bytes &b, std::uint16_t v)
{
    b.resize(b.size() + 2);
    put16(b, b.size() - 2, v);
}

void append32(Bytes &b, std::uint32_t v)
{
    b.resize(b.size() + 4);
    put32(b, b.size() - 4, v);
}

constexpr std::size_t kIpv6HeaderLen = 40;

}  // namespace

// ---- FrameBuilder -------------------------------------------------------

FrameBuilder::FrameBuilder(const Mac &dst, const Mac &src)
{
    append(b_, dst.data(), dst.size());
    append(b_, src.data(), src.size());
}

FrameBuilder &FrameBuilder::vlan(std::uint16_t tpid, std::uint16_t tci)
{
    append16(b_, tpid);
    append16(b_, tci);
    return *this;
}

FrameBuilder &FrameBuilder::ethertype(std::uint16_t type)
{
    append16(b_, type);
    return *this;
}

FrameBuilder &FrameBuilder::ipv4(const Ipv4Header &h)
{
    l3_ = b_.size();
    l3_kind_ = L3::kIpv4;
    b_.push_back(static_cast<std::uint8_t>(0x45 + h.options.size() / 4));
    b_.push_back(h.tos);
    append16(b_, 0);  // Total length: finish().
    append16(b_, h.id);
    append16(b_, h.frag_off);
    b_.push_back(h.ttl);
    b_.push_back(h.proto);
    append16(b_, 0);  // Checksum: finish().
    append32(b_, h.src);
    append32(b_, h.dst);
    append(b_, h.options.data(), h.options.size());
    return *this;
}

FrameBuilder &FrameBuilder::ipv6(const Ipv6Header &h)
{
    l3_ = b_.size();
    l3_kind_ = L3::kIpv6;
    append32(b_,
             6u << 28 | std::uint32_t{h.tclass} << 20 | (h.label & 0xfffff));
    append16(b_, 0);  // Payload length: finish().
    b_.push_back(h.next);
    b_.push_back(h.hlimit);
    append(b_, h.src.data(), h.src.size());
    append(b_, h.dst.data(), h.dst.size());
    return *this;
}

FrameBuilder &FrameBuilder::ipv6_ext(std::uint8_t next, std::size_t len)
{
    // Zero bytes after the first two are Pad1 options (hop-by-hop,
    // destination options) or a type 0 routing header with no segments
    // left: well-formed either way.
    const std::size_t at = b_.size();
    b_.resize(at + len);
    b_[at] = next;
    b_[at + 1] = static_cast<std::uint8_t>(len / 8 - 1);
    return *this;
}

FrameBuilder &FrameBuilder::ipv6_ah(std::uint8_t next, std::size_t len)
{
    const std::size_t at = b_.size();
    b_.resize(at + len);
    b_[at] = next;
    b_[at + 1] = static_cast<std::uint8_t>(len / 4 - 2);
    put32(b_, at + 4, 0x100);  // SPI.
    return *this;
}

FrameBuilder &FrameBuilder::ipv6_frag(std::uint8_t next, std::uint16_t offlg)
{
    b_.push_back(next);
    b_.push_back(0);
    append16(b_, offlg);
    append32(b_, 0xabcd0123);  // Identification.
    return *this;
}

FrameBuilder &FrameBuilder::arp(const ArpHeader &h)
{
    l3_ = b_.size();
    append16(b_, 1);       // Ethernet.
    append16(b_, 0x0800);  // IPv4.
    b_.push_back(h.hln);
    b_.push_back(4);
    append16(b_, h.op);
    append(b_, h.sha.data(), h.sha.size());
    append32(b_, h.spa);
    append(b_, h.tha.data(), h.tha.size());
    append32(b_, h.tpa);
    return *this;
}

FrameBuilder &FrameBuilder::tcp(std::uint16_t sport, std::uint16_t dport,
                                std::uint16_t flags, unsigned doff_words)
{
    l4_ = b_.size();
    l4_kind_ = L4::kTcp;
    l4_proto_ = kTcp;
    append16(b_, sport);
    append16(b_, dport);
    append32(b_, 0x11223344);  // Sequence.
    append32(b_, 0x55667788);  // Acknowledgement.
    append16(b_,
             static_cast<std::uint16_t>(doff_words << 12 | (flags & 0x0fff)));
    append16(b_, 8192);  // Window.
    append16(b_, 0);     // Checksum: finish().
    append16(b_, 0);     // Urgent pointer.
    // Options (NOPs) up to the data offset, when it is a sane one.
    for (unsigned i = 5; i < doff_words; i++) {
        append32(b_, 0x01010101);
    }
    return *this;
}

FrameBuilder &FrameBuilder::udp(std::uint16_t sport, std::uint16_t dport,
                                bool zero_csum)
{
    l4_ = b_.size();
    l4_kind_ = zero_csum ? L4::kUdpNoCsum : L4::kUdp;
    l4_proto_ = kUdp;
    append16(b_, sport);
    append16(b_, dport);
    append16(b_, 0);  // Length: finish().
    append16(b_, 0);  // Checksum: finish(), unless zero_csum.
    return *this;
}

FrameBuilder &FrameBuilder::sctp(std::uint16_t sport, std::uint16_t dport)
{
    // OVS reads no checksum of SCTP and neither does the fast path: the
    // CRC32c stays zero.
    l4_ = b_.size();
    append16(b_, sport);
    append16(b_, dport);
    append32(b_, 0xdeadbeef);  // Verification tag.
    append32(b_, 0);
    return *this;
}

FrameBuilder &FrameBuilder::icmp(std::uint8_t type, std::uint8_t code)
{
    l4_ = b_.size();
    l4_kind_ = L4::kIcmp;
    l4_proto_ = kIcmp;
    b_.push_back(type);
    b_.push_back(code);
    append16(b_, 0);       // Checksum: finish().
    append16(b_, 0x4242);  // Identifier.
    append16(b_, 7);       // Sequence.
    return *this;
}

FrameBuilder &FrameBuilder::icmp6(std::uint8_t type, std::uint8_t code)
{
    l4_ = b_.size();
    l4_kind_ = L4::kIcmp6;
    l4_proto_ = kIcmp6;
    b_.push_back(type);
    b_.push_back(code);
    append16(b_, 0);  // Checksum: finish().
    append16(b_, 0x4242);
    append16(b_, 7);
    return *this;
}

FrameBuilder &FrameBuilder::payload(std::size_t n)
{
    // By index in the payload, not in the frame: the same payload behind
    // headers of another length (a pushed or popped tag) is the same.
    for (std::size_t i = 0; i < n; i++) {
        b_.push_back(static_cast<std::uint8_t>((i * 13 + 5) & 0xff));
    }
    return *this;
}

FrameBuilder &FrameBuilder::padding(std::size_t n)
{
    ip_end_ = b_.size();
    b_.resize(b_.size() + n, 0);
    return *this;
}

Frame FrameBuilder::finish() const
{
    Frame f{b_, l3_, l4_};
    Bytes &b = f.bytes;
    const std::size_t end = ip_end_ ? ip_end_ : b.size();

    if (l3_kind_ == L3::kIpv4) {
        put16(b, l3_ + 2, static_cast<std::uint16_t>(end - l3_));
    } else if (l3_kind_ == L3::kIpv6) {
        put16(b, l3_ + 4,
              static_cast<std::uint16_t>(end - l3_ - kIpv6HeaderLen));
    }
    switch (l4_kind_) {
    case L4::kNone: break;
    case L4::kTcp:
        put16(b, l4_ + 16, l4_csum(b, l3_, l4_, end, l4_proto_));
        break;
    case L4::kUdp:
    case L4::kUdpNoCsum:
        put16(b, l4_ + 4, static_cast<std::uint16_t>(end - l4_));
        if (l4_kind_ == L4::kUdp) {
            std::uint16_t c = l4_csum(b, l3_, l4_, end, l4_proto_);
            // RFC 768: a computed zero is sent as all ones.
            put16(b, l4_ + 6, c ? c : 0xffff);
        }
        break;
    case L4::kIcmp:
    case L4::kIcmp6:
        put16(b, l4_ + 2, l4_csum(b, l3_, l4_, end, l4_proto_));
        break;
    }
    if (l3_kind_ == L3::kIpv4) {
        put16(b, l3_ + 10, ipv4_header_csum(b, l3_));
    }
    return f;
}

// ---- Checksums ----------------------------------------------------------

std::uint32_t csum_sum(std::uint32_t sum, const std::uint8_t *data,
                       std::size_t n)
{
    std::size_t i = 0;
    for (; i + 1 < n; i += 2) {
        sum += static_cast<std::uint32_t>(data[i] << 8 | data[i + 1]);
    }
    if (i < n) {
        sum += static_cast<std::uint32_t>(data[i] << 8);
    }
    return sum;
}

std::uint16_t csum_fold(std::uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(~sum);
}

std::uint16_t ipv4_header_csum(const Bytes &frame, std::size_t l3)
{
    const std::size_t ihl = std::size_t{frame.at(l3) & 0xfu} * 4;
    Bytes h(frame.begin() + static_cast<std::ptrdiff_t>(l3),
            frame.begin() + static_cast<std::ptrdiff_t>(l3 + ihl));
    put16(h, 10, 0);
    return csum_fold(csum_sum(0, h.data(), h.size()));
}

std::uint16_t l4_csum(const Bytes &frame, std::size_t l3, std::size_t l4,
                      std::size_t end, std::uint8_t proto)
{
    Bytes seg(frame.begin() + static_cast<std::ptrdiff_t>(l4),
              frame.begin() + static_cast<std::ptrdiff_t>(end));
    const std::size_t csum_off = proto == kTcp ? 16 : proto == kUdp ? 6 : 2;
    put16(seg, csum_off, 0);
    std::uint32_t sum = csum_sum(0, seg.data(), seg.size());
    if (proto == kIcmp) {
        return csum_fold(sum);
    }
    const auto len = static_cast<std::uint32_t>(seg.size());
    if (frame.at(l3) >> 4 == 4) {
        sum = csum_sum(sum, frame.data() + l3 + 12, 8);  // Addresses.
        sum += proto + len;
    } else {
        sum = csum_sum(sum, frame.data() + l3 + 8, 32);
        sum += (len >> 16) + (len & 0xffff) + proto;
    }
    return csum_fold(sum);
}

std::uint16_t ovs_recalc_csum16(std::uint16_t old_csum, std::uint16_t old_u16,
                                std::uint16_t new_u16)
{
    // lib/csum.c, word for word (RFC 1624, eqn. 3).
    std::uint16_t hc_complement = static_cast<std::uint16_t>(~old_csum);
    std::uint16_t m_complement = static_cast<std::uint16_t>(~old_u16);
    std::uint16_t m_prime = new_u16;
    std::uint32_t sum = std::uint32_t{hc_complement} + m_complement + m_prime;
    while (sum >> 16) {  // csum_finish().
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(~sum);
}

std::uint16_t ovs_recalc_csum32(std::uint16_t old_csum, std::uint32_t old_u32,
                                std::uint32_t new_u32)
{
    // The implicit ovs_be32 -> ovs_be16 conversions of lib/csum.c: the low
    // half of the host integer first, then the high half.
    return ovs_recalc_csum16(
        ovs_recalc_csum16(old_csum, static_cast<std::uint16_t>(old_u32),
                          static_cast<std::uint16_t>(new_u32)),
        static_cast<std::uint16_t>(old_u32 >> 16),
        static_cast<std::uint16_t>(new_u32 >> 16));
}

std::uint16_t raw16(const Bytes &b, std::size_t off)
{
    std::uint16_t v;
    (void)b.at(off + 1);  // Bounds.
    std::memcpy(&v, &b.at(off), sizeof v);
    return v;
}

std::uint32_t raw32(const Bytes &b, std::size_t off)
{
    std::uint32_t v;
    (void)b.at(off + 3);  // Bounds.
    std::memcpy(&v, &b.at(off), sizeof v);
    return v;
}

std::uint16_t raw16_of(std::uint16_t host)
{
    Bytes b(2);
    put16(b, 0, host);
    return raw16(b, 0);
}

std::uint32_t raw32_of(std::uint32_t host)
{
    Bytes b(4);
    put32(b, 0, host);
    return raw32(b, 0);
}

}  // namespace afxdp::test
