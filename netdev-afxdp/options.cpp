/*
 * Options: parsing and the keep-or-refuse policy (see options.h).  The
 * messages keep the wording of OVS's own provider ("Too big 'n_rxq'",
 * "Incorrect xdp-mode"), which OVS's test suite and users' log filters
 * look for.
 */
#include "netdev-afxdp/options.h"

#include <strings.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace afxdp::netdev {

namespace {

constexpr afxdp_options kDefaults = {
    .n_rxq = 1,
    .xdp_mode = AFXDP_XDP_MODE_BEST_EFFORT,
    .use_need_wakeup = true,
    .shared_umem = true,
    .busy_poll_budget = 0,
    .busy_poll_usecs = 20,
    .multi_buffer = true,
};

Error invalid(const std::string &ifname, const std::string &text)
{
    return Error{EINVAL, ifname + ": " + text};
}

// n_rxq: a positive integer, at most the queues the device has now.
Result<uint32_t> parse_n_rxq(const std::string &ifname, const char *s,
                             std::optional<uint32_t> queues)
{
    if (!s) {
        return kDefaults.n_rxq;
    }
    const char *end = s + std::strlen(s);
    uint64_t n = 0;
    auto [ptr, ec] = std::from_chars(s, end, n);
    const bool too_long = ec == std::errc::result_out_of_range;
    if ((ec != std::errc() && !too_long) || ptr != end || (!too_long && !n)) {
        return invalid(ifname, std::string("Invalid 'n_rxq' (") + s +
                                   "): must be a positive integer.");
    }
    // A device we cannot read is checked when the port is opened.
    if (queues && (too_long || n > *queues)) {
        return invalid(ifname, std::string("Too big 'n_rxq' (") + s + " > " +
                                   std::to_string(*queues) + ").");
    }
    if (too_long || n > UINT32_MAX) {
        return invalid(ifname, std::string("Too big 'n_rxq' (") + s + ").");
    }
    return uint32_t(n);
}

Result<afxdp_xdp_mode> parse_xdp_mode(const std::string &ifname, const char *s)
{
    afxdp_xdp_mode mode = kDefaults.xdp_mode;
    if (s && afxdp_xdp_mode_from_string(s, &mode)) {
        return invalid(ifname, std::string("Incorrect xdp-mode (") + s + ").");
    }
    return mode;
}

// Like OVS's smap_get_bool(), case-insensitive, but a value that is
// neither true nor false is an error rather than the default.
Result<bool> parse_bool(const std::string &ifname, const char *key,
                        const char *s, bool def)
{
    if (!s) {
        return def;
    }
    if (!strcasecmp(s, "true")) {
        return true;
    }
    if (!strcasecmp(s, "false")) {
        return false;
    }
    return invalid(ifname, std::string("Invalid '") + key + "' (" + s +
                               "): must be true or false.");
}

// An integer from 'min' to 'max', the whole string.
Result<uint32_t> parse_uint(const std::string &ifname, const char *key,
                            const char *s, uint32_t def, uint32_t min,
                            uint32_t max, const char *expected)
{
    if (!s) {
        return def;
    }
    const char *end = s + std::strlen(s);
    uint64_t n = 0;
    auto [ptr, ec] = std::from_chars(s, end, n);
    if (ec != std::errc() || ptr != end || n < min || n > max) {
        return invalid(ifname, std::string("Invalid '") + key + "' (" + s +
                                   "): must be " + expected + ".");
    }
    return uint32_t(n);
}

}  // namespace

