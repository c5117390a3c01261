// UmemArea: factory checks, chunk memory, and the lifetime rule: an area
// retired by its owners lives until the last chunk held by the caller is
// released.  live_count() observes deletion; the ASan build catches any use
// after free.
#include "umem/umem_area.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "tests/unit/numa_placement.h"

namespace afxdp::umem {
namespace {

UmemConfig small_config(uint32_t meta_size = 64)
{
    UmemConfig c;
    c.n_chunks = 16;
    c.chunk_size = 4096;
    c.meta_size = meta_size;
    c.numa_node = -1;
    return c;
}

// Takes 'n' chunks from the pool as the rx path does and returns their
// metadata pointers.
std::vector<void *> take(UmemArea *area, uint32_t n)
{
    std::vector<uint64_t> addrs(n);
    uint32_t got = area->pool().get_batch(addrs.data(), n);
    std::vector<void *> metas;
    for (uint32_t i = 0; i < got; i++) {
        uint32_t chunk = uint32_t(addrs[i] / 4096);
        area->states().set(chunk, ChunkStates::kHeld);
        metas.push_back(area->slots().slot(chunk));
    }
    return metas;
}

TEST(UmemArea, RejectsBadGeometry)
{
    UmemConfig c = small_config();
    c.n_chunks = 12;
    auto r = UmemArea::create(c);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, EINVAL);

    c = small_config();
    c.chunk_size = 3000;
    EXPECT_EQ(UmemArea::create(c).error().code, EINVAL);

