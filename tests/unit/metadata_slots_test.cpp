// MetadataSlots: slot <-> chunk index <-> owner round trips, alignment and
// isolation of the caller bytes from the headers.
#include "umem/metadata_slots.h"

#include <gtest/gtest.h>

#include <cstring>

#include "tests/unit/numa_placement.h"

namespace afxdp::umem {
namespace {

UmemArea *const kOwner = reinterpret_cast<UmemArea *>(0x1000);

void check_slots(uint32_t n, uint32_t meta_size, int node)
{
    MetadataSlots slots(kOwner, n, meta_size, node);
    ASSERT_TRUE(slots.ok());
    EXPECT_EQ(slots.stride() % 64, 0u);
    EXPECT_GE(slots.stride(), MetadataSlots::kHeaderSize + meta_size);
    EXPECT_LT(slots.stride(), MetadataSlots::kHeaderSize + meta_size + 64);

    for (uint32_t i = 0; i < n; i++) {
        void *p = slots.slot(i);
        EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u) << i;
        SlotHeader *h = MetadataSlots::from_caller(p);
        EXPECT_EQ(h->owner, kOwner);
        EXPECT_EQ(h->chunk, i);
        // Slots start on their own cache line.
        EXPECT_EQ(reinterpret_cast<uintptr_t>(h) % 64, 0u);
    }
    // Scribbling over every caller byte leaves every header intact.
    for (uint32_t i = 0; i < n; i++) {
        std::memset(slots.slot(i), 0xa5, meta_size);
    }
    for (uint32_t i = 0; i < n; i++) {
        SlotHeader *h = MetadataSlots::from_caller(slots.slot(i));
        EXPECT_EQ(h->owner, kOwner);
        EXPECT_EQ(h->chunk, i);
    }
}

TEST(MetadataSlots, MappingAndAlignment)
{
    check_slots(64, 200, -1);  // About sizeof(struct dp_packet).
    check_slots(8, 48, -1);    // Exactly one line with the header.
    check_slots(8, 49, -1);    // One byte more: two lines.
    check_slots(4, 0, -1);
}

// With a node requested, the slots come from libnuma bound to that node,
// and the constructor's zeroing has put every page there.  Node 0 exists
// on every machine; on a one-node machine the mapping's policy (bound or
// not) is what the check can tell apart.
TEST(MetadataSlots, PlacedOnRequestedNumaNode)
{
    ASSERT_GE(numa_available(), 0)
        << "libnuma reports no NUMA support: placement cannot be checked";
    check_slots(32, 200, 0);
    MetadataSlots slots(kOwner, 32, 200, 0);
    ASSERT_TRUE(slots.ok());
    const char *base =
        static_cast<const char *>(slots.slot(0)) - MetadataSlots::kHeaderSize;
    size_t bytes = slots.stride() * slots.n_slots();
    EXPECT_TRUE(test::bound_to_node(base, bytes, 0));
    EXPECT_TRUE(test::pages_on_node(base, bytes, 0));

    // No node: ordinary heap memory, no binding.
    MetadataSlots anywhere(kOwner, 32, 200, -1);
    ASSERT_TRUE(anywhere.ok());
    unsigned long nodes = 0;
    EXPECT_EQ(test::mapping_policy(anywhere.slot(0), &nodes), MPOL_DEFAULT);
}

TEST(MetadataSlots, StrideRounding)
{
    EXPECT_EQ(MetadataSlots::stride_for(0), 64u);
    EXPECT_EQ(MetadataSlots::stride_for(48), 64u);
    EXPECT_EQ(MetadataSlots::stride_for(49), 128u);
    EXPECT_EQ(MetadataSlots::stride_for(112), 128u);
}

}  // namespace
}  // namespace afxdp::umem
