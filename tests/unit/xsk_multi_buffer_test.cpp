// Multi-buffer AF_XDP in XskQueue against in-memory rings, the test playing
// the kernel: chained rx descriptors (XDP_PKT_CONTD) assembled into one
// jumbo buffer, chains cut short by the peek or by a missing last
// fragment, overlong chains dropped whole, and large frames split into
// chains on transmit.  After every step both balances hold: the UMEM's
// (free + fill + rx + held + tx + completion == total) and the jumbo
// area's (free + held == total).
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "bpf/xdp_meta.h"
#include "netdev-afxdp/params.h"
#include "netdev-afxdp/xdp_compat.h"
#include "netdev-afxdp/xsk_queue.h"
#include "tests/unit/fake_kernel.h"
#include "umem/umem_area.h"

namespace afxdp::netdev {
namespace {

using test::FakeKernel;

constexpr uint32_t kHeadroom = kRxHeadroom;         // Where the kernel writes.
constexpr uint32_t kFrag = kChunkSize - kHeadroom;  // 3712 per fragment.
constexpr uint32_t kJumbo = 9018;  // MTU 9000 + Ethernet and VLAN headers.

class XskMultiBufferTest : public ::testing::Test {
protected:
    void make(bool multi_buffer, uint32_t ring_size = 64,
              uint32_t n_chunks = 256)
    {
        TearDown();
        umem::UmemConfig c;
        c.n_chunks = n_chunks;
        c.chunk_size = kChunkSize;
        c.meta_size = 64;
        auto r = umem::UmemArea::create(c);
        ASSERT_TRUE(r.ok()) << r.error().message;
        area_ = std::move(r).value();
        c.n_chunks = 256;
        c.chunk_size = kJumboChunkSize;
        auto j = umem::UmemArea::create(c);
        ASSERT_TRUE(j.ok()) << j.error().message;
        jumbo_ = std::move(j).value();

        kernel_ = std::make_unique<FakeKernel>(ring_size);
        XskQueueConfig qc;
        qc.rings = kernel_->rings();
        qc.area = area_.get();
        qc.tx_headroom = kTxHeadroom;
        qc.max_frame_len = multi_buffer ? kMaxJumboFrameLen : kMaxFrameLen;
        qc.multi_buffer = multi_buffer;
        qc.jumbo = jumbo_.get();
        queue_ = std::make_unique<XskQueue>(qc);
        queue_->refill();
    }

    void expect_balanced(const char *step)
    {
        XskQueueStats q = queue_->stats();
        uint32_t held = area_->chunks_held();
        EXPECT_EQ(area_->chunks_free() + q.chunks_fill + q.chunks_rx + held +
                      q.chunks_tx + q.chunks_completion,
                  area_->n_chunks())
            << step << ": free " << area_->chunks_free() << " fill "
            << q.chunks_fill << " rx " << q.chunks_rx << " held " << held
            << " tx " << q.chunks_tx << " completion " << q.chunks_completion;
        EXPECT_EQ(jumbo_->chunks_free() + jumbo_->chunks_held(),
                  jumbo_->n_chunks())
            << step << ": jumbo area";
    }

    // A frame of 'len' bytes: byte i is (i * 7 + seed).
    static std::vector<char> pattern(uint32_t len, uint8_t seed)
    {
        std::vector<char> v(len);
        for (uint32_t i = 0; i < len; i++) {
            v[i] = char(i * 7 + seed);
        }
        return v;
    }

    // Delivers 'frame' as the kernel does: fragments of kFrag bytes,
    // chained, the first 'n_bufs' of them only (a chain cut short) when
    // n_bufs is given.  Returns the descriptors produced.
    uint32_t deliver(const std::vector<char> &frame, uint32_t first = 0,
                     uint32_t n_bufs = UINT32_MAX)
    {
        uint32_t n = 0;
        uint32_t total = uint32_t(frame.size());
        for (uint32_t off = first * kFrag; off < total && n < n_bufs;
             off += kFrag) {
            uint32_t len = std::min(kFrag, total - off);
            uint32_t opts = off + len < total ? XDP_PKT_CONTD : 0;
            EXPECT_TRUE(kernel_->receive_buffer(
                frame.data() + off, len, kHeadroom, area_->base(), opts));
            n++;
        }
        return n;
    }

