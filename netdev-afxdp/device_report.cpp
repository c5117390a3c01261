/*
 * The device statistics merge and the open-failure text (see device_report.h).
 */
#include "netdev-afxdp/device_report.h"

#include <algorithm>

namespace afxdp::netdev {

afxdp_traffic merge_traffic(const afxdp_traffic &kernel,
                            const afxdp_traffic *sockets,
                            const afxdp_traffic *fast_path)
{
    afxdp_traffic out = kernel;
    if (!sockets) {
        return out;
    }
    const afxdp_traffic fast = fast_path ? *fast_path : afxdp_traffic{};
    out.rx_packets = sockets->rx_packets + fast.rx_packets;
    out.rx_bytes = sockets->rx_bytes + fast.rx_bytes;
    out.tx_packets = sockets->tx_packets + fast.tx_packets;
    out.tx_bytes = sockets->tx_bytes + fast.tx_bytes;
    out.rx_dropped = std::max(kernel.rx_dropped, sockets->rx_dropped);
    out.tx_dropped = kernel.tx_dropped + sockets->tx_dropped;
    return out;
}

std::string open_error_text(const std::string &ifname, afxdp_xdp_mode mode,
                            uint32_t n_queues, const std::string &cause)
{
    const std::string prefix = ifname + ": ";
    const bool named = !ifname.empty() && cause.rfind(prefix, 0) == 0;
    return std::string("cannot open AF_XDP sockets with xdp-mode=") +
           afxdp_xdp_mode_to_string(mode) +
           ", n_rxq=" + std::to_string(n_queues) + ": " +
           (named ? cause.substr(prefix.size()) : cause);
}

}  // namespace afxdp::netdev
