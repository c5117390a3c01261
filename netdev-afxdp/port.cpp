/*
 * Port implementation: the control path of opening and closing a device.
 */
#include "netdev-afxdp/port.h"

#include <cerrno>
#include <new>

#include "netdev-afxdp/device.h"
#include "netdev-afxdp/kernel_features.h"
#include "netdev-afxdp/log.h"
#include "netdev-afxdp/log_hooks.h"
#include "netdev-afxdp/params.h"
#include "netdev-afxdp/umem_registry.h"
#include "netdev-afxdp/xdp_features.h"
#include "umem/page_mapping.h"

namespace afxdp::netdev {

Port::Port(std::string ifname, int ifindex)
    : ifname_(std::move(ifname)), ifindex_(ifindex)
{
}

Port::~Port()
{
    forget_port_features(ifname_);
    release_queues();
    program_.reset();
    if (umem_) {
        umem_->reclaim_expired();
    }
    umem_.reset();
}

void Port::release_queues() noexcept
{
    for (Queue &q : queues_) {
        if (program_ && q.socket) {
            program_->unbind_queue(q.socket->queue_id());
        }
        umem_->detach(q.tag);
        q.datapath.reset();
        q.main_lane.reset();
        q.socket.reset();
        umem_->leave(q.tag);
    }
    queues_.clear();
}

void Port::detach_xdp() noexcept
{
    if (program_) {
        program_->detach();
    }
}

// ---- Opening ---------------------------------------------------------------

Result<std::unique_ptr<XskSocket>> Port::open_socket_as(
    uint32_t q, const Attempt &a, const afxdp_port_config &config,
    bool multi_buffer, Queue *queue)
{
    XskSocketConfig sc;
    sc.ifname = ifname_;
    sc.queue_id = q;
    sc.zero_copy = a.zero_copy;
    sc.use_need_wakeup = config.use_need_wakeup;
    sc.multi_buffer = multi_buffer;
    sc.rx_size = sc.tx_size = sc.fill_size = sc.comp_size = kRingSize;

    // Share the kernel UMEM of a socket bound in the same mode, if any
    // will have us; else register the UMEM for this socket.
    Error refused;
    auto s = share_kernel_umem(sc, &refused);
    if (s) {
        queue->shares_kernel_umem = true;
        record_port_feature(KernelFeature::kSharedUmem, ifname_, true);
        return s;
    }
    sc.umem_bind = UmemBind::kRegister;
    sc.share_fd = -1;
    s = XskSocket::create(sc, umem_->area());
    if (s && refused.code) {
        umem_note_ = "queue " + std::to_string(q) +
                     ": kernel refused to share the UMEM (" +
                     strerror(refused.code) + "), registered its own";
        log(AFXDP_LOG_INFO, "%s: %s", ifname_.c_str(), umem_note_.c_str());
        record_port_feature(KernelFeature::kSharedUmem, ifname_, false,
                            std::string("refused: ") + strerror(refused.code));
    }
    return s;
}

// A socket sharing the kernel UMEM of one already bound in the same mode
// (XDP_SHARED_UMEM), or an error: 'refused' the kernel's last refusal, or
// no code when there was nothing to share or the kernel cannot share
// (kernel_features.h; then every socket registers the area itself and
// the UMEM status says why).
Result<std::unique_ptr<XskSocket>> Port::share_kernel_umem(XskSocketConfig sc,
                                                           Error *refused)
{
    const FeatureProbe &shared = kernel_feature(KernelFeature::kSharedUmem);
    if (!shared.available) {
        umem_note_ = "the kernel cannot share a UMEM between sockets (" +
                     shared.detail + "): each socket registered its own";
        return Error{};
    }
    sc.umem_bind = UmemBind::kShare;
    for (int fd :
         umem_->share_fds(sc.zero_copy, sc.use_need_wakeup, sc.multi_buffer)) {
        sc.share_fd = fd;
        auto s = XskSocket::create(sc, umem_->area());
        if (s) {
            return s;
        }
        *refused = s.error();
    }
    return Error{};
}

// A multi-buffer socket (XDP_USE_SG) while the port can have them; a
// kernel older than 6.6 refuses the flag (EINVAL), a zero-copy driver
// without multi-buffer support too (EOPNOTSUPP): then a plain socket, and
// the port keeps the one-chunk MTU limit, saying why.
Result<std::unique_ptr<XskSocket>> Port::open_socket(
    uint32_t q, const Attempt &a, const afxdp_port_config &config, Queue *queue)
{
    if (multi_buffer_) {
        auto s = open_socket_as(q, a, config, true, queue);
        if (s || (s.error().code != EINVAL && s.error().code != EOPNOTSUPP)) {
            queue->multi_buffer = bool(s);
            if (s) {
                record_port_feature(KernelFeature::kXdpMultiBuffer, ifname_,
                                    true);
            }
            return s;
        }
        multi_buffer_ = false;
        mtu_note_ = std::string("the kernel refused multi-buffer AF_XDP (") +
                    (a.zero_copy ? "zero-copy" : "copy") +
                    " mode bind with XDP_USE_SG: " + strerror(s.error().code) +
                    ")";
        // Logged once the port is open: a later attempt may still get it.
        record_port_feature(KernelFeature::kXdpMultiBuffer, ifname_, false,
                            mtu_note_);
    }
    return open_socket_as(q, a, config, false, queue);
}

void Port::open_main_lane(Queue *queue, const afxdp_port_config &config)
{
    XskSocketConfig sc;
    sc.ifname = ifname_;
    sc.queue_id = queue->socket->queue_id();
    sc.umem_bind = UmemBind::kShareQueue;
    sc.share_fd = queue->socket->fd();
    sc.tx_size = kMainLaneTxSize;
    auto s = XskSocket::create(sc, umem_->area());
    if (!s) {
        // The main thread then shares the PMDs' lane and lock.
        log(AFXDP_LOG_DBG, "%s: no tx lane of its own for the main thread: %s",
            ifname_.c_str(), s.error().message.c_str());
        return;
    }
    if (config.busy_poll_budget) {
        if (auto r = s.value()->set_busy_poll(config.busy_poll_budget,
                                              config.busy_poll_usecs);
            !r) {
            log(AFXDP_LOG_WARN, "%s: main thread's tx lane: %s",
                ifname_.c_str(), r.error().message.c_str());
        }
    }
    queue->main_lane = std::move(s).value();
    queue->datapath->set_main_lane(queue->main_lane->rings().tx,
                                   queue->main_lane->fd());
}

Result<void> Port::open_queue(uint32_t q, const Attempt &a,
                              const afxdp_port_config &config)
{
    auto tag = umem_->join();
    if (!tag) {
        return Error{tag.error().code, ifname_ + ": " + tag.error().message};
    }
    queues_.emplace_back();
    Queue &queue = queues_.back();  // release_queues() undoes it all.
    queue.tag = tag.value();

    auto sock = open_socket(q, a, config, &queue);
    if (!sock) {
        return sock.error();
    }
    queue.socket = std::move(sock).value();
    if (config.busy_poll_budget) {
        auto r = queue.socket->set_busy_poll(config.busy_poll_budget,
                                             config.busy_poll_usecs);
        record_port_feature(KernelFeature::kBusyPoll, ifname_, bool(r),
                            r ? "" : r.error().message);
        if (!r) {
            return Error{r.error().code, ifname_ + ": " + r.error().message};
        }
    }

    XskQueueConfig qc;
    qc.rings = queue.socket->rings();
    qc.fd = queue.socket->fd();
    qc.area = &umem_->area();
    qc.owner_tag = queue.tag;
    qc.use_need_wakeup = config.use_need_wakeup;
    qc.busy_poll = config.busy_poll_budget != 0;
    qc.tx_headroom = kTxHeadroom;
    qc.max_frame_len = queue.multi_buffer ? kMaxJumboFrameLen : kMaxFrameLen;
    qc.multi_buffer = queue.multi_buffer;
    qc.jumbo = &umem_->jumbo();
    qc.fill_target = umem_->fill_target();
    queue.datapath = std::make_unique<XskQueue>(qc);
    queue.datapath->read_xdp_metadata(program_->options().carrier,
                                      program_->meta_unsupported_flag());
    // What the kernel made of it: a socket sharing another's kernel UMEM
    // takes that one's mode.
    umem_->attach(queue.tag, queue.datapath.get(), queue.socket->fd(),
                  queue.socket->zero_copy(), config.use_need_wakeup,
                  queue.multi_buffer);

    if (auto r = program_->bind_queue(q, queue.socket->fd()); !r) {
        return r.error();
    }
    if (q == 0) {
        open_main_lane(&queue, config);
    }
    return {};
}

// The program 'config' asks for, with the metadata carrier this kernel
// takes: the XDP metadata area where XDP programs may use
// bpf_xdp_adjust_meta(), else a header in front of the frame.
XdpProgramOptions Port::program_options(const afxdp_port_config &config)
{
    XdpProgramOptions options;
    options.fast_path = config.fast_path;
    options.rx_hash = config.rx_hash;
    options.max_flows = kMaxFastPathFlows;
    // Before 5.18 an xdp.frags program does not load: ours then loads
    // without the flag, and check_multi_buffer() keeps the port to one
    // buffer per frame.
    options.frags = kernel_feature(KernelFeature::kXdpFragsProgram).available;
    carrier_note_.clear();
    if (options.fast_path || options.rx_hash) {
        const FeatureProbe &meta =
            kernel_feature(KernelFeature::kXdpAdjustMeta);
        options.carrier =
            meta.available ? AFXDP_XDP_CARRIER_META : AFXDP_XDP_CARRIER_HEAD;
        if (!meta.available) {
            carrier_note_ = "no bpf_xdp_adjust_meta in XDP: " + meta.detail;
        }
    }
    return options;
}

// Loads and attaches the program for attempt 'a'.  A fast-path program the
// kernel refuses leaves the port on the plain redirect program, with the
// reason kept for status and one warning: an optimisation never takes the
// port down.
Result<XdpProgram> Port::attach_program(const Attempt &a,
                                        const afxdp_port_config &config)
{
    XdpProgramOptions options = program_options(config);
    fast_path_off_.clear();
    if (!options.fast_path && !options.rx_hash) {
        return XdpProgram::attach(ifindex_, ifname_, a.attach, options);
    }
    Result<XdpProgram> prog =
        Error{EOPNOTSUPP, ifname_ + ": loading the fast-path program: "
                                    "disabled by AFXDP_DISABLE_FEATURES"};
    if (!disabled_by_test("xdp-fast-path")) {
        prog = XdpProgram::attach(ifindex_, ifname_, a.attach, options);
    }
    if (prog) {
        return prog;
    }
    XdpProgramOptions plain;
    plain.frags = options.frags;
    auto fallback = XdpProgram::attach(ifindex_, ifname_, a.attach, plain);
    if (fallback) {
        fast_path_off_ = prog.error().message;
        carrier_note_.clear();
    }
    return fallback;
}

Result<void> Port::try_attempt(const Attempt &a,
                               const afxdp_port_config &config)
{
    if (!program_ || program_->mode() != a.attach) {
        program_.reset();
        auto prog = attach_program(a, config);
        if (!prog) {
            return prog.error();
        }
        program_.emplace(std::move(prog).value());
    }
    check_multi_buffer(a, config);
    for (uint32_t q = 0; q < config.n_queues; q++) {
        if (auto r = open_queue(q, a, config); !r) {
            return r.error();
        }
    }
    return {};
}

// Whether this attempt can carry frames larger than a chunk, before any
// socket asks the kernel: the kernel must know XDP_USE_SG (6.6), and in
// native mode the driver must take multi-buffer XDP frames
// (NETDEV_XDP_ACT_RX_SG in its xdp-features, which the AF_XDP
// documentation names as the probe; without the netdev family the bind
// decides); generic mode always can.
void Port::check_multi_buffer(const Attempt &a, const afxdp_port_config &config)
{
    multi_buffer_ = config.multi_buffer;
    mtu_note_ = multi_buffer_ ? "" : "multi-buffer AF_XDP not requested";
    if (!multi_buffer_) {
        return;
    }
    const FeatureProbe &sg = kernel_feature(KernelFeature::kXdpMultiBuffer);
    if (!sg.available) {
        multi_buffer_ = false;
        mtu_note_ = "the kernel has no multi-buffer AF_XDP (" + sg.detail + ")";
        return;
    }
    const FeatureProbe &frags = kernel_feature(KernelFeature::kXdpFragsProgram);
    if (!frags.available) {
        multi_buffer_ = false;
        mtu_note_ =
            "the kernel loads no xdp.frags program (" + frags.detail + ")";
        return;
    }
    if (a.attach != XdpAttachMode::kNative ||
        !kernel_feature(KernelFeature::kXdpFeaturesNetlink).available) {
        return;
    }
    auto features = XdpFeatures::open();
    if (!features) {
        return;  // No netdev family (kernel < 6.3): the bind will tell.
    }
    auto bits = features.value().query(ifindex_);
    if (bits && !(bits.value() & kXdpActRxSg)) {
        multi_buffer_ = false;
        mtu_note_ = "the driver lacks multi-buffer XDP (no rx-sg in its "
                    "xdp-features) in native mode";
        record_port_feature(KernelFeature::kXdpMultiBuffer, ifname_, false,
                            mtu_note_);
    }
}

uint32_t Port::max_mtu() const noexcept
{
    if (multi_buffer_) {
        return kMaxMtuMultiBuffer;
    }
    // The HEAD carrier's bytes share the chunk with the frame.
    const bool head =
        program_ && program_->options().carrier == AFXDP_XDP_CARRIER_HEAD;
    return kMaxFrameLen - kVlanEthHeader - (head ? AFXDP_XDP_HEAD_LEN : 0);
}

std::string Port::mtu_error() const
{
    auto mtu = device_mtu(ifname_);
    if (!mtu || mtu.value() <= max_mtu()) {
        return "";
    }
    return "device MTU " + std::to_string(mtu.value()) + " is above " +
           std::to_string(max_mtu()) +
           ", the largest AF_XDP carries on this port (" + mtu_note_ +
           "): longer frames are dropped";
}

Result<std::vector<Port::Attempt>> Port::attempts_for(afxdp_xdp_mode mode,
                                                      const std::string &ifname)
{
    static const Port::Attempt kNativeZc{AFXDP_XDP_MODE_NATIVE_ZC,
                                         XdpAttachMode::kNative, true};
    static const Port::Attempt kNativeCopy{AFXDP_XDP_MODE_NATIVE,
                                           XdpAttachMode::kNative, false};
    static const Port::Attempt kGeneric{AFXDP_XDP_MODE_GENERIC,
                                        XdpAttachMode::kGeneric, false};
    switch (mode) {
    case AFXDP_XDP_MODE_BEST_EFFORT:
        return std::vector<Port::Attempt>{kNativeZc, kNativeCopy, kGeneric};
    case AFXDP_XDP_MODE_NATIVE_ZC: return std::vector<Port::Attempt>{kNativeZc};
    case AFXDP_XDP_MODE_NATIVE: return std::vector<Port::Attempt>{kNativeCopy};
    case AFXDP_XDP_MODE_GENERIC: return std::vector<Port::Attempt>{kGeneric};
    }
    return Error{EINVAL,
                 ifname + ": invalid XDP mode " + std::to_string(int(mode))};
}

// The device has at least the queues asked for.
Result<void> Port::check_queue_count(const std::string &ifname,
                                     uint32_t n_queues)
{
    auto queues = device_queues(ifname);
    if (!queues) {
        return queues.error();
    }
    if (n_queues == 0) {
        return Error{EINVAL, ifname + ": 'n_rxq' must be at least 1."};
    }
    if (n_queues > queues.value().current) {
        return Error{EINVAL, ifname + ": Too big 'n_rxq' (" +
                                 std::to_string(n_queues) + " > " +
                                 std::to_string(queues.value().current) + ")."};
    }
    return {};
}

// Tries each attempt in turn until one opens every queue.
Result<void> Port::open_first_working(const std::vector<Attempt> &attempts,
                                      const afxdp_port_config &config)
{
    Error last;
    for (const Attempt &a : attempts) {
        auto r = try_attempt(a, config);
        if (r) {
            mode_ = a.mode;
            log(AFXDP_LOG_INFO,
                "%s: AF_XDP in XDP mode %s on %u queue(s)%s, UMEM %u (%s).",
                ifname_.c_str(), afxdp_xdp_mode_to_string(a.mode),
                config.n_queues, config.use_need_wakeup ? ", need_wakeup" : "",
                umem_->id(), umem_->shareable() ? "shared" : "private");
            if (!multi_buffer_ &&
                program_->options().carrier == AFXDP_XDP_CARRIER_HEAD) {
                mtu_note_ += "; 16 bytes less for the fast path's metadata "
                             "header";
            }
            if (config.multi_buffer && !multi_buffer_) {
                log(AFXDP_LOG_INFO, "%s: %s; MTU at most %u.", ifname_.c_str(),
                    mtu_note_.c_str(), max_mtu());
            }
            if (!fast_path_off_.empty()) {
                log(AFXDP_LOG_WARN,
                    "%s: the XDP fast path is off, the port runs the plain "
                    "redirect program: %s",
                    ifname_.c_str(), fast_path_off_.c_str());
            }
            return {};
        }
        last = r.error();
        // Release what this attempt made; keep a native attachment for the
        // next attempt only if it attaches the same way.
        release_queues();
        umem_note_.clear();
        if (last.code == EAGAIN) {
            break;  // A queue still taken: the caller retries every mode.
        }
        if (config.xdp_mode == AFXDP_XDP_MODE_BEST_EFFORT) {
            log(AFXDP_LOG_DBG, "%s: XDP mode %s unavailable: %s",
                ifname_.c_str(), afxdp_xdp_mode_to_string(a.mode),
                last.message.c_str());
        }
    }
    return last;
}

// The request as this kernel can have it: without need_wakeup when the
// kernel lacks XDP_USE_NEED_WAKEUP (5.4); the sockets then kick the kernel
// on every transmit (xsk_queue.h).  The other fallbacks are taken where
// their feature is tried (share_kernel_umem, check_multi_buffer) or by the
// options (busy polling).
afxdp_port_config Port::kernel_fallbacks(const afxdp_port_config &requested,
                                         const std::string &ifname)
{
    afxdp_port_config config = requested;
    const FeatureProbe &wakeup = kernel_feature(KernelFeature::kNeedWakeup);
    if (requested.use_need_wakeup && !wakeup.available) {
        config.use_need_wakeup = false;
        log(AFXDP_LOG_INFO,
            "%s: no need_wakeup (%s): sockets bound without "
            "XDP_USE_NEED_WAKEUP.",
            ifname.c_str(), wakeup.detail.c_str());
    }
    return config;
}

Result<std::unique_ptr<Port>> Port::open(const afxdp_port_config &requested)
{
    install_library_log_hooks();
    std::string ifname = requested.ifname ? requested.ifname : "";
    const afxdp_port_config config = kernel_fallbacks(requested, ifname);

    auto ifindex = device_ifindex(ifname);
    if (!ifindex) {
        return ifindex.error();
    }
    if (auto r = check_queue_count(ifname, config.n_queues); !r) {
        return r.error();
    }
    auto attempts = attempts_for(config.xdp_mode, ifname);
    if (!attempts) {
        return attempts.error();
    }

    std::unique_ptr<Port> port(new Port(ifname, ifindex.value()));
    port->fast_path_requested_ = config.fast_path;
    auto umem = UmemRegistry::acquire(config.numa_node, config.meta_size,
                                      config.n_queues, !config.private_umem);
    if (!umem) {
        return Error{umem.error().code, ifname + ": " + umem.error().message};
    }
    port->umem_ = std::move(umem).value();
    port->umem_->reclaim_expired();

    if (auto r = port->open_first_working(attempts.value(), config); !r) {
        return r.error();
    }
    if (requested.use_need_wakeup) {
        record_port_feature(KernelFeature::kNeedWakeup, ifname,
                            config.use_need_wakeup,
                            kernel_feature(KernelFeature::kNeedWakeup).detail);
    }
    return port;
}

std::unique_ptr<Port> Port::make_unbound(std::string ifname)
{
    return std::unique_ptr<Port>(new Port(std::move(ifname), 0));
}

// ---- Datapath --------------------------------------------------------------

int Port::queue_fd(uint32_t qid) const noexcept
{
    return qid < queues_.size() ? queues_[qid].socket->fd() : -1;
}

uint32_t Port::rx_burst(uint32_t qid, afxdp_rx_frame *frames,
                        uint32_t max) noexcept
{
    XskQueue &q = *queues_[qid].datapath;
    q.refill();
    return q.rx_burst(frames, max);
}

uint32_t Port::tx_burst(uint32_t qid, const afxdp_tx_frame *frames, uint32_t n,
                        TxSharing sharing) noexcept
{
    return queues_[qid % queues_.size()].datapath->tx_burst(frames, n, sharing);
}

// ---- Statistics and status -------------------------------------------------

Result<void> Port::queue_stats(uint32_t qid, afxdp_queue_stats *out) const
{
    if (qid >= queues_.size()) {
        return Error{EINVAL, ifname_ + ": no queue " + std::to_string(qid) +
                                 " (" + std::to_string(queues_.size()) +
                                 " queues)"};
    }
    const Queue &queue = queues_[qid];
    XskQueueStats qs = queue.datapath->stats();
    auto xs = queue.socket->statistics();
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
    out->tx_dropped_not_held = qs.tx_dropped_not_held;
    out->tx_kick_errors = qs.tx_kick_errors;
    out->tx_zero_copy = qs.tx_zero_copy;
    out->rx_multi_buffer = qs.rx_multi_buffer;
    out->rx_dropped_multi_buffer = qs.rx_dropped_multi_buffer;
    out->tx_multi_buffer = qs.tx_multi_buffer;
    out->rx_dropped = k.rx_dropped;
    out->rx_invalid_descs = k.rx_invalid_descs;
    out->tx_invalid_descs = k.tx_invalid_descs;
    out->rx_ring_full = k.rx_ring_full;
    out->rx_fill_ring_empty_descs = k.rx_fill_ring_empty_descs;
    out->tx_ring_empty_descs = k.tx_ring_empty_descs;
    out->chunks_fill = qs.chunks_fill;
    out->chunks_rx = qs.chunks_rx;
    out->chunks_tx = qs.chunks_tx;
    out->chunks_completion = qs.chunks_completion;
    return {};
}

std::string Port::take_events(afxdp_port_events *out)
{
    afxdp_port_events totals = {};
    for (const Queue &q : queues_) {
        const XskQueueStats qs = q.datapath->stats();
        totals.tx_dropped_no_chunk += qs.tx_dropped_no_chunk;
        totals.tx_dropped_ring_full += qs.tx_dropped_ring_full;
        totals.tx_dropped_bad_len += qs.tx_dropped_bad_len;
        totals.tx_dropped_not_held += qs.tx_dropped_not_held;
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

void Port::fast_path(afxdp_port_fast_path *out) const
{
    *out = afxdp_port_fast_path{};
    out->requested = fast_path_requested_;
    out->running = program_ && program_->options().fast_path;
    out->off_reason = fast_path_off_.c_str();
    out->carrier_reason = carrier_note_.c_str();
    switch (program_ ? program_->options().carrier : AFXDP_XDP_CARRIER_NONE) {
    case AFXDP_XDP_CARRIER_META: out->carrier = "xdp-metadata"; break;
    case AFXDP_XDP_CARRIER_HEAD: out->carrier = "frame-header"; break;
    default: out->carrier = "none"; break;
    }
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
    if (umem_) {
        out->chunk_size = umem_->area().chunk_size();
    }
    out->frame_headroom = kRxHeadroom;
    out->ring_size = kRingSize;
    // Last: the only step that allocates (the error message).
    if (auto queues = device_queues(ifname_)) {
        out->device_queues.current = queues.value().current;
        out->device_queues.max = queues.value().max;
    }
}

void Port::umem_stats(afxdp_umem_stats *out) const
{
    *out = afxdp_umem_stats{};
    if (!umem_) {
        return;
    }
    umem_->reclaim_expired();
    UmemStats s = umem_->stats();
    out->chunks_total = s.chunks_total;
    out->chunks_free = s.chunks_free;
    out->chunks_cached = s.chunks_cached;
    out->chunks_fill = s.chunks_fill;
    out->chunks_rx = s.chunks_rx;
    out->chunks_held = s.chunks_held;
    out->chunks_tx = s.chunks_tx;
    out->chunks_completion = s.chunks_completion;
    out->chunks_reclaiming = s.chunks_reclaiming;
    out->queues = s.queues;
    out->release_errors = s.release_errors;
    out->pool_overflows = s.pool_overflows;
    out->jumbo_total = s.jumbo_total;
    out->jumbo_free = s.jumbo_free;
    out->jumbo_held = s.jumbo_held;
}

void Port::umem_info(afxdp_umem_info *out) const
{
    *out = afxdp_umem_info{};
    if (!umem_) {
        return;
    }
    const umem::UmemArea &area = umem_->area();
    out->id = umem_->id();
    out->shared = umem_->shareable();
    out->numa_node = umem_->numa_node();
    out->size = area.size();
    out->meta_size = area.slots().memory().mapped();
    out->huge_pages = umem::page_kind_name(area.memory().kind());
    for (const Queue &q : queues_) {
        out->kernel_shared_queues += q.shares_kernel_umem;
    }
    out->note = umem_note_.c_str();
    out->main_lane = !queues_.empty() && queues_[0].main_lane;
    if (!queues_.empty()) {
        XskSocket::BusyPoll bp = queues_[0].socket->busy_poll();
        out->busy_poll_budget = bp.budget;
        out->busy_poll_usecs = bp.usecs;
        out->busy_poll_prefer = bp.prefer;
    }
}

}  // namespace afxdp::netdev
