// XskQueue against in-memory rings, the test playing the kernel: chunk
// accounting (free + fill + rx + held + tx + completion == total after
// every step), rx descriptor -> frame mapping, tx copy, drop counting and
// the tx kick protocol.
#include "netdev-afxdp/xsk_queue.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "netdev-afxdp/params.h"
#include "tests/unit/fake_kernel.h"
#include "umem/umem_area.h"

namespace afxdp::netdev {
namespace {

using test::FakeKernel;

constexpr uint32_t kChunk = 4096;
constexpr uint32_t kHeadroom = 384;  // What the kernel leaves in copy mode.
constexpr uint32_t kMax = kChunk - kTxHeadroom;

class XskQueueTest : public ::testing::Test {
protected:
    void make(uint32_t n_chunks, uint32_t ring_size, int fd = -1,
              bool need_wakeup = false)
    {
        umem::UmemConfig c;
        c.n_chunks = n_chunks;
        c.chunk_size = kChunk;
        c.meta_size = 64;
        auto r = umem::UmemArea::create(c);
        ASSERT_TRUE(r.ok()) << r.error().message;
        area_ = std::move(r).value();
        kernel_ = std::make_unique<FakeKernel>(ring_size);
        XskQueueConfig qc;
        qc.rings = kernel_->rings();
        qc.fd = fd;
        qc.area = area_.get();
        qc.use_need_wakeup = need_wakeup;
        qc.tx_headroom = kTxHeadroom;
        qc.max_frame_len = kMax;
        queue_ = std::make_unique<XskQueue>(qc);
    }

    // The queue's counters and the UMEM's: with one queue on the UMEM,
    // the whole balance.
    struct Balance : XskQueueStats {
        uint32_t chunks_total = 0;
        uint32_t chunks_free = 0;
        uint32_t chunks_held = 0;
    };
    Balance stats()
    {
        Balance b;
        static_cast<XskQueueStats &>(b) = queue_->stats();
        b.chunks_total = area_->n_chunks();
        b.chunks_free = area_->chunks_free();
        b.chunks_held = area_->chunks_held();
        return b;
    }

    void expect_invariant(const char *step)
    {
        Balance s = stats();
        EXPECT_EQ(s.chunks_free + s.chunks_fill + s.chunks_rx + s.chunks_held +
                      s.chunks_tx + s.chunks_completion,
                  s.chunks_total)
            << step << ": free " << s.chunks_free << " fill " << s.chunks_fill
            << " rx " << s.chunks_rx << " held " << s.chunks_held << " tx "
            << s.chunks_tx << " completion " << s.chunks_completion;
    }

    uint32_t receive(uint32_t n, uint32_t len = 60, uint8_t tag = 0)
    {
        return kernel_->receive(n, len, kHeadroom, area_->base(), tag);
    }

    std::vector<afxdp_tx_frame> frames(const std::vector<uint32_t> &lens)
    {
        std::vector<afxdp_tx_frame> f;
        f.reserve(lens.size());
        for (uint32_t len : lens) {
            f.push_back({payload_.data(), len, nullptr});
        }
        return f;
    }

    void SetUp() override
    {
        payload_.resize(size_t{kChunk} * 2);
        for (size_t i = 0; i < payload_.size(); i++) {
            payload_[i] = char(i * 7);
        }
    }

    void TearDown() override
    {
        queue_.reset();
        kernel_.reset();
        area_.reset();
    }

