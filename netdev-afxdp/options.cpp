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

constexpr afxdp_options kDefaults = {1, AFXDP_XDP_MODE_BEST_EFFORT, true};

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

bool operator==(const afxdp_options &a, const afxdp_options &b)
{
    return a.n_rxq == b.n_rxq && a.xdp_mode == b.xdp_mode &&
           a.use_need_wakeup == b.use_need_wakeup;
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
    return afxdp_options{n_rxq.value(), mode.value(), wakeup.value()};
}

std::string to_string(const afxdp_options &o)
{
    return "n_rxq=" + std::to_string(o.n_rxq) +
           ", xdp-mode=" + afxdp_xdp_mode_to_string(o.xdp_mode) +
           ", use-need-wakeup=" + (o.use_need_wakeup ? "true" : "false");
}

PortOptions::PortOptions(std::string ifname)
    : ifname_(std::move(ifname)), requested_(kDefaults)
{
}

PortOptions::Outcome PortOptions::update(const afxdp_option_strings &strings,
                                         std::optional<uint32_t> current_queues)
{
    auto parsed = parse_options(ifname_, strings, current_queues);
    if (!parsed) {
        return keep(parsed.error().message);
    }
    const bool changed = !(parsed.value() == requested_);
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
