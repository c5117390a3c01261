/*
 * MetadataSlots implementation.  Memory comes from a PageMapping on the
 * requested node, so a PMD thread pinned to that node touches local memory
 * for both the frame and its dp_packet.  Slots start zeroed (fresh
 * anonymous memory); the caller initialises its bytes per frame.
 */
#include "umem/metadata_slots.h"

#include <utility>

namespace afxdp::umem {

MetadataSlots::MetadataSlots(UmemArea *owner, uint32_t n_slots,
                             uint32_t meta_size, int numa_node)
    : n_slots_(n_slots), stride_(stride_for(meta_size))
{
    size_t bytes = stride_ * n_slots;
    if (bytes == 0) {
        return;
    }
    auto mem = PageMapping::create(bytes, numa_node, true);
    if (!mem) {
        return;
    }
    memory_ = std::move(mem).value();
    for (uint32_t i = 0; i < n_slots; i++) {
        SlotHeader *h = from_caller(slot(i));
        h->owner = owner;
        h->chunk = i;
    }
}

}  // namespace afxdp::umem
