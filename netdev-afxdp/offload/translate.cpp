/*
 * Translate implementation: one small function per header layer for the
 * match, one per action kind for the actions.  See translate.h.
 */
#include "netdev-afxdp/offload/translate.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace afxdp::offload {

namespace {

constexpr uint16_t kEthTypeIp = 0x0800;
constexpr uint16_t kEthTypeArp = 0x0806;
constexpr uint16_t kEthTypeRarp = 0x8035;
constexpr uint16_t kEthTypeIpv6 = 0x86dd;
constexpr uint16_t kVlanCfi = 0x1000;
constexpr uint8_t kIpProtoTcp = 6;
constexpr uint8_t kIpProtoUdp = 17;

template <size_t N>
bool bytes_zero(const uint8_t (&a)[N])
{
    return std::all_of(a, a + N, [](uint8_t b) { return b == 0; });
}

// Copies 'n' bytes of value & mask into the key and the mask.
void put(uint8_t *key, uint8_t *mask, const void *value, const void *m,
         size_t n)
{
    const auto *v = static_cast<const uint8_t *>(value);
    const auto *mm = static_cast<const uint8_t *>(m);
    for (size_t i = 0; i < n; i++) {
        key[i] = v[i] & mm[i];
        mask[i] = mm[i];
    }
}

#define PUT_FIELD(KEY_FIELD, FIELD)                                            \
    put(reinterpret_cast<uint8_t *>(&out.key.KEY_FIELD),                       \
        reinterpret_cast<uint8_t *>(&out.mask.KEY_FIELD), &v.FIELD, &m.FIELD,  \
        sizeof v.FIELD)

Error refuse(const std::string &why)
{
    return Error{EOPNOTSUPP, why};
}

// The metadata every frame from the port has: in_port is the port's own,
// recirc_id 0 (fresh from the wire), packet_type Ethernet.
Result<void> check_metadata(const afxdp_flow_fields &v,
                            const afxdp_flow_fields &m)
{
    if (m.in_port != UINT32_MAX) {
        return refuse("in_port is not matched exactly");
    }
    if (m.recirc_id & v.recirc_id) {
        return refuse("matches recirc_id " + std::to_string(v.recirc_id) +
                      " (recirculated frames never reach the fast path)");
    }
    if (m.packet_type && (v.packet_type & m.packet_type) != 0) {
        return refuse("packet_type is not Ethernet");
    }
    return {};
}

bool dl_type_exact(const afxdp_flow_fields &m)
{
    return m.dl_type == 0xffff;
}

bool dl_type_is(const afxdp_flow_fields &v, uint16_t type)
{
    return v.dl_type == htons(type);
}

// Fields that share bytes of the key's 'addr' with another packet type's
// fields: each is matched only where dl_type pins the packet type it
// exists in (OVS leaves them zero in all other packets, the key does not).
Result<void> check_shared_bytes(const afxdp_flow_fields &v,
                                const afxdp_flow_fields &m)
{
    const bool ip4_or_arp = dl_type_exact(m) && (dl_type_is(v, kEthTypeIp) ||
                                                 dl_type_is(v, kEthTypeArp) ||
                                                 dl_type_is(v, kEthTypeRarp));
    const bool arp = dl_type_exact(m) && (dl_type_is(v, kEthTypeArp) ||
                                          dl_type_is(v, kEthTypeRarp));
    const bool ip6 = dl_type_exact(m) && dl_type_is(v, kEthTypeIpv6);

    if ((m.nw_src || m.nw_dst) && !ip4_or_arp) {
        return refuse("matches nw_src/nw_dst without dl_type IPv4 or ARP");
    }
    if ((!bytes_zero(m.ipv6_src) || !bytes_zero(m.ipv6_dst)) && !ip6) {
        return refuse("matches ipv6_src/ipv6_dst without dl_type IPv6");
    }
    if ((!bytes_zero(m.arp_sha) || !bytes_zero(m.arp_tha)) && !arp) {
        // With IPv6 these are neighbour discovery's link-layer options,
        // which the parser leaves to OVS.
        return refuse("matches arp_sha/arp_tha without dl_type ARP");
    }
    return {};
}

void fill_key(const afxdp_flow_fields &v, const afxdp_flow_fields &m,
              TranslatedMatch &out)
{
    PUT_FIELD(dl_dst, dl_dst);
    PUT_FIELD(dl_src, dl_src);
    PUT_FIELD(dl_type, dl_type);
    PUT_FIELD(vlan_tci, vlan_tci);
    PUT_FIELD(vlan_tpid, vlan_tpid);
    PUT_FIELD(nw_frag, nw_frag);
    PUT_FIELD(nw_tos, nw_tos);
    PUT_FIELD(nw_ttl, nw_ttl);
    PUT_FIELD(nw_proto, nw_proto);
    PUT_FIELD(tp_src, tp_src);
    PUT_FIELD(tp_dst, tp_dst);
    PUT_FIELD(tcp_flags, tcp_flags);
    PUT_FIELD(ipv6_label, ipv6_label);

    uint8_t *key = out.key.addr;
    uint8_t *mask = out.mask.addr;
    if (!bytes_zero(m.ipv6_src) || !bytes_zero(m.ipv6_dst)) {
        put(key + AFXDP_ADDR_IPV6_SRC, mask + AFXDP_ADDR_IPV6_SRC, v.ipv6_src,
            m.ipv6_src, 16);
        put(key + AFXDP_ADDR_IPV6_DST, mask + AFXDP_ADDR_IPV6_DST, v.ipv6_dst,
            m.ipv6_dst, 16);
    } else {
        put(key + AFXDP_ADDR_IPV4_SRC, mask + AFXDP_ADDR_IPV4_SRC, &v.nw_src,
            &m.nw_src, 4);
        put(key + AFXDP_ADDR_IPV4_DST, mask + AFXDP_ADDR_IPV4_DST, &v.nw_dst,
            &m.nw_dst, 4);
        put(key + AFXDP_ADDR_ARP_SHA, mask + AFXDP_ADDR_ARP_SHA, v.arp_sha,
            m.arp_sha, 6);
        put(key + AFXDP_ADDR_ARP_THA, mask + AFXDP_ADDR_ARP_THA, v.arp_tha,
            m.arp_tha, 6);
    }
}

}  // namespace

