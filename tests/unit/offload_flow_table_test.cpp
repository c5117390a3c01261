// FlowTable against FakeFlowMaps and a local OutputRegistry: what a put
// writes into the program's maps, exact and continuous statistics across
// modify, delete, id reuse and program changes, the limits, and the ports'
// fast-path traffic.
#include "netdev-afxdp/offload/flow_table.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "netdev-afxdp/offload/output_registry.h"
#include "tests/unit/fake_flow_maps.h"
#include "tests/unit/offload_builders.h"

namespace afxdp::offload {
namespace {

using test::FakeFlowMaps;
using test::ip4_match;
using test::make_spec;
using test::ufid_of;

// The program's clock sample: jiffies and CLOCK_MONOTONIC together.  The
// table assumes HZ=250 (4 ms a jiffy) until it has measured the rate.
constexpr uint64_t kJiffies = 1'000'000;
constexpr uint64_t kMonoNs = 50'000'000'000;  // 50 s.
constexpr long long kSampleMs = 50'000;

constexpr uint16_t kTcpSyn = 0x002;
constexpr uint16_t kTcpAck = 0x010;

afxdp_flow_action output(int port, uint32_t odp = 5)
{
    return test::output_action(test::fake_port(port), odp);
}

afxdp_flow_action pop_vlan()
{
    return test::simple_action(AFXDP_FLOW_ACTION_POP_VLAN);
}

// Where the fast path holds a flow: its key (with the mask's slot) and
// its actions, found by the translated key whatever the slot.
struct Installed {
    afxdp_flow_key key;
    afxdp_flow_actions actions;
};

std::optional<Installed> installed(const FakeFlowMaps &k, const FlowSpec &s)
{
    for (const afxdp_flow_key &key : k.keys()) {
        afxdp_flow_key unslotted = key;
        unslotted.mask_id = 0;
        if (!std::memcmp(&unslotted, &s.match.key, sizeof unslotted)) {
            return Installed{key, k.lookup(key).value()};
        }
    }
    return std::nullopt;
}

class FlowTableTest : public ::testing::Test {
protected:
    using Clock = FlowTable::Clock;

    void SetUp() override
    {
        auto own = registry_.allocate("p0");
        auto out = registry_.allocate("p1");
        ASSERT_TRUE(own.ok() && out.ok());
        own_slot_ = own.value();
        out_slot_ = out.value();
        k_ = make_maps(8);
        table_ =
            std::make_shared<FlowTable>("p0", own_slot_, registry_, [this] {
                return Clock::time_point{} + offset();
            });
        registry_.add_table(table_);
        table_->bind(k_->handle());
    }

    void TearDown() override
    {
        registry_.remove_table(table_.get());
        table_.reset();
        registry_.release(out_slot_);
        registry_.release(own_slot_);
    }

    static std::shared_ptr<FakeFlowMaps> make_maps(uint32_t max_flows)
    {
        auto k = std::make_shared<FakeFlowMaps>(max_flows, 2);
        k->set_clock(kJiffies, kMonoNs);
        return k;
    }

    // Hand-advanced time, far from the clock's epoch as a steady clock's
    // is; atomic for the concurrent test.
    Clock::duration offset() const
    {
        return std::chrono::hours(1) +
               std::chrono::milliseconds(now_ms_.load());
    }
    void advance(std::chrono::milliseconds d) { now_ms_ += d.count(); }

    // A full flow to IPv4 destination 'dst': output to the second port.
    FlowSpec out_spec(uint32_t dst, uint32_t mark = 7)
    {
        return make_spec(ip4_match(17, dst), {output(1)}, out_slot_, mark);
    }

    afxdp_offload_kind put(uint8_t ufid, const FlowSpec &spec)
    {
        auto r = table_->put(ufid_of(ufid), spec);
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
        return r.ok() ? r.value() : AFXDP_OFFLOAD_PARTIAL;
    }

    FlowStats get(uint8_t ufid, afxdp_offload_kind *kind = nullptr)
    {
        auto r = table_->get(ufid_of(ufid), kind);
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
        return r.ok() ? r.value() : FlowStats{};
    }

    uint32_t id_of(const FlowSpec &spec)
    {
        auto i = installed(*k_, spec);
        EXPECT_TRUE(i.has_value());
        return i ? i->actions.flow_id : UINT32_MAX;
    }

    size_t deletes() const
    {
        size_t n = 0;
        for (const auto &op : k_->flow_ops()) {
            n += !op.put;
        }
        return n;
    }

