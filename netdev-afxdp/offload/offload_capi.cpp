/*
 * The C ABI of afxdp_offload.h over FlowTable, translate and the
 * OutputRegistry: cast, call, translate errors.  An afxdp_offload owns the
 * port's output slot and its FlowTable (shared with the registry, which
 * reads its live traffic for other ports' statistics).
 */
#include "netdev-afxdp/offload/afxdp_offload.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "netdev-afxdp/log.h"
#include "netdev-afxdp/offload/flow_maps.h"
#include "netdev-afxdp/offload/flow_table.h"
#include "netdev-afxdp/offload/output_registry.h"
#include "netdev-afxdp/offload/translate.h"
#include "netdev-afxdp/port.h"

using afxdp::offload::FlowSpec;
using afxdp::offload::FlowStats;
using afxdp::offload::FlowTable;
using afxdp::offload::OutputRegistry;
using afxdp::offload::Ufid;

struct afxdp_offload {
    std::string ifname;
    uint16_t slot = 0;
    std::shared_ptr<FlowTable> table;
    // The port is open, asked for the fast path, and its kernel refused
    // the program that runs it: every put is refused until it reopens.
    // Written by the main thread, read by the offload thread.
    std::atomic<bool> fast_path_off{false};
};

namespace {

Ufid to_ufid(const void *p)
{
    Ufid u;
    std::memcpy(u.bytes, p, sizeof u.bytes);
    return u;
}

void to_c(const FlowStats &s, afxdp_offload_flow_stats *out)
{
    out->n_packets = s.packets;
    out->n_bytes = s.bytes;
    out->used = s.used_ms;
    out->tcp_flags = s.tcp_flags;
}

const afxdp::netdev::Port *cast(const afxdp_port *p)
{
    return reinterpret_cast<const afxdp::netdev::Port *>(p);
}

// The port's device for the output registry (0: closed).  Only
// std::bad_alloc or a lock's std::system_error can get in the way; the
// slot then keeps its last state, and the error is logged.
void set_device(afxdp_offload *off, int ifindex) noexcept
{
    try {
        OutputRegistry::instance().set_device(off->slot, ifindex);
    } catch (const std::exception &e) {
        afxdp::log(AFXDP_LOG_ERR, "%s: fast-path output slot: %s",
                   off->ifname.c_str(), e.what());
    }
}

}  // namespace

