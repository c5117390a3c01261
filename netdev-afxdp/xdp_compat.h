/*
 * Kernel AF_XDP constants newer than the headers we may build against
 * (Debian 12's linux-libc-dev predates multi-buffer AF_XDP), in one
 * place.  The values are the kernel's uapi (include/uapi/linux/if_xdp.h,
 * kernel 6.6): a kernel without the feature refuses the bind flag with
 * EINVAL and never sets the descriptor option.
 */
#ifndef AFXDP_NETDEV_XDP_COMPAT_H
#define AFXDP_NETDEV_XDP_COMPAT_H

#include <sys/socket.h>

#include <linux/if_xdp.h>

// bind() flag: the socket takes frames spanning several chunks.
#ifndef XDP_USE_SG
#define XDP_USE_SG (1 << 4)
#endif

// xdp_desc.options: the packet continues in the next descriptor.
#ifndef XDP_PKT_CONTD
#define XDP_PKT_CONTD (1 << 0)
#endif

// Socket level, family and options older libc headers lack (kernel 4.18
// for AF_XDP, 5.11 for preferred busy polling).
#ifndef SOL_XDP
#define SOL_XDP 283
#endif
#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif

#endif  // AFXDP_NETDEV_XDP_COMPAT_H
