/*
 * The fixed geometry of our AF_XDP sockets, in one place.
 *
 * One chunk per frame, 4 KiB (a page: the aligned-mode UMEM layout the
 * kernel and every driver support).  One UMEM of kChunksPerUmem chunks
 * (32 MiB) serves every queue of every port on a NUMA node (see
 * shared_umem.h), each queue keeping only its share on its fill ring.  Received
 * data starts after the kernel's XDP_PACKET_HEADROOM and our kFrameHeadroom,
 * which is room for OVS to push VLAN/MPLS/tunnel headers in place.  Transmitted
 * frames are copied to the same offset, so one maximum frame length holds for
 * both directions.
 *
 * Jumbo frames (multi-buffer AF_XDP, kernel 6.6+) span several chunks,
 * chained by XDP_PKT_CONTD.  OVS needs a frame in one piece, so a chained
 * frame is received by copying its fragments into one kJumboChunkSize
 * buffer of a second, smaller area that the kernel never sees (the jumbo
 * area, see shared_umem.h), and transmitted by copying it over up to
 * kMaxTxChain chunks.  A frame that fits one chunk never takes that path.
 */
#ifndef AFXDP_NETDEV_PARAMS_H
#define AFXDP_NETDEV_PARAMS_H

#include <linux/bpf.h>

#include <cstdint>

#include "umem/chunk_pool.h"

namespace afxdp::netdev {

inline constexpr uint32_t kChunkSize = 4096;
inline constexpr uint32_t kFrameHeadroom = 128;
inline constexpr uint32_t kRingSize = 2048;       // fill, comp, rx, tx.
inline constexpr uint32_t kMainLaneTxSize = 512;  // The main thread's tx.
inline constexpr uint32_t kChunksPerUmem = 8192;  // 32 MiB of UMEM.
inline constexpr uint32_t kBatch = 32;            // Ring batch size.
// Megaflows one port's XDP fast path holds (flow table and counters; the
// counters take 32 bytes per flow per CPU).
inline constexpr uint32_t kMaxFastPathFlows = 16384;

// Where received data starts in a chunk (the kernel reserves
// XDP_PACKET_HEADROOM after the UMEM's frame headroom) and where we put
// transmitted data.
inline constexpr uint32_t kRxHeadroom = XDP_PACKET_HEADROOM + kFrameHeadroom;
inline constexpr uint32_t kTxHeadroom = kRxHeadroom;
inline constexpr uint32_t kMaxFrameLen = kChunkSize - kTxHeadroom;
// An MTU counts neither the Ethernet header nor a VLAN tag (OVS's
// VLAN_ETH_HEADER_LEN): one chunk carries an MTU of kMaxFrameLen - 18.
inline constexpr uint32_t kVlanEthHeader = 18;

// Multi-buffer frames.  The MTU we offer with it (the common jumbo size;
// the device's own maximum may be lower) and the largest frame OVS gets in
// one piece: a jumbo buffer less the same headroom as a chunk's.
inline constexpr uint32_t kMaxMtuMultiBuffer = 9000;
inline constexpr uint32_t kJumboChunkSize = 16384;
inline constexpr uint32_t kJumboChunks = 512;  // 8 MiB per UMEM.
inline constexpr uint32_t kMaxJumboFrameLen = kJumboChunkSize - kRxHeadroom;
// Chain lengths.  Receive: fragments of at most kChunkSize - kRxHeadroom
// bytes (the kernel fills every fragment after the headroom), so a frame
// of kMaxJumboFrameLen takes five.  Transmit: the first fragment after
// kTxHeadroom, the others from their chunk's start, so four; well within
// the kernel's copy-mode limit of MAX_SKB_FRAGS + 1 (18 at least).
inline constexpr uint32_t kMaxRxChain =
    (kMaxJumboFrameLen + kMaxFrameLen - 1) / kMaxFrameLen;
inline constexpr uint32_t kMaxTxChain =
    1 + (kMaxJumboFrameLen - kMaxFrameLen + kChunkSize - 1) / kChunkSize;
static_assert(kMaxRxChain == 5 && kMaxTxChain == 4);
static_assert(kMaxTxChain <= 18, "the kernel's copy-mode chain limit");

static_assert(umem::is_power_of_two(kChunkSize));
static_assert(umem::is_power_of_two(kJumboChunkSize));
static_assert(umem::is_power_of_two(kJumboChunks));
static_assert(umem::is_power_of_two(kRingSize));
static_assert(umem::is_power_of_two(kMainLaneTxSize));
static_assert(umem::is_power_of_two(kChunksPerUmem));
// One queue alone may have every one of its rings full at once (fill and
// rx full because OVS is not receiving, tx and completion because the
// kernel is not transmitting), which empties the pool: nothing breaks,
// refill() posts only what the pool has, and a send without a free chunk
// drops and counts (tx_dropped_no_chunk).
static_assert(kChunksPerUmem >= 4 * kRingSize);

}  // namespace afxdp::netdev

#endif  // AFXDP_NETDEV_PARAMS_H