    std::atomic<long long> now_ms_{0};
    OutputRegistry registry_;  // Outlives the table, which refers to it.
    uint16_t own_slot_ = 0;
    uint16_t out_slot_ = 0;
    std::shared_ptr<FakeFlowMaps> k_;
    std::shared_ptr<FlowTable> table_;
};

// ---- Installing ------------------------------------------------------------

TEST_F(FlowTableTest, PutInstallsKeyWithMaskSlotAndValue)
{
    const FlowSpec a = out_spec(0x0a000002, 77);
    EXPECT_EQ(put(1, a), AFXDP_OFFLOAD_FULL);
    ASSERT_EQ(k_->n_flows(), 1u);
    auto ia = installed(*k_, a);
    ASSERT_TRUE(ia);
    // The mask is the first: slot 0, published to the program.
    EXPECT_EQ(ia->key.mask_id, 0);
    EXPECT_EQ(k_->mask_table().n_masks, 1u);
    EXPECT_EQ(k_->mask_table().order[0], 0);
    EXPECT_EQ(0, std::memcmp(&k_->mask_table().masks[0], &a.match.mask,
                             sizeof a.match.mask));
    EXPECT_EQ(ia->actions.flags, AFXDP_ACT_OUTPUT);
    EXPECT_EQ(ia->actions.flow_id, 0u);
    EXPECT_EQ(ia->actions.mark, 77u);
    EXPECT_EQ(ia->actions.out_slot, out_slot_);

    // Same mask, another flow: same slot, another id.
    const FlowSpec b = out_spec(0x0a000003, 78);
    put(2, b);
    auto ib = installed(*k_, b);
    ASSERT_TRUE(ib);
    EXPECT_EQ(ib->key.mask_id, 0);
    EXPECT_NE(ib->actions.flow_id, ia->actions.flow_id);
    EXPECT_EQ(ib->actions.mark, 78u);

    // Another mask: the next slot.  A drop has no output slot.
    afxdp_flow_match m = ip4_match(6);
    m.value.tp_dst = htons(80);
    m.mask.tp_dst = 0xffff;
    const FlowSpec c = make_spec(m, {}, 0, 79);
    put(3, c);
    auto ic = installed(*k_, c);
    ASSERT_TRUE(ic);
    EXPECT_EQ(ic->key.mask_id, 1);
    EXPECT_EQ(ic->actions.flags, 0);
    EXPECT_EQ(k_->mask_table().n_masks, 2u);
    EXPECT_EQ(table_->size(), 3u);
    EXPECT_EQ(table_->counters().flows_full, 3u);
    EXPECT_EQ(table_->counters().masks, 2u);
}

TEST_F(FlowTableTest, PartialFlowGoesToOvsWithItsMark)
{
    const FlowSpec p = make_spec(ip4_match(17), {output(1), output(2)}, 0, 9);
    ASSERT_EQ(p.actions.kind, AFXDP_OFFLOAD_PARTIAL);
    EXPECT_EQ(put(1, p), AFXDP_OFFLOAD_PARTIAL);
    auto i = installed(*k_, p);
    ASSERT_TRUE(i);
    EXPECT_EQ(i->actions.flags, AFXDP_ACT_TO_OVS);
    EXPECT_EQ(i->actions.mark, 9u);
    EXPECT_EQ(table_->counters().flows_partial, 1u);
}

TEST_F(FlowTableTest, BoundProgramMirrorsTheUsableOutputs)
{
    // The fake runs in generic mode: an open port's slot is usable
    // whatever its device's XDP features.
    registry_.set_device(out_slot_, 1);
    EXPECT_EQ(k_->output(out_slot_), 1);
    registry_.set_device(out_slot_, 0);  // Port closed.
    EXPECT_FALSE(k_->output(out_slot_).has_value());

    // A program bound later starts with every usable slot.
    registry_.set_device(out_slot_, 1);
    table_->unbind();
    auto k2 = make_maps(8);
    table_->bind(k2->handle());
    EXPECT_EQ(k2->output(out_slot_), 1);
    EXPECT_FALSE(k2->output(own_slot_).has_value());  // Not opened.
}

TEST_F(FlowTableTest, DeletedPortsSlotWaitsForTheFlowsOutputtingToIt)
{
    // OVS deletes port p1 and adds p2 in one go; this port's flows to p1
    // stay offloaded until a revalidator catches up.  p2 must not take
    // p1's slot meanwhile: the flows would redirect p1's frames to p2.
    registry_.set_device(out_slot_, 7);
    const FlowSpec a = out_spec(0x0a000002);
    const FlowSpec b = out_spec(0x0a000003);
    put(1, a);
    put(2, b);
    registry_.set_device(out_slot_, 0);
    registry_.release(out_slot_);
    EXPECT_FALSE(k_->output(out_slot_).has_value());  // Falls back to OVS.

    std::vector<uint16_t> others;
    auto allocate = [&](const char *name) {
        auto r = registry_.allocate(name);
        EXPECT_TRUE(r.ok());
        others.push_back(r.ok() ? r.value() : 0);
        return others.back();
    };
    const uint16_t p2 = allocate("p2");
    EXPECT_NE(p2, out_slot_);
    registry_.set_device(p2, 9);
    EXPECT_FALSE(k_->output(out_slot_).has_value());

    // Each flow that outputs to the slot holds it: modified to a drop,
    // deleted.
    put(1, make_spec(ip4_match(17, 0x0a000002), {}));
    EXPECT_NE(allocate("p3"), out_slot_);
    ASSERT_TRUE(table_->del(ufid_of(2)).ok());
    EXPECT_EQ(allocate("p4"), out_slot_);

    for (uint16_t slot : others) {
        registry_.release(slot);
    }
    out_slot_ = allocate("p1");  // Released again by TearDown.
}

// ---- Statistics ------------------------------------------------------------

TEST_F(FlowTableTest, GetSumsCpusWithUsedTimeAndTcpFlags)
{
    const FlowSpec a = out_spec(0x0a000002);
    put(1, a);
    const uint32_t id = id_of(a);
    k_->count(id, 0, 100, kJiffies - 75, kTcpSyn);
    k_->count(id, 1, 40, kJiffies - 50);
    k_->count(id, 1, 60, kJiffies - 25, kTcpAck);  // The latest.

    afxdp_offload_kind kind = AFXDP_OFFLOAD_PARTIAL;
    FlowStats s = get(1, &kind);
    EXPECT_EQ(kind, AFXDP_OFFLOAD_FULL);
    EXPECT_EQ(s.packets, 3u);
    EXPECT_EQ(s.bytes, 200u);
    EXPECT_EQ(s.used_ms, kSampleMs - 100);  // 25 jiffies at 250 Hz.
    EXPECT_EQ(s.tcp_flags, kTcpSyn | kTcpAck);
}

TEST_F(FlowTableTest, UnusedFlowHasNoUsedTime)
{
    put(1, out_spec(0x0a000002));
    FlowStats s = get(1);
    EXPECT_EQ(s.packets, 0u);
    EXPECT_EQ(s.used_ms, 0);
}

TEST_F(FlowTableTest, PartialFlowReportsZeroStatistics)
{
    // OVS counts a partially offloaded flow's frames itself.
    put(1, make_spec(ip4_match(17), {test::other_action("ct")}));
    k_->count(0, 0, 100, kJiffies, kTcpSyn);  // Id 0: not this flow's.
    afxdp_offload_kind kind = AFXDP_OFFLOAD_FULL;
    FlowStats s = get(1, &kind);
    EXPECT_EQ(kind, AFXDP_OFFLOAD_PARTIAL);
    EXPECT_EQ(s.packets, 0u);
    EXPECT_EQ(s.bytes, 0u);
    EXPECT_EQ(s.used_ms, 0);
    EXPECT_EQ(s.tcp_flags, 0);
}

TEST_F(FlowTableTest, UnknownUfidIsEnoent)
{
    EXPECT_EQ(table_->get(ufid_of(9), nullptr).error().code, ENOENT);
    EXPECT_EQ(table_->del(ufid_of(9)).error().code, ENOENT);
}

// ---- Modify
// ------------------------------------------------------------------

TEST_F(FlowTableTest, ModifyReplacesTheEntryInPlaceAndKeepsStatistics)
{
    const FlowSpec a = out_spec(0x0a000002, 7);
    put(1, a);
    const uint32_t id = id_of(a);
    k_->count(id, 0, 100, kJiffies - 10);
    k_->count(id, 1, 100, kJiffies - 10);
    const size_t ops_before = k_->flow_ops().size();

    const uint8_t mac[6] = {2, 0, 0, 0, 0, 9};
    const FlowSpec b =
        make_spec(ip4_match(17, 0x0a000002),
                  {test::set_eth_action(mac), output(1)}, out_slot_, 8);
    EXPECT_EQ(put(1, b), AFXDP_OFFLOAD_FULL);

    // One put over the same key: no window in which frames miss the flow.
    auto ops = k_->flow_ops();
    ASSERT_EQ(ops.size(), ops_before + 1);
    EXPECT_TRUE(ops.back().put);
    EXPECT_EQ(deletes(), 0u);
    auto i = installed(*k_, b);
    ASSERT_TRUE(i);
    EXPECT_EQ(i->actions.flags, AFXDP_ACT_SET_ETH | AFXDP_ACT_OUTPUT);
    EXPECT_EQ(i->actions.mark, 8u);
    EXPECT_EQ(i->actions.flow_id, id);  // Same counters, continuing.
    EXPECT_EQ(k_->n_flows(), 1u);

    k_->count(id, 0, 50, kJiffies - 5);
    FlowStats s = get(1);
    EXPECT_EQ(s.packets, 3u);
    EXPECT_EQ(s.bytes, 250u);
    EXPECT_EQ(table_->size(), 1u);
}

TEST_F(FlowTableTest, FullThenPartialThenFullKeepsStatistics)
{
    const FlowSpec full = out_spec(0x0a000002);
    const FlowSpec partial =
        make_spec(ip4_match(17, 0x0a000002), {test::other_action("ct")});
    put(1, full);
    const uint32_t id = id_of(full);
    k_->count(id, 0, 100, kJiffies - 25, kTcpSyn);
    k_->count(id, 1, 100, kJiffies - 25);

    EXPECT_EQ(put(1, partial), AFXDP_OFFLOAD_PARTIAL);
    auto i = installed(*k_, partial);
    ASSERT_TRUE(i);
    EXPECT_EQ(i->actions.flags, AFXDP_ACT_TO_OVS);
    afxdp_offload_kind kind = AFXDP_OFFLOAD_FULL;
    // OVS counts the frames from now on; what the fast path counted
    // before stays in the total, which must never go down.
    EXPECT_EQ(get(1, &kind).packets, 2u);
    EXPECT_EQ(kind, AFXDP_OFFLOAD_PARTIAL);
    EXPECT_EQ(table_->counters().flows_partial, 1u);

    EXPECT_EQ(put(1, full), AFXDP_OFFLOAD_FULL);
    EXPECT_EQ(deletes(), 0u);
    // The old id cools down: the flow counts under another.
    const uint32_t id2 = id_of(full);
    EXPECT_NE(id2, id);
    k_->count(id2, 0, 60, kJiffies - 50, kTcpAck);
    FlowStats s = get(1, &kind);
    EXPECT_EQ(kind, AFXDP_OFFLOAD_FULL);
    EXPECT_EQ(s.packets, 3u);
    EXPECT_EQ(s.bytes, 260u);
    EXPECT_EQ(s.tcp_flags, kTcpSyn | kTcpAck);
    EXPECT_EQ(s.used_ms, kSampleMs - 100);  // The first period's last use.
    EXPECT_EQ(table_->counters().flows_full, 1u);
}

TEST_F(FlowTableTest, SameUfidWithAnotherMatchReplacesTheFlow)
{
    const FlowSpec a = out_spec(0x0a000002);
    const FlowSpec b = out_spec(0x0a000003);
    put(1, a);
    k_->count(id_of(a), 0, 100, kJiffies);
    put(1, b);
    EXPECT_FALSE(installed(*k_, a));
    EXPECT_TRUE(installed(*k_, b));
    EXPECT_EQ(table_->size(), 1u);
    EXPECT_EQ(get(1).packets, 0u);  // A new flow.
}

// ---- Delete and id reuse
// -------------------------------------------------------

TEST_F(FlowTableTest, DelReturnsFinalStatisticsAndRemovesTheEntry)
{
    const FlowSpec a = out_spec(0x0a000002);
    put(1, a);
    const uint32_t id = id_of(a);
    k_->count(id, 0, 100, kJiffies - 25, kTcpSyn);
    k_->count(id, 1, 100, kJiffies - 50);

    auto r = table_->del(ufid_of(1));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value().packets, 2u);
    EXPECT_EQ(r.value().bytes, 200u);
    EXPECT_EQ(r.value().used_ms, kSampleMs - 100);
    EXPECT_EQ(r.value().tcp_flags, kTcpSyn);
    EXPECT_EQ(k_->n_flows(), 0u);
    EXPECT_EQ(deletes(), 1u);
    EXPECT_EQ(k_->mask_table().n_masks, 0u);
    EXPECT_EQ(table_->size(), 0u);
    EXPECT_EQ(table_->get(ufid_of(1), nullptr).error().code, ENOENT);
    EXPECT_EQ(table_->del(ufid_of(1)).error().code, ENOENT);
}

TEST_F(FlowTableTest, IdIsReusedZeroedAfterTheDelayWithLateFramesCounted)
{
    const FlowSpec a = out_spec(0x0a000002);
    put(1, a);
    const uint32_t id = id_of(a);
    k_->count(id, 0, 100, kJiffies);
    ASSERT_TRUE(table_->del(ufid_of(1)).ok());
    // A frame that found the entry just before the delete counts after.
    k_->count(id, 1, 70, kJiffies);

    // Within the delay the id is not handed out again.
    advance(FlowTable::kIdReuseDelay - std::chrono::milliseconds(1));
    const FlowSpec b = out_spec(0x0a000003);
    put(2, b);
    EXPECT_NE(id_of(b), id);

    advance(std::chrono::milliseconds(1));
    const FlowSpec c = out_spec(0x0a000004);
    put(3, c);
    EXPECT_EQ(id_of(c), id);
    for (uint32_t cpu = 0; cpu < 2; cpu++) {
        EXPECT_EQ(k_->stats(id, cpu).packets, 0u);
        EXPECT_EQ(k_->stats(id, cpu).bytes, 0u);
    }
    EXPECT_EQ(get(3).packets, 0u);

    // The late frame is in both ports' fast-path traffic.
    PortTraffic rx = registry_.port_traffic(own_slot_);
    EXPECT_EQ(rx.rx_packets, 2u);
    EXPECT_EQ(rx.rx_bytes, 170u);
    PortTraffic tx = registry_.port_traffic(out_slot_);
    EXPECT_EQ(tx.tx_packets, 2u);
    EXPECT_EQ(tx.tx_bytes, 170u);
}

// ---- Program changes
// ------------------------------------------------------------

TEST_F(FlowTableTest, RebindReinstallsEveryFlowWithStatisticsCarried)
{
    const FlowSpec a = out_spec(0x0a000002);
    afxdp_flow_match pm = ip4_match(6);  // Three flows, three masks.
    pm.value.tp_src = htons(22);
    pm.mask.tp_src = 0xffff;
    const FlowSpec p = make_spec(pm, {test::other_action("ct")});
    afxdp_flow_match dm = ip4_match(1);
    dm.value.nw_src = htonl(0x0a0000fe);
    dm.mask.nw_src = UINT32_MAX;
    const FlowSpec d =
        make_spec(dm, {test::simple_action(AFXDP_FLOW_ACTION_DROP)});
    put(1, a);
    put(2, p);
    put(3, d);
    k_->count(id_of(a), 0, 100, kJiffies - 25, kTcpSyn);
    k_->count(id_of(a), 1, 100, kJiffies - 50);
    k_->count(id_of(d), 0, 64, kJiffies - 100);
    k_->set_xdp_counters(afxdp_xdp_counters{5, 1, 0, 0, 0, 0, 0, 0});

    table_->unbind();
    // Between programs the flows are kept with their statistics.
    EXPECT_EQ(table_->size(), 3u);
    EXPECT_EQ(get(1).packets, 2u);
    EXPECT_EQ(table_->counters().flows_full, 0u);  // Installed nowhere.
    EXPECT_EQ(table_->counters().to_ovs_miss, 5u);

    auto k2 = make_maps(8);
    table_->bind(k2->handle());
    EXPECT_EQ(k2->n_flows(), 3u);
    auto ia = installed(*k2, a);
    auto ip = installed(*k2, p);
    auto id = installed(*k2, d);
    ASSERT_TRUE(ia && ip && id);
    EXPECT_EQ(ia->actions.flags, AFXDP_ACT_OUTPUT);
    EXPECT_EQ(ip->actions.flags, AFXDP_ACT_TO_OVS);
    EXPECT_EQ(k2->mask_table().n_masks, 3u);
    // Each key's slot holds its flow's mask in the new program's table.
    const std::pair<const Installed *, const FlowSpec *> pairs[] = {
        {&*ia, &a}, {&*ip, &p}, {&*id, &d}};
    for (const auto &[i, spec] : pairs) {
        EXPECT_EQ(0, std::memcmp(&k2->mask_table().masks[i->key.mask_id],
                                 &spec->match.mask, sizeof spec->match.mask));
    }
    EXPECT_EQ(table_->counters().flows_full, 2u);
    EXPECT_EQ(table_->counters().flows_partial, 1u);
    // The new program's counters add to the old one's.
    k2->set_xdp_counters(afxdp_xdp_counters{2, 0, 0, 0, 0, 0, 0, 0});
    EXPECT_EQ(table_->counters().to_ovs_miss, 7u);

    k2->count(ia->actions.flow_id, 1, 50, kJiffies - 10, kTcpAck);
    FlowStats s = get(1);
    EXPECT_EQ(s.packets, 3u);
    EXPECT_EQ(s.bytes, 250u);
    EXPECT_EQ(s.tcp_flags, kTcpSyn | kTcpAck);
    EXPECT_EQ(s.used_ms, kSampleMs - 40);
    EXPECT_EQ(get(3).packets, 1u);

    EXPECT_EQ(registry_.port_traffic(own_slot_).rx_packets, 4u);
    EXPECT_EQ(registry_.port_traffic(own_slot_).rx_bytes, 314u);
}

TEST_F(FlowTableTest, PutWhileUnboundInstallsAtTheNextBind)
{
    table_->unbind();
    const FlowSpec a = out_spec(0x0a000002);
    EXPECT_EQ(put(1, a), AFXDP_OFFLOAD_FULL);
    EXPECT_EQ(get(1).packets, 0u);
    auto k2 = make_maps(8);
    table_->bind(k2->handle());
    EXPECT_TRUE(installed(*k2, a));
}

// A flow that does not fit into the program it is bound to is OVS's (and
// says so) until a modification finds room for it.
TEST_F(FlowTableTest, FlowThatDidNotFitIsPartialUntilAModifyInstallsIt)
{
    table_->unbind();
    const FlowSpec a = out_spec(0x0a000001);
    const FlowSpec b = out_spec(0x0a000002);
    put(1, a);
    put(2, b);
    auto small = make_maps(1);
    table_->bind(small->handle());
    afxdp_offload_kind kind_a = AFXDP_OFFLOAD_PARTIAL;
    afxdp_offload_kind kind_b = AFXDP_OFFLOAD_PARTIAL;
    get(1, &kind_a);
    get(2, &kind_b);
    // One of the two got the only flow slot.
    EXPECT_NE(kind_a, kind_b);
    const uint8_t out = kind_a == AFXDP_OFFLOAD_FULL ? 2 : 1;
    const uint8_t in = kind_a == AFXDP_OFFLOAD_FULL ? 1 : 2;
    EXPECT_EQ(small->n_flows(), 1u);

    ASSERT_TRUE(table_->del(ufid_of(in)).ok());
    advance(FlowTable::kIdReuseDelay);
    put(out, out == 1 ? a : b);  // The modification retries the install.
    afxdp_offload_kind kind = AFXDP_OFFLOAD_PARTIAL;
    get(out, &kind);
    EXPECT_EQ(kind, AFXDP_OFFLOAD_FULL);
    EXPECT_TRUE(installed(*small, out == 1 ? a : b));
}

TEST_F(FlowTableTest, BindingAgainLeavesOnlyTheNewProgramAttached)
{
    put(1, out_spec(0x0a000002));
    auto k2 = make_maps(8);
    table_->bind(k2->handle());  // Without an unbind first.
    EXPECT_EQ(k_->mask_table().n_masks, 1u);
    EXPECT_TRUE(installed(*k2, out_spec(0x0a000002)));
    // The registry writes the new program's devmap, not the old one's
    // (the fakes run in generic mode: an open port is always usable).
    registry_.set_device(out_slot_, 77);
    EXPECT_EQ(k2->output(out_slot_), 77);
    EXPECT_NE(k_->output(out_slot_), 77);
}

// ---- Limits
// -------------------------------------------------------------------

TEST_F(FlowTableTest, FlowIdsRunOutWithEnospcAndTheFlowIsNotKept)
{
    table_->unbind();
    k_ = make_maps(2);
    table_->bind(k_->handle());
    put(1, out_spec(0x0a000001));
    put(2, out_spec(0x0a000002));

    afxdp_flow_match m = ip4_match(6);  // Another mask.
    auto r = table_->put(ufid_of(3), make_spec(m, {output(1)}, out_slot_));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ENOSPC);
    EXPECT_EQ(table_->size(), 2u);
    EXPECT_EQ(table_->get(ufid_of(3), nullptr).error().code, ENOENT);
    EXPECT_EQ(k_->n_flows(), 2u);
    EXPECT_EQ(k_->mask_table().n_masks, 1u);  // Its mask left again.
    EXPECT_EQ(table_->counters().refused_full, 1u);

