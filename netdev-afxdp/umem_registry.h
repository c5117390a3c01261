/*
 * UmemRegistry: the process's shared UMEMs, one per NUMA node (another
 * when one is full), handed to the ports that open on that node.
 *
 * It holds them weakly: a SharedUmem lives as long as a port uses it.  The
 * registry only finds one with room for a new port's queues, or creates
 * one, and gives the control path a way to reach all of them (to reclaim
 * closed sockets' chunks).  Control path only, under its own mutex.
 */
#ifndef AFXDP_NETDEV_UMEM_REGISTRY_H
#define AFXDP_NETDEV_UMEM_REGISTRY_H

#include <cstdint>
#include <memory>

#include "netdev-afxdp/shared_umem.h"
#include "umem/result.h"

namespace afxdp::netdev {

class UmemRegistry {
public:
    // A UMEM for a port of 'n_queues' queues on 'numa_node' whose frames
    // carry 'meta_size' caller bytes: with 'share', the node's shared one
    // with room for them (created if needed); without, a private one.
    static Result<std::shared_ptr<SharedUmem>> acquire(int numa_node,
                                                       uint32_t meta_size,
                                                       uint32_t n_queues,
                                                       bool share);

    // Shared UMEMs alive (for tests).
    static uint32_t shared_count();
};

}  // namespace afxdp::netdev

#endif  // AFXDP_NETDEV_UMEM_REGISTRY_H
