// MaskTable: slots shared by equal masks, the lookup order the program
// reads (struct afxdp_mask_table), the reuse delay of freed slots, ranking
// by hits, and rebinding to another program's table.
#include "netdev-afxdp/offload/mask_table.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

namespace afxdp::offload {
namespace {

using std::chrono::milliseconds;

// Explicit time points, far from the clock's epoch as a steady clock's
// are (boot time), so that no test depends on what "now" is.
constexpr MaskTable::Clock::time_point kT0 =
    MaskTable::Clock::time_point{} + std::chrono::hours(1);

afxdp_flow_key mask_n(int n)
{
    afxdp_flow_key m;
    std::memset(&m, 0, sizeof m);
    m.dl_type = 0xffff;
    m.tp_dst = uint16_t(n + 1);  // Distinct per n.
    return m;
}

// Whether slot 'slot' of 'shared' holds mask_n(n).
bool holds(const afxdp_mask_table &shared, uint8_t slot, int n)
{
    const afxdp_flow_key m = mask_n(n);
    return !std::memcmp(&shared.masks[slot], &m, sizeof m);
}

class MaskTableTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        std::memset(&shared_, 0, sizeof shared_);
        table_.bind(&shared_);
    }

    uint8_t acquire(int n, MaskTable::Clock::time_point t = kT0)
    {
        auto r = table_.acquire(mask_n(n), t);
        EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
        return r.ok() ? r.value() : 0xff;
    }

    // The order as the program reads it: 'n_masks' entries of 'order'.
    std::vector<uint8_t> shared_order() const
    {
        return {shared_.order, shared_.order + shared_.n_masks};
    }

    afxdp_mask_table shared_;
    MaskTable table_;
};

TEST_F(MaskTableTest, EqualMasksShareASlotAndCountUsers)
{
    uint8_t a = acquire(0);
    uint8_t b = acquire(1);
    EXPECT_NE(a, b);
    EXPECT_EQ(acquire(0), a);
    EXPECT_EQ(acquire(0), a);
    EXPECT_EQ(table_.size(), 2u);
    EXPECT_EQ(shared_.n_masks, 2u);
    EXPECT_TRUE(holds(shared_, a, 0));
    EXPECT_TRUE(holds(shared_, b, 1));

    // Three users of 'a': it stays until the last one leaves.
    table_.release(a, kT0);
    table_.release(a, kT0);
    EXPECT_EQ(table_.size(), 2u);
    EXPECT_EQ(shared_order(), (std::vector<uint8_t>{a, b}));
    table_.release(a, kT0);
    EXPECT_EQ(table_.size(), 1u);
    EXPECT_EQ(shared_.n_masks, 1u);
    EXPECT_EQ(shared_order(), (std::vector<uint8_t>{b}));

    // A release too many changes nothing.
    table_.release(a, kT0);
    EXPECT_EQ(table_.size(), 1u);
    EXPECT_EQ(shared_order(), (std::vector<uint8_t>{b}));
}

TEST_F(MaskTableTest, NewMaskGoesLast)
{
    uint8_t a = acquire(0);
    uint8_t b = acquire(1);
    table_.add_hits(b, 10);
    table_.rank();
    ASSERT_EQ(shared_order(), (std::vector<uint8_t>{b, a}));
    // No hits yet: behind the ranked ones, whatever its slot number.
    uint8_t c = acquire(2);
    EXPECT_EQ(shared_order(), (std::vector<uint8_t>{b, a, c}));
    EXPECT_EQ(table_.order()[2], c);
}

TEST_F(MaskTableTest, LastReleaseLeavesTheMiddleOfTheOrder)
{
    uint8_t a = acquire(0);
    uint8_t b = acquire(1);
    uint8_t c = acquire(2);
    table_.release(b, kT0);
    EXPECT_EQ(shared_order(), (std::vector<uint8_t>{a, c}));
    EXPECT_EQ(shared_.n_masks, 2u);
}

