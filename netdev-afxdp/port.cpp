/*
 * Port implementation: the control path of opening and closing a device.
 */
#include "netdev-afxdp/port.h"

#include <cerrno>
#include <mutex>
#include <new>

#include "netdev-afxdp/device.h"
#include "netdev-afxdp/log.h"
#include "netdev-afxdp/log_hooks.h"
#include "netdev-afxdp/params.h"

namespace afxdp::netdev {

Port::Port(std::string ifname, int ifindex)
    : ifname_(std::move(ifname)), ifindex_(ifindex)
{
}

Port::~Port()
{
    release_queues();
    program_.reset();
    areas_.clear();
}

void Port::release_queues() noexcept
{
    if (program_) {
        for (const auto &s : sockets_) {
            program_->unbind_queue(s->queue_id());
        }
    }
    sockets_.clear();
}

void Port::detach_xdp() noexcept
{
    if (program_) {
        program_->detach();
    }
}

Result<void> Port::try_attempt(const Attempt &a,
                               const afxdp_port_config &config)
{
    if (!program_ || program_->mode() != a.attach) {
        program_.reset();
        XdpProgramOptions options;
        options.fast_path = config.fast_path;
        options.rx_hash = config.rx_hash;
        options.max_flows = kMaxFastPathFlows;
        auto prog = XdpProgram::attach(ifindex_, ifname_, a.attach, options);
        if (!prog) {
            return prog.error();
        }
        program_.emplace(std::move(prog).value());
    }

    for (uint32_t q = 0; q < config.n_queues; q++) {
        umem::UmemConfig ucfg;
        ucfg.n_chunks = kChunksPerSocket;
        ucfg.chunk_size = kChunkSize;
        ucfg.meta_size = config.meta_size;
        ucfg.numa_node = config.numa_node;
        auto area = umem::UmemArea::create(ucfg);
        if (!area) {
            const Error &e = area.error();
            return Error{e.code, ifname_ + ": queue " + std::to_string(q) +
                                     ": " + e.message};
        }
        areas_.push_back(std::move(area).value());

        XskSocketConfig scfg;
        scfg.ifname = ifname_;
        scfg.queue_id = q;
        scfg.zero_copy = a.zero_copy;
        scfg.use_need_wakeup = config.use_need_wakeup;
        scfg.attach_mode = a.attach;
        auto sock = XskSocket::create(scfg, areas_.back()->share());
        if (!sock) {
            return sock.error();
        }
        sockets_.push_back(std::move(sock).value());
        if (config.fast_path || config.rx_hash) {
            sockets_.back()->queue().read_xdp_metadata(
                program_->meta_unsupported_flag());
        }

        if (auto r = program_->bind_queue(q, sockets_.back()->fd()); !r) {
            sockets_.pop_back();
            return r.error();
        }
    }
    return {};
}

Result<std::unique_ptr<Port>> Port::open(const afxdp_port_config &config)
{
    install_library_log_hooks();

    std::string ifname = config.ifname ? config.ifname : "";
    auto ifindex = device_ifindex(ifname);
    if (!ifindex) {
        return ifindex.error();
    }
    auto queues = device_queues(ifname);
    if (!queues) {
        return queues.error();
    }
    if (config.n_queues == 0) {
        return Error{EINVAL, ifname + ": 'n_rxq' must be at least 1."};
    }
    if (config.n_queues > queues.value().current) {
        return Error{EINVAL, ifname + ": Too big 'n_rxq' (" +
                                 std::to_string(config.n_queues) + " > " +
                                 std::to_string(queues.value().current) + ")."};
    }

    static const Attempt kNativeZc{AFXDP_XDP_MODE_NATIVE_ZC,
                                   XdpAttachMode::kNative, true};
    static const Attempt kNativeCopy{AFXDP_XDP_MODE_NATIVE,
                                     XdpAttachMode::kNative, false};
    static const Attempt kGeneric{AFXDP_XDP_MODE_GENERIC,
                                  XdpAttachMode::kGeneric, false};
    std::vector<Attempt> attempts;
    switch (config.xdp_mode) {
    case AFXDP_XDP_MODE_BEST_EFFORT:
        attempts = {kNativeZc, kNativeCopy, kGeneric};
        break;
    case AFXDP_XDP_MODE_NATIVE_ZC: attempts = {kNativeZc}; break;
    case AFXDP_XDP_MODE_NATIVE: attempts = {kNativeCopy}; break;
    case AFXDP_XDP_MODE_GENERIC: attempts = {kGeneric}; break;
    default:
        return Error{EINVAL, ifname + ": invalid XDP mode " +
                                 std::to_string(int(config.xdp_mode))};
    }

    std::unique_ptr<Port> port(new Port(ifname, ifindex.value()));
    Error last;
    for (const Attempt &a : attempts) {
        auto r = port->try_attempt(a, config);
        if (r) {
            port->mode_ = a.mode;
            log(AFXDP_LOG_INFO, "%s: AF_XDP in XDP mode %s on %u queue(s)%s.",
                ifname.c_str(), afxdp_xdp_mode_to_string(a.mode),
                config.n_queues, config.use_need_wakeup ? ", need_wakeup" : "");
            return port;
        }
        last = r.error();
        // Release what this attempt made; keep a native attachment for the
        // next attempt only if it attaches the same way.
        port->release_queues();
        port->areas_.clear();
        if (config.xdp_mode == AFXDP_XDP_MODE_BEST_EFFORT) {
            log(AFXDP_LOG_DBG, "%s: XDP mode %s unavailable: %s",
                ifname.c_str(), afxdp_xdp_mode_to_string(a.mode),
                last.message.c_str());
        }
    }
    return last;
}

std::unique_ptr<Port> Port::make_unbound(std::string ifname)
{
    return std::unique_ptr<Port>(new Port(std::move(ifname), 0));
}

int Port::queue_fd(uint32_t qid) const noexcept
{
    return qid < sockets_.size() ? sockets_[qid]->fd() : -1;
}

uint32_t Port::rx_burst(uint32_t qid, afxdp_rx_frame *frames,
                        uint32_t max) noexcept
{
    XskQueue &q = sockets_[qid]->queue();
    q.refill();
    return q.rx_burst(frames, max);
}

uint32_t Port::tx_burst(uint32_t qid, const afxdp_tx_frame *frames, uint32_t n,
                        bool concurrent) noexcept
{
    XskQueue &q = sockets_[qid % sockets_.size()]->queue();
    if (concurrent) {
        std::lock_guard<umem::SpinLock> guard(q.tx_lock());
        return q.tx_burst(frames, n);
    }
    return q.tx_burst(frames, n);
}

Result<void> Port::queue_stats(uint32_t qid, afxdp_queue_stats *out) const
{
    if (qid >= sockets_.size()) {
        return Error{EINVAL, ifname_ + ": no queue " + std::to_string(qid) +
                                 " (" + std::to_string(sockets_.size()) +
                                 " queues)"};
    }
    const XskSocket &s = *sockets_[qid];
    XskQueueStats qs = s.queue().stats();
    auto xs = s.statistics();
    if (!xs) {
        return Error{xs.error().code, ifname_ + ": " + xs.error().message};
    }
    const struct xdp_statistics &k = xs.value();

    *out = afxdp_queue_stats{};
    out->rx_packets = qs.rx_packets;
    out->rx_bytes = qs.rx_bytes;
    out->tx_packets = qs.tx_packets;
    out->tx_bytes = qs.tx_bytes;
    out->tx_dropped = qs.tx_dropped;
    out->tx_dropped_no_chunk = qs.tx_dropped_no_chunk;
    out->tx_dropped_ring_full = qs.tx_dropped_ring_full;
    out->tx_dropped_bad_len = qs.tx_dropped_bad_len;
    out->tx_kick_errors = qs.tx_kick_errors;
    out->rx_dropped = k.rx_dropped;
    out->rx_invalid_descs = k.rx_invalid_descs;
    out->tx_invalid_descs = k.tx_invalid_descs;
    out->rx_ring_full = k.rx_ring_full;
    out->rx_fill_ring_empty_descs = k.rx_fill_ring_empty_descs;
    out->tx_ring_empty_descs = k.tx_ring_empty_descs;
    out->chunks_total = qs.chunks_total;
    out->chunks_free = qs.chunks_free;
    out->chunks_fill = qs.chunks_fill;
    out->chunks_rx = qs.chunks_rx;
    out->chunks_held = qs.chunks_held;
    out->chunks_tx = qs.chunks_tx;
    out->chunks_completion = qs.chunks_completion;
    return {};
}

std::string Port::take_events(afxdp_port_events *out)
{
    afxdp_port_events totals = {};
    for (const auto &s : sockets_) {
        const XskQueueStats qs = s->queue().stats();
        totals.tx_dropped_no_chunk += qs.tx_dropped_no_chunk;
        totals.tx_dropped_ring_full += qs.tx_dropped_ring_full;
        totals.tx_dropped_bad_len += qs.tx_dropped_bad_len;
        totals.tx_kick_errors += qs.tx_kick_errors;
    }
    auto taken = events_.take(totals, EventReport::Clock::now());
    *out = taken.since_last;
    return std::move(taken.log);
}

afxdp_traffic Port::traffic() const noexcept
{
    afxdp_traffic sum = {};
    for (uint32_t q = 0; q < n_queues(); q++) {
        afxdp_queue_stats qs;
        try {
            if (!queue_stats(q, &qs)) {
                continue;
            }
        } catch (const std::bad_alloc &) {
            continue;  // Only the error message could not be built.
        }
        sum.rx_packets += qs.rx_packets;
        sum.rx_bytes += qs.rx_bytes;
        sum.tx_packets += qs.tx_packets;
        sum.tx_bytes += qs.tx_bytes;
        sum.rx_dropped += qs.rx_dropped + qs.rx_ring_full;
        sum.tx_dropped += qs.tx_dropped;
    }
    return sum;
}

void Port::info(afxdp_port_info *out) const
{
    *out = afxdp_port_info{};
    out->ifindex = ifindex_;
    out->xdp_mode = mode_;
    out->n_queues = n_queues();
    if (program_) {
        out->prog_id = program_->prog_id();
        out->link_id = program_->link_id();
        out->fast_path = program_->options().fast_path;
        out->rx_hash = program_->options().rx_hash;
    }
    // One area per queue, all alike (try_attempt()).
    out->umem_shared = false;
    out->n_umems = uint32_t(areas_.size());
    if (!areas_.empty()) {
        out->umem_chunks = areas_.front()->n_chunks();
        out->chunk_size = areas_.front()->chunk_size();
    }
    out->frame_headroom = kRxHeadroom;
    out->ring_size = kRingSize;
    // Last: the only step that allocates (the error message).
    if (auto queues = device_queues(ifname_)) {
        out->device_queues.current = queues.value().current;
        out->device_queues.max = queues.value().max;
    }
}

}  // namespace afxdp::netdev
