/*
 * Device queries.  The queue count follows what OVS upstream uses: the
 * CURRENT channel configuration (ethtool -l), combined plus rx-only
 * channels, since those are the queues that actually receive.  Drivers that
 * do not implement get_channels (EOPNOTSUPP), or report none, fall back to
 * counting /sys/class/net/<dev>/queues/rx-*, which every netdev has.
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

// 0 when the driver does not tell.
uint32_t ethtool_channels(const std::string &ifname)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return 0;
    }
    struct ethtool_channels channels = {};
    channels.cmd = ETHTOOL_GCHANNELS;
    struct ifreq ifr = {};
    strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    ifr.ifr_data = reinterpret_cast<char *>(&channels);
    int rc = ioctl(fd, SIOCETHTOOL, &ifr);
    close(fd);
    return rc == 0 ? channels.combined_count + channels.rx_count : 0;
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

Result<uint32_t> device_max_queues(const std::string &ifname)
{
    if (auto idx = device_ifindex(ifname); !idx) {
        return idx.error();
    }
    if (uint32_t n = ethtool_channels(ifname)) {
        return n;
    }
    return sysfs_rx_queues(ifname);
}

}  // namespace afxdp::netdev
