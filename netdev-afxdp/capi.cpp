/*
 * The C ABI (afxdp.h) over the C++ core: cast, call, translate.
 *
 * This is the one place where an Error becomes a log line plus a positive
 * errno, and where exceptions (only std::bad_alloc can escape the core)
 * are stopped before they reach C.  The datapath entry points check their
 * arguments as cheaply as the contract allows and do nothing else.
 */
#include "netdev-afxdp/afxdp.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <strings.h>

#include "netdev-afxdp/device.h"
#include "netdev-afxdp/device_report.h"
#include "netdev-afxdp/kernel_features.h"
#include "netdev-afxdp/log.h"
#include "netdev-afxdp/open_retry.h"
#include "netdev-afxdp/options.h"
#include "netdev-afxdp/params.h"
#include "netdev-afxdp/port.h"
#include "umem/umem_area.h"

using afxdp::Error;
using afxdp::netdev::Port;
using afxdp::netdev::PortOptions;

namespace {

Port *cast(struct afxdp_port *p)
{
    return reinterpret_cast<Port *>(p);
}

const Port *cast(const struct afxdp_port *p)
{
    return reinterpret_cast<const Port *>(p);
}

PortOptions *cast(struct afxdp_port_options *o)
{
    return reinterpret_cast<PortOptions *>(o);
}

const PortOptions *cast(const struct afxdp_port_options *o)
{
    return reinterpret_cast<const PortOptions *>(o);
}

int fail(const Error &e)
{
    afxdp::log(AFXDP_LOG_ERR, "%s", e.message.c_str());
    return e.code ? e.code : EINVAL;
}

struct ModeName {
    enum afxdp_xdp_mode mode;
    const char *name;
};

constexpr ModeName kModeNames[] = {
    {AFXDP_XDP_MODE_BEST_EFFORT, "best-effort"},
    {AFXDP_XDP_MODE_NATIVE_ZC, "native-with-zerocopy"},
    {AFXDP_XDP_MODE_NATIVE, "native"},
    {AFXDP_XDP_MODE_GENERIC, "generic"},
};

}  // namespace

