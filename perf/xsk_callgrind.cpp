/*
 * afxdp-xsk-callgrind: instructions per packet of the provider's own burst
 * code, counted by callgrind with the kernel out of the picture.
 *
 * Parts: rx_burst, release (a batch, as OVS frees a dropped batch with
 * ovs-patches/0007), release1 (one by one, as OVS frees a packet sent to a
 * tap), refill, tx_zc (forwarding a received frame by address, completion
 * drain included) and tx_burst (copying an outside frame in, completion
 * drain included).
 *
 * Wall-clock benchmarks on veth measure mostly the kernel (copy-mode
 * transmit and the peer's receive run inside our sendto()).  This harness
 * drives netdev::XskQueue over in-memory rings instead (the FakeKernel of
 * the unit tests plays the kernel's part, outside the measured regions),
 * so the count is exactly our rx_burst/refill/tx_burst/release code, and it
 * is deterministic: a change of a few instructions per packet shows.
 *
 * Run under `valgrind --tool=callgrind --collect-atstart=no`: each measured
 * call is bracketed with CALLGRIND_TOGGLE_COLLECT, and each phase ends with
 * CALLGRIND_DUMP_STATS_AT(<phase>), so every phase gets its own dump whose
 * total divided by the packet count printed here is instructions per
 * packet.  perf/callgrind.sh does all of that.  Without valgrind the client
 * requests are no-ops and the harness just runs.
 */
#include <valgrind/callgrind.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "netdev-afxdp/params.h"
#include "netdev-afxdp/xsk_queue.h"
#include "tests/unit/fake_kernel.h"
#include "umem/umem_area.h"

namespace {

using afxdp::netdev::kBatch;
using afxdp::netdev::kChunkSize;
using afxdp::netdev::kMaxFrameLen;
using afxdp::netdev::kRingSize;
using afxdp::netdev::kRxHeadroom;
using afxdp::netdev::kTxHeadroom;
using afxdp::netdev::XskQueue;
using afxdp::test::FakeKernel;

constexpr uint32_t kChunks = 4 * kRingSize;
constexpr uint32_t kFrameLen = 60;  // 64-byte frame without FCS.

struct Harness {
    afxdp::umem::AreaRef area;
    std::unique_ptr<FakeKernel> kernel;
    std::unique_ptr<XskQueue> queue;