Result<TranslatedMatch> translate_match(const afxdp_flow_match &match)
{
    const afxdp_flow_fields &v = match.value;
    const afxdp_flow_fields &m = match.mask;

    if (match.other_field) {
        return refuse(std::string("matches ") + match.other_field +
                      ", which the XDP parser does not extract");
    }
    if (auto r = check_metadata(v, m); !r) {
        return r.error();
    }
    if (auto r = check_shared_bytes(v, m); !r) {
        return r.error();
    }
    TranslatedMatch out;
    std::memset(&out, 0, sizeof out);
    fill_key(v, m, out);
    return out;
}

// ---- Actions ----------------------------------------------------------------

namespace {

class ActionBuilder {
public:
    explicit ActionBuilder(const afxdp_flow_match &match) : match_(match) {}

    void add(const afxdp_flow_action &a);
    TranslatedActions finish();

private:
    void partial(const std::string &why)
    {
        if (out_.partial_reason.empty()) {
            out_.partial_reason = why;
        }
    }
    // Whether stage 'flag' may be added: each rewrite at most once, and
    // nothing after the output.
    bool stage_free(uint16_t flag, const char *name);

    void output(const afxdp_flow_action &a);
    void set_eth(const afxdp_flow_action &a);
    void set_ipv4(const afxdp_flow_action &a);
    void set_ipv6(const afxdp_flow_action &a);
    void set_tp(const afxdp_flow_action &a, uint8_t proto);
    void push_vlan(const afxdp_flow_action &a);
    void pop_vlan();