extern "C" {

int afxdp_offload_create(const char *ifname, struct afxdp_offload **offp)
{
    try {
        auto slot = OutputRegistry::instance().allocate(ifname);
        if (!slot) {
            afxdp::log(AFXDP_LOG_ERR, "%s", slot.error().message.c_str());
            return slot.error().code;
        }
        auto *off = new afxdp_offload;
        off->ifname = ifname;
        off->slot = slot.value();
        off->table = std::make_shared<FlowTable>(ifname, off->slot,
                                                 OutputRegistry::instance());
        OutputRegistry::instance().add_table(off->table);
        *offp = off;
        return 0;
    } catch (const std::bad_alloc &) {
        return ENOMEM;
    }
}

void afxdp_offload_destroy(struct afxdp_offload *off)
{
    if (!off) {
        return;
    }
    OutputRegistry &registry = OutputRegistry::instance();
    registry.remove_table(off->table.get());
    set_device(off, 0);
    off->table.reset();  // Flushes and unbinds.
    registry.release(off->slot);
    delete off;
}

bool afxdp_port_has_fast_path(const struct afxdp_port *port)
{
    return port && cast(port)->fast_path_maps().flows_fd >= 0;
}

bool afxdp_port_fast_path_requested(const struct afxdp_port *port)
{
    return port && cast(port)->fast_path_requested();
}

void afxdp_offload_bind(struct afxdp_offload *off, struct afxdp_port *port)
{
    const afxdp::netdev::Port *p = cast(port);
    set_device(off, p->ifindex());
    afxdp::netdev::FastPathMaps maps = p->fast_path_maps();
    off->fast_path_off = maps.flows_fd < 0 && p->fast_path_requested();
    if (maps.flows_fd < 0) {
        // Flows put while no program was bound would otherwise wait for
        // one that never comes, reported as running in XDP.
        off->table->flush();
        return;
    }
    try {
        off->table->bind(afxdp::offload::make_bpf_flow_maps(
            maps, p->mode() == AFXDP_XDP_MODE_GENERIC));
    } catch (const std::exception &e) {
        afxdp::log(AFXDP_LOG_ERR, "%s: cannot bind the fast path: %s",
                   off->ifname.c_str(), e.what());
    }
}

void afxdp_offload_unbind(struct afxdp_offload *off)
{
    off->fast_path_off = false;
    set_device(off, 0);
    off->table->unbind();
}

int afxdp_offload_flow_put(struct afxdp_offload *off, const void *ufid,
                           const struct afxdp_flow_match *match,
                           const struct afxdp_flow_action *actions,
                           size_t n_actions, uint32_t mark,
                           enum afxdp_offload_kind *kind)
{
    if (off->fast_path_off) {
        off->table->note_refused_fast_path_off();
        return EOPNOTSUPP;
    }
    try {
        auto m = afxdp::offload::translate_match(*match);
        if (!m) {
            off->table->note_refused_match();
            afxdp::log(AFXDP_LOG_DBG, "%s: flow not offloaded: %s",
                       off->ifname.c_str(), m.error().message.c_str());
            return m.error().code;
        }
        FlowSpec spec;
        spec.match = m.value();
        spec.actions =
            afxdp::offload::translate_actions(*match, actions, n_actions);
        spec.mark = mark;
        if (spec.actions.output) {
            spec.out_slot = spec.actions.output->slot;
        }
        if (spec.actions.kind == AFXDP_OFFLOAD_PARTIAL) {
            afxdp::log(AFXDP_LOG_DBG, "%s: flow partially offloaded: %s",
                       off->ifname.c_str(),
                       spec.actions.partial_reason.c_str());
        }
        auto r = off->table->put(to_ufid(ufid), spec);
        if (!r) {
            return r.error().code;
        }
        *kind = r.value();
        return 0;
    } catch (const std::bad_alloc &) {
        return ENOMEM;
    }
}

int afxdp_offload_flow_get(struct afxdp_offload *off, const void *ufid,
                           struct afxdp_offload_flow_stats *stats,
                           enum afxdp_offload_kind *kind)
{
    auto r = off->table->get(to_ufid(ufid), kind);
    if (!r) {
        return r.error().code;
    }
    to_c(r.value(), stats);
    return 0;
}

int afxdp_offload_flow_del(struct afxdp_offload *off, const void *ufid,
                           struct afxdp_offload_flow_stats *stats)
{
    auto r = off->table->del(to_ufid(ufid));
    if (!r) {
        return r.error().code;
    }
    if (stats) {
        to_c(r.value(), stats);
    }
    return 0;
}

void afxdp_offload_flush(struct afxdp_offload *off)
{
    off->table->flush();
}

uint64_t afxdp_offload_n_flows(const struct afxdp_offload *off)
{
    return off->table->size();
}

void afxdp_offload_port_stats(const struct afxdp_offload *off,
                              struct afxdp_offload_port_stats *out)
{
    afxdp::offload::PortTraffic t =
        OutputRegistry::instance().port_traffic(off->slot);
    out->rx_packets = t.rx_packets;
    out->rx_bytes = t.rx_bytes;
    out->tx_packets = t.tx_packets;
    out->tx_bytes = t.tx_bytes;
}

void afxdp_offload_get_counters(const struct afxdp_offload *off,
                                struct afxdp_offload_counters *out)
{
    *out = off->table->counters();
}

}  // extern "C"
