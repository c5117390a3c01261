/*
 * FakeKernel: the four AF_XDP rings in plain memory, initialised the way
 * libxdp initialises the mmapped ones (xsk_umem__create and
 * xsk_socket__create), plus the kernel's side of each ring, so XskQueue can
 * be driven without a socket.  The kernel side uses the same acquire/
 * release protocol as net/xdp/xsk_queue.h.
 */
#ifndef AFXDP_TESTS_UNIT_FAKE_KERNEL_H
#define AFXDP_TESTS_UNIT_FAKE_KERNEL_H

#include <linux/if_xdp.h>
#include <xdp/xsk.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "netdev-afxdp/xsk_queue.h"

namespace afxdp::test {

class FakeKernel {
public:
    explicit FakeKernel(uint32_t size)
        : size_(size), fill_mem_(size), comp_mem_(size), rx_mem_(size),
          tx_mem_(size)
    {
        setup(&fill_, &fill_idx_, fill_mem_.data());
        setup(&tx_, &tx_idx_, tx_mem_.data());
        setup(&comp_, &comp_idx_, comp_mem_.data());
        setup(&rx_, &rx_idx_, rx_mem_.data());
        // Producer rings start with 'size' free entries (libxdp adds size
        // to cached_cons); consumer rings start empty.
        fill_.cached_cons = size;
        tx_.cached_cons = size;
    }

    netdev::XskRings rings() { return {&fill_, &comp_, &rx_, &tx_}; }
    struct xsk_ring_prod *tx_ring() { return &tx_; }

    // Kernel consumes up to 'n' fill entries into transit (as a NIC driver
    // does when it posts buffers).  Returns how many.
    uint32_t take_fill(uint32_t n)
    {
        uint32_t got = 0;
        while (got < n && avail(fill_idx_)) {
            transit_.push_back(fill_mem_[fill_idx_.cons & (size_ - 1)]);
            advance_cons(&fill_idx_);
            got++;
        }
        return got;
    }

    // Receives up to 'n' frames of 'len' bytes at 'offset' into chunks,
    // taking chunks from transit first, then the fill ring.  Each frame's
    // first byte is 'tag' + its number.  Returns how many.
    uint32_t receive(uint32_t n, uint32_t len, uint32_t offset, char *umem,
                     uint8_t tag = 0)
    {
        uint32_t done = 0;
        while (done < n && space(rx_idx_)) {
            uint64_t addr;
            if (!transit_.empty()) {
                addr = transit_.front();
                transit_.erase(transit_.begin());
            } else if (avail(fill_idx_)) {
                addr = fill_mem_[fill_idx_.cons & (size_ - 1)];
                advance_cons(&fill_idx_);
            } else {
                break;
            }
            struct xdp_desc *d = &rx_mem_[rx_idx_.prod & (size_ - 1)];
            d->addr = addr + offset;
            d->len = len;
            d->options = 0;
            std::memset(umem + d->addr, uint8_t(tag + done), len);
            advance_prod(&rx_idx_);
            done++;
        }
        return done;
    }

    // Receives one buffer: 'len' bytes of 'data' at 'offset' into the next
    // posted chunk, with 'options' in its descriptor (XDP_PKT_CONTD: the
    // packet goes on in the next one).  False when no chunk or no room.
    bool receive_buffer(const void *data, uint32_t len, uint32_t offset,
                        char *umem, uint32_t options)
    {
        if (!space(rx_idx_) || (transit_.empty() && !avail(fill_idx_))) {
            return false;
        }
        uint64_t addr;
        if (!transit_.empty()) {
            addr = transit_.front();
            transit_.erase(transit_.begin());
        } else {
            addr = fill_mem_[fill_idx_.cons & (size_ - 1)];
            advance_cons(&fill_idx_);
        }
        struct xdp_desc *d = &rx_mem_[rx_idx_.prod & (size_ - 1)];
        d->addr = addr + offset;
        d->len = len;
        d->options = options;
        std::memcpy(umem + d->addr, data, len);
        advance_prod(&rx_idx_);
        return true;
    }