TEST_F(MaskTableTest, FreedSlotWaitsForTheReuseDelay)
{
    uint8_t a = acquire(0);
    uint8_t b = acquire(1);
    table_.release(a, kT0);

    // A program may still be comparing frames against the old mask: a
    // new mask takes another slot.
    const auto just_before = kT0 + MaskTable::kReuseDelay - milliseconds(1);
    uint8_t c = acquire(2, just_before);
    EXPECT_NE(c, a);
    EXPECT_NE(c, b);
    // The freed slot still holds the old mask for such a reader.
    EXPECT_TRUE(holds(shared_, a, 0));

    uint8_t d = acquire(3, kT0 + MaskTable::kReuseDelay);
    EXPECT_EQ(d, a);
    EXPECT_TRUE(holds(shared_, a, 3));
    EXPECT_EQ(shared_order(), (std::vector<uint8_t>{b, c, a}));
}

TEST_F(MaskTableTest, FullPastThirtyTwoMasks)
{
    for (uint32_t i = 0; i < MaskTable::kMaxMasks; i++) {
        acquire(int(i));
    }
    EXPECT_EQ(shared_.n_masks, 32u);
    auto r = table_.acquire(mask_n(100), kT0);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ENOSPC);
    // A known mask still gets its slot.
    EXPECT_TRUE(table_.acquire(mask_n(5), kT0).ok());

    // One freed, but cooling: still full; after the delay, room.
    table_.release(uint8_t(table_.order()[0]), kT0);
    r = table_.acquire(mask_n(100), kT0 + milliseconds(10));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ENOSPC);
    EXPECT_TRUE(table_.acquire(mask_n(100), kT0 + MaskTable::kReuseDelay).ok());
    EXPECT_EQ(table_.size(), 32u);
}

TEST_F(MaskTableTest, RankOrdersByHitsSinceTheLastRank)
{
    uint8_t a = acquire(0);
    uint8_t b = acquire(1);
    uint8_t c = acquire(2);
    table_.add_hits(c, 50);
    table_.add_hits(a, 10);
    table_.add_hits(c, 1);  // Hits add up.
    table_.add_hits(b, 30);
    table_.rank();
    EXPECT_EQ(shared_order(), (std::vector<uint8_t>{c, b, a}));

    // Hits are per period: a's new hits alone move it to the front; the
    // others keep their relative order (stable).
    table_.add_hits(a, 1);
    table_.rank();
    EXPECT_EQ(shared_order(), (std::vector<uint8_t>{a, c, b}));
    table_.rank();  // No hits at all: no change.
    EXPECT_EQ(shared_order(), (std::vector<uint8_t>{a, c, b}));
}

TEST_F(MaskTableTest, BindWritesEveryUsedMaskIntoTheNewTable)
{
    uint8_t a = acquire(0);
    uint8_t b = acquire(1);
    uint8_t c = acquire(2);
    table_.release(b, kT0);
    table_.add_hits(c, 5);
    table_.rank();

    afxdp_mask_table fresh;
    std::memset(&fresh, 0, sizeof fresh);
    table_.bind(&fresh);
    EXPECT_EQ(fresh.n_masks, 2u);
    EXPECT_EQ(fresh.order[0], c);
    EXPECT_EQ(fresh.order[1], a);
    EXPECT_TRUE(holds(fresh, a, 0));
    EXPECT_TRUE(holds(fresh, c, 2));
    // The released slot is not written: the new program never saw it.
    afxdp_flow_key zero;
    std::memset(&zero, 0, sizeof zero);
    EXPECT_EQ(0, std::memcmp(&fresh.masks[b], &zero, sizeof zero));

    // Nothing reads the new table's free slots yet: no reuse delay.
    EXPECT_EQ(acquire(3, kT0 + milliseconds(1)), b);
    EXPECT_EQ(fresh.n_masks, 3u);
    // And the old table is left alone.
    EXPECT_EQ(shared_.n_masks, 2u);
}

TEST_F(MaskTableTest, UnboundTableKeepsItsMasks)
{
    table_.bind(nullptr);
    uint8_t a = acquire(0);
    EXPECT_EQ(table_.size(), 1u);
    EXPECT_EQ(shared_.n_masks, 0u);  // Nothing written anywhere.
    afxdp_mask_table later;
    std::memset(&later, 0, sizeof later);
    table_.bind(&later);
    EXPECT_EQ(later.n_masks, 1u);
    EXPECT_EQ(later.order[0], a);
    EXPECT_TRUE(holds(later, a, 0));
}

}  // namespace
}  // namespace afxdp::offload
