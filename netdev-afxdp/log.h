/*
 * The core's log: one printf-style entry point that forwards to the handler
 * installed with afxdp_set_log_handler() (dpif/ routes it into OVS's vlog),
 * or to stderr before one is installed.  libbpf's and libxdp's own messages
 * are routed here too, so everything lands in ovs-vswitchd.log.
 *
 * Never call it from the hot path: rates there are reported by counters.
 */
#ifndef AFXDP_NETDEV_LOG_H
#define AFXDP_NETDEV_LOG_H

#include "netdev-afxdp/afxdp.h"

namespace afxdp {

void log(afxdp_log_level level, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

}  // namespace afxdp

#endif  // AFXDP_NETDEV_LOG_H
