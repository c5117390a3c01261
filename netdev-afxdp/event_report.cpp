/*
 * EventReport: deltas of the queues' counters, and the rate limit of the
 * kick-error log line (see event_report.h).
 */
#include "netdev-afxdp/event_report.h"

namespace afxdp::netdev {

namespace {

// What 'now' adds to 'before'; all of 'now' when the counter started over.
uint64_t since(uint64_t before, uint64_t now)
{
    return now >= before ? now - before : now;
}

}  // namespace

EventReport::Taken EventReport::take(const afxdp_port_events &totals,
                                     Clock::time_point now)
{
    Taken t;
    t.since_last.tx_dropped_no_chunk =
        since(seen_.tx_dropped_no_chunk, totals.tx_dropped_no_chunk);
    t.since_last.tx_dropped_ring_full =
        since(seen_.tx_dropped_ring_full, totals.tx_dropped_ring_full);
    t.since_last.tx_dropped_bad_len =
        since(seen_.tx_dropped_bad_len, totals.tx_dropped_bad_len);
    t.since_last.tx_dropped_not_held =
        since(seen_.tx_dropped_not_held, totals.tx_dropped_not_held);
    t.since_last.tx_kick_errors =
        since(seen_.tx_kick_errors, totals.tx_kick_errors);
    seen_ = totals;

    kick_errors_unlogged_ += t.since_last.tx_kick_errors;
    if (kick_errors_unlogged_ &&
        (!last_log_ || now - *last_log_ >= kLogInterval)) {
        t.log = ifname_ + ": " + std::to_string(kick_errors_unlogged_) +
                " AF_XDP transmit kick(s) (sendto) failed since " +
                (last_log_ ? "the last report" : "the port was opened") +
                "; their frames wait on the tx ring for the next kick "
                "(statistics q<N>_tx_kick_errors say on which queue).";
        kick_errors_unlogged_ = 0;
        last_log_ = now;
    }
    return t;
}

}  // namespace afxdp::netdev
