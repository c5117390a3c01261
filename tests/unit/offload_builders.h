/*
 * Builders of the C ABI's plain structs (afxdp_offload.h) for the offload
 * tests: megaflow matches as dpif-netdev hands them over (in_port exact,
 * recirc_id 0 exact, packet_type Ethernet exact, dl_type exact) and the
 * datapath actions the glue copies.
 */
#ifndef AFXDP_TESTS_UNIT_OFFLOAD_BUILDERS_H
#define AFXDP_TESTS_UNIT_OFFLOAD_BUILDERS_H

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "netdev-afxdp/offload/afxdp_offload.h"
#include "netdev-afxdp/offload/flow_table.h"
#include "netdev-afxdp/offload/translate.h"

namespace afxdp::test {

inline constexpr uint16_t kEthIp = 0x0800;
inline constexpr uint16_t kEthArp = 0x0806;
inline constexpr uint16_t kEthRarp = 0x8035;
inline constexpr uint16_t kEthIpv6 = 0x86dd;
inline constexpr uint16_t kVlanCfi = 0x1000;

// A match on in_port 'in_port' and Ethernet type 'dl_type', with the
// metadata every megaflow of dpif-netdev carries.
inline afxdp_flow_match eth_match(uint16_t dl_type, uint32_t in_port = 1)
{
    afxdp_flow_match m;
    std::memset(&m, 0, sizeof m);
    m.value.in_port = in_port;
    m.mask.in_port = UINT32_MAX;
    m.mask.recirc_id = UINT32_MAX;    // recirc_id 0, exact.
    m.mask.packet_type = UINT32_MAX;  // PT_ETH (0), exact.
    m.value.dl_type = htons(dl_type);
    m.mask.dl_type = 0xffff;
    return m;
}

// IPv4 with protocol 'proto' exact and a destination address.
inline afxdp_flow_match ip4_match(uint8_t proto, uint32_t dst = 0x0a000002)
{
    afxdp_flow_match m = eth_match(kEthIp);
    m.value.nw_proto = proto;
    m.mask.nw_proto = 0xff;
    m.value.nw_dst = htonl(dst);
    m.mask.nw_dst = UINT32_MAX;
    return m;
}

inline afxdp_flow_action output_action(afxdp_offload *port, uint32_t odp)
{
    afxdp_flow_action a;
    std::memset(&a, 0, sizeof a);
    a.type = AFXDP_FLOW_ACTION_OUTPUT;
    a.output.port = port;
    a.output.odp_port = odp;
    return a;
}

inline afxdp_flow_action simple_action(afxdp_flow_action_type type)
{
    afxdp_flow_action a;
    std::memset(&a, 0, sizeof a);
    a.type = type;
    return a;
}

inline afxdp_flow_action other_action(const char *name)
{
    afxdp_flow_action a = simple_action(AFXDP_FLOW_ACTION_OTHER);
    a.other = name;
    return a;
}

// push_vlan as OVS carries it: the TCI with VLAN_CFI set.
inline afxdp_flow_action push_vlan_action(uint16_t vid, uint16_t tpid = 0x8100)
{
    afxdp_flow_action a = simple_action(AFXDP_FLOW_ACTION_PUSH_VLAN);
    a.push_vlan.tpid = htons(tpid);
    a.push_vlan.tci = htons(uint16_t(vid | kVlanCfi));
    return a;
}

inline afxdp_flow_action set_eth_action(const uint8_t (&dst)[6])
{
    afxdp_flow_action a = simple_action(AFXDP_FLOW_ACTION_SET_ETH);
    std::memcpy(a.eth.dst, dst, 6);
    std::memset(a.eth.dst_mask, 0xff, 6);
    return a;
}

// A stand-in for another port's offload state: translate only keeps the
// pointer, and FlowTable only the slot the caller resolved it to.
inline afxdp_offload *fake_port(int n)
{
    static char ports[16];
    return reinterpret_cast<afxdp_offload *>(&ports[n]);
}

// What afxdp_offload_flow_put builds before FlowTable::put().
inline offload::FlowSpec make_spec(const afxdp_flow_match &m,
                                   const std::vector<afxdp_flow_action> &acts,
                                   uint16_t out_slot = 0, uint32_t mark = 7)
{
    offload::FlowSpec spec;
    auto tm = offload::translate_match(m);
    if (!tm) {
        ADD_FAILURE() << "match not translated: " << tm.error().message;
        return spec;
    }
    spec.match = tm.value();
    spec.actions = offload::translate_actions(m, acts.data(), acts.size());
    spec.out_slot = out_slot;
    spec.mark = mark;
    return spec;
}

inline offload::Ufid ufid_of(uint8_t n)
{
    offload::Ufid u;
    std::memset(u.bytes, 0, sizeof u.bytes);
    u.bytes[0] = n;
    u.bytes[15] = uint8_t(0xa0 | (n & 0xf));
    return u;
}

}  // namespace afxdp::test

#endif  // AFXDP_TESTS_UNIT_OFFLOAD_BUILDERS_H