    // Transmits up to 'n' tx descriptors: their addresses go to the
    // completion ring.  Returns how many; 'sent' collects them.
    uint32_t transmit(uint32_t n, std::vector<struct xdp_desc> *sent = nullptr)
    {
        return transmit_with(n, [sent](const struct xdp_desc &d) {
            if (sent) {
                sent->push_back(d);
            }
        });
    }

    // Like transmit(), calling 'look(desc)' for each frame before its chunk
    // goes to the completion ring, as the kernel reads a frame out of the
    // UMEM before completing it: afterwards the chunk may be reused.
    template <typename Look>
    uint32_t transmit_with(uint32_t n, Look &&look)
    {
        uint32_t done = 0;
        while (done < n && avail(tx_idx_) && space(comp_idx_)) {
            struct xdp_desc d = tx_mem_[tx_idx_.cons & (size_ - 1)];
            look(d);
            advance_cons(&tx_idx_);
            comp_mem_[comp_idx_.prod & (size_ - 1)] = d.addr;
            advance_prod(&comp_idx_);
            done++;
        }
        return done;
    }

    // Transmits up to 'n' descriptors from 'lane''s tx ring (a second
    // socket on the same queue, sharing this one's pool) into this
    // kernel's completion ring, as the kernel does for sockets sharing a
    // buffer pool.  Returns how many.
    uint32_t transmit_lane(FakeKernel &lane, uint32_t n,
                           std::vector<struct xdp_desc> *sent = nullptr)
    {
        uint32_t done = 0;
        while (done < n && avail(lane.tx_idx_) && space(comp_idx_)) {
            struct xdp_desc d =
                lane.tx_mem_[lane.tx_idx_.cons & (lane.size_ - 1)];
            if (sent) {
                sent->push_back(d);
            }
            advance_cons(&lane.tx_idx_);
            comp_mem_[comp_idx_.prod & (size_ - 1)] = d.addr;
            advance_prod(&comp_idx_);
            done++;
        }
        return done;
    }

    uint32_t transit() const { return uint32_t(transit_.size()); }
    uint32_t fill_entries() const { return entries(fill_idx_); }
    uint32_t tx_entries() const { return entries(tx_idx_); }
    void set_fill_flags(uint32_t f) { fill_idx_.flags = f; }
    void set_tx_flags(uint32_t f) { tx_idx_.flags = f; }

private:
    struct Idx {
        uint32_t prod = 0;
        uint32_t cons = 0;
        uint32_t flags = 0;
    };

    template <typename Ring>
    void setup(Ring *r, Idx *idx, void *mem)
    {
        std::memset(r, 0, sizeof *r);
        r->mask = size_ - 1;
        r->size = size_;
        r->producer = &idx->prod;
        r->consumer = &idx->cons;
        r->flags = &idx->flags;
        r->ring = mem;
    }

    static uint32_t entries(const Idx &i)
    {
        return __atomic_load_n(&i.prod, __ATOMIC_ACQUIRE) -
               __atomic_load_n(&i.cons, __ATOMIC_ACQUIRE);
    }
    bool avail(const Idx &i) const { return entries(i) > 0; }
    bool space(const Idx &i) const { return entries(i) < size_; }
    static void advance_cons(Idx *i)
    {
        __atomic_store_n(&i->cons, i->cons + 1, __ATOMIC_RELEASE);
    }
    static void advance_prod(Idx *i)
    {
        __atomic_store_n(&i->prod, i->prod + 1, __ATOMIC_RELEASE);
    }

    uint32_t size_;
    std::vector<uint64_t> fill_mem_;
    std::vector<uint64_t> comp_mem_;
    std::vector<struct xdp_desc> rx_mem_;
    std::vector<struct xdp_desc> tx_mem_;
    Idx fill_idx_, comp_idx_, rx_idx_, tx_idx_;
    struct xsk_ring_prod fill_, tx_;
    struct xsk_ring_cons comp_, rx_;
    std::vector<uint64_t> transit_;
};

}  // namespace afxdp::test

#endif  // AFXDP_TESTS_UNIT_FAKE_KERNEL_H
