/*
 * The options: column of an afxdp Interface: parsing, checking, and what
 * to do with a bad one.
 *
 * OVS's bridge hands the whole column to set_config on every
 * reconfiguration.  An error returned there makes the bridge delete the
 * port, try to add it again (set_config again, on a new netdev) and log
 * "could not set configuration" each time: a running port with a typo in
 * one option would log half a dozen lines and leave the datapath.  So:
 *
 *  - valid options become the request, which reconfigure applies;
 *  - invalid options on a port that already had valid ones are KEPT OUT:
 *    the last valid options stay requested (the port keeps forwarding as
 *    configured), the reason is kept for the port's status, and it is
 *    logged once per distinct reason, not on every bridge run.  Valid
 *    options clear the reason and, if they differ, reconfigure the port;
 *  - invalid options on a port that never had valid ones (a fresh
 *    add-port) are REFUSED, as OVS expects: the bridge writes the reason to
 *    the Interface's error column and does not add the port.
 *
 * Everything here is pure (the device's queue count is an input) so that
 * unit tests reach every case; the C ABI (afxdp_port_options_*) does the
 * device query and the logging.
 */
#ifndef AFXDP_NETDEV_OPTIONS_H
#define AFXDP_NETDEV_OPTIONS_H

#include <cstdint>
#include <optional>
#include <string>

#include "netdev-afxdp/afxdp.h"
#include "umem/result.h"

namespace afxdp::netdev {

// Parses 'strings' (NULL: not set, the default) and checks n_rxq against
// the queues the device has now ('current_queues', DeviceQueues::current;
// nullopt when the device could not be read: that is no reason to refuse,
// opening the port reports it, and reopens the port when the device comes
// back).  The error message names the device, the option and the value.
Result<afxdp_options> parse_options(const std::string &ifname,
                                    const afxdp_option_strings &strings,
                                    std::optional<uint32_t> current_queues);

// Whether 'a' and 'b' ask for the same port.
bool same_options(const afxdp_options &a, const afxdp_options &b);

class PortOptions {
public:
    explicit PortOptions(std::string ifname);

    enum class Verdict {
        kAccepted,  // Valid: now the request.
        kKept,      // Invalid; the last valid request stays.
        kRefused,   // Invalid, and there was never a valid one.
    };
    struct Outcome {
        Verdict verdict;
        bool changed;        // The request differs from before the update.
        std::string log;     // One error line to log now, or empty.
        std::string reason;  // Why the options were not taken, or empty.
    };
    // 'no_busy_poll': why the kernel cannot busy poll, or empty when it
    // can (KernelFeature::kBusyPoll): then a busy-poll-budget is refused
    // like any invalid option, with that reason.
    Outcome update(const afxdp_option_strings &strings,
                   std::optional<uint32_t> current_queues,
                   const std::string &no_busy_poll = {});

    const std::string &ifname() const noexcept { return ifname_; }
    // The last valid options (defaults before any).
    const afxdp_options &requested() const noexcept { return requested_; }
    // Why the options last given were not taken, or empty.
    const std::string &error() const noexcept { return error_; }

private:
    Outcome keep(const std::string &reason);

    const std::string ifname_;
    afxdp_options requested_;
    bool had_valid_ = false;
    std::string error_;
    std::string logged_;  // The reason logged last (once per reason).
};

// "n_rxq=2, xdp-mode=native, use-need-wakeup=true, shared-umem=true",
// and the busy-poll options when busy polling is on.
std::string to_string(const afxdp_options &);

}  // namespace afxdp::netdev

#endif  // AFXDP_NETDEV_OPTIONS_H
