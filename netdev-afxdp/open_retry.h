/*
 * When a port that failed to open for a passing reason opens again.
 *
 * A socket closed by a reconfiguration keeps its queue until the kernel's
 * deferred release runs (after an RCU grace period): a new socket bound to
 * the same queue meanwhile finds it taken.  That usually lasts milliseconds
 * but has been seen to take over a second under load.  Waiting for it
 * inside reconfigure() would hold the device mutex and freeze ovs-vswitchd's
 * main thread, so the port fails to open at once and opens again later,
 * after a delay that doubles from kFirstMs up to kLongestMs; once the
 * retries have waited kGiveUpMs in all, the failure stands (the queue is
 * then more likely held by another process than being released).
 */
#ifndef AFXDP_NETDEV_OPEN_RETRY_H
#define AFXDP_NETDEV_OPEN_RETRY_H

#include <cstdint>

namespace afxdp::netdev::open_retry {

constexpr uint32_t kFirstMs = 10;
constexpr uint32_t kLongestMs = 640;
constexpr uint32_t kGiveUpMs = 10000;

// The delay before retry number 'retry' (1 for the first), or 0 when
// retries 1..'retry' would wait more than kGiveUpMs in all.
constexpr uint32_t delay_ms(uint32_t retry)
{
    uint64_t waited = 0;
    uint32_t delay = kFirstMs;
    for (uint32_t i = 1; i <= retry; i++) {
        if (i > 1) {
            delay = delay * 2 > kLongestMs ? kLongestMs : delay * 2;
        }
        waited += delay;
        if (waited > kGiveUpMs) {
            return 0;
        }
    }
    return retry ? delay : 0;
}

}  // namespace afxdp::netdev::open_retry

#endif  // AFXDP_NETDEV_OPEN_RETRY_H
