/*
 * Device queries.  The queue counts come from ETHTOOL_GCHANNELS: the
 * current count follows what OVS upstream uses (combined plus rx-only
 * channels, since those are the queues that actually receive), the maximum
 * is the driver's pre-set limit.  Drivers that do not implement
 * get_channels (EOPNOTSUPP), or report no current channel, fall back to
 * counting /sys/class/net/<dev>/queues/rx-*, which every netdev has; they
 * have no known maximum.
 */
#include "netdev-afxdp/device.h"

#include <dirent.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace afxdp::netdev {

namespace {

// All zero when the driver does not tell.
struct ethtool_channels ethtool_channels_of(const std::string &ifname)
{
    struct ethtool_channels channels = {};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return channels;
    }
    channels.cmd = ETHTOOL_GCHANNELS;
    struct ifreq ifr = {};
    strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    ifr.ifr_data = reinterpret_cast<char *>(&channels);
    int rc = ioctl(fd, SIOCETHTOOL, &ifr);
    close(fd);
    if (rc != 0) {
        channels = {};
    }
    return channels;
}

Result<uint32_t> sysfs_rx_queues(const std::string &ifname)
{
    std::string path = "/sys/class/net/" + ifname + "/queues";
    DIR *dir = opendir(path.c_str());
    if (!dir) {
        int err = errno;
        return Error{err == ENOENT ? ENODEV : err,
                     ifname + ": cannot count queues in " + path + ": " +
                         strerror(err)};
    }
    uint32_t n = 0;
    while (const struct dirent *e = readdir(dir)) {
        if (!strncmp(e->d_name, "rx-", 3)) {
            n++;
        }
    }
    closedir(dir);
    return n;
}

}  // namespace

Result<int> device_ifindex(const std::string &ifname)
{
    if (ifname.empty() || ifname.size() >= IFNAMSIZ) {
        return Error{ENODEV, "'" + ifname + "': invalid device name"};
    }
    unsigned ifindex = if_nametoindex(ifname.c_str());
    if (!ifindex) {
        int err = errno == ENXIO ? ENODEV : errno;
        return Error{err, ifname + ": no such device: " + strerror(err)};
    }
    return int(ifindex);
}

Result<DeviceQueues> device_queues(const std::string &ifname)
{
    if (auto idx = device_ifindex(ifname); !idx) {
        return idx.error();
    }
    const struct ethtool_channels ch = ethtool_channels_of(ifname);
    DeviceQueues queues;
    queues.current = ch.combined_count + ch.rx_count;
    queues.max = ch.max_combined + ch.max_rx;
    if (!queues.current) {
        auto n = sysfs_rx_queues(ifname);
        if (!n) {
            return n.error();
        }
        queues.current = n.value();
    }
    return queues;
}

Result<uint32_t> device_mtu(const std::string &ifname)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return Error{errno, ifname + ": socket: " + strerror(errno)};
    }
    struct ifreq ifr = {};
    strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    int rc = ioctl(fd, SIOCGIFMTU, &ifr);
    int err = errno;
    close(fd);
    if (rc != 0) {
        return Error{err, ifname + ": SIOCGIFMTU: " + strerror(err)};
    }
    return uint32_t(ifr.ifr_mtu);
}

}  // namespace afxdp::netdev
