// afxdp-kernel-features: what the core's probes say about this kernel, as
// ovs-vswitchd would log and show it: the INFO line, then afxdp/show's
// kernel section.  For tests/system/kernel_features.sh, which compares
// these with what a running ovs-vswitchd says (run it in the same network
// namespace and with the same AFXDP_DISABLE_FEATURES).
#include <cstdio>
#include <cstdlib>

#include "netdev-afxdp/afxdp.h"

int main()
{
    char *summary = afxdp_kernel_features_summary();
    char *show = afxdp_kernel_features_show();
    if (!summary || !show) {
        (void)std::fputs("afxdp-kernel-features: out of memory\n", stderr);
        return 1;
    }
    std::printf("%s\n%s", summary, show);
    std::free(summary);
    std::free(show);
    return 0;
}
