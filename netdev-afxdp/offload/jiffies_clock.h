/*
 * JiffiesClock: turns the last-used jiffies the XDP program stores per flow
 * into OVS's time (CLOCK_MONOTONIC milliseconds, time_msec()).
 *
 * The program stores jiffies because reading them is one inlined load,
 * where reading a clock is a helper call on every frame.  User space has no
 * jiffies of its own, so it samples (jiffies, CLOCK_MONOTONIC) pairs
 * through the program (FlowMaps::sample_clock()), and converts a jiffies
 * value by its distance to the newest sample.  That needs the tick rate
 * (CONFIG_HZ), which it measures between two samples at least kMinSpan
 * apart and rounds to the nearest rate Linux is built with; until then it
 * assumes the most common one, 250, which is off by at most one second
 * for a flow used within the last second.
 */
#ifndef AFXDP_OFFLOAD_JIFFIES_CLOCK_H
#define AFXDP_OFFLOAD_JIFFIES_CLOCK_H

#include <chrono>
#include <cstdint>

namespace afxdp::offload {

class JiffiesClock {
public:
    static constexpr uint64_t kMinSpanNs = 500'000'000;  // kMinSpan.
    static constexpr uint32_t kDefaultHz = 250;

    // Records a sample taken now: the kernel's jiffies and monotonic ns.
    void sample(uint64_t jiffies, uint64_t mono_ns) noexcept;

    // CLOCK_MONOTONIC ms at which the counter read 'jiffies' (0 stays 0:
    // never used).
    long long to_msec(uint64_t jiffies) const noexcept;

    uint32_t hz() const noexcept { return hz_; }

private:
    bool have_first_ = false;
    uint64_t first_jiffies_ = 0;
    uint64_t first_ns_ = 0;
    uint64_t last_jiffies_ = 0;
    uint64_t last_ns_ = 0;
    uint32_t hz_ = kDefaultHz;
    bool hz_measured_ = false;
};

}  // namespace afxdp::offload

#endif  // AFXDP_OFFLOAD_JIFFIES_CLOCK_H
