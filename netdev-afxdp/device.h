/*
 * Device queries (control path): the ifindex of a name and the device's
 * queues.  Errors name the device.
 *
 * Two queue counts matter and they differ: the queues receiving NOW (what
 * n_rxq is checked against, since a socket on a queue that receives
 * nothing is useless) and the most the driver allows (what the XSKMAP is
 * sized to, so that `ethtool -L` raising the channel count later still
 * finds room for a socket on every queue).  One query answers both, under
 * names that say which.
 */
#ifndef AFXDP_NETDEV_DEVICE_H
#define AFXDP_NETDEV_DEVICE_H

#include <cstdint>
#include <string>

#include "umem/result.h"

namespace afxdp::netdev {

// ENODEV if there is no such device.
Result<int> device_ifindex(const std::string &ifname);

struct DeviceQueues {
    // Receiving now: combined + rx-only channels (ethtool -l "Current
    // hardware settings"), or, for a driver without channels, the rx-*
    // queues in sysfs.  Always at least 1 for an existing device.
    uint32_t current = 0;
    // The driver's maximum (ethtool -l "Pre-set maximums", combined +
    // rx-only), or 0 when the driver does not report channels.
    uint32_t max = 0;
};

// ENODEV if there is no such device.
Result<DeviceQueues> device_queues(const std::string &ifname);

// The device's MTU now (SIOCGIFMTU).
Result<uint32_t> device_mtu(const std::string &ifname);

}  // namespace afxdp::netdev

#endif  // AFXDP_NETDEV_DEVICE_H