    bool init()
    {
        afxdp::umem::UmemConfig c;
        c.n_chunks = kChunks;
        c.chunk_size = kChunkSize;
        c.meta_size = 256;  // About sizeof(struct dp_packet).
        auto r = afxdp::umem::UmemArea::create(c);
        if (!r.ok()) {
            std::fprintf(stderr, "UmemArea::create: %s\n",
                         r.error().message.c_str());
            return false;
        }
        area = std::move(r).value();
        kernel = std::make_unique<FakeKernel>(kRingSize);
        afxdp::netdev::XskQueueConfig qc;
        qc.rings = kernel->rings();
        qc.area = area.get();
        qc.use_need_wakeup = true;
        qc.tx_headroom = kTxHeadroom;
        qc.max_frame_len = kMaxFrameLen;
        queue = std::make_unique<XskQueue>(qc);
        return true;
    }
};

#define MEASURED(expr)                                                         \
    do {                                                                       \
        CALLGRIND_TOGGLE_COLLECT;                                              \
        expr;                                                                  \
        CALLGRIND_TOGGLE_COLLECT;                                              \
    } while (0)

// One measured part of a cycle.  Each cycle: the kernel fills the rx ring
// with a burst, we receive it (rx_burst), then either give the chunks back
// (rx-drop: release as OVS's per-packet dp_packet_delete does, or in one
// batch) or send them out again by address (forwarding: tx_zc, which
// first drains the previous burst's completions), and refill the fill
// ring.  Only the named part is counted.
bool is(const char *part, const char *name)
{
    return !std::strcmp(part, name);
}

void rx_cycle(Harness &h, uint64_t n_packets, const char *part)
{
    afxdp_rx_frame frames[kBatch];
    void *metas[kBatch];
    afxdp_tx_frame tx[kBatch];
    h.queue->refill();
    uint64_t done = 0;
    while (done < n_packets) {
        h.kernel->receive(kBatch, kFrameLen, kRxHeadroom, h.area->base());
        uint32_t got;
        if (is(part, "rx_burst")) {
            MEASURED(got = h.queue->rx_burst(frames, kBatch));
        } else {
            got = h.queue->rx_burst(frames, kBatch);
        }
        if (got == 0) {
            std::fprintf(stderr, "rx stalled after %llu packets\n",
                         static_cast<unsigned long long>(done));
            std::exit(1);
        }
        for (uint32_t i = 0; i < got; i++) {
            metas[i] = frames[i].meta;
            tx[i] = {static_cast<char *>(frames[i].chunk) + frames[i].headroom,
                     frames[i].len, frames[i].meta};
        }
        if (is(part, "release1")) {
            MEASURED(for (uint32_t i = 0; i < got;
                          i++) { afxdp::umem::UmemArea::release(metas[i]); });
        } else if (is(part, "release")) {
            MEASURED(afxdp::umem::UmemArea::release_batch(metas, got));
        } else if (is(part, "tx_zc")) {
            MEASURED(h.queue->tx_burst(tx, got));
            h.kernel->transmit(kBatch);
        } else {
            afxdp::umem::UmemArea::release_batch(metas, got);
        }
        if (is(part, "refill")) {
            MEASURED(h.queue->refill());
        } else {
            h.queue->refill();
        }
        done += got;
    }
}

// Copying tx: frames from outside the UMEM (a tap, a copy made by OVS) are
// copied into chunks (tx_burst, which first drains the completion ring),
// the kernel "transmits" them.
void tx_copy_cycle(Harness &h, uint64_t n_packets)
{
    static char payload[kFrameLen];
    std::memset(payload, 0x5a, sizeof payload);
    afxdp_tx_frame frames[kBatch];
    for (auto &f : frames) {
        f = {payload, kFrameLen, nullptr};
    }
    uint64_t done = 0;
    while (done < n_packets) {
        uint32_t sent;
        MEASURED(sent = h.queue->tx_burst(frames, kBatch));
        h.kernel->transmit(kBatch);
        if (sent == 0) {
            std::fprintf(stderr, "tx stalled after %llu packets\n",
                         static_cast<unsigned long long>(done));
            std::exit(1);
        }
        done += sent;
    }
}

}  // namespace

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
    if (n == 0 || n % kBatch) {
        std::fprintf(stderr, "usage: %s [N]  (N a multiple of %u)\n", argv[0],
                     kBatch);
        return 2;
    }
    // A separate queue per part: each starts from the same state, and the
    // warm-up (first refill, first faults, the thread's cache) is outside
    // the dumped totals.
    const char *rx_parts[] = {"rx_burst", "release", "release1", "refill",
                              "tx_zc"};
    for (const char *part : rx_parts) {
        Harness h;
        if (!h.init())
            return 1;
        rx_cycle(h, uint64_t{kBatch} * 64, part);  // Warm-up.
        CALLGRIND_ZERO_STATS;
        rx_cycle(h, n, part);
        CALLGRIND_DUMP_STATS_AT(part);
        std::printf("%s packets %llu\n", part,
                    static_cast<unsigned long long>(n));
    }
    {
        Harness h;
        if (!h.init())
            return 1;
        tx_copy_cycle(h, uint64_t{kBatch} * 64);
        CALLGRIND_ZERO_STATS;
        tx_copy_cycle(h, n);
        CALLGRIND_DUMP_STATS_AT("tx_burst");
        std::printf("tx_burst packets %llu\n",
                    static_cast<unsigned long long>(n));
    }
    return 0;
}
