/*
 * UmemArea implementation.
 *
 * The chunk memory is one anonymous private mapping, populated up front so
 * the first packets do not page-fault (the kernel pins it anyway when the
 * UMEM is registered).  With a NUMA node requested it is bound there before
 * it is populated, so the pages are born on the right node instead of being
 * migrated.
 *
 * Reference counting: increments are relaxed (the caller already has a
 * reference that keeps the area alive); the decrement that may free uses
 * acq_rel so that every use of the area by other threads happens before the
 * delete.
 */
#include "umem/umem_area.h"

#include <numa.h>
#include <sys/mman.h>

#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <new>
#include <string>

#include "umem/report.h"

namespace afxdp::umem {

namespace {

std::atomic<uint64_t> live_areas{0};

constexpr uint32_t kMinChunkSize = 2048;  // XDP_UMEM_MIN_CHUNK_SIZE.
constexpr uint32_t kReleaseBatch = 32;

uint32_t log2_of(uint32_t x) noexcept
{
    return 31 - __builtin_clz(x);
}

}  // namespace

void RetireArea::operator()(UmemArea *area) const noexcept
{
    area->retire();
}

UmemArea::UmemArea(const UmemConfig &config)
    : n_chunks_(config.n_chunks), chunk_size_(config.chunk_size),
      chunk_shift_(log2_of(config.chunk_size)),
      size_(uint64_t(config.n_chunks) * config.chunk_size),
      pool_(config.n_chunks, config.chunk_size), states_(config.n_chunks),
      slots_(this, config.n_chunks, config.meta_size, config.numa_node)
{
    live_areas.fetch_add(1, std::memory_order_relaxed);
}

UmemArea::~UmemArea()
{
    if (base_) {
        munmap(base_, size_);
    }
    live_areas.fetch_sub(1, std::memory_order_relaxed);
}

Result<AreaRef> UmemArea::create(const UmemConfig &config)
{
    if (!is_power_of_two(config.n_chunks) ||
        !is_power_of_two(config.chunk_size) ||
        config.chunk_size < kMinChunkSize) {
        return Error{EINVAL, "umem: chunk count (" +
                                 std::to_string(config.n_chunks) +
                                 ") and chunk size (" +
                                 std::to_string(config.chunk_size) +
                                 ") must be powers of two, chunks >= 2048"};
    }

    UmemArea *raw;
    try {
        raw = new UmemArea(config);
    } catch (const std::bad_alloc &) {
        return Error{ENOMEM, "umem: out of memory for the chunk pool"};
    }
    AreaRef area(raw);
    if (!area->slots_.ok()) {
        return Error{ENOMEM, "umem: out of memory for " +
                                 std::to_string(config.n_chunks) +
                                 " metadata slots"};
    }

    bool bind = config.numa_node >= 0 && numa_available() >= 0;
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | (bind ? 0 : MAP_POPULATE);
    void *mem =
        mmap(nullptr, area->size_, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (mem == MAP_FAILED) {
        int err = errno;
        return Error{err, "umem: mmap of " + std::to_string(area->size_) +
                              " bytes failed: " + std::strerror(err)};
    }
    area->base_ = static_cast<char *>(mem);
    if (bind) {
        numa_tonode_memory(mem, area->size_, config.numa_node);
        // Fault the pages in now, on the bound node.
        if (madvise(mem, area->size_, MADV_POPULATE_WRITE) != 0) {
            std::memset(mem, 0, area->size_);
        }
    }
    return area;
}

AreaRef UmemArea::share() noexcept
{
    owners_.fetch_add(1, std::memory_order_relaxed);
    refs_.fetch_add(1, std::memory_order_relaxed);
    return AreaRef(this);
}

void UmemArea::retire() noexcept
{
    owners_.fetch_sub(1, std::memory_order_relaxed);
    drop_refs(1);
}

void UmemArea::drop_refs(uint64_t n) noexcept
{
    if (refs_.fetch_sub(n, std::memory_order_acq_rel) == n) {
        delete this;
    }
}

uint32_t UmemArea::chunks_held() const noexcept
{
    return uint32_t(refs_.load(std::memory_order_relaxed) -
                    owners_.load(std::memory_order_relaxed));
}

uint64_t UmemArea::live_count() noexcept
{
    return live_areas.load(std::memory_order_relaxed);
}

void UmemArea::refuse_release(uint32_t chunk, uint32_t n) noexcept
{
    uint64_t before = release_errors_.fetch_add(n, std::memory_order_relaxed);
    if (should_report(before, before + n)) {
        report_error("UMEM of %u chunks: refused to release %u chunk(s) "
                     "not held by the caller (chunk %u is %s); %" PRIu64
                     " refused so far",
                     n_chunks_, n, chunk,
                     states_.get(chunk) == ChunkStates::kFree ? "free" : "lent",
                     before + n);
    }
}

void UmemArea::release_run(const uint32_t *chunks, uint32_t n) noexcept
{
    uint64_t addrs[kReleaseBatch];
    uint32_t n_ok = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (states_.release(chunks[i])) [[likely]] {
            addrs[n_ok++] = uint64_t(chunks[i]) << chunk_shift_;
        } else {
            refuse_release(chunks[i], 1);
        }
    }
    pool_.put_batch(addrs, n_ok);
    drop_refs(n_ok);  // May delete this.
}

void UmemArea::release_batch(void *const *metas, uint32_t n) noexcept
{
    // Runs of consecutive frames from one area, at most kReleaseBatch long.
    uint32_t i = 0;
    while (i < n) {
        UmemArea *area = MetadataSlots::from_caller(metas[i])->owner;
        uint32_t chunks[kReleaseBatch];
        uint32_t n_chunks = 0;
        for (; i < n && n_chunks < kReleaseBatch; i++) {
            const SlotHeader *h = MetadataSlots::from_caller(metas[i]);
            if (h->owner != area) {
                break;
            }
            chunks[n_chunks++] = h->chunk;
        }
        area->release_run(chunks, n_chunks);
    }
}

}  // namespace afxdp::umem