    // A deleted flow's id cools down before it serves again.
    ASSERT_TRUE(table_->del(ufid_of(1)).ok());
    r = table_->put(ufid_of(3), make_spec(m, {output(1)}, out_slot_));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ENOSPC);
    advance(FlowTable::kIdReuseDelay);
    r = table_->put(ufid_of(3), make_spec(m, {output(1)}, out_slot_));
    EXPECT_TRUE(r.ok());
}

TEST_F(FlowTableTest, FullFlowsMapRefusesWithEnospc)
{
    // Partial flows take entries but no ids: the map fills first.
    table_->unbind();
    k_ = make_maps(2);
    table_->bind(k_->handle());
    const auto ct = test::other_action("ct");
    put(1, make_spec(ip4_match(17, 1), {ct}));
    put(2, make_spec(ip4_match(17, 2), {ct}));
    auto r = table_->put(ufid_of(3), make_spec(ip4_match(17, 3), {ct}));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ENOSPC);
    EXPECT_EQ(table_->size(), 2u);
    EXPECT_EQ(k_->mask_table().n_masks, 1u);
}

TEST_F(FlowTableTest, FailedModifyKeepsTheOldEntry)
{
    table_->unbind();
    k_ = make_maps(2);
    table_->bind(k_->handle());

    // Full -> full, the map update fails: the old actions stay.
    const FlowSpec a = out_spec(0x0a000001, 7);
    put(1, a);
    const uint32_t id = id_of(a);
    k_->count(id, 0, 100, kJiffies);
    k_->fail_next_put(EIO);
    auto r =
        table_->put(ufid_of(1), make_spec(ip4_match(17, 0x0a000001), {}, 0, 8));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, EIO);
    auto i = installed(*k_, a);
    ASSERT_TRUE(i);
    EXPECT_EQ(i->actions.flags, AFXDP_ACT_OUTPUT);
    EXPECT_EQ(i->actions.mark, 7u);
    k_->count(id, 1, 100, kJiffies);
    afxdp_offload_kind kind = AFXDP_OFFLOAD_PARTIAL;
    EXPECT_EQ(get(1, &kind).packets, 2u);
    EXPECT_EQ(kind, AFXDP_OFFLOAD_FULL);

    // Partial -> full with no id left: the partial entry stays.
    const FlowSpec p =
        make_spec(ip4_match(17, 0x0a000002), {test::other_action("ct")});
    put(2, p);
    ASSERT_TRUE(table_->del(ufid_of(1)).ok());  // Its id cools down.
    put(3, out_spec(0x0a000003));               // Takes the last id.
    r = table_->put(ufid_of(2), out_spec(0x0a000002));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ENOSPC);
    i = installed(*k_, p);
    ASSERT_TRUE(i);
    EXPECT_EQ(i->actions.flags, AFXDP_ACT_TO_OVS);
    EXPECT_EQ(table_->get(ufid_of(2), &kind).ok(), true);
    EXPECT_EQ(kind, AFXDP_OFFLOAD_PARTIAL);

    // Partial -> full whose map update fails gives its new id back.
    advance(FlowTable::kIdReuseDelay);
    k_->fail_next_put(EIO);
    r = table_->put(ufid_of(2), out_spec(0x0a000002));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, EIO);
    EXPECT_EQ(put(2, out_spec(0x0a000002)), AFXDP_OFFLOAD_FULL);
}

