// XskQueue's transmit without a copy and its tx lanes, against in-memory
// rings (the test plays the kernel): a frame received into the queue's
// UMEM goes out by address, with its chunk's state and the held count
// following; frames of another UMEM are copied and released; a chunk the
// caller does not hold is refused; the fill target caps the fill ring; the
// main thread's lane completes on the queue's completion ring; and two
// PMD threads plus the main thread sending at once, with a receiving PMD
// and a kernel thread, keep every chunk accounted for (run under TSan in
// scripts/sanitize.sh).
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "netdev-afxdp/params.h"
#include "netdev-afxdp/xsk_queue.h"
#include "tests/unit/fake_kernel.h"
#include "umem/report.h"
#include "umem/thread_caches.h"
#include "umem/umem_area.h"

namespace afxdp::netdev {
namespace {

using test::FakeKernel;
using umem::ChunkStates;

constexpr uint32_t kChunk = 4096;
constexpr uint32_t kHeadroom = 384;
constexpr uint32_t kMax = kChunk - kTxHeadroom;

umem::AreaRef make_area(uint32_t n_chunks)
{
    umem::UmemConfig c;
    c.n_chunks = n_chunks;
    c.chunk_size = kChunk;
    c.meta_size = 64;
    auto r = umem::UmemArea::create(c);
    EXPECT_TRUE(r.ok());
    return std::move(r).value();
}

class ZeroCopyTest : public ::testing::Test {
protected:
    void make(uint32_t n_chunks, uint32_t ring_size)
    {
        area_ = make_area(n_chunks);
        kernel_ = std::make_unique<FakeKernel>(ring_size);
        XskQueueConfig qc;
        qc.rings = kernel_->rings();
        qc.area = area_.get();
        qc.owner_tag = kTag;
        qc.tx_headroom = kTxHeadroom;
        qc.max_frame_len = kMax;
        qc.fill_target = &fill_target_;
        queue_ = std::make_unique<XskQueue>(qc);
    }

    void TearDown() override
    {
        queue_.reset();
        kernel_.reset();
        area_.reset();
        umem::ThreadCaches::flush_all();
    }

    // Receives 'n' frames of 'len' bytes tagged 'tag'.
    std::vector<afxdp_rx_frame> receive(uint32_t n, uint32_t len = 60,
                                        uint8_t tag = 0)
    {
        queue_->refill();
        EXPECT_EQ(kernel_->receive(n, len, kHeadroom, area_->base(), tag), n);
        std::vector<afxdp_rx_frame> f(n);
        EXPECT_EQ(queue_->rx_burst(f.data(), n), n);
        return f;
    }

    static std::vector<afxdp_tx_frame> as_tx(
        const std::vector<afxdp_rx_frame> &rx)
    {
        std::vector<afxdp_tx_frame> tx;
        tx.reserve(rx.size());
        for (const afxdp_rx_frame &f : rx) {
            tx.push_back(
                {static_cast<char *>(f.chunk) + f.headroom, f.len, f.meta});
        }
        return tx;
    }

    uint32_t chunk_of(const void *meta) const
    {
        return umem::MetadataSlots::from_caller(const_cast<void *>(meta))
            ->chunk;
    }

    // free + fill + rx + held + tx + completion == total.
    void expect_balance(const char *step)
    {
        XskQueueStats q = queue_->stats();
        uint32_t sum = area_->chunks_free() + q.chunks_fill + q.chunks_rx +
                       area_->chunks_held() + q.chunks_tx + q.chunks_completion;
        EXPECT_EQ(sum, area_->n_chunks()) << step;
    }

