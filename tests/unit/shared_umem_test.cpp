// SharedUmem and UmemRegistry without sockets: one UMEM per NUMA node
// handed to every port, private ones on request, owner tags, the fill
// target, the delayed reclaim of a closed queue's chunks, and the whole
// balance over several queues (in-memory rings play the kernel).
#include "netdev-afxdp/shared_umem.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <vector>

#include "netdev-afxdp/umem_registry.h"
#include "netdev-afxdp/xsk_queue.h"
#include "tests/unit/fake_kernel.h"
#include "umem/thread_caches.h"

namespace afxdp::netdev {
namespace {

using test::FakeKernel;

constexpr uint32_t kMeta = 64;

class SharedUmemTest : public ::testing::Test {
protected:
    void TearDown() override { umem::ThreadCaches::flush_all(); }
};

std::shared_ptr<SharedUmem> acquire(uint32_t n_queues, bool share = true,
                                    int node = 0)
{
    auto r = UmemRegistry::acquire(node, kMeta, n_queues, share);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? r.value() : nullptr;
}

TEST_F(SharedUmemTest, OneUmemPerNodeForEveryPort)
{
    uint32_t before = UmemRegistry::shared_count();
    auto a = acquire(2);
    auto b = acquire(2);
    auto other_node = acquire(1, true, 1);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, other_node);
    EXPECT_TRUE(a->shareable());
    EXPECT_EQ(a->area().n_chunks(), SharedUmem::kChunks);
    EXPECT_EQ(UmemRegistry::shared_count(), before + 2);
    // Private on request, never handed out again.
    auto p = acquire(2, false);
    EXPECT_NE(p, a);
    EXPECT_FALSE(p->shareable());
    EXPECT_EQ(acquire(1), a);
    b.reset();
    a.reset();
    other_node.reset();
    EXPECT_EQ(UmemRegistry::shared_count(), before);
}

TEST_F(SharedUmemTest, FullUmemMakesTheRegistryOpenAnother)
{
    auto a = acquire(1);
    std::vector<uint16_t> tags;
    for (uint32_t i = 0; i < SharedUmem::kMaxQueues; i++) {
        auto t = a->join();
        ASSERT_TRUE(t.ok());
        tags.push_back(t.value());
    }
    EXPECT_EQ(std::set<uint16_t>(tags.begin(), tags.end()).size(), tags.size());
    auto full = a->join();
    ASSERT_FALSE(full.ok());
    EXPECT_EQ(full.error().code, ENOSPC);
    EXPECT_FALSE(a->has_room(1));
    auto b = acquire(1);
    EXPECT_NE(a, b);
    for (uint16_t t : tags) {
        a->leave(t);
    }
    EXPECT_TRUE(a->has_room(1));
}

TEST_F(SharedUmemTest, FillTargetIsEachQueuesShare)
{
    auto u = acquire(1, false);
    EXPECT_EQ(u->fill_target()->load(), 1024u);
    std::vector<uint16_t> tags;
    auto target_with = [&](uint32_t n) {
        while (tags.size() < n) {
            tags.push_back(u->join().value());
        }
        return u->fill_target()->load();
    };
    EXPECT_EQ(target_with(2), 1024u);  // As for four: 8192 / 8.
    EXPECT_EQ(target_with(4), 1024u);
    EXPECT_EQ(target_with(8), 512u);
    EXPECT_EQ(target_with(16), SharedUmem::kMinFill);
    for (uint16_t t : tags) {
        u->leave(t);
    }
    EXPECT_EQ(u->fill_target()->load(), 1024u);
}

// Two "ports" of two queues each on one UMEM, frames received on one and
// released or forwarded: the balance holds over all four queues; closing
// two of them hands their lent chunks back, a zero-copy queue's only after
// kReclaimDelay.
TEST_F(SharedUmemTest, BalanceAndDelayedReclaim)
{
    auto u = acquire(4, false);
    umem::UmemArea &area = u->area();
    struct Q {
        uint16_t tag;
        std::unique_ptr<FakeKernel> kernel;
        std::unique_ptr<XskQueue> queue;
    };
    std::vector<Q> qs;
    qs.reserve(4);
    for (int i = 0; i < 4; i++) {
        Q q;
        q.tag = u->join().value();
        q.kernel = std::make_unique<FakeKernel>(kRingSize);
        XskQueueConfig qc;
        qc.rings = q.kernel->rings();
        qc.area = &area;
        qc.owner_tag = q.tag;
        qc.tx_headroom = kTxHeadroom;
        qc.max_frame_len = kMaxFrameLen;
        qc.fill_target = u->fill_target();
        q.queue = std::make_unique<XskQueue>(qc);
        // Queue 0 as if in zero-copy mode, the others in copy mode.
        u->attach(q.tag, q.queue.get(), -1, i == 0, true);
        qs.push_back(std::move(q));
    }
    auto balanced = [&](const char *step) {
        UmemStats s = u->stats();
        EXPECT_EQ(s.chunks_free + s.chunks_fill + s.chunks_rx + s.chunks_held +
                      s.chunks_tx + s.chunks_completion,
                  s.chunks_total)
            << step;
        return s;
    };
    for (Q &q : qs) {
        EXPECT_EQ(q.queue->refill(), 1024u);  // Its share of 8192.
    }
    UmemStats s = balanced("filled");
    EXPECT_EQ(s.queues, 4u);
    EXPECT_EQ(s.chunks_fill, 4096u);

    // Queue 0 receives 10; 5 go out on queue 2 by address, 5 are dropped.
    ASSERT_EQ(qs[0].kernel->receive(10, 60, 384, area.base()), 10u);
    afxdp_rx_frame f[10];
    ASSERT_EQ(qs[0].queue->rx_burst(f, 10), 10u);
    std::vector<afxdp_tx_frame> tx;
    tx.reserve(5);
    for (int i = 0; i < 5; i++) {
        tx.push_back({static_cast<char *>(f[i].chunk) + f[i].headroom, f[i].len,
                      f[i].meta});
    }
    EXPECT_EQ(qs[2].queue->tx_burst(tx.data(), 5), 5u);
    EXPECT_EQ(qs[2].queue->stats().tx_zero_copy, 5u);
    for (int i = 5; i < 10; i++) {
        umem::UmemArea::release(f[i].meta);
    }
    s = balanced("forwarded");
    EXPECT_EQ(s.chunks_tx, 5u);
    EXPECT_EQ(s.chunks_held, 0u);

    // Queues 0 and 1 close (their port goes away) with chunks lent.  The
    // copy-mode queue's receive chunks come back at once, the zero-copy
    // queue's only after kReclaimDelay.
    auto close = [&](Q &q) {
        q.queue.reset();
        q.kernel.reset();
        u->leave(q.tag);
    };
    close(qs[0]);
    close(qs[1]);
    s = balanced("closed");
    EXPECT_EQ(s.queues, 2u);
    EXPECT_EQ(s.chunks_reclaiming, 1014u);
    EXPECT_EQ(s.chunks_fill, 2048u + 1014u);
    EXPECT_EQ(u->reclaim_expired(), 0u);  // Not yet.
    auto later = SharedUmem::Clock::now() + SharedUmem::kReclaimDelay;
    EXPECT_EQ(u->reclaim_expired(later), 1014u);
    s = balanced("reclaimed");
    EXPECT_EQ(s.chunks_reclaiming, 0u);
    EXPECT_EQ(s.chunks_fill, 2048u);
    // The survivors keep going: queue 2's transmissions complete.
    qs[2].kernel->transmit(16);
    EXPECT_EQ(qs[2].queue->complete(), 5u);
    s = balanced("completed");
    EXPECT_EQ(s.chunks_free, 8192u - 2048u);
    for (int i = 2; i < 4; i++) {
        close(qs[i]);
    }
}

}  // namespace
}  // namespace afxdp::netdev
