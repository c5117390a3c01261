/*
 * FlowMaps: the operations the offload logic performs on one XDP
 * program's fast-path maps, behind an interface so that the logic
 * (FlowTable, OutputRegistry) is unit-tested against plain memory
 * (tests/unit/fake_flow_maps.h) and runs against the kernel's maps here
 * (BpfFlowMaps).
 *
 * Every call is a control-path syscall (or, for the mask table, a store
 * into the program's mapped global data).  None of them is on a packet's
 * path.
 */
#ifndef AFXDP_OFFLOAD_FLOW_MAPS_H
#define AFXDP_OFFLOAD_FLOW_MAPS_H

#include <cstdint>
#include <memory>

#include "bpf/flow/flow_layout.h"
#include "netdev-afxdp/xdp_program.h"
#include "umem/result.h"

namespace afxdp::offload {

// One flow's counters summed over CPUs: packets and bytes added, the
// latest last-used jiffies, the OR of the TCP flags.
struct FlowCounters {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    uint64_t used_jiffies = 0;
    uint16_t tcp_flags = 0;  // Host order.
};

// Adds the program counters 'c' (one CPU's, or a program's) into 'sum'.
inline void add_xdp_counters(afxdp_xdp_counters &sum,
                             const afxdp_xdp_counters &c) noexcept
{
    sum.to_ovs_miss += c.to_ovs_miss;
    sum.to_ovs_partial += c.to_ovs_partial;
    sum.to_ovs_parse += c.to_ovs_parse;
    sum.to_ovs_multi_buffer += c.to_ovs_multi_buffer;
    sum.to_ovs_action += c.to_ovs_action;
    sum.to_ovs_fallback += c.to_ovs_fallback;
    sum.meta_failed += c.meta_failed;
    sum.action_failed += c.action_failed;
}

class FlowMaps {
public:
    virtual ~FlowMaps() = default;

    // Inserts or replaces the flow 'key' -> 'actions'.  ENOSPC when full,
    // EEXIST when another flow's key has the same hash (flow_layout.h).
    // The key's mask must be in mask_table() already.
    virtual Result<void> put_flow(const afxdp_flow_key &key,
                                  const afxdp_flow_actions &actions) = 0;
    virtual void delete_flow(const afxdp_flow_key &key) noexcept = 0;

    // Counters of flow id 'id' (< max_flows()); zero_counters() resets them
    // before the id serves another flow.
    virtual FlowCounters read_counters(uint32_t id) noexcept = 0;
    virtual void zero_counters(uint32_t id) noexcept = 0;
    virtual uint32_t max_flows() const noexcept = 0;

    // The program's mask table (its mapped global data).
    virtual afxdp_mask_table *mask_table() noexcept = 0;

    // Output slot -> device, or no device: redirects to it fail and the
    // frames go to OVS.
    virtual void set_output(uint16_t slot, int ifindex) noexcept = 0;
    virtual void clear_output(uint16_t slot) noexcept = 0;

    // Whether the program runs in generic (skb) mode, whose redirects do
    // not need the target driver's XDP transmit.
    virtual bool generic_mode() const noexcept = 0;

    // The program's own counters, summed over CPUs.
    virtual afxdp_xdp_counters read_xdp_counters() noexcept = 0;

    // The kernel's jiffies and CLOCK_MONOTONIC (ns) read together.
    virtual Result<std::pair<uint64_t, uint64_t>> sample_clock() noexcept = 0;
};

// FlowMaps of a loaded program (XdpProgram::fast_path_maps()).  Holds no
// reference: the program must outlive it.
std::unique_ptr<FlowMaps> make_bpf_flow_maps(const netdev::FastPathMaps &maps,
                                             bool generic_mode);

}  // namespace afxdp::offload

#endif  // AFXDP_OFFLOAD_FLOW_MAPS_H
