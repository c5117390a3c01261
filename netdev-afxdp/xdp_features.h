/*
 * XdpFeatures: what a device's driver can do with XDP frames right now,
 * from the kernel's "netdev" generic netlink family (kernel 6.3+), and a
 * watch on its change notifications.
 *
 * Part of the core: ports read NETDEV_XDP_ACT_RX_SG before binding
 * multi-buffer sockets, KernelFeatures probes the family, and the fast
 * path (offload/, which may include core headers, never the reverse)
 * watches NETDEV_XDP_ACT_NDO_XMIT.
 *
 * The fast path needs one bit: NETDEV_XDP_ACT_NDO_XMIT, whether the device
 * accepts frames redirected to it from another device's native XDP
 * program.  It is not constant: a veth accepts them only while its peer has
 * an XDP program or GRO (drivers/net/veth.c, veth_set_xdp_features() and
 * friends), and the devmap refuses redirects to a device without it
 * (kernel/bpf/devmap.c, is_valid_dst()): those frames are dropped.  The
 * kernel multicasts NETDEV_CMD_DEV_CHANGE_NTF on the "mgmt" group of the
 * device's network namespace whenever the bits change.
 *
 * Debian 12's kernel headers predate the family, so its numbers are
 * defined here (include/uapi/linux/netdev.h of 6.3+).  Family and group
 * ids are looked up by name.
 */
#ifndef AFXDP_NETDEV_XDP_FEATURES_H
#define AFXDP_NETDEV_XDP_FEATURES_H

#include <cstdint>
#include <functional>

#include "umem/result.h"

namespace afxdp::netdev {

inline constexpr uint64_t kXdpActNdoXmit = 1u << 2;  // NETDEV_XDP_ACT_NDO_XMIT
inline constexpr uint64_t kXdpActRxSg = 1u << 5;     // NETDEV_XDP_ACT_RX_SG

// A netlink socket of the netdev family, in this process's namespace.
class XdpFeatures {
public:
    // ENOENT when the kernel has no netdev family, or when
    // AFXDP_DISABLE_FEATURES names xdp-features-netlink.
    static Result<XdpFeatures> open();

    XdpFeatures(XdpFeatures &&) noexcept;
    XdpFeatures &operator=(XdpFeatures &&) noexcept;
    XdpFeatures(const XdpFeatures &) = delete;
    XdpFeatures &operator=(const XdpFeatures &) = delete;
    ~XdpFeatures();

    // The NETDEV_XDP_ACT_* bits of 'ifindex' now.
    Result<uint64_t> query(int ifindex);

    // Joins the "mgmt" multicast group: from now on, readable() on fd()
    // means notifications are waiting for drain().
    Result<void> subscribe();
    int fd() const noexcept { return fd_; }

    // Reads every waiting notification (never blocks) and calls 'fn'
    // with (ifindex, features) for each device change.  ENOBUFS means
    // some were lost: query the devices again.
    Result<void> drain(const std::function<void(int, uint64_t)> &fn);

private:
    XdpFeatures(int fd, uint16_t family, uint32_t mgmt_group) noexcept;

    int fd_ = -1;
    uint16_t family_ = 0;
    uint32_t mgmt_group_ = 0;
    uint32_t seq_ = 0;
};

}  // namespace afxdp::netdev

#endif  // AFXDP_NETDEV_XDP_FEATURES_H