// ---- Port traffic
// -----------------------------------------------------------------

TEST_F(FlowTableTest, PortTrafficCountsRxHereAndTxAtTheOutput)
{
    // Push (+4 bytes a frame) and pop of a tagged flow (-4) to the other
    // port, and a drop (received, never sent).
    const FlowSpec push = make_spec(
        ip4_match(17, 1), {test::push_vlan_action(10), output(1)}, out_slot_);
    afxdp_flow_match tagged = ip4_match(17, 2);
    tagged.value.vlan_tci = htons(test::kVlanCfi | 20);
    tagged.mask.vlan_tci = 0xffff;
    const FlowSpec pop = make_spec(tagged, {pop_vlan(), output(1)}, out_slot_);
    const FlowSpec drop = make_spec(ip4_match(17, 3), {});
    put(1, push);
    put(2, pop);
    put(3, drop);
    ASSERT_EQ(push.actions.tx_bytes_delta, 4);
    ASSERT_EQ(pop.actions.tx_bytes_delta, -4);
    for (int n = 0; n < 3; n++) {
        k_->count(id_of(push), 0, 100, kJiffies);
    }
    k_->count(id_of(pop), 1, 200, kJiffies);
    k_->count(id_of(pop), 0, 200, kJiffies);
    k_->count(id_of(drop), 0, 60, kJiffies);
    const uint32_t push_id = id_of(push);

    auto check = [&](uint64_t rx_p, uint64_t rx_b, uint64_t tx_p,
                     uint64_t tx_b) {
        PortTraffic own = registry_.port_traffic(own_slot_);
        EXPECT_EQ(own.rx_packets, rx_p);
        EXPECT_EQ(own.rx_bytes, rx_b);
        EXPECT_EQ(own.tx_packets, 0u);
        EXPECT_EQ(own.tx_bytes, 0u);
        PortTraffic out = registry_.port_traffic(out_slot_);
        EXPECT_EQ(out.rx_packets, 0u);
        EXPECT_EQ(out.rx_bytes, 0u);
        EXPECT_EQ(out.tx_packets, tx_p);
        EXPECT_EQ(out.tx_bytes, tx_b);
    };
    check(6, 760, 5, 300 + 3 * 4 + 400 - 2 * 4);

    // Deleting moves the counts to the retired totals: nothing changes.
    ASSERT_TRUE(table_->del(ufid_of(1)).ok());
    ASSERT_TRUE(table_->del(ufid_of(3)).ok());
    check(6, 760, 5, 704);

    // A late frame of the deleted push flow, counted when its id is
    // recycled: with the push's 4 bytes.
    k_->count(push_id, 1, 100, kJiffies);
    advance(FlowTable::kIdReuseDelay);
    put(4, make_spec(ip4_match(17, 4), {}));
    check(7, 860, 6, 808);

    // Modify: what was counted stays with the old output; unbind and
    // rebind: nothing counted twice.
    k_->count(id_of(pop), 0, 200, kJiffies);
    put(2, make_spec(tagged, {pop_vlan()}));
    check(8, 1060, 7, 1004);
    table_->unbind();
    check(8, 1060, 7, 1004);
    auto k2 = make_maps(8);
    table_->bind(k2->handle());
    check(8, 1060, 7, 1004);
    table_->flush();
    check(8, 1060, 7, 1004);
}

