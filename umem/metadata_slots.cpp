/*
 * MetadataSlots implementation.  Memory comes from libnuma when a node is
 * requested, so a PMD thread pinned to that node touches local memory for
 * both the frame and its dp_packet; otherwise from aligned_alloc().  Slots
 * are zeroed once here; the caller initialises its bytes per frame.
 */
#include "umem/metadata_slots.h"

#include <numa.h>

#include <cstdlib>
#include <cstring>
#include <new>

namespace afxdp::umem {

void SlotMemoryFree::operator()(char *p) const noexcept
{
    if (numa) {
        numa_free(p, bytes);
    } else {
        std::free(p);
    }
}

MetadataSlots::MetadataSlots(UmemArea *owner, uint32_t n_slots,
                             uint32_t meta_size, int numa_node) noexcept
    : n_slots_(n_slots), stride_(stride_for(meta_size))
{
    size_t bytes = stride_ * n_slots;
    if (bytes == 0) {
        return;
    }
    SlotMemoryFree free_fn{bytes, false};
    void *mem = nullptr;
    if (numa_node >= 0 && numa_available() >= 0) {
        // numa_alloc_onnode() returns page-aligned memory.
        mem = numa_alloc_onnode(bytes, numa_node);
        free_fn.numa = true;
    } else {
        mem = std::aligned_alloc(kCacheLine, bytes);
    }
    if (!mem) {
        return;
    }
    std::memset(mem, 0, bytes);
    base_ = std::unique_ptr<char, SlotMemoryFree>(static_cast<char *>(mem),
                                                  free_fn);
    for (uint32_t i = 0; i < n_slots; i++) {
        SlotHeader *h = from_caller(slot(i));
        h->owner = owner;
        h->chunk = i;
    }
}

}  // namespace afxdp::umem
