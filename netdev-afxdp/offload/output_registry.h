/*
 * OutputRegistry: the afxdp ports the fast path may redirect frames to,
 * process-wide.
 *
 * Each afxdp port (of a datapath with offload enabled) owns an output slot
 * for its life; a flow that outputs to the port names the slot
 * (afxdp_flow_actions.out_slot), and every port's XDP program holds, in its
 * devmap, slot -> ifindex for each slot it may redirect to now.  A slot is
 * usable while
 *  - its port is open: OVS would drop the frames of a port without sockets,
 *    so the fast path must not deliver them;
 *  - a native-mode program's redirect would be accepted: the device
 *    advertises NETDEV_XDP_ACT_NDO_XMIT (xdp_features.h; a veth loses it
 *    when its peer loses its XDP program and GRO).  Generic-mode programs
 *    redirect through the stack and need no such support.
 * A slot that is not usable has no devmap entry, so the redirect fails and
 * the program hands the frame, unmodified and with its flow's mark, to OVS,
 * which runs the same actions through the AF_XDP path: a fall-back, counted
 * by the program, never a silent drop.
 *
 * A monitor thread follows the kernel's feature notifications and updates
 * every program's devmap within microseconds of a change.  The kernel
 * refuses redirects from the instant the bit clears, so frames already in
 * flight in that window are lost (veth counts them as its tx drops); a
 * test measures that window.
 *
 * The registry also keeps each slot's retired fast-path traffic (frames of
 * flows since deleted), so that a port's interface statistics include
 * everything the fast path received on it and sent out of it.
 *
 * Thread-safe.  Lock order: the registry's table lock (port_traffic()
 * holds it while it reads the tables), a FlowTable's lock, the registry's
 * lock; the registry never calls into a FlowTable with its own lock held.
 */
#ifndef AFXDP_OFFLOAD_OUTPUT_REGISTRY_H
#define AFXDP_OFFLOAD_OUTPUT_REGISTRY_H

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bpf/flow/flow_layout.h"
#include "netdev-afxdp/offload/flow_maps.h"
#include "netdev-afxdp/xdp_features.h"
#include "umem/result.h"

namespace afxdp::offload {

// The netdev family's client is the core's (ports check rx-sg with it).
using netdev::kXdpActNdoXmit;
using netdev::XdpFeatures;

class FlowTable;

struct PortTraffic {
    uint64_t rx_packets = 0;
    uint64_t rx_bytes = 0;
    uint64_t tx_packets = 0;
    uint64_t tx_bytes = 0;
};

class OutputRegistry {
public:
    static constexpr uint32_t kMaxSlots = AFXDP_FLOW_MAX_OUTPUTS;

    static OutputRegistry &instance();

    OutputRegistry();
    ~OutputRegistry();
    OutputRegistry(const OutputRegistry &) = delete;
    OutputRegistry &operator=(const OutputRegistry &) = delete;

    // A slot for port 'ifname', not usable until set_device().  ENOSPC.
    // A released slot is not allocated again while a flow outputs to it.
    Result<uint16_t> allocate(const std::string &ifname);
    void release(uint16_t slot) noexcept;

    // A flow (of any table) that outputs to 'slot' holds it from its put
    // to its delete, because OVS deletes a port before its revalidators
    // remove the flows that output to it: a new port given the slot
    // meanwhile would receive those flows' frames.
    void hold_output(uint16_t slot) noexcept;
    void drop_output(uint16_t slot) noexcept;

    // The port's device while it is open (queries its XDP features), or 0
    // when it is closed.
    void set_device(uint16_t slot, int ifindex);

    // Programs whose devmaps mirror the usable slots.  A program must be
    // detached before its maps go away.
    void attach_program(FlowMaps *maps) noexcept;
    void detach_program(FlowMaps *maps) noexcept;

    // Flow tables, whose live flows count in port_traffic().  Once
    // remove_table() returns, no port_traffic() holds the table: its
    // owner's reference is the last, so the table is destroyed (and its
    // flows removed from its program) before the owner closes the port.
    void add_table(const std::shared_ptr<FlowTable> &table);
    void remove_table(const FlowTable *table) noexcept;

    // Traffic of retired flows, added by the tables.
    void add_retired(uint16_t rx_slot, uint16_t tx_slot, bool has_tx,
                     uint64_t packets, uint64_t bytes,
                     uint64_t tx_bytes) noexcept;

    // Everything the fast path received on and sent out of 'slot''s port.
    PortTraffic port_traffic(uint16_t slot);

    // Whether redirects to 'slot' reach their device now (tests, status).
    bool usable(uint16_t slot, bool generic_program);

    // Whether the kernel tells device features at all (netdev family).
    bool features_known();

private:
    struct Slot {
        bool allocated = false;
        std::string ifname;
        int ifindex = 0;
        bool ndo_xmit = false;
        uint32_t flows = 0;  // Flows that output to it (hold_output()).
        std::atomic<uint64_t> rx_packets{0};
        std::atomic<uint64_t> rx_bytes{0};
        std::atomic<uint64_t> tx_packets{0};
        std::atomic<uint64_t> tx_bytes{0};
    };

    bool usable_locked(const Slot &s, bool generic) const noexcept;
    void sync_slot_locked(uint16_t slot) noexcept;
    uint64_t query_features_locked(int ifindex) noexcept;
    void start_monitor_locked() noexcept;
    void stop_monitor() noexcept;
    void monitor_main() noexcept;
    void monitor_loop();
    void on_features(int ifindex, uint64_t features) noexcept;
    void requery_all();

    std::mutex mutex_;
    std::array<Slot, kMaxSlots> slots_;
    uint32_t n_allocated_ = 0;
    std::vector<FlowMaps *> programs_;

    std::mutex tables_mutex_;  // Guards tables_; see remove_table().
    std::vector<std::weak_ptr<FlowTable>> tables_;

    // Device queries; the monitor thread has its own socket.
    std::optional<XdpFeatures> query_;
    bool features_unknown_logged_ = false;
    std::thread monitor_;
    int wake_fd_ = -1;  // eventfd: tells the monitor to stop.
};

}  // namespace afxdp::offload

#endif  // AFXDP_OFFLOAD_OUTPUT_REGISTRY_H