// ---- Teardown ---------------------------------------------------------------

TEST_F(FlowTableTest, RemovedTableIsDestroyedByItsOwner)
{
    // afxdp_offload_destroy() removes the table from the registry, drops
    // its reference and then the port closes its program.  A
    // port_traffic() of another port that is reading this table's live
    // traffic meanwhile must not end up with the last reference: the
    // table's destructor would then remove its flows from maps (and a
    // mapped mask table) that are gone.
    put(1, out_spec(0x0a000002));
    k_->hold_reads();
    std::thread reader([&] { (void)registry_.port_traffic(out_slot_); });
    k_->wait_for_reader();  // In add_live_traffic(), holding the table.

    std::atomic<bool> owner_done{false};
    std::atomic<bool> destroyed_by_owner{false};
    std::thread owner([&, table = std::move(table_)]() mutable {
        std::weak_ptr<FlowTable> weak = table;
        registry_.remove_table(table.get());
        table.reset();
        destroyed_by_owner = weak.expired();
        owner_done = true;
    });
    // remove_table() waits for the read in progress.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_FALSE(owner_done);
    k_->release_reads();
    owner.join();
    reader.join();
    EXPECT_TRUE(destroyed_by_owner);
}

// ---- Concurrency (meant for TSan) -------------------------------------------

