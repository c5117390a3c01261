/*
 * KernelFeatures: what this kernel can do for us, probed, never assumed.
 *
 * Kernels differ in more than their version: a cloud or hardened build may
 * switch off a BPF helper (this project met a 6.18 build whose verifier
 * refuses bpf_xdp_adjust_meta in XDP programs) or a BPF_PROG_RUN mode
 * (live frames), and drivers differ in what they keep (XDP metadata,
 * multi-buffer, zero-copy).  So every feature the provider, the fast path,
 * the generator and the tests rely on is probed, once per process for
 * what is the kernel's, and recorded per port, as it is first tried, for
 * what depends on the driver.  Each user of a feature asks here and takes
 * its own fallback when the answer is no; status, afxdp/show and one INFO
 * line at start-up say what the kernel has and what is done instead.
 *
 * The probes touch no device of the host: programs are loaded and run
 * with BPF_PROG_RUN on the caller's loopback with a program that drops,
 * socket options are set on sockets bound nowhere, socket bind flags are
 * told apart by the errno of a bind to no device (the kernel checks the
 * flags first), and the one probe that must attach something (xdp-link)
 * does it in a network namespace of its own, made and gone in a thread.
 * Probes are control path only and run once; libbpf's messages during a
 * probe are logged at DBG (an expected refusal is no warning).
 *
 * Tests force a fallback on a kernel that has the feature: the environment
 * variable AFXDP_DISABLE_FEATURES (a comma-separated list of feature names
 * as kernel_feature_name() gives them) makes those features answer no,
 * with the reason "disabled by AFXDP_DISABLE_FEATURES".
 */
#ifndef AFXDP_NETDEV_KERNEL_FEATURES_H
#define AFXDP_NETDEV_KERNEL_FEATURES_H

#include <cstddef>
#include <string>
#include <vector>

namespace afxdp::netdev {

enum class KernelFeature {
    kXdpAdjustMeta,       // bpf_xdp_adjust_meta() in XDP programs.
    kLiveFrames,          // BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES.
    kXdpMultiBuffer,      // AF_XDP bind flag XDP_USE_SG (6.6).
    kSharedUmem,          // XDP_SHARED_UMEM across queues and devices (5.10).
    kXdpFeaturesNetlink,  // The "netdev" generic netlink family (6.3).
    kDevmap,              // BPF_MAP_TYPE_DEVMAP.
    kDevmapBroadcast,     // bpf_redirect_map(..., BPF_F_BROADCAST) (5.15).
    kXdpLink,             // BPF_LINK_CREATE with BPF_XDP (5.9).
    kNeedWakeup,          // AF_XDP bind flag XDP_USE_NEED_WAKEUP (5.4).
    kBusyPoll,            // SO_PREFER_BUSY_POLL, SO_BUSY_POLL_BUDGET (5.11).
    kXdpFragsProgram,     // XDP programs loaded with BPF_F_XDP_HAS_FRAGS.
    kCount
};

inline constexpr size_t kKernelFeatureCount =
    static_cast<size_t>(KernelFeature::kCount);

// The name used in logs, afxdp/show and AFXDP_DISABLE_FEATURES.
const char *kernel_feature_name(KernelFeature f) noexcept;

// What the provider does without the feature, one clause.
const char *kernel_feature_fallback(KernelFeature f) noexcept;

struct FeatureProbe {
    bool available = false;
    std::string detail;  // Why not, or how it was seen; may be empty.
};

// The probe's result, probed on first use (thread-safe).
const FeatureProbe &kernel_feature(KernelFeature f);

// True if AFXDP_DISABLE_FEATURES names 'f'.
bool kernel_feature_disabled_by_test(KernelFeature f);

// The parsing behind it: whether 'list' (comma-separated, blanks around
// names ignored; NULL: empty) names 'f'; and the names in it that name no
// feature nor other switch (a typo would otherwise silently test
// nothing).
bool feature_list_names(const char *list, KernelFeature f);
std::vector<std::string> unknown_feature_names(const char *list);

// True if AFXDP_DISABLE_FEATURES names 'name', also for a fallback that is
// not a kernel feature's: "xdp-fast-path" makes a port take the path of a
// fast-path program the kernel refused.
bool disabled_by_test(const std::string &name);

// ---- Per port ------------------------------------------------------------

// What a port saw when it first tried a feature that also depends on the
// driver or device (multi-buffer, shared UMEM, need_wakeup, busy poll).
struct PortObservation {
    std::string port;
    bool ok = false;
    std::string detail;  // Why not; may be empty.
};

// Records the outcome for 'port' (replacing an earlier one); forgotten
// when the port closes.
void record_port_feature(KernelFeature f, const std::string &port, bool ok,
                         std::string detail = {});
void forget_port_features(const std::string &port);
std::vector<PortObservation> port_features(KernelFeature f);

// ---- Text ----------------------------------------------------------------

struct FeatureRow {
    KernelFeature feature;
    FeatureProbe probe;
    std::vector<PortObservation> ports;
};

// Every feature, probed, with the ports' observations.
std::vector<FeatureRow> kernel_feature_table();

// The kernel's release (uname -r), or "unknown".
std::string kernel_release();

// "kernel 6.18.44: xdp-adjust-meta no, live-frames no, ..." (the INFO line).
std::string features_summary(const std::string &release,
                             const std::vector<FeatureRow> &rows);

// afxdp/show's kernel section: "kernel: RELEASE" then one line per feature
// ("  NAME: yes" or "  NAME: no (WHY); FALLBACK"), then a line per port
// observation ("    PORT: yes" or "    PORT: no (WHY)").
std::string features_show(const std::string &release,
                          const std::vector<FeatureRow> &rows);

}  // namespace afxdp::netdev

#endif  // AFXDP_NETDEV_KERNEL_FEATURES_H
