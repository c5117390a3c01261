/*
 * afxdp_pool_bench: what one chunk costs in the UMEM's free list, and what
 * the rx path pays to find a chunk's metadata slot.
 *
 * Three free lists, all behind the same SpinLock so that only the data
 * structure differs:
 *
 *   ChunkPool   ours: a LIFO array stack, copied in and out per batch.
 *   LinkedList  a free list threaded through a next[] array, as a pool
 *               that stores the link in the free chunk itself would be;
 *               every get follows a dependent load.
 *   FifoRing    a power-of-two ring of addresses (head/tail), the shape of
 *               DPDK's mempool ring and of xsk_fwd.c's buffer pool.
 *
 * Every iteration takes a batch and gives it back, as refill + release do
 * in the datapath; batch sizes 1, 16 and 32 (32 is the OVS burst).  The
 * contended variants run the same loop on two threads sharing one pool,
 * which is what happens when a PMD thread frees chunks of a port another
 * PMD thread receives on.  The time_per_chunk counter is wall time per chunk
 * moved (get + put counted once).
 *
 * The metadata benchmarks time the rx mapping (descriptor address -> slot
 * pointer: a shift and a multiply-add) and the release mapping (caller
 * pointer -> header -> chunk), against an unordered_map as the obvious
 * alternative a pool without preallocated slots would need.
 */
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <unordered_map>
#include <vector>

#include "umem/chunk_pool.h"
#include "umem/metadata_slots.h"
#include "umem/spin_lock.h"

namespace {

using afxdp::umem::ChunkPool;
using afxdp::umem::MetadataSlots;
using afxdp::umem::SpinLock;

constexpr uint32_t kChunks = 4096;
constexpr uint32_t kChunkSize = 4096;
constexpr uint32_t kChunkShift = 12;
constexpr uint32_t kMetaSize = 256;  // About sizeof(struct dp_packet).
static_assert(afxdp::umem::is_power_of_two(kChunks));
static_assert(uint32_t(1) << kChunkShift == kChunkSize);

// ---- the alternatives ------------------------------------------------------

class LinkedList {
public:
    LinkedList(uint32_t n, uint32_t chunk_size)
        : next_(new uint32_t[n]), chunk_shift_(__builtin_ctz(chunk_size))
    {
        for (uint32_t i = 0; i < n; i++) {
            next_[i] = i + 1 < n ? i + 1 : kNil;
        }
        head_ = 0;
    }

    uint32_t get_batch(uint64_t *out, uint32_t n) noexcept
    {
        std::lock_guard<SpinLock> guard(lock_);
        uint32_t got = 0;
        while (got < n && head_ != kNil) {
            out[got++] = uint64_t(head_) << chunk_shift_;
            head_ = next_[head_];
        }
        return got;
    }

    void put_batch(const uint64_t *addrs, uint32_t n) noexcept
    {
        std::lock_guard<SpinLock> guard(lock_);
        for (uint32_t i = 0; i < n; i++) {
            uint32_t idx = uint32_t(addrs[i] >> chunk_shift_);
            next_[idx] = head_;
            head_ = idx;
        }
    }

private:
    static constexpr uint32_t kNil = ~0u;
    std::unique_ptr<uint32_t[]> next_;
    const uint32_t chunk_shift_;
    uint32_t head_;
    SpinLock lock_;
};

class FifoRing {
public:
    FifoRing(uint32_t n, uint32_t chunk_size)
        : ring_(new uint64_t[n]), mask_(n - 1), head_(0), tail_(n)
    {
        for (uint32_t i = 0; i < n; i++) {
            ring_[i] = uint64_t(i) * chunk_size;
        }
    }

    uint32_t get_batch(uint64_t *out, uint32_t n) noexcept
    {
        std::lock_guard<SpinLock> guard(lock_);
        uint32_t avail = tail_ - head_;
        uint32_t got = n < avail ? n : avail;
        for (uint32_t i = 0; i < got; i++) {
            out[i] = ring_[(head_ + i) & mask_];
        }
        head_ += got;
        return got;
    }

