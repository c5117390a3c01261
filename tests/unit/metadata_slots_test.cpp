// MetadataSlots: slot <-> chunk index <-> owner round trips, alignment and
// isolation of the caller bytes from the headers.
#include "umem/metadata_slots.h"

#include <gtest/gtest.h>

#include <cstring>

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

TEST(MetadataSlots, OnNumaNode)
{
    // Node 0 always exists; without NUMA support the node is ignored.
    check_slots(32, 200, 0);
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