    std::vector<char> payload_;
    umem::AreaRef area_;
    std::unique_ptr<FakeKernel> kernel_;
    std::unique_ptr<XskQueue> queue_;
};

TEST_F(XskQueueTest, RefillFillsFreeRingSpace)
{
    make(64, 16);
    expect_invariant("start");
    EXPECT_EQ(stats().chunks_free, 64u);
    EXPECT_EQ(queue_->refill(), 16u);
    Balance s = stats();
    EXPECT_EQ(s.chunks_fill, 16u);
    EXPECT_EQ(s.chunks_free, 48u);
    expect_invariant("refill");
    EXPECT_EQ(queue_->refill(), 0u);       // Ring full.
    EXPECT_EQ(kernel_->take_fill(5), 5u);  // Kernel transit is fill too.
    EXPECT_EQ(stats().chunks_fill, 16u);
    expect_invariant("transit");
    EXPECT_EQ(queue_->refill(), 5u);
    EXPECT_EQ(stats().chunks_fill, 21u);
    expect_invariant("refill after transit");
}

TEST_F(XskQueueTest, RefillStopsWhenPoolRunsDry)
{
    make(16, 64);
    EXPECT_EQ(queue_->refill(), 16u);
    EXPECT_EQ(stats().chunks_free, 0u);
    EXPECT_EQ(queue_->refill(), 0u);
    expect_invariant("dry");
}

TEST_F(XskQueueTest, RxMapsDescriptorsToChunksAndSlots)
{
    make(64, 16);
    queue_->refill();
    ASSERT_EQ(receive(5, 60, 10), 5u);
    Balance s = stats();
    EXPECT_EQ(s.chunks_rx, 5u);
    EXPECT_EQ(s.chunks_fill, 11u);
    expect_invariant("received");

    afxdp_rx_frame f[32];
    ASSERT_EQ(queue_->rx_burst(f, 32), 5u);
    for (uint32_t i = 0; i < 5; i++) {
        // The pool hands out chunk 0, 1, 2... first.
        EXPECT_EQ(f[i].chunk, area_->base() + size_t{i} * kChunk);
        EXPECT_EQ(f[i].meta, area_->slots().slot(i));
        EXPECT_EQ(umem::MetadataSlots::from_caller(f[i].meta)->owner,
                  area_.get());
        EXPECT_EQ(f[i].chunk_size, kChunk);
        EXPECT_EQ(f[i].headroom, kHeadroom);
        EXPECT_EQ(f[i].len, 60u);
        const uint8_t *data =
            static_cast<const uint8_t *>(f[i].chunk) + f[i].headroom;
        EXPECT_EQ(data[0], 10 + i);
        EXPECT_EQ(data[59], 10 + i);
    }
    s = stats();
    EXPECT_EQ(s.rx_packets, 5u);
    EXPECT_EQ(s.rx_bytes, 300u);
    EXPECT_EQ(s.chunks_held, 5u);
    EXPECT_EQ(s.chunks_rx, 0u);
    expect_invariant("rx burst");

    void *metas[5];
    for (int i = 0; i < 5; i++) {
        metas[i] = f[i].meta;
    }
    umem::UmemArea::release_batch(metas, 5);
    s = stats();
    EXPECT_EQ(s.chunks_held, 0u);
    EXPECT_EQ(s.chunks_free, 53u);
    expect_invariant("released");

    // LIFO: the chunk released last is the next one handed out (by this
    // thread's cache, where the release put it).
    uint64_t next = 0;
    ASSERT_EQ(area_->cache()->get(&next, 1), 1u);
    EXPECT_EQ(next, 4u * kChunk);
    area_->cache()->put(&next, 1);
}

TEST_F(XskQueueTest, RxBurstRespectsMax)
{
    make(64, 16);
    queue_->refill();
    ASSERT_EQ(receive(10), 10u);
    afxdp_rx_frame f[4];
    EXPECT_EQ(queue_->rx_burst(f, 4), 4u);
    expect_invariant("partial");
    EXPECT_EQ(stats().chunks_rx, 6u);
    std::vector<void *> metas;
    for (auto &x : f) {
        metas.push_back(x.meta);
    }
    umem::UmemArea::release_batch(metas.data(), 4);
    expect_invariant("after release");
}

TEST_F(XskQueueTest, TxCopiesFramesAndCompletionReturnsChunks)
{
    make(64, 16);
    auto fr = frames({60, 1500, kMax});
    EXPECT_EQ(queue_->tx_burst(fr.data(), 3), 3u);
    Balance s = stats();
    EXPECT_EQ(s.tx_packets, 3u);
    EXPECT_EQ(s.tx_bytes, 60u + 1500 + kMax);
    EXPECT_EQ(s.tx_dropped, 0u);
    EXPECT_EQ(s.chunks_tx, 3u);
    expect_invariant("tx");

    std::vector<struct xdp_desc> sent;
    EXPECT_EQ(kernel_->transmit(16, &sent), 3u);
    ASSERT_EQ(sent.size(), 3u);
    for (uint32_t i = 0; i < 3; i++) {
        EXPECT_EQ(sent[i].addr % kChunk, kTxHeadroom);
        EXPECT_EQ(sent[i].len, fr[i].len);
        EXPECT_EQ(std::memcmp(area_->base() + sent[i].addr, payload_.data(),
                              fr[i].len),
                  0);
    }
    s = stats();
    EXPECT_EQ(s.chunks_completion, 3u);
    EXPECT_EQ(s.chunks_tx, 0u);
    expect_invariant("transmitted");

    EXPECT_EQ(queue_->complete(), 3u);
    s = stats();
    EXPECT_EQ(s.chunks_completion, 0u);
    EXPECT_EQ(s.chunks_free, 64u);
    expect_invariant("completed");
}

TEST_F(XskQueueTest, TxDrainsCompletionFirst)
{
    make(64, 16);
    auto fr = frames({100, 100});
    queue_->tx_burst(fr.data(), 2);
    kernel_->transmit(2);
    EXPECT_EQ(stats().chunks_completion, 2u);
    queue_->tx_burst(fr.data(), 1);
    Balance s = stats();
    EXPECT_EQ(s.chunks_completion, 0u);
    EXPECT_EQ(s.chunks_tx, 1u);
    EXPECT_EQ(s.chunks_free, 63u);
    expect_invariant("drained");
}

TEST_F(XskQueueTest, TxDropsFramesWithBadLength)
{
    make(64, 16);
    auto fr = frames({60, kMax + 1, 0, 70, kChunk});
    EXPECT_EQ(queue_->tx_burst(fr.data(), 5), 2u);
    Balance s = stats();
    EXPECT_EQ(s.tx_dropped_bad_len, 3u);
    EXPECT_EQ(s.tx_dropped, 3u);
    EXPECT_EQ(s.tx_packets, 2u);
    EXPECT_EQ(s.tx_bytes, 130u);
    expect_invariant("bad len");
    std::vector<struct xdp_desc> sent;
    kernel_->transmit(16, &sent);
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent[0].len, 60u);  // Order kept around the drops.
    EXPECT_EQ(sent[1].len, 70u);
}

TEST_F(XskQueueTest, TxDropsWhenPoolIsEmpty)
{
    make(16, 16);
    EXPECT_EQ(queue_->refill(), 16u);  // Every chunk is on the fill ring.
    auto fr = frames({60, 60, 60, 60});
    EXPECT_EQ(queue_->tx_burst(fr.data(), 4), 0u);
    Balance s = stats();
    EXPECT_EQ(s.tx_dropped_no_chunk, 4u);
    EXPECT_EQ(s.tx_dropped, 4u);
    EXPECT_EQ(s.tx_packets, 0u);
    expect_invariant("no chunk");

    // Two chunks come back: two frames go, two are dropped.
    ASSERT_EQ(receive(2), 2u);
    afxdp_rx_frame f[2];
    ASSERT_EQ(queue_->rx_burst(f, 2), 2u);
    void *metas[2] = {f[0].meta, f[1].meta};
    umem::UmemArea::release_batch(metas, 2);
    EXPECT_EQ(queue_->tx_burst(fr.data(), 4), 2u);
    EXPECT_EQ(stats().tx_dropped_no_chunk, 6u);
    expect_invariant("partly");
}

TEST_F(XskQueueTest, TxDropsWhenRingIsFull)
{
    make(64, 16);
    std::vector<uint32_t> lens(20, 64);
    auto fr = frames(lens);
    EXPECT_EQ(queue_->tx_burst(fr.data(), 20), 16u);
    Balance s = stats();
    EXPECT_EQ(s.tx_dropped_ring_full, 4u);
    EXPECT_EQ(s.chunks_tx, 16u);
    EXPECT_EQ(s.chunks_free, 48u);  // Unused chunks went back.
    expect_invariant("ring full");
    EXPECT_EQ(queue_->tx_burst(fr.data(), 1), 0u);
    EXPECT_EQ(stats().tx_dropped_ring_full, 5u);
    kernel_->transmit(16);
    EXPECT_EQ(queue_->tx_burst(fr.data(), 1), 1u);
    expect_invariant("after transmit");
}

TEST_F(XskQueueTest, LargeBurstsSpanSeveralBatches)
{
    make(256, 128);
    std::vector<uint32_t> lens(100, 64);
    auto fr = frames(lens);
    EXPECT_EQ(queue_->tx_burst(fr.data(), 100), 100u);
    EXPECT_EQ(kernel_->tx_entries(), 100u);
    expect_invariant("tx 100");
    queue_->refill();
    ASSERT_EQ(receive(100), 100u);
    std::vector<afxdp_rx_frame> f(100);
    EXPECT_EQ(queue_->rx_burst(f.data(), 100), 100u);
    expect_invariant("rx 100");
    std::vector<void *> metas;
    metas.reserve(f.size());
    for (auto &x : f) {
        metas.push_back(x.meta);
    }
    umem::UmemArea::release_batch(metas.data(), 100);
    expect_invariant("released 100");
}

TEST_F(XskQueueTest, RandomTrafficKeepsEveryChunkAccountedFor)
{
    make(128, 32);
    std::mt19937 rng(42);
    std::vector<void *> held;
    std::vector<uint32_t> lens(40, 100);
    auto fr = frames(lens);
    for (int step = 0; step < 5000; step++) {
        switch (rng() % 7) {
        case 0: queue_->refill(); break;
        case 1: kernel_->take_fill(rng() % 8); break;
        case 2: receive(rng() % 40); break;
        case 3: {
            afxdp_rx_frame f[40];
            uint32_t n = queue_->rx_burst(f, rng() % 40);
            for (uint32_t i = 0; i < n; i++) {
                held.push_back(f[i].meta);
            }
            break;
        }
        case 4: {
            uint32_t n = std::min<uint32_t>(uint32_t(held.size()), rng() % 40);
            umem::UmemArea::release_batch(held.data() + held.size() - n, n);
            held.resize(held.size() - n);
            break;
        }
        case 5: queue_->tx_burst(fr.data(), rng() % 40); break;
        case 6: kernel_->transmit(rng() % 40); break;
        }
        expect_invariant("random step");
        if (HasFailure()) {
            FAIL() << "at step " << step;
        }
    }
    umem::UmemArea::release_batch(held.data(), uint32_t(held.size()));
    expect_invariant("end");
}

// Two threads send on one queue at the same time, as two PMD threads do
// when dpif-netdev passes concurrent_txq (more threads than queues): both
// call tx_burst() with TxSharing::kShared, as Port::tx_burst() does for
// them, so they share the queue's own tx ring under its lane lock and
// drain the completion ring when its try-lock lets them.  A third thread
// plays the kernel, consuming the tx ring and filling the completion ring
// while they send.  Every frame must reach the "wire" exactly once, in its
// sender's order, with its bytes intact, and every chunk must come back.
// Under ThreadSanitizer (scripts/sanitize.sh) this is the check that the
// locks cover all of the queue's tx state: the libxdp ring caches, the
// counters and the chunks' way through the threads' caches.
//
// The senders must really overlap, or the lock was never contended: each
// counts itself in 'inside' from before its tx_burst() until after it
// returns, and an iteration that finds the other sender already inside
// is an overlap.  A sender stops after kFrames frames once kMinOverlaps
// overlaps have been seen, and at kMaxFrames whatever happened, so a
// machine that never runs both at once fails the test instead of passing
// it without contention.
TEST_F(XskQueueTest, ConcurrentSharedSendersLoseNothing)
{
    constexpr int kSenders = 2;
    constexpr uint32_t kFrames = 20000;
    constexpr uint32_t kMaxFrames = 2000000;
    constexpr uint64_t kMinOverlaps = 1000;
    make(256, 64);

    // Frame 'seq' of sender 's': 60..123 bytes, s, seq, then a pattern of
    // both, so a frame overwritten by the other sender is noticed.
    auto frame_len = [](uint32_t seq) { return 60 + seq % 64; };
    auto pattern = [](int s, uint32_t seq, uint32_t i) {
        return uint8_t((seq + i) * uint32_t(s + 3));
    };

    std::atomic<bool> go{false};
    std::atomic<int> inside{0};
    std::atomic<int> max_inside{0};
    std::atomic<uint64_t> overlaps{0};
    std::atomic<int> senders_done{0};
    uint32_t sent_by[kSenders] = {};

    auto sender = [&](int s) {
        std::vector<char> buf(size_t{kBatch} * 128);
        afxdp_tx_frame fr[kBatch];
        uint32_t next = 0;  // First frame not yet queued.
        while (!go.load(std::memory_order_acquire)) {
            std::this_thread::yield();
        }
        while (next < kMaxFrames &&
               (next < kFrames ||
                overlaps.load(std::memory_order_relaxed) < kMinOverlaps)) {
            uint32_t n = std::min(kBatch, kMaxFrames - next);
            for (uint32_t i = 0; i < n; i++) {
                uint32_t seq = next + i;
                char *p = buf.data() + size_t{i} * 128;
                p[0] = char(s);
                std::memcpy(p + 1, &seq, sizeof seq);
                for (uint32_t b = 5; b < frame_len(seq); b++) {
                    p[b] = char(pattern(s, seq, b));
                }
                fr[i] = {p, frame_len(seq), nullptr};
            }
            int now = inside.fetch_add(1) + 1;
            if (now > 1) {
                overlaps.fetch_add(1);
            }
            int seen = max_inside.load();
            while (now > seen && !max_inside.compare_exchange_weak(seen, now)) {
            }
            uint32_t queued = queue_->tx_burst(fr, n, TxSharing::kShared);
            inside.fetch_sub(1);
            // The first 'queued' frames went, in order; the rest found the
            // ring full and go again.
            next += queued;
        }
        sent_by[s] = next;
        senders_done.fetch_add(1, std::memory_order_release);
    };

    uint32_t next_seq[kSenders] = {};
    uint64_t wire = 0, bad = 0;
    std::string first_bad;
    auto look = [&](const struct xdp_desc &d) {
        wire++;
        const auto *p =
            reinterpret_cast<const uint8_t *>(area_->base() + d.addr);
        int s = p[0];
        uint32_t seq;
        std::memcpy(&seq, p + 1, sizeof seq);
        bool ok = d.addr % kChunk == kTxHeadroom && s < kSenders &&
                  seq == next_seq[s] && d.len == frame_len(seq);
        for (uint32_t b = 5; ok && b < d.len; b++) {
            ok = p[b] == pattern(s, seq, b);
        }
        if (!ok && bad++ == 0) {
            first_bad = "frame " + std::to_string(wire) + ": sender " +
                        std::to_string(s) + " seq " + std::to_string(seq) +
                        " len " + std::to_string(d.len);
        }
        if (s < kSenders) {
            next_seq[s] = seq + 1;
        }
    };
    std::atomic<bool> kernel_done{false};
    std::thread kernel([&] {
        while (!go.load(std::memory_order_acquire)) {
            std::this_thread::yield();
        }
        for (;;) {
            bool last =
                senders_done.load(std::memory_order_acquire) == kSenders;
            if (kernel_->transmit_with(kBatch, look) > 0) {
                continue;
            }
            if (last && kernel_->tx_entries() == 0) {
                break;  // Nothing left after both senders finished.
            }
            std::this_thread::yield();
        }
        kernel_done.store(true, std::memory_order_release);
    });
    std::vector<std::thread> threads;
    threads.reserve(kSenders);
    for (int s = 0; s < kSenders; s++) {
        threads.emplace_back(sender, s);
    }
    go.store(true, std::memory_order_release);
    for (auto &t : threads) {
        t.join();
    }
    // The last frames wait for room on the completion ring, which only the
    // sending side drains: now this thread alone.
    while (!kernel_done.load(std::memory_order_acquire)) {
        queue_->complete();
    }
    kernel.join();

    EXPECT_EQ(max_inside.load(), 2) << "the senders never overlapped";
    EXPECT_GE(overlaps.load(), kMinOverlaps)
        << "sent " << sent_by[0] << " and " << sent_by[1] << " frames";
    EXPECT_EQ(bad, 0u) << "first bad " << first_bad;
    for (int s = 0; s < kSenders; s++) {
        EXPECT_GE(sent_by[s], kFrames);
        EXPECT_EQ(next_seq[s], sent_by[s]) << "sender " << s;
    }
    XskQueueStats st = queue_->stats();
    EXPECT_EQ(wire, uint64_t{sent_by[0]} + sent_by[1]);
    EXPECT_EQ(st.tx_packets, wire);
    // Frames refused for a full ring or for want of a chunk (the rest wait
    // on the completion ring) went again, so only those two reasons count.
    EXPECT_EQ(st.tx_dropped, st.tx_dropped_ring_full + st.tx_dropped_no_chunk);
    EXPECT_EQ(st.tx_dropped_bad_len, 0u);
    EXPECT_EQ(st.tx_dropped_not_held, 0u);
    queue_->complete();
    expect_invariant("concurrent senders");
    EXPECT_EQ(stats().chunks_free, 256u);
}

// A datagram socketpair stands in for the AF_XDP fd: each tx kick
// (sendto(fd, NULL, 0)) arrives as one empty datagram.
class KickTest : public XskQueueTest {
protected:
    void SetUp() override
    {
        XskQueueTest::SetUp();
        ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, fds_), 0);
    }
    void TearDown() override
    {
        XskQueueTest::TearDown();
        close(fds_[0]);
        close(fds_[1]);
    }
    int kicks()
    {
        int n = 0;
        char c;
        while (recv(fds_[1], &c, 1, MSG_DONTWAIT) >= 0) {
            n++;
        }
        return n;
    }
    int fds_[2];
};

