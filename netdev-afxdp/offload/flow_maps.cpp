/*
 * BpfFlowMaps: FlowMaps over the kernel's maps of one loaded program.
 * Per-CPU values come back as one struct per possible CPU
 * (libbpf_num_possible_cpus()), each padded to 8 bytes, which
 * afxdp_flow_stats already is.
 */
#include "netdev-afxdp/offload/flow_maps.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace afxdp::offload {

namespace {

static_assert(sizeof(afxdp_flow_stats) % 8 == 0);
static_assert(sizeof(afxdp_xdp_counters) % 8 == 0);

class BpfFlowMaps final : public FlowMaps {
public:
    BpfFlowMaps(const netdev::FastPathMaps &maps, bool generic_mode)
        : maps_(maps), generic_(generic_mode),
          n_cpus_(std::max(libbpf_num_possible_cpus(), 1))
    {
    }

    Result<void> put_flow(const afxdp_flow_key &key,
                          const afxdp_flow_actions &actions) override
    {
        uint64_t hash = hash_of(key);
        afxdp_flow_entry entry;
        if (!bpf_map_lookup_elem(maps_.flows_fd, &hash, &entry) &&
            std::memcmp(&entry.key, &key, sizeof key) != 0) {
            return Error{EEXIST, "another offloaded flow has the same hash"};
        }
        std::memset(&entry, 0, sizeof entry);
        entry.key = key;
        entry.actions = actions;
        if (int err =
                bpf_map_update_elem(maps_.flows_fd, &hash, &entry, BPF_ANY)) {
            // A full hash map refuses a new key with E2BIG
            // (kernel/bpf/hashtab.c); FlowMaps and afxdp_offload_flow_put
            // promise ENOSPC.
            if (err == -E2BIG) {
                return Error{ENOSPC, "flow table update: the flows map is "
                                     "full"};
            }
            return Error::from_negative(
                err, std::string("flow table update: ") + std::strerror(-err));
        }
        return {};
    }

    void delete_flow(const afxdp_flow_key &key) noexcept override
    {
        uint64_t hash = hash_of(key);
        afxdp_flow_entry entry;
        // Never another flow's entry (a put that collided was refused).
        if (!bpf_map_lookup_elem(maps_.flows_fd, &hash, &entry) &&
            std::memcmp(&entry.key, &key, sizeof key) == 0) {
            bpf_map_delete_elem(maps_.flows_fd, &hash);
        }
    }

    FlowCounters read_counters(uint32_t id) noexcept override
    {
        FlowCounters c;
        std::vector<afxdp_flow_stats> per_cpu(static_cast<size_t>(n_cpus_));
        if (bpf_map_lookup_elem(maps_.stats_fd, &id, per_cpu.data())) {
            return c;
        }
        for (const afxdp_flow_stats &s : per_cpu) {
            c.packets += s.packets;
            c.bytes += s.bytes;
            c.used_jiffies = std::max<uint64_t>(c.used_jiffies, s.used_jiffies);
            c.tcp_flags |= uint16_t(__builtin_bswap16(uint16_t(s.tcp_flags)));
        }
        return c;
    }

    void zero_counters(uint32_t id) noexcept override
    {
        std::vector<afxdp_flow_stats> zero(static_cast<size_t>(n_cpus_));
        bpf_map_update_elem(maps_.stats_fd, &id, zero.data(), BPF_ANY);
    }

    uint32_t max_flows() const noexcept override { return maps_.max_flows; }

    afxdp_mask_table *mask_table() noexcept override
    {
        return maps_.mask_table;
    }

    void set_output(uint16_t slot, int ifindex) noexcept override
    {
        uint32_t key = slot;
        uint32_t value = uint32_t(ifindex);
        bpf_map_update_elem(maps_.tx_ports_fd, &key, &value, BPF_ANY);
    }

    void clear_output(uint16_t slot) noexcept override
    {
        uint32_t key = slot;
        bpf_map_delete_elem(maps_.tx_ports_fd, &key);
    }

    bool generic_mode() const noexcept override { return generic_; }

    afxdp_xdp_counters read_xdp_counters() noexcept override
    {
        afxdp_xdp_counters sum{};
        std::vector<afxdp_xdp_counters> per_cpu(static_cast<size_t>(n_cpus_));
        uint32_t key = 0;
        if (bpf_map_lookup_elem(maps_.counters_fd, &key, per_cpu.data())) {
            return sum;
        }
        for (const afxdp_xdp_counters &c : per_cpu) {
            add_xdp_counters(sum, c);
        }
        return sum;
    }

    Result<std::pair<uint64_t, uint64_t>> sample_clock() noexcept override
    {
        // BPF_PROG_RUN wants a frame; the program does not read it.
        uint8_t frame[64] = {};
        bpf_test_run_opts opts;
        std::memset(&opts, 0, sizeof opts);
        opts.sz = sizeof opts;
        opts.data_in = frame;
        opts.data_size_in = sizeof frame;
        if (int err = bpf_prog_test_run_opts(maps_.clock_prog_fd, &opts)) {
            return Error::from_negative(err, "sampling the kernel's clock");
        }
        return std::make_pair(uint64_t(*maps_.clock_jiffies),
                              uint64_t(*maps_.clock_ns));
    }

private:
    uint64_t hash_of(const afxdp_flow_key &key) const noexcept
    {
        return afxdp_flow_hash(&key, maps_.mask_table->words[key.mask_id]);
    }

    netdev::FastPathMaps maps_;
    bool generic_;
    int n_cpus_;
};

}  // namespace

std::unique_ptr<FlowMaps> make_bpf_flow_maps(const netdev::FastPathMaps &maps,
                                             bool generic_mode)
{
    return std::make_unique<BpfFlowMaps>(maps, generic_mode);
}

}  // namespace afxdp::offload
