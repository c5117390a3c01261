/*
 * FakeFlowMaps: one XDP program's fast-path maps in plain memory, for the
 * offload core's unit tests (FlowTable, OutputRegistry) without BPF.
 *
 *  - flows: a std::map from the key's bytes to the actions, the kernel's
 *    hash map (full at max_flows entries, like the real one, whose
 *    max_entries is the same as the counters');
 *  - flow_stats: per-"CPU" counter arrays, summed by read_counters() the
 *    way BpfFlowMaps sums the kernel's per-CPU values (tcp_flags stored
 *    in network order, as the program ORs them from the key);
 *  - tx_ports: the devmap, slot -> ifindex;
 *  - mask_table: an afxdp_mask_table struct, as the program's global data;
 *  - the clock sample: (jiffies, ns) set by the test.
 *
 * The test plays the BPF program (count() a frame of a flow id) and keeps
 * a handle to the state after the FlowTable took its FlowMaps (handle()),
 * so that it can look at a program's maps even after the table unbound it.
 * Every operation takes one lock, as each map syscall is atomic in the
 * kernel: TSan tests may count frames while the table reads.  The mask
 * table is the exception (plain memory, as in the program); tests read it
 * from the thread that drives the table.
 */
#ifndef AFXDP_TESTS_UNIT_FAKE_FLOW_MAPS_H
#define AFXDP_TESTS_UNIT_FAKE_FLOW_MAPS_H

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "bpf/flow/flow_layout.h"
#include "netdev-afxdp/offload/flow_maps.h"

namespace afxdp::test {

class FakeFlowMaps : public std::enable_shared_from_this<FakeFlowMaps> {
public:
    using KeyBytes = std::array<uint8_t, sizeof(afxdp_flow_key)>;

    // What the table did to the flows map, in order.
    struct FlowOp {
        bool put;  // false: delete.
        afxdp_flow_key key;
        afxdp_flow_actions actions;  // Of a put.
    };

    FakeFlowMaps(uint32_t max_flows, uint32_t n_cpus, bool generic = true)
        : max_flows_(max_flows), n_cpus_(n_cpus), generic_(generic),
          stats_(size_t(max_flows) * n_cpus)
    {
        std::memset(&mask_table_, 0, sizeof mask_table_);
    }

    // A FlowMaps over this state, for FlowTable::bind().
    std::unique_ptr<offload::FlowMaps> handle();

    // ---- The program's side ------------------------------------------

    // Counts one frame of 'bytes' of flow 'id' on 'cpu' at 'jiffies', as
    // afxdp_count_flow() does ('tcp_flags' in host order).
    void count(uint32_t id, uint32_t cpu, uint64_t bytes, uint64_t jiffies,
               uint16_t tcp_flags = 0)
    {
        std::lock_guard<std::mutex> guard(mutex_);
        afxdp_flow_stats &s = stats_.at(size_t(id) * n_cpus_ + cpu);
        s.packets++;
        s.bytes += bytes;
        s.used_jiffies = jiffies;
        s.tcp_flags |= __builtin_bswap16(tcp_flags);
    }

    void set_clock(uint64_t jiffies, uint64_t mono_ns)
    {
        std::lock_guard<std::mutex> guard(mutex_);
        clock_ = {jiffies, mono_ns};
    }

    void set_xdp_counters(const afxdp_xdp_counters &c)
    {
        std::lock_guard<std::mutex> guard(mutex_);
        xdp_counters_ = c;
    }

    // The next put_flow() fails with 'err' (a positive errno).
    void fail_next_put(int err)
    {
        std::lock_guard<std::mutex> guard(mutex_);
        fail_next_put_ = err;
    }

    // Holds every read_counters() until release_reads(), to test what
    // other threads may do while a reader is in the middle of the maps;
    // wait_for_reader() returns once one is held.
    void hold_reads()
    {
        std::lock_guard<std::mutex> guard(gate_mutex_);
        reads_held_ = true;
    }
    void release_reads()
    {
        std::lock_guard<std::mutex> guard(gate_mutex_);
        reads_held_ = false;
        gate_.notify_all();
    }
    void wait_for_reader()
    {
        std::unique_lock<std::mutex> lock(gate_mutex_);
        gate_.wait(lock, [this] { return readers_held_ > 0; });
    }

    // ---- What the test inspects ----------------------------------------

    std::optional<afxdp_flow_actions> lookup(const afxdp_flow_key &key) const
    {
        std::lock_guard<std::mutex> guard(mutex_);
        auto it = flows_.find(bytes_of(key));
        if (it == flows_.end()) {
            return std::nullopt;
        }
        return it->second;
    }

    // The keys in the flows map.
    std::vector<afxdp_flow_key> keys() const
    {
        std::lock_guard<std::mutex> guard(mutex_);
        std::vector<afxdp_flow_key> out;
        for (const auto &kv : flows_) {
            afxdp_flow_key k;
            std::memcpy(&k, kv.first.data(), sizeof k);
            out.push_back(k);
        }
        return out;
    }

    size_t n_flows() const
    {
        std::lock_guard<std::mutex> guard(mutex_);
        return flows_.size();
    }

    std::vector<FlowOp> flow_ops() const
    {
        std::lock_guard<std::mutex> guard(mutex_);
        return flow_ops_;
    }

    // Raw per-CPU counters of 'id' (to check they were zeroed).
    afxdp_flow_stats stats(uint32_t id, uint32_t cpu) const
    {
        std::lock_guard<std::mutex> guard(mutex_);
        return stats_.at(size_t(id) * n_cpus_ + cpu);
    }