    c.chunk_size = 1024;  // Below the kernel's minimum.
    EXPECT_EQ(UmemArea::create(c).error().code, EINVAL);
}

TEST(UmemArea, MemoryIsMappedAndWritable)
{
    uint64_t before = UmemArea::live_count();
    {
        auto r = UmemArea::create(small_config());
        ASSERT_TRUE(r.ok()) << r.error().message;
        AreaRef area = std::move(r).value();
        EXPECT_EQ(UmemArea::live_count(), before + 1);
        EXPECT_EQ(area->size(), 16u * 4096);
        EXPECT_EQ(reinterpret_cast<uintptr_t>(area->base()) % 4096, 0u);
        EXPECT_EQ(area->chunk_shift(), 12u);
        std::memset(area->base(), 0x5a, area->size());
        EXPECT_EQ(area->chunks_free(), 16u);
        EXPECT_EQ(area->chunks_held(), 0u);
        SlotHeader *h = MetadataSlots::from_caller(area->slots().slot(3));
        EXPECT_EQ(h->owner, area.get());
        EXPECT_EQ(h->chunk, 3u);
    }
    EXPECT_EQ(UmemArea::live_count(), before);
}

// With a node requested, create() binds the chunk memory to it and faults
// every page in there (the PMD must not take page faults on the first
// frames); the metadata slots go to the same node.  Checked before anything
// touches the memory, which would populate it by itself.  Node 0 exists on
// every machine, and a one-node machine still shows the binding (the
// mapping's policy) and the population.
TEST(UmemArea, PlacedOnRequestedNumaNode)
{
    ASSERT_GE(numa_available(), 0)
        << "libnuma reports no NUMA support: placement cannot be checked";
    UmemConfig c = small_config();
    c.numa_node = 0;
    auto r = UmemArea::create(c);
    ASSERT_TRUE(r.ok()) << r.error().message;
    const UmemArea &area = *r.value();
    EXPECT_TRUE(test::bound_to_node(area.base(), area.size(), 0));
    EXPECT_TRUE(test::pages_on_node(area.base(), area.size(), 0));
    const char *slots = static_cast<const char *>(area.slots().slot(0)) -
                        MetadataSlots::kHeaderSize;
    size_t slot_bytes = area.slots().stride() * area.slots().n_slots();
    EXPECT_TRUE(test::bound_to_node(slots, slot_bytes, 0));
    EXPECT_TRUE(test::pages_on_node(slots, slot_bytes, 0));

    // Without a node nothing is bound (so the check above can tell), and
    // the memory is populated all the same (MAP_POPULATE).
    auto u = UmemArea::create(small_config());
    ASSERT_TRUE(u.ok()) << u.error().message;
    unsigned long nodes = 0;
    EXPECT_EQ(test::mapping_policy(u.value()->base(), &nodes), MPOL_DEFAULT);
    EXPECT_TRUE(test::pages_on_node(u.value()->base(), u.value()->size(), -1));
}

TEST(UmemArea, RetiredAreaLivesUntilLastReleasedChunk)
{
    uint64_t before = UmemArea::live_count();
    auto r = UmemArea::create(small_config());
    ASSERT_TRUE(r.ok());
    UmemArea *area = r.value().get();
    std::vector<void *> metas = take(area, 3);
    ASSERT_EQ(metas.size(), 3u);
    EXPECT_EQ(area->chunks_held(), 3u);

    r.value().reset();  // Owner retires.
    EXPECT_EQ(UmemArea::live_count(), before + 1);
    EXPECT_EQ(area->chunks_held(), 3u);

    UmemArea::release(metas[0]);
    EXPECT_EQ(UmemArea::live_count(), before + 1);
    EXPECT_EQ(area->chunks_held(), 2u);
    EXPECT_EQ(area->chunks_free(), 14u);
    // Memory is still usable by whoever holds the frames.
    std::memset(area->base(), 0, area->size());

    UmemArea::release_batch(&metas[1], 2);  // The last ones: deleted.
    EXPECT_EQ(UmemArea::live_count(), before);
}

TEST(UmemArea, ReleaseWithoutRetireReturnsChunks)
{
    auto r = UmemArea::create(small_config());
    ASSERT_TRUE(r.ok());
    UmemArea *area = r.value().get();
    std::vector<void *> metas = take(area, 5);
    EXPECT_EQ(area->chunks_free(), 11u);
    UmemArea::release_batch(metas.data(), 5);
    EXPECT_EQ(area->chunks_free(), 16u);
    EXPECT_EQ(area->chunks_held(), 0u);
}

TEST(UmemArea, SharedOwnersAllRetireBeforeDelete)
{
    uint64_t before = UmemArea::live_count();
    auto r = UmemArea::create(small_config());
    ASSERT_TRUE(r.ok());
    AreaRef first = std::move(r).value();
    AreaRef second = first->share();
    EXPECT_EQ(first.get(), second.get());
    EXPECT_EQ(first->chunks_held(), 0u);
    first.reset();
    EXPECT_EQ(UmemArea::live_count(), before + 1);
    std::vector<void *> metas = take(second.get(), 1);
    second.reset();
    EXPECT_EQ(UmemArea::live_count(), before + 1);
    UmemArea::release(metas[0]);
    EXPECT_EQ(UmemArea::live_count(), before);
}

TEST(UmemArea, ReleaseBatchMixesAreas)
{
    uint64_t before = UmemArea::live_count();
    auto a = UmemArea::create(small_config());
    auto b = UmemArea::create(small_config(200));
    ASSERT_TRUE(a.ok() && b.ok());
    UmemArea *pa = a.value().get();
    UmemArea *pb = b.value().get();
    std::vector<void *> ma = take(pa, 40);  // Only 16 exist.
    std::vector<void *> mb = take(pb, 2);
    ASSERT_EQ(ma.size(), 16u);
    std::vector<void *> mixed = {ma[0], mb[0], ma[1], ma[2], mb[1]};
    mixed.insert(mixed.end(), ma.begin() + 3, ma.end());
    a.value().reset();
    b.value().reset();
    EXPECT_EQ(UmemArea::live_count(), before + 2);
    UmemArea::release_batch(mixed.data(), uint32_t(mixed.size()));
    EXPECT_EQ(UmemArea::live_count(), before);
}

}  // namespace
}  // namespace afxdp::umem