    void put_batch(const uint64_t *addrs, uint32_t n) noexcept
    {
        std::lock_guard<SpinLock> guard(lock_);
        for (uint32_t i = 0; i < n; i++) {
            ring_[(tail_ + i) & mask_] = addrs[i];
        }
        tail_ += n;
    }

private:
    std::unique_ptr<uint64_t[]> ring_;
    const uint32_t mask_;
    uint32_t head_;
    uint32_t tail_;
    SpinLock lock_;
};

// ---- the pool benchmark ----------------------------------------------------

// One pool per type, shared by the threads of a contended run: thread 0
// creates it before the timed loop and destroys it after (Google Benchmark
// puts a barrier at both ends of the loop).
template <typename Pool>
std::unique_ptr<Pool> &shared_pool()
{
    static std::unique_ptr<Pool> pool;
    return pool;
}

template <typename Pool>
void BM_pool(benchmark::State &state)
{
    const auto batch = static_cast<uint32_t>(state.range(0));
    if (state.thread_index() == 0) {
        shared_pool<Pool>() = std::make_unique<Pool>(kChunks, kChunkSize);
    }
    uint64_t addrs[64];
    for (auto _ : state) {
        Pool &pool = *shared_pool<Pool>();
        uint32_t got = pool.get_batch(addrs, batch);
        benchmark::DoNotOptimize(addrs);
        pool.put_batch(addrs, got);
        benchmark::ClobberMemory();
    }
    const double chunks = double(state.iterations()) * batch;
    state.SetItemsProcessed(int64_t(chunks));
    state.counters["time_per_chunk"] = benchmark::Counter(
        chunks, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    if (state.thread_index() == 0) {
        shared_pool<Pool>().reset();
    }
}

#define POOL_BENCH(Pool)                                                       \
    BENCHMARK_TEMPLATE(BM_pool, Pool)->Arg(1)->Arg(16)->Arg(32);               \
    BENCHMARK_TEMPLATE(BM_pool, Pool)                                          \
        ->Arg(1)                                                               \
        ->Arg(16)                                                              \
        ->Arg(32)                                                              \
        ->Threads(2)                                                           \
        ->UseRealTime()

POOL_BENCH(ChunkPool);
POOL_BENCH(LinkedList);
POOL_BENCH(FifoRing);

// ---- metadata lookup -------------------------------------------------------

// 32 random chunk addresses with a frame offset, like one rx burst.
std::vector<uint64_t> burst_addrs()
{
    std::mt19937 rng(42);
    std::vector<uint64_t> a(32);
    for (auto &x : a) {
        x = (uint64_t(rng() % kChunks) << kChunkShift) + 256;
    }
    return a;
}

void BM_meta_rx_lookup(benchmark::State &state)
{
    MetadataSlots slots(nullptr, kChunks, kMetaSize, -1);
    if (!slots.ok()) {
        state.SkipWithError("MetadataSlots allocation failed");
        return;
    }
    const auto addrs = burst_addrs();
    void *out[32];
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
        for (size_t i = 0; i < addrs.size(); i++) {
            out[i] = slots.slot(uint32_t(addrs[i] >> kChunkShift));
        }
        benchmark::DoNotOptimize(out);
        benchmark::ClobberMemory();
    }
    const double n = double(state.iterations()) * addrs.size();
    state.SetItemsProcessed(int64_t(n));
    state.counters["time_per_chunk"] = benchmark::Counter(
        n, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_meta_rx_lookup);

void BM_meta_release_lookup(benchmark::State &state)
{
    MetadataSlots slots(nullptr, kChunks, kMetaSize, -1);
    if (!slots.ok()) {
        state.SkipWithError("MetadataSlots allocation failed");
        return;
    }
    for (uint32_t i = 0; i < kChunks; i++) {
        MetadataSlots::from_caller(slots.slot(i))->chunk = i;
    }
    const auto addrs = burst_addrs();
    std::vector<void *> metas;
    metas.reserve(addrs.size());
    for (uint64_t a : addrs) {
        metas.push_back(slots.slot(uint32_t(a >> kChunkShift)));
    }
    uint64_t chunk_addrs[32];
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
        for (size_t i = 0; i < metas.size(); i++) {
            chunk_addrs[i] =
                uint64_t(MetadataSlots::from_caller(metas[i])->chunk)
                << kChunkShift;
        }
        benchmark::DoNotOptimize(chunk_addrs);
        benchmark::ClobberMemory();
    }
    const double n = double(state.iterations()) * metas.size();
    state.SetItemsProcessed(int64_t(n));
    state.counters["time_per_chunk"] = benchmark::Counter(
        n, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_meta_release_lookup);

// Baseline: a hash map from chunk address to a separately allocated
// metadata object.
void BM_meta_hashmap_lookup(benchmark::State &state)
{
    std::unordered_map<uint64_t, std::unique_ptr<char[]>> map;
    for (uint32_t i = 0; i < kChunks; i++) {
        map.emplace(uint64_t(i) << kChunkShift,
                    std::make_unique<char[]>(kMetaSize));
    }
    const auto addrs = burst_addrs();
    void *out[32];
    for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
        for (size_t i = 0; i < addrs.size(); i++) {
            out[i] =
                map.find(addrs[i] & ~uint64_t(kChunkSize - 1))->second.get();
        }
        benchmark::DoNotOptimize(out);
        benchmark::ClobberMemory();
    }
    const double n = double(state.iterations()) * addrs.size();
    state.SetItemsProcessed(int64_t(n));
    state.counters["time_per_chunk"] = benchmark::Counter(
        n, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_meta_hashmap_lookup);

}  // namespace

BENCHMARK_MAIN();