extern "C" {

int afxdp_kernel_feature_get(size_t i, struct afxdp_kernel_feature *out)
{
    using afxdp::netdev::KernelFeature;
    if (i >= afxdp::netdev::kKernelFeatureCount) {
        return ENOENT;
    }
    try {
        auto f = static_cast<KernelFeature>(i);
        const auto &probe = afxdp::netdev::kernel_feature(f);
        out->name = afxdp::netdev::kernel_feature_name(f);
        out->available = probe.available;
        out->detail = probe.detail.c_str();
        out->fallback = afxdp::netdev::kernel_feature_fallback(f);
        return 0;
    } catch (const std::bad_alloc &) {
        return ENOMEM;
    }
}

char *afxdp_kernel_features_summary(void)
{
    try {
        using namespace afxdp::netdev;
        const char *disabled = std::getenv("AFXDP_DISABLE_FEATURES");
        for (const std::string &name : unknown_feature_names(disabled)) {
            afxdp::log(AFXDP_LOG_WARN,
                       "AFXDP_DISABLE_FEATURES: no kernel feature is "
                       "called \"%s\"",
                       name.c_str());
        }
        std::string s =
            features_summary(kernel_release(), kernel_feature_table());
        return strdup(s.c_str());
    } catch (const std::bad_alloc &) {
        return nullptr;
    }
}

char *afxdp_kernel_features_show(void)
{
    try {
        using namespace afxdp::netdev;
        std::string s = features_show(kernel_release(), kernel_feature_table());
        return strdup(s.c_str());
    } catch (const std::bad_alloc &) {
        return nullptr;
    }
}

const char *afxdp_xdp_mode_to_string(enum afxdp_xdp_mode mode)
{
    for (const ModeName &m : kModeNames) {
        if (m.mode == mode) {
            return m.name;
        }
    }
    return "unknown";
}

int afxdp_xdp_mode_from_string(const char *name, enum afxdp_xdp_mode *mode)
{
    if (name) {
        for (const ModeName &m : kModeNames) {
            if (!strcasecmp(name, m.name)) {
                *mode = m.mode;
                return 0;
            }
        }
    }
    return EINVAL;
}

struct afxdp_port_options *afxdp_port_options_create(const char *ifname)
{
    return reinterpret_cast<struct afxdp_port_options *>(
        new PortOptions(ifname ? ifname : ""));
}

void afxdp_port_options_destroy(struct afxdp_port_options *options)
{
    delete cast(options);
}

int afxdp_port_options_update(struct afxdp_port_options *options,
                              const struct afxdp_option_strings *strings,
                              bool *changed, char **reason)
{
    *changed = false;
    *reason = nullptr;
    try {
        PortOptions *o = cast(options);
        auto queues = afxdp::netdev::device_queues(o->ifname());
        std::optional<uint32_t> current;
        if (queues) {
            current = queues.value().current;
        }
        // Only a budget asks for busy polling: probe the kernel then.
        std::string no_busy_poll;
        if (strings->busy_poll_budget) {
            const auto &bp = afxdp::netdev::kernel_feature(
                afxdp::netdev::KernelFeature::kBusyPoll);
            no_busy_poll = bp.available ? "" : bp.detail;
        }
        auto outcome = o->update(*strings, current, no_busy_poll);
        *changed = outcome.changed;
        if (!outcome.log.empty()) {
            afxdp::log(AFXDP_LOG_ERR, "%s", outcome.log.c_str());
        }
        if (outcome.verdict == PortOptions::Verdict::kRefused) {
            *reason = strdup(outcome.reason.c_str());
            return EINVAL;
        }
        return 0;
    } catch (const std::bad_alloc &) {
        return ENOMEM;
    }
}

void afxdp_port_options_requested(const struct afxdp_port_options *options,
                                  struct afxdp_options *out)
{
    *out = cast(options)->requested();
}

bool afxdp_options_equal(const struct afxdp_options *a,
                         const struct afxdp_options *b)
{
    return afxdp::netdev::same_options(*a, *b);
}

const char *afxdp_port_options_error(const struct afxdp_port_options *options)
{
    const std::string &e = cast(options)->error();
    return e.empty() ? nullptr : e.c_str();
}

int afxdp_port_open(const struct afxdp_port_config *config,
                    struct afxdp_port **portp)
{
    if (!config || !portp || !config->ifname) {
        return fail(Error{EINVAL, "afxdp_port_open: missing device name"});
    }
    try {
        auto port = Port::open(*config);
        if (!port) {
            return fail(port.error());
        }
        *portp = reinterpret_cast<struct afxdp_port *>(
            std::move(port).value().release());
        return 0;
    } catch (const std::bad_alloc &) {
        return fail(
            Error{ENOMEM, std::string(config->ifname) + ": out of memory"});
    }
}

char *afxdp_port_open_error(const struct afxdp_port_config *config,
                            const char *cause, int error)
{
    try {
        std::string text = afxdp::netdev::open_error_text(
            config->ifname ? config->ifname : "", config->xdp_mode,
            config->n_queues, cause ? cause : std::strerror(error));
        return strdup(text.c_str());
    } catch (const std::bad_alloc &) {
        return nullptr;
    }
}

void afxdp_port_close(struct afxdp_port *port)
{
    delete cast(port);
}

void afxdp_port_detach_xdp(struct afxdp_port *port)
{
    if (port) {
        cast(port)->detach_xdp();
    }
}

enum afxdp_xdp_mode afxdp_port_xdp_mode(const struct afxdp_port *port)
{
    return cast(port)->mode();
}

uint32_t afxdp_port_n_queues(const struct afxdp_port *port)
{
    return cast(port)->n_queues();
}

void afxdp_port_get_info(const struct afxdp_port *port,
                         struct afxdp_port_info *info)
{
    try {
        cast(port)->info(info);
    } catch (const std::bad_alloc &) {
        // Everything but the device's queue counts is filled in.
    }
}

void afxdp_port_get_fast_path(const struct afxdp_port *port,
                              struct afxdp_port_fast_path *out)
{
    cast(port)->fast_path(out);
}

int afxdp_port_queue_fd(const struct afxdp_port *port, uint32_t qid)
{
    return cast(port)->queue_fd(qid);
}

int afxdp_device_get_queues(const char *ifname, struct afxdp_device_queues *out)
{
    try {
        auto q = afxdp::netdev::device_queues(ifname ? ifname : "");
        if (!q) {
            // A query, not an operation that failed: the caller decides
            // whether a missing device is worth a log line.
            return q.error().code;
        }
        out->current = q.value().current;
        out->max = q.value().max;
        return 0;
    } catch (const std::bad_alloc &) {
        return ENOMEM;
    }
}

int afxdp_device_ifindex(const char *ifname)
{
    auto ifindex = afxdp::netdev::device_ifindex(ifname ? ifname : "");
    return ifindex ? ifindex.value() : 0;
}

bool afxdp_device_replaced(const char *ifname, int ifindex)
{
    return afxdp_device_ifindex(ifname) != ifindex;
}

uint32_t afxdp_open_retry_delay_ms(uint32_t retry)
{
    return afxdp::netdev::open_retry::delay_ms(retry);
}

uint32_t afxdp_max_frame_len(void)
{
    return afxdp::netdev::kMaxFrameLen;
}

uint32_t afxdp_max_mtu_multi_buffer(void)
{
    return afxdp::netdev::kMaxMtuMultiBuffer;
}

uint32_t afxdp_max_mtu_single_buffer(void)
{
    return afxdp::netdev::kMaxFrameLen - afxdp::netdev::kVlanEthHeader;
}

uint32_t afxdp_port_max_mtu(const struct afxdp_port *port, const char **reason)
{
    *reason = cast(port)->max_mtu_reason().c_str();
    return cast(port)->max_mtu();
}

char *afxdp_port_mtu_error(const struct afxdp_port *port)
{
    try {
        std::string e = cast(port)->mtu_error();
        return e.empty() ? nullptr : strdup(e.c_str());
    } catch (const std::bad_alloc &) {
        return nullptr;
    }
}

uint32_t afxdp_frame_headroom(void)
{
    return afxdp::netdev::kRxHeadroom;
}

uint32_t afxdp_rx_burst(struct afxdp_port *port, uint32_t qid,
                        struct afxdp_rx_frame *frames, uint32_t max)
{
    Port *p = cast(port);
    if (qid >= p->n_queues()) {
        return 0;
    }
    return p->rx_burst(qid, frames, max);
}

uint32_t afxdp_tx_burst(struct afxdp_port *port, uint32_t qid,
                        const struct afxdp_tx_frame *frames, uint32_t n,
                        enum afxdp_txq_sharing sharing)
{
    Port *p = cast(port);
    if (!p->n_queues()) {
        // No socket to send on, yet the frames with a 'meta' are ours.
        for (uint32_t i = 0; i < n; i++) {
            if (frames[i].meta) {
                afxdp::umem::UmemArea::release(frames[i].meta);
            }
        }
        return 0;
    }
    using afxdp::netdev::TxSharing;
    TxSharing s = sharing == AFXDP_TXQ_SHARED ? TxSharing::kShared
                  : sharing == AFXDP_TXQ_SHARED_NONPMD
                      ? TxSharing::kSharedNonPmd
                      : TxSharing::kExclusive;
    return p->tx_burst(qid, frames, n, s);
}

void afxdp_frame_release(void *meta)
{
    afxdp::umem::UmemArea::release(meta);
}

void afxdp_frame_release_batch(void *const *metas, uint32_t n)
{
    afxdp::umem::UmemArea::release_batch(metas, n);
}

int afxdp_port_queue_stats(const struct afxdp_port *port, uint32_t qid,
                           struct afxdp_queue_stats *stats)
{
    if (!port || !stats) {
        return EINVAL;
    }
    try {
        auto r = cast(port)->queue_stats(qid, stats);
        return r ? 0 : fail(r.error());
    } catch (const std::bad_alloc &) {
        return ENOMEM;
    }
}

void afxdp_port_take_events(struct afxdp_port *port,
                            struct afxdp_port_events *events)
{
    *events = afxdp_port_events{};
    try {
        std::string log = cast(port)->take_events(events);
        if (!log.empty()) {
            afxdp::log(AFXDP_LOG_WARN, "%s", log.c_str());
        }
    } catch (const std::bad_alloc &) {
        // The counts are taken; only the message is lost.
    }
}

void afxdp_port_traffic(const struct afxdp_port *port,
                        struct afxdp_traffic *out)
{
    *out = cast(port)->traffic();
}

void afxdp_merge_traffic(const struct afxdp_traffic *kernel,
                         const struct afxdp_traffic *sockets,
                         const struct afxdp_traffic *fast_path,
                         struct afxdp_traffic *out)
{
    *out = afxdp::netdev::merge_traffic(*kernel, sockets, fast_path);
}

void afxdp_port_umem_stats(const struct afxdp_port *port,
                           struct afxdp_umem_stats *stats)
{
    cast(port)->umem_stats(stats);
}

void afxdp_port_umem_info(const struct afxdp_port *port,
                          struct afxdp_umem_info *info)
{
    cast(port)->umem_info(info);
}

}  // extern "C"
