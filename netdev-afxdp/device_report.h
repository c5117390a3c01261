/*
 * What a port reports to OVS besides its own counters: the device's
 * traffic statistics, merged from the kernel's counters, the sockets' and
 * the XDP fast path's, and the status text of a failed open.  Pure
 * functions, so that unit tests pin the policy down; the glue only fills
 * the inputs in and copies the outputs out.
 *
 * The merge, and why:
 *  - packets and bytes are what crossed the sockets plus what the fast
 *    path forwarded: in native XDP mode many drivers (veth among them) do
 *    not count frames redirected to AF_XDP as received, so the kernel's
 *    counters would undercount.  A port without sockets shows the
 *    kernel's.
 *  - rx_dropped is the LARGER of the kernel's and the sockets' (frames the
 *    socket could not take: no fill buffer, rx ring full): some drivers
 *    count such a failed redirect as their own rx drop (veth counts every
 *    one) and some do not, so the larger counts each drop once either way.
 *  - tx_dropped is the kernel's plus the frames the port could not queue:
 *    those never reached the kernel.
 */
#ifndef AFXDP_NETDEV_DEVICE_REPORT_H
#define AFXDP_NETDEV_DEVICE_REPORT_H

#include <string>

#include "netdev-afxdp/afxdp.h"

namespace afxdp::netdev {

// 'sockets' and 'fast_path' may be null: no socket open, no fast path.
afxdp_traffic merge_traffic(const afxdp_traffic &kernel,
                            const afxdp_traffic *sockets,
                            const afxdp_traffic *fast_path);

// "cannot open AF_XDP sockets with xdp-mode=M, n_rxq=N: <cause>", where
// 'cause' loses a leading "<ifname>: " (the status and the log line that
// carry it already name the device).
std::string open_error_text(const std::string &ifname, afxdp_xdp_mode mode,
                            uint32_t n_queues, const std::string &cause);

}  // namespace afxdp::netdev

#endif  // AFXDP_NETDEV_DEVICE_REPORT_H
