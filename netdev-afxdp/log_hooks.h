/*
 * Internal to netdev-afxdp: installing our print hooks into libbpf and
 * libxdp.  Done when a handler is set and before the first port opens, so
 * library messages are routed either way.  Idempotent.  And keeping those
 * messages down to DBG while a kernel feature probe runs.
 */
#ifndef AFXDP_NETDEV_LOG_HOOKS_H
#define AFXDP_NETDEV_LOG_HOOKS_H

namespace afxdp {

void install_library_log_hooks();

// While one lives, libbpf's and libxdp's messages on this thread are
// logged at DBG whatever their level: a kernel feature probe expects some
// of its loads and calls to fail, and the failure is its answer, not a
// warning.  Nests.
class QuietLibraryLog {
public:
    QuietLibraryLog() noexcept;
    ~QuietLibraryLog();
    QuietLibraryLog(const QuietLibraryLog &) = delete;
    QuietLibraryLog &operator=(const QuietLibraryLog &) = delete;
};

}  // namespace afxdp

#endif  // AFXDP_NETDEV_LOG_HOOKS_H
