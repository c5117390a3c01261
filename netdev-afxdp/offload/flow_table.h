/*
 * FlowTable: one afxdp port's offloaded megaflows, by OVS's ufid, and
 * their place in the port's XDP program.
 *
 * Lifetime.  The table lives as long as OVS's flow API is initialised on
 * the port, across reopens of its sockets and program: bind() installs
 * every flow into a new program's maps, unbind() takes them out of one that
 * is about to go.  A flow put while no program with the fast path is bound
 * is kept and installed at the next bind().
 *
 * Statistics are exact and cumulative from the put, as dpif-netdev expects
 * of flow_get (it adds them to its own counters of the same flow, and
 * revalidators, idle timeouts and OpenFlow counters follow).  A fully
 * offloaded flow counts in a per-CPU slot of the program's flow_stats map
 * (its flow id); what earlier slots or programs counted is carried in the
 * record.  Deleting a flow removes its map entry first, reads the slot,
 * and keeps the id unused for kIdReuseDelay: a frame that found the entry
 * just before the delete may still count after the read, and that
 * remainder is read again, and kept, before the id serves another flow.
 *
 * The same counters make the port's interface statistics: the frames a
 * flow counted were received on this port and, with an output, sent out of
 * the output port with the flow's VLAN push/pop size change.  Counts of
 * deleted or modified flows move to the OutputRegistry's retired totals.
 *
 * Thread-safe: one mutex per table (OVS's offload threads put and delete,
 * revalidators and the main thread read).
 */
#ifndef AFXDP_OFFLOAD_FLOW_TABLE_H
#define AFXDP_OFFLOAD_FLOW_TABLE_H

#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "netdev-afxdp/offload/afxdp_offload.h"
#include "netdev-afxdp/offload/flow_maps.h"
#include "netdev-afxdp/offload/jiffies_clock.h"
#include "netdev-afxdp/offload/mask_table.h"
#include "netdev-afxdp/offload/output_registry.h"
#include "netdev-afxdp/offload/translate.h"
#include "umem/result.h"

namespace afxdp::offload {

struct Ufid {
    uint8_t bytes[16];
    bool operator==(const Ufid &o) const noexcept
    {
        return !std::memcmp(bytes, o.bytes, sizeof bytes);
    }
};

struct UfidHash {
    size_t operator()(const Ufid &u) const noexcept
    {
        uint64_t a, b;
        std::memcpy(&a, u.bytes, 8);
        std::memcpy(&b, u.bytes + 8, 8);
        return size_t(a ^ (b * 0x9e3779b97f4a7c15ull));
    }
};

struct FlowStats {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    long long used_ms = 0;
    uint16_t tcp_flags = 0;
};

// What one put asks for: the flow's translated match and actions, the
// output port's slot (when the actions output) and OVS's mark.
struct FlowSpec {
    TranslatedMatch match;
    TranslatedActions actions;
    uint16_t out_slot = 0;
    uint32_t mark = 0;
};

class FlowTable {
public:
    using Clock = std::chrono::steady_clock;
    // The time source of the reuse delays and sampling intervals: the
    // steady clock, or a test's hand-advanced one (tests/unit), so that
    // those delays are tested without sleeping.
    using NowFn = std::function<Clock::time_point()>;
    static constexpr auto kIdReuseDelay = std::chrono::seconds(1);

    FlowTable(std::string ifname, uint16_t slot, OutputRegistry &registry,
              NowFn now = {});
    ~FlowTable();
    FlowTable(const FlowTable &) = delete;
    FlowTable &operator=(const FlowTable &) = delete;

    void bind(std::unique_ptr<FlowMaps> maps);
    void unbind() noexcept;

    // ENOSPC when the flow or mask table is full; the flow is then not
    // kept.
    Result<afxdp_offload_kind> put(const Ufid &ufid, const FlowSpec &spec);
    Result<FlowStats> get(const Ufid &ufid, afxdp_offload_kind *kind);
    Result<FlowStats> del(const Ufid &ufid);
    void flush() noexcept;

    uint64_t size() const;
    uint16_t slot() const noexcept { return slot_; }

    // Adds this table's live traffic to 't': what it received if 'slot' is
    // its own, what its flows sent to 'slot'.
    void add_live_traffic(uint16_t slot, PortTraffic &t);

    afxdp_offload_counters counters();
    void note_refused_match() noexcept;
    // A put refused because the port's program runs no fast path.
    void note_refused_fast_path_off() noexcept;

private:
    struct Totals {
        uint64_t packets = 0;
        uint64_t bytes = 0;
    };
    struct Record {
        FlowSpec spec;
        afxdp_flow_key key{};  // Masked, with the mask slot in mask_id.
        bool installed = false;
        uint8_t mask_slot = 0;
        bool has_id = false;
        uint32_t flow_id = 0;
        // Counted under earlier ids or programs.
        Totals carried;
        long long carried_used_ms = 0;
        uint16_t carried_tcp_flags = 0;
        // The part of the total already in the registry's retired counts.
        Totals attributed;
        uint64_t ranked_packets = 0;  // Total at the last mask ranking.
    };
    struct CoolingId {
        uint32_t id;
        Clock::time_point since;
        // For the remainder counted after the delete.
        FlowCounters at_delete;
        bool has_tx;
        uint16_t out_slot;
        int32_t tx_bytes_delta;
    };

    bool full(const Record &r) const noexcept
    {
        return r.spec.actions.kind == AFXDP_OFFLOAD_FULL;
    }
    static bool outputs(const FlowSpec &spec) noexcept
    {
        return spec.actions.kind == AFXDP_OFFLOAD_FULL &&
               (spec.actions.actions.flags & AFXDP_ACT_OUTPUT);
    }
    void set_spec(Record &r, const FlowSpec &spec) noexcept;
    Result<void> install(Record &r);
    Result<afxdp_offload_kind> modify(Record &r, const FlowSpec &spec);
    void uninstall(Record &r) noexcept;
    void take_counters(Record &r) noexcept;
    void attribute(Record &r, const Totals &total) noexcept;
    Totals total(const Record &r, FlowCounters *current) noexcept;
    Result<uint32_t> allocate_id();
    void retire_id(Record &r, const FlowCounters &at_delete) noexcept;
    void recycle(const CoolingId &c) noexcept;
    void sample_clock() noexcept;
    void maybe_rank() noexcept;
    void erase(
        std::unordered_map<Ufid, Record, UfidHash>::iterator it) noexcept;

    const std::string ifname_;
    const uint16_t slot_;
    OutputRegistry &registry_;
    const NowFn now_;

    mutable std::mutex mutex_;
    std::unordered_map<Ufid, Record, UfidHash> flows_;
    std::unique_ptr<FlowMaps> maps_;
    MaskTable masks_;
    std::vector<uint32_t> free_ids_;
    std::deque<CoolingId> cooling_;
    JiffiesClock clock_;
    Clock::time_point last_clock_sample_{};
    Clock::time_point last_rank_{};
    afxdp_xdp_counters xdp_carried_{};  // Of programs since unbound.
    uint64_t refused_match_ = 0;
    uint64_t refused_full_ = 0;
    uint64_t refused_fast_path_off_ = 0;

    friend class FlowTableTestPeer;
};

}  // namespace afxdp::offload

#endif  // AFXDP_OFFLOAD_FLOW_TABLE_H
