/*
 * Kernel AF_XDP constants newer than the headers we may build against
 * (Debian 12's linux-libc-dev predates multi-buffer AF_XDP), in one
 * place.  The values are the kernel's uapi (include/uapi/linux/if_xdp.h,
 * kernel 6.6): a kernel without the feature refuses the bind flag with
 * EINVAL and never sets the descriptor option.
 */
#ifndef AFXDP_NETDEV_XDP_COMPAT_H
#define AFXDP_NETDEV_XDP_COMPAT_H

#include <linux/if_xdp.h>

// bind() flag: the socket takes frames spanning several chunks.
#ifndef XDP_USE_SG
#define XDP_USE_SG (1 << 4)
#endif

// xdp_desc.options: the packet continues in the next descriptor.
#ifndef XDP_PKT_CONTD
#define XDP_PKT_CONTD (1 << 0)
#endif

#endif  // AFXDP_NETDEV_XDP_COMPAT_H
