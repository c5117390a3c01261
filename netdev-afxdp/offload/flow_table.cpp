/*
 * FlowTable implementation: see flow_table.h for the rules it keeps.
 */
#include "netdev-afxdp/offload/flow_table.h"

#include <algorithm>
#include <cerrno>

#include "netdev-afxdp/log.h"

namespace afxdp::offload {

namespace {

constexpr auto kClockSampleInterval = std::chrono::milliseconds(100);
constexpr auto kRankInterval = std::chrono::seconds(1);

}  // namespace

FlowTable::FlowTable(std::string ifname, uint16_t slot,
                     OutputRegistry &registry, NowFn now)
    : ifname_(std::move(ifname)), slot_(slot), registry_(registry),
      now_(now ? std::move(now) : NowFn(&Clock::now))
{
}

FlowTable::~FlowTable()
{
    flush();
    unbind();
}

// ---- Binding ----------------------------------------------------------------

void FlowTable::bind(std::unique_ptr<FlowMaps> maps)
{
    unbind();  // A table serves one program at a time.
    std::lock_guard<std::mutex> guard(mutex_);
    maps_ = std::move(maps);
    if (!maps_) {
        return;
    }
    registry_.attach_program(maps_.get());
    masks_.bind(maps_->mask_table());
    free_ids_.clear();
    cooling_.clear();
    for (uint32_t id = maps_->max_flows(); id-- > 0;) {
        free_ids_.push_back(id);  // Id 0 on top.
    }
    sample_clock();
    uint64_t failed = 0;
    for (auto &[ufid, r] : flows_) {
        if (!install(r)) {
            failed++;
        }
    }
    if (failed) {
        log(AFXDP_LOG_WARN,
            "%s: %llu offloaded flows did not fit into the new XDP "
            "program; OVS handles their frames",
            ifname_.c_str(), (unsigned long long)failed);
    }
}

void FlowTable::unbind() noexcept
{
    std::lock_guard<std::mutex> guard(mutex_);
    if (!maps_) {
        return;
    }
    registry_.detach_program(maps_.get());
    for (auto &[ufid, r] : flows_) {
        if (r.installed) {
            take_counters(r);
            r.installed = false;
        }
    }
    // Ids still cooling cannot count any more either.
    for (const CoolingId &c : cooling_) {
        recycle(c);
    }
    cooling_.clear();
    add_xdp_counters(xdp_carried_, maps_->read_xdp_counters());
    masks_ = MaskTable();
    maps_.reset();
}

// ---- Installing into the maps
// -------------------------------------------------

Result<void> FlowTable::install(Record &r)
{
    if (!maps_) {
        return {};
    }
    auto slot = masks_.acquire(r.spec.match.mask, now_());
    if (!slot) {
        return slot.error();
    }
    r.mask_slot = slot.value();
    r.key = r.spec.match.key;
    r.key.mask_id = r.mask_slot;

    afxdp_flow_actions value = r.spec.actions.actions;
    value.mark = r.spec.mark;
    value.out_slot = r.spec.out_slot;
    if (full(r)) {
        auto id = allocate_id();
        if (!id) {
            masks_.release(r.mask_slot, now_());
            return id.error();
        }
        r.flow_id = id.value();
        r.has_id = true;
        value.flow_id = r.flow_id;
    }
    if (auto put = maps_->put_flow(r.key, value); !put) {
        if (r.has_id) {
            free_ids_.push_back(r.flow_id);
            r.has_id = false;
        }
        masks_.release(r.mask_slot, now_());
        return put.error();
    }
    r.installed = true;
    return {};
}

void FlowTable::uninstall(Record &r) noexcept
{
    if (!r.installed) {
        return;
    }
    maps_->delete_flow(r.key);
    take_counters(r);
    masks_.release(r.mask_slot, now_());
    r.installed = false;
}

// Moves the counters of the record's flow id into 'carried' and gives up
// the id (after the reuse delay).
void FlowTable::take_counters(Record &r) noexcept
{
    if (!r.has_id) {
        return;
    }
    FlowCounters c = maps_->read_counters(r.flow_id);
    r.carried.packets += c.packets;
    r.carried.bytes += c.bytes;
    r.carried_tcp_flags |= c.tcp_flags;
    sample_clock();
    r.carried_used_ms =
        std::max(r.carried_used_ms, clock_.to_msec(c.used_jiffies));
    attribute(r, r.carried);
    retire_id(r, c);
}

// ---- Flow ids
// -----------------------------------------------------------------

Result<uint32_t> FlowTable::allocate_id()
{
    auto now = now_();
    while (!cooling_.empty() && now - cooling_.front().since >= kIdReuseDelay) {
        recycle(cooling_.front());
        free_ids_.push_back(cooling_.front().id);
        cooling_.pop_front();
    }
    if (free_ids_.empty()) {
        return Error{ENOSPC, ifname_ + ": all " +
                                 std::to_string(maps_->max_flows()) +
                                 " fast-path flow slots are in use"};
    }
    uint32_t id = free_ids_.back();
    free_ids_.pop_back();
    return id;
}

void FlowTable::retire_id(Record &r, const FlowCounters &at_delete) noexcept
{
    const TranslatedActions &a = r.spec.actions;
    cooling_.push_back(CoolingId{r.flow_id, now_(), at_delete,
                                 bool(a.actions.flags & AFXDP_ACT_OUTPUT),
                                 r.spec.out_slot, a.tx_bytes_delta});
    r.has_id = false;
}

// Counts what the id counted after its flow's last read, then zeroes it.
void FlowTable::recycle(const CoolingId &c) noexcept
{
    FlowCounters now = maps_->read_counters(c.id);
    uint64_t packets = now.packets - c.at_delete.packets;
    uint64_t bytes = now.bytes - c.at_delete.bytes;
    if (packets) {
        registry_.add_retired(slot_, c.out_slot, c.has_tx, packets, bytes,
                              bytes + packets *
                                          uint64_t(int64_t(c.tx_bytes_delta)));
    }
    maps_->zero_counters(c.id);
}

// ---- Statistics
// -----------------------------------------------------------------

FlowTable::Totals FlowTable::total(const Record &r,
                                   FlowCounters *current) noexcept
{
    Totals t = r.carried;
    if (r.installed && r.has_id) {
        FlowCounters c = maps_->read_counters(r.flow_id);
        t.packets += c.packets;
        t.bytes += c.bytes;
        if (current) {
            *current = c;
        }
    }
    return t;
}

// Moves the part of 'total' not yet attributed into the registry's retired
// counts: received here, sent to the record's output.
void FlowTable::attribute(Record &r, const Totals &total) noexcept
{
    if (!full(r)) {
        return;
    }
    uint64_t packets = total.packets - r.attributed.packets;
    uint64_t bytes = total.bytes - r.attributed.bytes;
    if (packets || bytes) {
        const TranslatedActions &a = r.spec.actions;
        registry_.add_retired(
            slot_, r.spec.out_slot, bool(a.actions.flags & AFXDP_ACT_OUTPUT),
            packets, bytes,
            bytes + packets * uint64_t(int64_t(a.tx_bytes_delta)));
    }
    r.attributed = total;
}

void FlowTable::add_live_traffic(uint16_t slot, PortTraffic &t)
{
    std::lock_guard<std::mutex> guard(mutex_);
    for (auto &[ufid, r] : flows_) {
        if (!full(r)) {
            continue;
        }
        const bool rx = slot == slot_;
        const bool tx = (r.spec.actions.actions.flags & AFXDP_ACT_OUTPUT) &&
                        r.spec.out_slot == slot;
        if (!rx && !tx) {
            continue;
        }
        Totals now = total(r, nullptr);
        uint64_t packets = now.packets - r.attributed.packets;
        uint64_t bytes = now.bytes - r.attributed.bytes;
        if (rx) {
            t.rx_packets += packets;
            t.rx_bytes += bytes;
        }
        if (tx) {
            t.tx_packets += packets;
            t.tx_bytes +=
                bytes +
                packets * uint64_t(int64_t(r.spec.actions.tx_bytes_delta));
        }
    }
}

void FlowTable::sample_clock() noexcept
{
    if (!maps_) {
        return;
    }
    auto now = now_();
    if (now - last_clock_sample_ < kClockSampleInterval &&
        last_clock_sample_ != Clock::time_point{}) {
        return;
    }
    if (auto s = maps_->sample_clock(); s) {
        clock_.sample(s.value().first, s.value().second);
        last_clock_sample_ = now;
    }
}

// Ranks the masks by the frames their flows counted since the last
// ranking, at most once per kRankInterval.
void FlowTable::maybe_rank() noexcept
{
    auto now = now_();
    if (now - last_rank_ < kRankInterval || masks_.size() < 2) {
        return;
    }
    last_rank_ = now;
    for (auto &[ufid, r] : flows_) {
        if (!r.installed || !r.has_id) {
            continue;
        }
        Totals t = total(r, nullptr);
        masks_.add_hits(r.mask_slot, t.packets - r.ranked_packets);
        r.ranked_packets = t.packets;
    }
    masks_.rank();
}

// ---- Flow operations
// -------------------------------------------------------------

Result<afxdp_offload_kind> FlowTable::put(const Ufid &ufid,
                                          const FlowSpec &spec)
{
    std::lock_guard<std::mutex> guard(mutex_);
    auto it = flows_.find(ufid);
    if (it != flows_.end() &&
        !std::memcmp(&it->second.spec.match, &spec.match, sizeof spec.match)) {
        return modify(it->second, spec);
    }
    if (it != flows_.end()) {
        erase(it);  // Same ufid, another match: a new flow.
    }
    Record r;
    r.spec = spec;
    if (auto ok = install(r); !ok) {
        refused_full_++;
        return ok.error();
    }
    if (outputs(spec)) {
        registry_.hold_output(spec.out_slot);
    }
    flows_.emplace(ufid, std::move(r));
    return spec.actions.kind;
}

// Replaces the record's spec, moving its hold on an output slot.
void FlowTable::set_spec(Record &r, const FlowSpec &spec) noexcept
{
    if (outputs(spec)) {
        registry_.hold_output(spec.out_slot);
    }
    if (outputs(r.spec)) {
        registry_.drop_output(r.spec.out_slot);
    }
    r.spec = spec;
}

// New actions for an installed match (OVS's put-modify), replacing the map
// entry in place so that no frame misses the flow meanwhile.  Frames
// counted so far stay with the old actions' output port; the flow keeps
// its statistics.
Result<afxdp_offload_kind> FlowTable::modify(Record &r, const FlowSpec &spec)
{
    if (!maps_) {
        set_spec(r, spec);  // Installed at the next bind().
        return spec.actions.kind;
    }
    if (!r.installed) {
        // It did not fit when the program was bound: try again.
        set_spec(r, spec);
        if (auto ok = install(r); !ok) {
            refused_full_++;
            return ok.error();
        }
        return spec.actions.kind;
    }
    const bool now_full = spec.actions.kind == AFXDP_OFFLOAD_FULL;
    afxdp_flow_actions value = spec.actions.actions;
    value.mark = spec.mark;
    value.out_slot = spec.out_slot;
    bool new_id = false;
    if (now_full) {
        if (!r.has_id) {
            auto id = allocate_id();
            if (!id) {
                refused_full_++;
                return id.error();  // The old entry stays: still correct.
            }
            r.flow_id = id.value();
            new_id = true;
        }
        value.flow_id = r.flow_id;
    }
    if (auto put = maps_->put_flow(r.key, value); !put) {
        if (new_id) {
            free_ids_.push_back(r.flow_id);
        }
        refused_full_++;
        return put.error();
    }
    // Settle what was counted under the old actions, then switch.
    if (r.has_id && !now_full) {
        take_counters(r);
    } else {
        attribute(r, total(r, nullptr));
    }
    r.has_id = r.has_id || new_id;
    set_spec(r, spec);
    return spec.actions.kind;
}

Result<FlowStats> FlowTable::get(const Ufid &ufid, afxdp_offload_kind *kind)
{
    std::lock_guard<std::mutex> guard(mutex_);
    auto it = flows_.find(ufid);
    if (it == flows_.end()) {
        return Error{ENOENT, ifname_ + ": no such offloaded flow"};
    }
    Record &r = it->second;
    // Runs in XDP only while installed in a program (a flow that did not
    // fit into the current one is OVS's, like a partially offloaded one).
    const bool in_xdp = full(r) && (r.installed || !maps_);
    if (kind) {
        *kind = in_xdp ? AFXDP_OFFLOAD_FULL : AFXDP_OFFLOAD_PARTIAL;
    }
    FlowStats s;
    if (!full(r) || !r.has_id) {
        // OVS counts the frames the fast path does not run.  What the
        // flow counted while it ran here stays in its total: dpif-netdev
        // adds ours to its own, and a total that went down would lose
        // frames in the revalidators' deltas.
        s.packets = r.carried.packets;
        s.bytes = r.carried.bytes;
        s.used_ms = r.carried_used_ms;
        s.tcp_flags = r.carried_tcp_flags;
        return s;
    }
    FlowCounters current;
    Totals t = total(r, &current);
    sample_clock();  // After the read: the sample is the newer one.
    s.packets = t.packets;
    s.bytes = t.bytes;
    s.tcp_flags = uint16_t(r.carried_tcp_flags | current.tcp_flags);
    s.used_ms =
        std::max(r.carried_used_ms, clock_.to_msec(current.used_jiffies));
    maybe_rank();
    return s;
}

void FlowTable::erase(
    std::unordered_map<Ufid, Record, UfidHash>::iterator it) noexcept
{
    Record &r = it->second;
    uninstall(r);
    attribute(r, r.carried);
    if (outputs(r.spec)) {
        registry_.drop_output(r.spec.out_slot);
    }
    flows_.erase(it);
}

Result<FlowStats> FlowTable::del(const Ufid &ufid)
{
    std::lock_guard<std::mutex> guard(mutex_);
    auto it = flows_.find(ufid);
    if (it == flows_.end()) {
        return Error{ENOENT, ifname_ + ": no such offloaded flow"};
    }
    Record &r = it->second;
    uninstall(r);
    FlowStats s;
    if (full(r)) {
        s.packets = r.carried.packets;
        s.bytes = r.carried.bytes;
        s.used_ms = r.carried_used_ms;
        s.tcp_flags = r.carried_tcp_flags;
    }
    erase(it);
    return s;
}

void FlowTable::flush() noexcept
{
    std::lock_guard<std::mutex> guard(mutex_);
    while (!flows_.empty()) {
        erase(flows_.begin());
    }
}

uint64_t FlowTable::size() const
{
    std::lock_guard<std::mutex> guard(mutex_);
    return flows_.size();
}

void FlowTable::note_refused_match() noexcept
{
    std::lock_guard<std::mutex> guard(mutex_);
    refused_match_++;
}

void FlowTable::note_refused_fast_path_off() noexcept
{
    std::lock_guard<std::mutex> guard(mutex_);
    refused_fast_path_off_++;
}

afxdp_offload_counters FlowTable::counters()
{
    std::lock_guard<std::mutex> guard(mutex_);
    afxdp_offload_counters c{};
    for (const auto &[ufid, r] : flows_) {
        if (r.installed) {
            (full(r) ? c.flows_full : c.flows_partial)++;
        }
    }
    c.masks = masks_.size();
    c.refused_match = refused_match_;
    c.refused_full = refused_full_;
    c.refused_fast_path_off = refused_fast_path_off_;
    afxdp_xdp_counters x = xdp_carried_;
    if (maps_) {
        add_xdp_counters(x, maps_->read_xdp_counters());
    }
    c.to_ovs_miss = x.to_ovs_miss;
    c.to_ovs_partial = x.to_ovs_partial;
    c.to_ovs_parse = x.to_ovs_parse;
    c.to_ovs_multi_buffer = x.to_ovs_multi_buffer;
    c.to_ovs_action = x.to_ovs_action;
    c.to_ovs_fallback = x.to_ovs_fallback;
    c.meta_failed = x.meta_failed;
    c.action_failed = x.action_failed;
    return c;
}

}  // namespace afxdp::offload
