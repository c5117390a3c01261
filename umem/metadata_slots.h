/*
 * MetadataSlots: one preallocated caller object per UMEM chunk.
 *
 * OVS wraps every received frame in a struct dp_packet.  Allocating one per
 * packet would put malloc on the hot path, so instead every chunk owns a
 * slot of 'meta_size' bytes, allocated once with the UMEM and indexed by
 * chunk number: chunk i <-> slot i.  The rx path turns a descriptor address
 * into a slot pointer with a shift; the release path (any thread, possibly
 * after the port closed) goes back from the caller's pointer to its chunk
 * and its UMEM through a small header stored just in front of the caller's
 * bytes.  The caller's size comes from the C layer (sizeof(struct
 * dp_packet)); nothing here knows OVS types.
 *
 * Each slot starts on a cache line (stride rounded up to 64 bytes) so that
 * two frames handled by different threads never share a line.  The slots
 * live in a PageMapping (huge pages when available, like the UMEM): OVS
 * touches a frame's dp_packet as often as its data.
 */
#ifndef AFXDP_UMEM_METADATA_SLOTS_H
#define AFXDP_UMEM_METADATA_SLOTS_H

#include <cstddef>
#include <cstdint>

#include "umem/page_mapping.h"

namespace afxdp::umem {

class UmemArea;

struct SlotHeader {
    UmemArea *owner;
    uint32_t chunk;  // Chunk index in the owner's UMEM.
};

class MetadataSlots {
public:
    static constexpr size_t kCacheLine = 64;
    // Caller bytes start this far into a slot; a multiple of 16 so that the
    // caller's pointer is 16-byte aligned like malloc()'s.
    static constexpr size_t kHeaderSize = 16;
    static_assert(sizeof(SlotHeader) <= kHeaderSize);

    // Allocates 'n_slots' slots of 'meta_size' caller bytes on NUMA node
    // 'numa_node' (or anywhere if negative), all headers pointing at
    // 'owner'.  Returns an empty object (ok() false) when the memory
    // cannot be mapped; throws std::bad_alloc only.
    MetadataSlots(UmemArea *owner, uint32_t n_slots, uint32_t meta_size,
                  int numa_node);
    MetadataSlots(const MetadataSlots &) = delete;
    MetadataSlots &operator=(const MetadataSlots &) = delete;

    bool ok() const noexcept { return memory_.data() != nullptr; }

    // Hot path: caller pointer of slot 'index'.
    void *slot(uint32_t index) const noexcept
    {
        return memory_.data() + size_t(index) * stride_ + kHeaderSize;
    }

    // Hot path: the header of the slot whose caller pointer is 'caller'.
    static SlotHeader *from_caller(void *caller) noexcept
    {
        return reinterpret_cast<SlotHeader *>(static_cast<char *>(caller) -
                                              kHeaderSize);
    }

    // Slot 0's caller pointer: slot(i) == first() + i * stride(), for
    // loops that keep both in registers.
    char *first() const noexcept { return memory_.data() + kHeaderSize; }
    size_t stride() const noexcept { return stride_; }
    uint32_t n_slots() const noexcept { return n_slots_; }
    const PageMapping &memory() const noexcept { return memory_; }

    static size_t stride_for(uint32_t meta_size) noexcept
    {
        return (kHeaderSize + meta_size + kCacheLine - 1) & ~(kCacheLine - 1);
    }

private:
    uint32_t n_slots_;
    size_t stride_;
    PageMapping memory_;
};

}  // namespace afxdp::umem

#endif  // AFXDP_UMEM_METADATA_SLOTS_H
