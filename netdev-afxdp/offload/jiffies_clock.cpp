/*
 * JiffiesClock implementation: see jiffies_clock.h.
 */
#include "netdev-afxdp/offload/jiffies_clock.h"

#include <cstdlib>

namespace afxdp::offload {

namespace {

// The tick rates Kconfig offers (kernel/Kconfig.hz).
constexpr uint32_t kRates[] = {100, 250, 300, 1000};

uint32_t nearest_rate(double measured)
{
    uint32_t best = kRates[0];
    for (uint32_t r : kRates) {
        if (std::abs(measured - r) < std::abs(measured - best)) {
            best = r;
        }
    }
    return best;
}

}  // namespace

void JiffiesClock::sample(uint64_t jiffies, uint64_t mono_ns) noexcept
{
    if (!have_first_) {
        have_first_ = true;
        first_jiffies_ = jiffies;
        first_ns_ = mono_ns;
    }
    last_jiffies_ = jiffies;
    last_ns_ = mono_ns;
    if (!hz_measured_ && mono_ns - first_ns_ >= kMinSpanNs) {
        double seconds = double(mono_ns - first_ns_) / 1e9;
        hz_ = nearest_rate(double(jiffies - first_jiffies_) / seconds);
        hz_measured_ = true;
    }
}

long long JiffiesClock::to_msec(uint64_t jiffies) const noexcept
{
    if (!jiffies || !have_first_) {
        return 0;
    }
    // Jiffies after the sample (a frame counted after it was taken) count
    // as "at the sample".
    uint64_t ago = last_jiffies_ > jiffies ? last_jiffies_ - jiffies : 0;
    uint64_t ago_ns = ago * (1'000'000'000ull / hz_);
    uint64_t at_ns = last_ns_ > ago_ns ? last_ns_ - ago_ns : 0;
    return (long long)(at_ns / 1'000'000);
}

}  // namespace afxdp::offload