Result<afxdp_options> parse_options(const std::string &ifname,
                                    const afxdp_option_strings &strings,
                                    std::optional<uint32_t> current_queues)
{
    auto n_rxq = parse_n_rxq(ifname, strings.n_rxq, current_queues);
    if (!n_rxq) {
        return n_rxq.error();
    }
    auto mode = parse_xdp_mode(ifname, strings.xdp_mode);
    if (!mode) {
        return mode.error();
    }
    auto wakeup = parse_bool(ifname, "use-need-wakeup", strings.use_need_wakeup,
                             kDefaults.use_need_wakeup);
    if (!wakeup) {
        return wakeup.error();
    }
    auto shared = parse_bool(ifname, "shared-umem", strings.shared_umem,
                             kDefaults.shared_umem);
    if (!shared) {
        return shared.error();
    }
    auto budget =
        parse_uint(ifname, "busy-poll-budget", strings.busy_poll_budget,
                   kDefaults.busy_poll_budget, 0, 65535,
                   "an integer from 0 (off) to 65535");
    if (!budget) {
        return budget.error();
    }
    auto usecs = parse_uint(ifname, "busy-poll-usecs", strings.busy_poll_usecs,
                            kDefaults.busy_poll_usecs, 1, INT32_MAX,
                            "a positive integer");
    if (!usecs) {
        return usecs.error();
    }
    auto multi = parse_bool(ifname, "multi-buffer", strings.multi_buffer,
                            kDefaults.multi_buffer);
    if (!multi) {
        return multi.error();
    }
    return afxdp_options{
        .n_rxq = n_rxq.value(),
        .xdp_mode = mode.value(),
        .use_need_wakeup = wakeup.value(),
        .shared_umem = shared.value(),
        .busy_poll_budget = budget.value(),
        .busy_poll_usecs = usecs.value(),
        .multi_buffer = multi.value(),
    };
}

bool same_options(const afxdp_options &a, const afxdp_options &b)
{
    return a.n_rxq == b.n_rxq && a.xdp_mode == b.xdp_mode &&
           a.use_need_wakeup == b.use_need_wakeup &&
           a.shared_umem == b.shared_umem &&
           a.busy_poll_budget == b.busy_poll_budget &&
           a.busy_poll_usecs == b.busy_poll_usecs &&
           a.multi_buffer == b.multi_buffer;
}

std::string to_string(const afxdp_options &o)
{
    std::string s =
        "n_rxq=" + std::to_string(o.n_rxq) +
        ", xdp-mode=" + afxdp_xdp_mode_to_string(o.xdp_mode) +
        ", use-need-wakeup=" + (o.use_need_wakeup ? "true" : "false") +
        ", shared-umem=" + (o.shared_umem ? "true" : "false");
    if (o.busy_poll_budget) {
        s += ", busy-poll-budget=" + std::to_string(o.busy_poll_budget) +
             ", busy-poll-usecs=" + std::to_string(o.busy_poll_usecs);
    }
    if (!o.multi_buffer) {
        s += ", multi-buffer=false";  // Only when not the default.
    }
    return s;
}

PortOptions::PortOptions(std::string ifname)
    : ifname_(std::move(ifname)), requested_(kDefaults)
{
}

PortOptions::Outcome PortOptions::update(const afxdp_option_strings &strings,
                                         std::optional<uint32_t> current_queues,
                                         const std::string &no_busy_poll)
{
    auto parsed = parse_options(ifname_, strings, current_queues);
    if (!parsed) {
        return keep(parsed.error().message);
    }
    if (parsed.value().busy_poll_budget && !no_busy_poll.empty()) {
        return keep(ifname_ + ": 'busy-poll-budget' (" +
                    std::to_string(parsed.value().busy_poll_budget) +
                    ") refused: the kernel cannot busy poll sockets (" +
                    no_busy_poll + ").");
    }
    const bool changed = !same_options(parsed.value(), requested_);
    requested_ = parsed.value();
    had_valid_ = true;
    error_.clear();
    logged_.clear();  // The same mistake made again is news again.
    return Outcome{Verdict::kAccepted, changed, {}, {}};
}

PortOptions::Outcome PortOptions::keep(const std::string &reason)
{
    if (!had_valid_) {
        // A fresh port: OVS logs and reports the refusal on its own terms
        // (the error column); each attempt is a new netdev, so there is no
        // repetition to suppress here.
        return Outcome{Verdict::kRefused, false, reason, reason};
    }
    error_ = reason;
    std::string log;
    if (reason != logged_) {
        logged_ = reason;
        log = reason + " Keeping the last valid options (" +
              to_string(requested_) + ") until this is corrected.";
    }
    return Outcome{Verdict::kKept, false, log, reason};
}

}  // namespace afxdp::netdev
