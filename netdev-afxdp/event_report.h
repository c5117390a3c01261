/*
 * EventReport: the datapath's drops and errors, reported from the control
 * path.
 *
 * The hot path only counts: each queue keeps ever-growing per-reason
 * counters (XskQueueStats: a relaxed add per burst, nothing per packet)
 * and never logs, since a log line costs microseconds and a misbehaving
 * device could ask for one per burst.  Whoever reads the port's
 * statistics (the glue, every stats-update-interval) calls take(), which
 *  - returns what was counted since the previous call, for OVS's coverage
 *    counters (which add up per-thread deltas), and
 *  - returns a log line for kick errors (a failed sendto() wakeup: the
 *    frames stay on the tx ring until a later kick gets through) at most
 *    once per kLogInterval, summing everything counted meanwhile, so a
 *    storm gives one line a minute and a single error is still reported.
 * The clock is an argument, so unit tests drive it.  One caller at a time
 * (the glue holds the netdev's mutex).
 */
#ifndef AFXDP_NETDEV_EVENT_REPORT_H
#define AFXDP_NETDEV_EVENT_REPORT_H

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "netdev-afxdp/afxdp.h"

namespace afxdp::netdev {

class EventReport {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr Clock::duration kLogInterval = std::chrono::seconds(60);

    explicit EventReport(std::string ifname) : ifname_(std::move(ifname)) {}

    struct Taken {
        afxdp_port_events since_last;  // For coverage counters.
        std::string log;               // A WARN line to log now, or empty.
    };
    // 'totals': the counters summed over the port's queues, as they are
    // now.  A total below the previous one (the counters started over)
    // counts as all new.
    Taken take(const afxdp_port_events &totals, Clock::time_point now);

private:
    const std::string ifname_;
    afxdp_port_events seen_ = {};
    uint64_t kick_errors_unlogged_ = 0;
    std::optional<Clock::time_point> last_log_;
};

}  // namespace afxdp::netdev

#endif  // AFXDP_NETDEV_EVENT_REPORT_H