    static constexpr uint16_t kTag = ChunkStates::kFirstOwner + 4;
    std::atomic<uint32_t> fill_target_{kRingSize};
    umem::AreaRef area_;
    std::unique_ptr<FakeKernel> kernel_;
    std::unique_ptr<XskQueue> queue_;
};

TEST_F(ZeroCopyTest, ReceivedFrameGoesOutByAddress)
{
    make(64, 16);
    auto rx = receive(3, 60, 7);
    expect_balance("received");
    EXPECT_EQ(area_->chunks_held(), 3u);
    auto tx = as_tx(rx);
    EXPECT_EQ(queue_->tx_burst(tx.data(), 3), 3u);
    XskQueueStats s = queue_->stats();
    EXPECT_EQ(s.tx_packets, 3u);
    EXPECT_EQ(s.tx_zero_copy, 3u);
    EXPECT_EQ(s.chunks_tx, 3u);
    EXPECT_EQ(area_->chunks_held(), 0u);
    for (const afxdp_rx_frame &f : rx) {
        // Lent through the tx ring: the queue's second tag.
        EXPECT_EQ(area_->states().get(chunk_of(f.meta)), kTag + 1);
    }
    expect_balance("sent");

    std::vector<struct xdp_desc> sent;
    ASSERT_EQ(kernel_->transmit(16, &sent), 3u);
    for (uint32_t i = 0; i < 3; i++) {
        // The very bytes that were received, where they were received.
        EXPECT_EQ(area_->base() + sent[i].addr,
                  static_cast<char *>(rx[i].chunk) + rx[i].headroom);
        EXPECT_EQ(sent[i].len, 60u);
        EXPECT_EQ(uint8_t(area_->base()[sent[i].addr]), 7 + i);
    }
    EXPECT_EQ(queue_->complete(), 3u);
    for (const afxdp_rx_frame &f : rx) {
        EXPECT_EQ(area_->states().get(chunk_of(f.meta)), ChunkStates::kFree);
    }
    expect_balance("completed");
}

TEST_F(ZeroCopyTest, FrameWithPushedHeaderStillGoesByAddress)
{
    make(64, 16);
    auto rx = receive(1, 100);
    auto tx = as_tx(rx);
    tx[0].data = static_cast<const char *>(tx[0].data) - 4;  // VLAN push.
    tx[0].len += 4;
    ASSERT_EQ(queue_->tx_burst(tx.data(), 1), 1u);
    std::vector<struct xdp_desc> sent;
    ASSERT_EQ(kernel_->transmit(16, &sent), 1u);
    EXPECT_EQ(sent[0].addr % kChunk, kHeadroom - 4);
    EXPECT_EQ(sent[0].len, 104u);
    EXPECT_EQ(queue_->stats().tx_zero_copy, 1u);
}

TEST_F(ZeroCopyTest, FramesOfAnotherUmemAreCopiedAndReleased)
{
    make(64, 16);
    // Another port's queue, on a UMEM of its own.
    umem::AreaRef other = make_area(32);
    FakeKernel other_kernel(16);
    XskQueueConfig oc;
    oc.rings = other_kernel.rings();
    oc.area = other.get();
    oc.tx_headroom = kTxHeadroom;
    oc.max_frame_len = kMax;
    XskQueue other_queue(oc);
    other_queue.refill();
    ASSERT_EQ(other_kernel.receive(2, 80, kHeadroom, other->base(), 40), 2u);
    afxdp_rx_frame f[2];
    ASSERT_EQ(other_queue.rx_burst(f, 2), 2u);
    EXPECT_EQ(other->chunks_held(), 2u);

    std::vector<afxdp_rx_frame> rx(f, f + 2);
    auto tx = as_tx(rx);
    EXPECT_EQ(queue_->tx_burst(tx.data(), 2), 2u);
    XskQueueStats s = queue_->stats();
    EXPECT_EQ(s.tx_packets, 2u);
    EXPECT_EQ(s.tx_zero_copy, 0u);
    EXPECT_EQ(other->chunks_held(), 0u);  // Released after the copy.
    std::vector<struct xdp_desc> sent;
    ASSERT_EQ(kernel_->transmit(16, &sent), 2u);
    EXPECT_EQ(sent[0].addr % kChunk, kTxHeadroom);
    EXPECT_EQ(uint8_t(area_->base()[sent[1].addr]), 41);
    expect_balance("copied");
}

TEST_F(ZeroCopyTest, ChunkNotHeldIsRefusedNotSent)
{
    std::vector<std::string> reports;
    static std::vector<std::string> *sink;
    sink = &reports;
    umem::set_error_hook([](const char *m) { sink->emplace_back(m); });
    make(64, 16);
    auto rx = receive(2);
    auto tx = as_tx(rx);
    umem::UmemArea::release(rx[0].meta);  // OVS freed it, yet sends it.
    EXPECT_EQ(queue_->tx_burst(tx.data(), 2), 1u);
    XskQueueStats s = queue_->stats();
    EXPECT_EQ(s.tx_dropped_not_held, 1u);
    EXPECT_EQ(s.tx_dropped, 1u);
    EXPECT_EQ(s.chunks_tx, 1u);
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_NE(reports[0].find("does not hold"), std::string::npos);
    expect_balance("refused");
    umem::set_error_hook(nullptr);
}

TEST_F(ZeroCopyTest, RingFullDropsGiveTheChunksBack)
{
    make(64, 16);
    auto rx = receive(16);
    auto rx2 = receive(4);
    rx.insert(rx.end(), rx2.begin(), rx2.end());
    auto tx = as_tx(rx);
    EXPECT_EQ(queue_->tx_burst(tx.data(), 20), 16u);
    XskQueueStats s = queue_->stats();
    EXPECT_EQ(s.tx_dropped_ring_full, 4u);
    EXPECT_EQ(s.chunks_tx, 16u);
    EXPECT_EQ(area_->chunks_held(), 0u);
    for (uint32_t i = 16; i < 20; i++) {
        EXPECT_EQ(area_->states().get(chunk_of(rx[i].meta)),
                  ChunkStates::kFree);
    }
    expect_balance("ring full");
}

TEST_F(ZeroCopyTest, FillTargetCapsTheFillRing)
{
    make(64, 32);
    fill_target_ = 8;
    EXPECT_EQ(queue_->refill(), 8u);
    EXPECT_EQ(queue_->refill(), 0u);
    EXPECT_EQ(kernel_->receive(3, 60, kHeadroom, area_->base()), 3u);
    afxdp_rx_frame f[3];
    ASSERT_EQ(queue_->rx_burst(f, 3), 3u);
    EXPECT_EQ(queue_->refill(), 3u);  // Back to the target.
    fill_target_ = 20;
    EXPECT_EQ(queue_->refill(), 12u);
    void *metas[3] = {f[0].meta, f[1].meta, f[2].meta};
    umem::UmemArea::release_batch(metas, 3);
    expect_balance("target");
}

TEST_F(ZeroCopyTest, MainLaneHasItsOwnRingAndSharesCompletion)
{
    make(64, 16);
    FakeKernel lane(16);  // Only its tx ring is used.
    queue_->set_main_lane(lane.tx_ring(), -1);
    ASSERT_TRUE(queue_->has_main_lane());

    auto rx = receive(4);
    auto tx = as_tx(rx);
    EXPECT_EQ(queue_->tx_burst(tx.data(), 2, TxSharing::kShared), 2u);
    EXPECT_EQ(queue_->tx_burst(tx.data() + 2, 2, TxSharing::kSharedNonPmd), 2u);
    EXPECT_EQ(kernel_->tx_entries(), 2u);  // The PMDs' ring.
    EXPECT_EQ(lane.tx_entries(), 2u);      // The main thread's.
    EXPECT_EQ(queue_->stats().chunks_tx, 4u);
    expect_balance("two lanes");

    // Both complete on the queue's completion ring.
    EXPECT_EQ(kernel_->transmit(16), 2u);
    EXPECT_EQ(kernel_->transmit_lane(lane, 16), 2u);
    EXPECT_EQ(queue_->stats().chunks_completion, 4u);
    EXPECT_EQ(queue_->complete(), 4u);
    XskQueueStats s = queue_->stats();
    EXPECT_EQ(s.tx_packets, 4u);
    EXPECT_EQ(s.tx_zero_copy, 4u);
    EXPECT_EQ(s.chunks_tx, 0u);
    expect_balance("completed");
}

TEST_F(ZeroCopyTest, WithoutMainLaneTheMainThreadSharesThePmdRing)
{
    make(64, 16);
    auto rx = receive(2);
    auto tx = as_tx(rx);
    EXPECT_EQ(queue_->tx_burst(tx.data(), 2, TxSharing::kSharedNonPmd), 2u);
    EXPECT_EQ(kernel_->tx_entries(), 2u);
}

// Two PMD threads and the main thread send at once: one PMD forwards what
// it receives (by address), the other sends copies, the main thread sends
// copies on its lane; a "kernel" thread receives and transmits both lanes.
// Nothing is lost or duplicated, and TSan sees no race.
TEST_F(ZeroCopyTest, ConcurrentSendersKeepEveryChunk)
{
    constexpr uint32_t kRounds = 500;
    make(1024, 64);
    FakeKernel lane(64);
    queue_->set_main_lane(lane.tx_ring(), -1);
    std::atomic<bool> stop{false};
    std::atomic<int> senders{3};
    static char payload[64] = {1, 2, 3};

    std::thread kernel([&] {
        while (senders.load() > 0 || kernel_->tx_entries() ||
               lane.tx_entries()) {
            kernel_->receive(8, 60, kHeadroom, area_->base());
            kernel_->transmit(16);
            kernel_->transmit_lane(lane, 16);
            std::this_thread::yield();
        }
        stop = true;
    });
    std::thread forwarder([&] {
        afxdp_rx_frame f[32];
        for (uint32_t forwarded = 0; forwarded < kRounds * 4;) {
            queue_->refill();
            uint32_t n = queue_->rx_burst(f, 32);
            std::vector<afxdp_rx_frame> rx(f, f + n);
            auto tx = as_tx(rx);
            queue_->tx_burst(tx.data(), n, TxSharing::kShared);
            forwarded += n;
            if (!n) {
                std::this_thread::yield();
            }
        }
        senders--;
    });
    auto copier = [&](TxSharing sharing) {
        std::vector<afxdp_tx_frame> tx(8, {payload, 60, nullptr});
        for (uint32_t r = 0; r < kRounds; r++) {
            queue_->tx_burst(tx.data(), 8, sharing);
            std::this_thread::yield();
        }
        senders--;
    };
    std::thread pmd2(copier, TxSharing::kShared);
    std::thread main_thread(copier, TxSharing::kSharedNonPmd);
    forwarder.join();
    pmd2.join();
    main_thread.join();
    // The last frames wait for room on the completion ring, which only the
    // sending side drains: now this thread alone.
    while (!stop.load()) {
        queue_->complete();
        std::this_thread::yield();
    }
    kernel.join();

    // Quiesce: the forwarder's last frames, the rx ring, the completions.
    afxdp_rx_frame f[64];
    uint32_t n;
    while ((n = queue_->rx_burst(f, 64)) != 0) {
        std::vector<void *> metas;
        for (uint32_t i = 0; i < n; i++) {
            metas.push_back(f[i].meta);
        }
        umem::UmemArea::release_batch(metas.data(), n);
    }
    queue_->complete();
    XskQueueStats s = queue_->stats();
    EXPECT_EQ(s.chunks_tx, 0u);
    EXPECT_EQ(s.chunks_completion, 0u);
    EXPECT_GT(s.tx_zero_copy, 0u);
    EXPECT_GT(s.tx_packets, s.tx_zero_copy);
    EXPECT_EQ(area_->chunks_held(), 0u);
    EXPECT_EQ(area_->release_errors(), 0u);
    expect_balance("quiesced");
    // Every chunk once: lent to the fill ring or free.
    EXPECT_EQ(area_->states().count(ChunkStates::kFree) +
                  area_->states().count(kTag),
              area_->n_chunks());
}

}  // namespace
}  // namespace afxdp::netdev
