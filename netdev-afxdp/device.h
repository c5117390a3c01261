/*
 * Device queries (control path): the ifindex of a name and the number of
 * queues a device offers.  Errors name the device.
 */
#ifndef AFXDP_NETDEV_DEVICE_H
#define AFXDP_NETDEV_DEVICE_H

#include <cstdint>
#include <string>

#include "common/result.h"

namespace afxdp::netdev {

// ENODEV if there is no such device.
Result<int> device_ifindex(const std::string &ifname);

// The device's current channel count (combined + rx) from ETHTOOL_GCHANNELS,
// or, where the driver does not report channels, the rx-* queues in sysfs.
Result<uint32_t> device_max_queues(const std::string &ifname);

}  // namespace afxdp::netdev

#endif  // AFXDP_NETDEV_DEVICE_H