    const afxdp_flow_match &match_;
    TranslatedActions out_;
    uint16_t &flags_ = out_.actions.flags;
    bool dropped_ = false;  // An explicit drop ended the list.
};

bool ActionBuilder::stage_free(uint16_t flag, const char *name)
{
    if (dropped_) {
        partial(std::string(name) + " after a drop");
        return false;
    }
    if (flags_ & AFXDP_ACT_OUTPUT) {
        partial(std::string(name) + " after an output");
        return false;
    }
    if (flags_ & flag) {
        partial(std::string("a second ") + name);
        return false;
    }
    return true;
}

void ActionBuilder::output(const afxdp_flow_action &a)
{
    if (dropped_) {
        partial("an output after a drop");
        return;
    }
    if (flags_ & AFXDP_ACT_OUTPUT) {
        partial("more than one output");
        return;
    }
    if (!a.output.port) {
        partial("output to port " + std::to_string(a.output.odp_port) +
                ", which is not an afxdp port with offload");
        return;
    }
    flags_ |= AFXDP_ACT_OUTPUT;
    out_.output = a.output.port;
}

void ActionBuilder::set_eth(const afxdp_flow_action &a)
{
    if (!stage_free(AFXDP_ACT_SET_ETH, "Ethernet rewrite")) {
        return;
    }
    afxdp_set_eth &s = out_.actions.eth;
    for (int i = 0; i < 6; i++) {
        s.dst[i] = a.eth.dst[i] & a.eth.dst_mask[i];
        s.dst_mask[i] = a.eth.dst_mask[i];
        s.src[i] = a.eth.src[i] & a.eth.src_mask[i];
        s.src_mask[i] = a.eth.src_mask[i];
    }
    flags_ |= AFXDP_ACT_SET_ETH;
}

void ActionBuilder::set_ipv4(const afxdp_flow_action &a)
{
    if (!stage_free(AFXDP_ACT_SET_IPV4, "IPv4 rewrite")) {
        return;
    }
    // odp_set_ipv4() rewrites the header it finds at the L3 offset; the
    // fast path needs the match to promise IPv4.
    if (match_.mask.dl_type != 0xffff ||
        match_.value.dl_type != htons(kEthTypeIp) ||
        (flags_ & AFXDP_ACT_SET_IPV6)) {
        partial("IPv4 rewrite of a flow that does not match IPv4");
        return;
    }
    afxdp_set_ipv4 &s = out_.actions.l3.ipv4;
    s.src = a.ipv4.src & a.ipv4.src_mask;
    s.src_mask = a.ipv4.src_mask;
    s.dst = a.ipv4.dst & a.ipv4.dst_mask;
    s.dst_mask = a.ipv4.dst_mask;
    s.tos = a.ipv4.tos & a.ipv4.tos_mask;
    s.tos_mask = a.ipv4.tos_mask;
    s.ttl = a.ipv4.ttl & a.ipv4.ttl_mask;
    s.ttl_mask = a.ipv4.ttl_mask;
    flags_ |= AFXDP_ACT_SET_IPV4;
}

void ActionBuilder::set_ipv6(const afxdp_flow_action &a)
{
    if (!stage_free(AFXDP_ACT_SET_IPV6, "IPv6 rewrite")) {
        return;
    }
    if (match_.mask.dl_type != 0xffff ||
        match_.value.dl_type != htons(kEthTypeIpv6) ||
        (flags_ & AFXDP_ACT_SET_IPV4)) {
        partial("IPv6 rewrite of a flow that does not match IPv6");
        return;
    }
    afxdp_set_ipv6 &s = out_.actions.l3.ipv6;
    for (int i = 0; i < 16; i++) {
        s.src[i] = a.ipv6.src[i] & a.ipv6.src_mask[i];
        s.src_mask[i] = a.ipv6.src_mask[i];
        s.dst[i] = a.ipv6.dst[i] & a.ipv6.dst_mask[i];
        s.dst_mask[i] = a.ipv6.dst_mask[i];
    }
    // The label is 20 bits: OVS keeps it in the low bits of a be32.
    uint32_t label_mask = a.ipv6.label_mask & htonl(0xfffff);
    s.label = a.ipv6.label & label_mask;
    s.label_mask = label_mask;
    s.tclass = a.ipv6.tclass & a.ipv6.tclass_mask;
    s.tclass_mask = a.ipv6.tclass_mask;
    s.hlimit = a.ipv6.hlimit & a.ipv6.hlimit_mask;
    s.hlimit_mask = a.ipv6.hlimit_mask;
    flags_ |= AFXDP_ACT_SET_IPV6;
}

void ActionBuilder::set_tp(const afxdp_flow_action &a, uint8_t proto)
{
    const char *name = proto == kIpProtoTcp ? "TCP rewrite" : "UDP rewrite";
    if (!stage_free(AFXDP_ACT_SET_TP, name)) {
        return;
    }
    if (match_.mask.nw_proto != 0xff || match_.value.nw_proto != proto ||
        match_.mask.dl_type != 0xffff ||
        (match_.value.dl_type != htons(kEthTypeIp) &&
         match_.value.dl_type != htons(kEthTypeIpv6))) {
        partial(std::string(name) + " of a flow that does not match it");
        return;
    }
    afxdp_set_tp &s = out_.actions.tp;
    s.src = a.tp.src & a.tp.src_mask;
    s.src_mask = a.tp.src_mask;
    s.dst = a.tp.dst & a.tp.dst_mask;
    s.dst_mask = a.tp.dst_mask;
    out_.actions.tp_proto = proto;
    flags_ |= AFXDP_ACT_SET_TP;
}

void ActionBuilder::push_vlan(const afxdp_flow_action &a)
{
    if (!stage_free(AFXDP_ACT_PUSH_VLAN, "VLAN push")) {
        return;
    }
    out_.actions.push_tpid = a.push_vlan.tpid;
    // eth_push_vlan() writes the TCI without OVS's presence bit.
    out_.actions.push_tci = a.push_vlan.tci & htons(uint16_t(~kVlanCfi));
    out_.tx_bytes_delta += 4;
    flags_ |= AFXDP_ACT_PUSH_VLAN;
}

void ActionBuilder::pop_vlan()
{
    if (flags_ & AFXDP_ACT_PUSH_VLAN) {
        partial("VLAN pop after a push");
        return;
    }
    if (!stage_free(AFXDP_ACT_POP_VLAN, "VLAN pop")) {
        return;
    }
    // The pop changes the frame (and its size) only if it has a tag: the
    // match must say whether it has one.
    if (!(match_.mask.vlan_tci & htons(kVlanCfi))) {
        partial("VLAN pop on a flow that does not match the tag's presence");
        return;
    }
    if (match_.value.vlan_tci & htons(kVlanCfi)) {
        out_.tx_bytes_delta -= 4;
    }
    flags_ |= AFXDP_ACT_POP_VLAN;
}

void ActionBuilder::add(const afxdp_flow_action &a)
{
    switch (a.type) {
    case AFXDP_FLOW_ACTION_OUTPUT: output(a); break;
    case AFXDP_FLOW_ACTION_SET_ETH: set_eth(a); break;
    case AFXDP_FLOW_ACTION_SET_IPV4: set_ipv4(a); break;
    case AFXDP_FLOW_ACTION_SET_IPV6: set_ipv6(a); break;
    case AFXDP_FLOW_ACTION_SET_TCP: set_tp(a, kIpProtoTcp); break;
    case AFXDP_FLOW_ACTION_SET_UDP: set_tp(a, kIpProtoUdp); break;
    case AFXDP_FLOW_ACTION_PUSH_VLAN: push_vlan(a); break;
    case AFXDP_FLOW_ACTION_POP_VLAN: pop_vlan(); break;
    case AFXDP_FLOW_ACTION_DROP:
        if (flags_ & AFXDP_ACT_OUTPUT) {
            partial("a drop after an output");
        }
        dropped_ = true;
        break;
    case AFXDP_FLOW_ACTION_OTHER:
    default:
        partial(std::string("action ") + (a.other ? a.other : "(unknown)"));
        break;
    }
}

TranslatedActions ActionBuilder::finish()
{
    if (out_.partial_reason.empty()) {
        out_.kind = AFXDP_OFFLOAD_FULL;
        return std::move(out_);
    }
    TranslatedActions partial_out;
    partial_out.kind = AFXDP_OFFLOAD_PARTIAL;
    partial_out.actions.flags = AFXDP_ACT_TO_OVS;
    partial_out.partial_reason = std::move(out_.partial_reason);
    return partial_out;
}

}  // namespace

TranslatedActions translate_actions(const afxdp_flow_match &match,
                                    const afxdp_flow_action *actions,
                                    size_t n_actions)
{
    ActionBuilder builder(match);
    for (size_t i = 0; i < n_actions; i++) {
        builder.add(actions[i]);
    }
    return builder.finish();
}

}  // namespace afxdp::offload
