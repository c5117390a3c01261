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
 * Tests force a fallback on a kernel that has the feature: the environment
 * variable AFXDP_DISABLE_FEATURES (a comma-separated list of feature names
 * as kernel_feature_name() gives them) makes those features answer no,
 * with the reason "disabled by AFXDP_DISABLE_FEATURES".
 */
#ifndef AFXDP_NETDEV_KERNEL_FEATURES_H
#define AFXDP_NETDEV_KERNEL_FEATURES_H

#include <cstddef>
#include <string>

namespace afxdp::netdev {

enum class KernelFeature {
    kXdpAdjustMeta,  // bpf_xdp_adjust_meta() in XDP programs.
    kCount
};

inline constexpr size_t kKernelFeatureCount =
    static_cast<size_t>(KernelFeature::kCount);

// The name used in logs, afxdp/show and AFXDP_DISABLE_FEATURES.
const char *kernel_feature_name(KernelFeature f) noexcept;

struct FeatureProbe {
    bool available = false;
    std::string detail;  // Why not, or how it was seen; may be empty.
};

// The probe's result, probed on first use (thread-safe).
const FeatureProbe &kernel_feature(KernelFeature f);

// True if AFXDP_DISABLE_FEATURES names 'f'.
bool kernel_feature_disabled_by_test(KernelFeature f);

// True if AFXDP_DISABLE_FEATURES names 'name', also for a fallback that is
// not a kernel feature's: "xdp-fast-path" makes a port take the path of a
// fast-path program the kernel refused.
bool disabled_by_test(const std::string &name);

}  // namespace afxdp::netdev

#endif  // AFXDP_NETDEV_KERNEL_FEATURES_H