    std::optional<int> output(uint16_t slot) const
    {
        std::lock_guard<std::mutex> guard(mutex_);
        auto it = devmap_.find(slot);
        if (it == devmap_.end()) {
            return std::nullopt;
        }
        return it->second;
    }

    afxdp_mask_table &mask_table() noexcept { return mask_table_; }
    uint32_t max_flows() const noexcept { return max_flows_; }

private:
    class Handle;

    void pass_gate()
    {
        std::unique_lock<std::mutex> lock(gate_mutex_);
        readers_held_++;
        gate_.notify_all();
        gate_.wait(lock, [this] { return !reads_held_; });
        readers_held_--;
    }

    static KeyBytes bytes_of(const afxdp_flow_key &key)
    {
        KeyBytes b;
        std::memcpy(b.data(), &key, sizeof key);
        return b;
    }

    const uint32_t max_flows_;
    const uint32_t n_cpus_;
    const bool generic_;

    mutable std::mutex mutex_;
    std::map<KeyBytes, afxdp_flow_actions> flows_;
    std::vector<FlowOp> flow_ops_;
    std::vector<afxdp_flow_stats> stats_;  // [id * n_cpus + cpu].
    std::map<uint16_t, int> devmap_;
    afxdp_mask_table mask_table_;
    std::pair<uint64_t, uint64_t> clock_{0, 0};
    afxdp_xdp_counters xdp_counters_{};
    int fail_next_put_ = 0;

    std::mutex gate_mutex_;  // Never taken with mutex_ held.
    std::condition_variable gate_;
    bool reads_held_ = false;
    int readers_held_ = 0;

    friend class Handle;
};

// The FlowMaps interface over the shared state, with the semantics
// flow_maps.h promises (and BpfFlowMaps has).
class FakeFlowMaps::Handle final : public offload::FlowMaps {
public:
    explicit Handle(std::shared_ptr<FakeFlowMaps> k) : k_(std::move(k)) {}

    Result<void> put_flow(const afxdp_flow_key &key,
                          const afxdp_flow_actions &actions) override
    {
        std::lock_guard<std::mutex> guard(k_->mutex_);
        if (int err = std::exchange(k_->fail_next_put_, 0)) {
            return Error{err, "injected put_flow failure"};
        }
        KeyBytes b = bytes_of(key);
        if (!k_->flows_.count(b) && k_->flows_.size() >= k_->max_flows_) {
            return Error{ENOSPC, "fake flows map full"};
        }
        k_->flows_[b] = actions;
        k_->flow_ops_.push_back(FlowOp{true, key, actions});
        return {};
    }

    void delete_flow(const afxdp_flow_key &key) noexcept override
    {
        std::lock_guard<std::mutex> guard(k_->mutex_);
        k_->flows_.erase(bytes_of(key));
        k_->flow_ops_.push_back(FlowOp{false, key, {}});
    }

    offload::FlowCounters read_counters(uint32_t id) noexcept override
    {
        k_->pass_gate();
        std::lock_guard<std::mutex> guard(k_->mutex_);
        offload::FlowCounters c;
        if (id >= k_->max_flows_) {
            return c;  // The kernel's lookup fails: zero, as BpfFlowMaps.
        }
        for (uint32_t cpu = 0; cpu < k_->n_cpus_; cpu++) {
            const afxdp_flow_stats &s =
                k_->stats_[size_t(id) * k_->n_cpus_ + cpu];
            c.packets += s.packets;
            c.bytes += s.bytes;
            c.used_jiffies = std::max<uint64_t>(c.used_jiffies, s.used_jiffies);
            c.tcp_flags |= __builtin_bswap16(uint16_t(s.tcp_flags));
        }
        return c;
    }

    void zero_counters(uint32_t id) noexcept override
    {
        std::lock_guard<std::mutex> guard(k_->mutex_);
        for (uint32_t cpu = 0; cpu < k_->n_cpus_ && id < k_->max_flows_;
             cpu++) {
            k_->stats_[size_t(id) * k_->n_cpus_ + cpu] = afxdp_flow_stats{};
        }
    }

    uint32_t max_flows() const noexcept override { return k_->max_flows_; }

    afxdp_mask_table *mask_table() noexcept override
    {
        return &k_->mask_table_;
    }

    void set_output(uint16_t slot, int ifindex) noexcept override
    {
        std::lock_guard<std::mutex> guard(k_->mutex_);
        k_->devmap_[slot] = ifindex;
    }

    void clear_output(uint16_t slot) noexcept override
    {
        std::lock_guard<std::mutex> guard(k_->mutex_);
        k_->devmap_.erase(slot);
    }

    bool generic_mode() const noexcept override { return k_->generic_; }

    afxdp_xdp_counters read_xdp_counters() noexcept override
    {
        std::lock_guard<std::mutex> guard(k_->mutex_);
        return k_->xdp_counters_;
    }

    Result<std::pair<uint64_t, uint64_t>> sample_clock() noexcept override
    {
        std::lock_guard<std::mutex> guard(k_->mutex_);
        return k_->clock_;
    }

private:
    std::shared_ptr<FakeFlowMaps> k_;
};

inline std::unique_ptr<offload::FlowMaps> FakeFlowMaps::handle()
{
    return std::make_unique<Handle>(shared_from_this());
}

}  // namespace afxdp::test

#endif  // AFXDP_TESTS_UNIT_FAKE_FLOW_MAPS_H