TEST_F(FlowTableTest, ConcurrentPutGetDel)
{
    // OVS's offload thread puts and deletes while revalidators read the
    // flows and the main thread reads port statistics; the program counts.
    constexpr int kRounds = 2000;
    constexpr uint8_t kFlows = 6;
    std::atomic<bool> stop{false};

    std::thread writer([&] {
        for (int i = 0; i < kRounds; i++) {
            uint8_t n = uint8_t(i % kFlows);
            auto spec = (i & 1) ? out_spec(0x0a000000u + n)
                                : make_spec(ip4_match(17, 0x0a000000u + n),
                                            {test::other_action("ct")});
            (void)table_->put(ufid_of(n), spec);
            if (i % 3 == 0) {
                (void)table_->del(ufid_of(uint8_t((i + 2) % kFlows)));
            }
            advance(std::chrono::milliseconds(5));
        }
        stop = true;
    });
    std::thread reader([&] {
        uint64_t seen = 0;
        while (!stop) {
            for (uint8_t n = 0; n < kFlows; n++) {
                afxdp_offload_kind kind;
                auto r = table_->get(ufid_of(n), &kind);
                seen += r.ok() ? r.value().packets : 0;
            }
            (void)table_->counters();
            (void)table_->size();
            seen += registry_.port_traffic(own_slot_).rx_packets;
        }
        EXPECT_GE(seen, 0u);
    });
    std::thread program([&] {
        uint32_t i = 0;
        while (!stop) {
            k_->count(i % k_->max_flows(), i % 2, 64, kJiffies, kTcpAck);
            i++;
        }
    });
    writer.join();
    reader.join();
    program.join();

    // Whatever the interleaving, the table and the maps agree.
    EXPECT_EQ(k_->n_flows(), table_->size());
    table_->flush();
    EXPECT_EQ(k_->n_flows(), 0u);
    EXPECT_EQ(k_->mask_table().n_masks, 0u);
}

}  // namespace
}  // namespace afxdp::offload
