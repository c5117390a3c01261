/*
 * Internal to netdev-afxdp: installing our print hooks into libbpf and
 * libxdp.  Done when a handler is set and before the first port opens, so
 * library messages are routed either way.  Idempotent.
 */
#ifndef AFXDP_NETDEV_LOG_HOOKS_H
#define AFXDP_NETDEV_LOG_HOOKS_H

namespace afxdp {

void install_library_log_hooks();

}  // namespace afxdp

#endif  // AFXDP_NETDEV_LOG_HOOKS_H