TEST_F(KickTest, WithoutNeedWakeupEveryBurstKicks)
{
    make(64, 16, fds_[0], false);
    auto fr = frames({60});
    queue_->tx_burst(fr.data(), 1);
    queue_->tx_burst(fr.data(), 1);
    EXPECT_EQ(kicks(), 2);
    EXPECT_EQ(stats().tx_kick_errors, 0u);
}

TEST_F(KickTest, NeedWakeupKicksOnlyWhenAsked)
{
    make(64, 16, fds_[0], true);
    auto fr = frames({60});
    queue_->tx_burst(fr.data(), 1);
    EXPECT_EQ(kicks(), 0);
    kernel_->set_tx_flags(XDP_RING_NEED_WAKEUP);
    queue_->tx_burst(fr.data(), 1);
    EXPECT_EQ(kicks(), 1);
}

TEST_F(KickTest, NothingPendingNoKick)
{
    make(64, 16, fds_[0], false);
    queue_->tx_burst(nullptr, 0);
    EXPECT_EQ(kicks(), 0);
}

TEST_F(KickTest, IdleRxPollKicksPendingTx)
{
    make(64, 16, fds_[0], false);
    auto fr = frames({60, 60});
    queue_->tx_burst(fr.data(), 2);
    EXPECT_EQ(kicks(), 1);
    afxdp_rx_frame rx[4];
    // The kernel has not consumed the tx ring: every idle poll kicks.
    EXPECT_EQ(queue_->rx_burst(rx, 4), 0u);
    EXPECT_EQ(queue_->rx_burst(rx, 4), 0u);
    EXPECT_EQ(kicks(), 2);
    // Once it has, idle polls stay silent.
    kernel_->transmit(2);
    EXPECT_EQ(queue_->rx_burst(rx, 4), 0u);
    EXPECT_EQ(kicks(), 0);
}

TEST_F(KickTest, BusyRxPollDoesNotKick)
{
    make(64, 16, fds_[0], false);
    auto fr = frames({60});
    queue_->tx_burst(fr.data(), 1);
    EXPECT_EQ(kicks(), 1);
    queue_->refill();
    ASSERT_EQ(receive(1), 1u);
    afxdp_rx_frame rx[4];
    ASSERT_EQ(queue_->rx_burst(rx, 4), 1u);
    EXPECT_EQ(kicks(), 0);
    umem::UmemArea::release(rx[0].meta);
}

TEST_F(KickTest, IdleRxPollHonoursNeedWakeup)
{
    make(64, 16, fds_[0], true);
    auto fr = frames({60});
    queue_->tx_burst(fr.data(), 1);
    afxdp_rx_frame rx[4];
    EXPECT_EQ(queue_->rx_burst(rx, 4), 0u);
    EXPECT_EQ(kicks(), 0);
    kernel_->set_tx_flags(XDP_RING_NEED_WAKEUP);
    EXPECT_EQ(queue_->rx_burst(rx, 4), 0u);
    EXPECT_EQ(kicks(), 1);
}

}  // namespace
}  // namespace afxdp::netdev