    void deliver_raw(uint32_t len, uint32_t options)
    {
        std::vector<char> d = pattern(len, 1);
        ASSERT_TRUE(kernel_->receive_buffer(d.data(), len, kHeadroom,
                                            area_->base(), options));
    }

    static std::vector<char> data_of(const afxdp_rx_frame &f)
    {
        const char *p = static_cast<const char *>(f.chunk) + f.headroom;
        return std::vector<char>(p, p + f.len);
    }

    void TearDown() override
    {
        queue_.reset();
        kernel_.reset();
        jumbo_.reset();
        area_.reset();
    }

    umem::AreaRef area_;
    umem::AreaRef jumbo_;
    std::unique_ptr<FakeKernel> kernel_;
    std::unique_ptr<XskQueue> queue_;
};

TEST_F(XskMultiBufferTest, ChainAssembledIntoOneJumboFrame)
{
    make(true);
    std::vector<char> frame = pattern(kJumbo, 3);
    ASSERT_EQ(deliver(frame), 3u);
    EXPECT_EQ(queue_->stats().chunks_rx, 3u);
    expect_balanced("delivered");

    afxdp_rx_frame f[32];
    ASSERT_EQ(queue_->rx_burst(f, 32), 1u);
    EXPECT_EQ(f[0].len, kJumbo);
    EXPECT_EQ(f[0].chunk_size, kJumboChunkSize);
    EXPECT_EQ(f[0].headroom, kRxHeadroom);
    EXPECT_EQ(f[0].xdp_flags, 0u);
    EXPECT_EQ(umem::MetadataSlots::from_caller(f[0].meta)->owner, jumbo_.get());
    EXPECT_TRUE(data_of(f[0]) == frame) << "assembled bytes differ";
    // The three chunks are free again at once; the jumbo buffer is held.
    EXPECT_EQ(area_->chunks_held(), 0u);
    EXPECT_EQ(jumbo_->chunks_held(), 1u);
    XskQueueStats s = queue_->stats();
    EXPECT_EQ(s.rx_packets, 1u);
    EXPECT_EQ(s.rx_bytes, kJumbo);
    EXPECT_EQ(s.rx_multi_buffer, 1u);
    EXPECT_EQ(s.chunks_rx, 0u);
    expect_balanced("received");

    umem::UmemArea::release(f[0].meta);
    EXPECT_EQ(jumbo_->chunks_held(), 0u);
    expect_balanced("released");
}

TEST_F(XskMultiBufferTest, SmallAndJumboFramesKeepTheirOrder)
{
    make(true);
    std::vector<char> small = pattern(60, 9);
    std::vector<char> jumbo = pattern(kJumbo, 4);
    deliver(small);
    deliver(jumbo);
    deliver(small);
    afxdp_rx_frame f[32];
    ASSERT_EQ(queue_->rx_burst(f, 32), 3u);
    EXPECT_EQ(f[0].len, 60u);
    EXPECT_EQ(f[0].chunk_size, kChunkSize);  // Zero-copy, as before.
    EXPECT_TRUE(data_of(f[1]) == jumbo);
    EXPECT_TRUE(data_of(f[2]) == small);
    EXPECT_EQ(area_->chunks_held(), 2u);
    EXPECT_EQ(jumbo_->chunks_held(), 1u);
    expect_balanced("received");
    void *metas[3] = {f[0].meta, f[1].meta, f[2].meta};
    umem::UmemArea::release_batch(metas, 3);
    expect_balanced("released");
    EXPECT_EQ(area_->chunks_held() + jumbo_->chunks_held(), 0u);
}

TEST_F(XskMultiBufferTest, ChainCutByThePeekWaitsForItsRest)
{
    make(true);
    std::vector<char> small = pattern(60, 2);
    std::vector<char> jumbo = pattern(kJumbo, 5);
    for (int i = 0; i < 30; i++) {
        deliver(small);
    }
    deliver(jumbo);  // Descriptors 30, 31 and 32: the peek sees two.
    afxdp_rx_frame f[32];
    ASSERT_EQ(queue_->rx_burst(f, 32), 30u);
    EXPECT_EQ(queue_->stats().chunks_rx, 3u);  // Left on the ring.
    expect_balanced("first burst");
    std::vector<void *> metas(30);
    for (int i = 0; i < 30; i++) {
        metas[i] = f[i].meta;
    }
    umem::UmemArea::release_batch(metas.data(), 30);

    ASSERT_EQ(queue_->rx_burst(f, 32), 1u);
    EXPECT_TRUE(data_of(f[0]) == jumbo);
    umem::UmemArea::release(f[0].meta);
    expect_balanced("second burst");
    EXPECT_EQ(queue_->stats().rx_dropped_multi_buffer, 0u);
}

TEST_F(XskMultiBufferTest, MissingLastFragmentHandsNothingOverAndLeaksNothing)
{
    make(true);
    std::vector<char> jumbo = pattern(kJumbo, 6);
    ASSERT_EQ(deliver(jumbo, 0, 2), 2u);  // Third fragment missing.
    afxdp_rx_frame f[32];
    EXPECT_EQ(queue_->rx_burst(f, 32), 0u);
    EXPECT_EQ(queue_->rx_burst(f, 32), 0u);
    XskQueueStats s = queue_->stats();
    EXPECT_EQ(s.chunks_rx, 2u);  // Still the kernel's ring's, counted.
    EXPECT_EQ(s.rx_packets, 0u);
    EXPECT_EQ(area_->chunks_held() + jumbo_->chunks_held(), 0u);
    expect_balanced("cut short");

    // The kernel publishes a packet whole: when the end arrives, the
    // frame is complete and intact.
    ASSERT_EQ(deliver(jumbo, 2), 1u);
    ASSERT_EQ(queue_->rx_burst(f, 32), 1u);
    EXPECT_TRUE(data_of(f[0]) == jumbo);
    umem::UmemArea::release(f[0].meta);
    expect_balanced("completed");
}

TEST_F(XskMultiBufferTest, OverlongChainDroppedWholeAndItsTailNotTakenForAFrame)
{
    make(true);
    // More fragments than any frame we take, the last one in a later
    // burst: none of it may reach OVS, not even the tail.
    for (uint32_t i = 0; i <= kMaxRxChain; i++) {
        deliver_raw(100, XDP_PKT_CONTD);
    }
    afxdp_rx_frame f[32];
    EXPECT_EQ(queue_->rx_burst(f, 32), 0u);
    EXPECT_EQ(queue_->stats().rx_dropped_multi_buffer, 1u);
    EXPECT_EQ(queue_->stats().chunks_rx, 0u);
    expect_balanced("dropped");

    deliver_raw(100, XDP_PKT_CONTD);
    deliver_raw(100, 0);  // The overlong chain's end.
    std::vector<char> small = pattern(64, 8);
    deliver(small);
    ASSERT_EQ(queue_->rx_burst(f, 32), 1u);
    EXPECT_TRUE(data_of(f[0]) == small);
    umem::UmemArea::release(f[0].meta);
    EXPECT_EQ(queue_->stats().rx_dropped_multi_buffer, 1u);
    EXPECT_EQ(queue_->stats().rx_packets, 1u);
    expect_balanced("after the tail");
}

TEST_F(XskMultiBufferTest, FrameLongerThanAJumboBufferIsDropped)
{
    make(true);
    std::vector<char> big = pattern(kMaxJumboFrameLen + 1, 1);
    ASSERT_LE(deliver(big), kMaxRxChain);
    afxdp_rx_frame f[32];
    EXPECT_EQ(queue_->rx_burst(f, 32), 0u);
    EXPECT_EQ(queue_->stats().rx_dropped_multi_buffer, 1u);
    EXPECT_EQ(jumbo_->chunks_held(), 0u);
    expect_balanced("dropped");
}

TEST_F(XskMultiBufferTest, ChainWithoutMultiBufferIsDroppedWithoutLeak)
{
    make(false);
    deliver(pattern(kJumbo, 1));
    afxdp_rx_frame f[32];
    EXPECT_EQ(queue_->rx_burst(f, 32), 0u);
    EXPECT_EQ(queue_->stats().rx_dropped_multi_buffer, 1u);
    expect_balanced("dropped");
}

TEST_F(XskMultiBufferTest, LargeFrameSentAsOneChain)
{
    make(true);
    std::vector<char> frame = pattern(kJumbo, 7);
    afxdp_tx_frame t{frame.data(), kJumbo, nullptr};
    ASSERT_EQ(queue_->tx_burst(&t, 1), 1u);
    ASSERT_EQ(kernel_->tx_entries(), 3u);
    XskQueueStats s = queue_->stats();
    EXPECT_EQ(s.tx_packets, 1u);
    EXPECT_EQ(s.tx_bytes, kJumbo);
    EXPECT_EQ(s.tx_multi_buffer, 1u);
    EXPECT_EQ(s.chunks_tx, 3u);
    expect_balanced("posted");

    std::vector<struct xdp_desc> sent;
    std::vector<char> wire;
    kernel_->transmit_with(8, [&](const struct xdp_desc &d) {
        sent.push_back(d);
        const char *p = area_->base() + d.addr;
        wire.insert(wire.end(), p, p + d.len);
    });
    ASSERT_EQ(sent.size(), 3u);
    EXPECT_EQ(sent[0].addr % kChunkSize, kTxHeadroom);
    EXPECT_EQ(sent[0].len, kChunkSize - kTxHeadroom);
    EXPECT_EQ(sent[0].options, uint32_t(XDP_PKT_CONTD));
    EXPECT_EQ(sent[1].addr % kChunkSize, 0u);
    EXPECT_EQ(sent[1].len, kChunkSize);
    EXPECT_EQ(sent[1].options, uint32_t(XDP_PKT_CONTD));
    EXPECT_EQ(sent[2].options, 0u);
    EXPECT_TRUE(wire == frame) << "chain does not carry the frame";
    EXPECT_EQ(queue_->complete(), 3u);
    expect_balanced("completed");
    EXPECT_EQ(queue_->stats().chunks_tx, 0u);
}

TEST_F(XskMultiBufferTest, ReceivedJumboFrameForwardedAndItsBufferReleased)
{
    make(true);
    std::vector<char> frame = pattern(kJumbo, 2);
    deliver(frame);
    afxdp_rx_frame f[32];
    ASSERT_EQ(queue_->rx_burst(f, 32), 1u);
    afxdp_tx_frame t{static_cast<char *>(f[0].chunk) + f[0].headroom, f[0].len,
                     f[0].meta};
    ASSERT_EQ(queue_->tx_burst(&t, 1), 1u);
    EXPECT_EQ(jumbo_->chunks_held(), 0u);  // Copied, then released.
    EXPECT_EQ(queue_->stats().tx_multi_buffer, 1u);
    expect_balanced("forwarded");
    kernel_->transmit(8);
    queue_->complete();
    expect_balanced("completed");
}

TEST_F(XskMultiBufferTest, ChainNeverHalfPostedWhenTheRingIsShort)
{
    make(true, 4);
    std::vector<char> frame = pattern(kJumbo, 5);
    afxdp_tx_frame t[2] = {{frame.data(), kJumbo, nullptr},
                           {frame.data(), kJumbo, nullptr}};
    // Three descriptors each, four slots: the second frame is dropped
    // whole, its chunks back in the pool.
    EXPECT_EQ(queue_->tx_burst(t, 2), 1u);
    EXPECT_EQ(kernel_->tx_entries(), 3u);
    XskQueueStats s = queue_->stats();
    EXPECT_EQ(s.tx_packets, 1u);
    EXPECT_EQ(s.tx_dropped_ring_full, 1u);
    EXPECT_EQ(s.tx_multi_buffer, 1u);
    EXPECT_EQ(s.chunks_tx, 3u);
    expect_balanced("short ring");
}

TEST_F(XskMultiBufferTest, TooLongFramesDroppedAsBadLength)
{
    make(true);
    std::vector<char> frame = pattern(kMaxJumboFrameLen + 1, 1);
    afxdp_tx_frame t{frame.data(), uint32_t(frame.size()), nullptr};
    EXPECT_EQ(queue_->tx_burst(&t, 1), 0u);
    EXPECT_EQ(queue_->stats().tx_dropped_bad_len, 1u);
    expect_balanced("multi-buffer");

    make(false);
    t.len = kJumbo;
    EXPECT_EQ(queue_->tx_burst(&t, 1), 0u);
    EXPECT_EQ(queue_->stats().tx_dropped_bad_len, 1u);
    expect_balanced("single buffer");
}

TEST_F(XskMultiBufferTest, FullBatchOfJumboFramesFitsOneSlab)
{
    make(true, 256, 512);
    std::vector<char> frame = pattern(kMaxJumboFrameLen, 3);
    std::vector<afxdp_tx_frame> t(kBatch,
                                  {frame.data(), kMaxJumboFrameLen, nullptr});
    EXPECT_EQ(queue_->tx_burst(t.data(), kBatch), kBatch);
    EXPECT_EQ(kernel_->tx_entries(), kBatch * kMaxTxChain);
    expect_balanced("posted");
    kernel_->transmit(256);
    queue_->complete();
    expect_balanced("completed");
}

// ---- The header carrier (bpf/xdp_meta.h): metadata in front of the frame

// 'frame' behind the header our XDP program prepends with
// bpf_xdp_adjust_head() when it cannot use the metadata area.
std::vector<char> with_header(const std::vector<char> &frame, uint32_t flags,
                              uint32_t hash, uint32_t mark)
{
    std::vector<char> v(AFXDP_XDP_HEAD_LEN, 0);
    afxdp_xdp_meta m{mark, hash, flags};
    std::memcpy(v.data(), &m, sizeof m);
    v.insert(v.end(), frame.begin(), frame.end());
    return v;
}

TEST_F(XskMultiBufferTest, HeaderCarrierIsStrippedAndReadFromEachFrame)
{
    make(true);
    queue_->read_xdp_metadata(AFXDP_XDP_CARRIER_HEAD, nullptr);
    const uint32_t flags = AFXDP_XDP_META_HASH | AFXDP_XDP_META_MARK;
    std::vector<char> a = pattern(60, 1), b = pattern(1514, 2);
    ASSERT_EQ(deliver(with_header(a, flags, 0xabcd, 5)), 1u);
    ASSERT_EQ(deliver(with_header(b, 0, 0, 0)), 1u);

    afxdp_rx_frame f[32];
    ASSERT_EQ(queue_->rx_burst(f, 32), 2u);
    EXPECT_TRUE(data_of(f[0]) == a) << "first frame's bytes differ";
    EXPECT_EQ(f[0].headroom, kHeadroom + AFXDP_XDP_HEAD_LEN);
    EXPECT_EQ(f[0].xdp_flags, flags);
    EXPECT_EQ(f[0].rx_hash, 0xabcdu);
    EXPECT_EQ(f[0].flow_mark, 5u);
    EXPECT_TRUE(data_of(f[1]) == b) << "second frame's bytes differ";
    EXPECT_EQ(f[1].xdp_flags, 0u);  // Nothing carried: no stale mark.
    EXPECT_EQ(queue_->stats().rx_bytes, a.size() + b.size());
    void *metas[2] = {f[0].meta, f[1].meta};
    umem::UmemArea::release_batch(metas, 2);
    expect_balanced("released");
}

TEST_F(XskMultiBufferTest, HeaderCarrierIsStrippedFromTheFirstFragment)
{
    make(true);
    queue_->read_xdp_metadata(AFXDP_XDP_CARRIER_HEAD, nullptr);
    std::vector<char> frame = pattern(kJumbo, 4);
    ASSERT_EQ(deliver(with_header(frame, 0, 0, 0)), 3u);

    afxdp_rx_frame f[32];
    ASSERT_EQ(queue_->rx_burst(f, 32), 1u);
    EXPECT_EQ(f[0].len, kJumbo);
    EXPECT_TRUE(data_of(f[0]) == frame) << "assembled bytes differ";
    EXPECT_EQ(f[0].xdp_flags, 0u);
    umem::UmemArea::release(f[0].meta);
    expect_balanced("released");
}

}  // namespace
}  // namespace afxdp::netdev
