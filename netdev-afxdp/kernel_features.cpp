/*
 * KernelFeatures implementation: the table of probe results (each probe
 * run once, the first time anyone asks; kernel_probes.cpp has the probes),
 * the test switch, the ports' observations and the text of the INFO line
 * and of afxdp/show's kernel section (see kernel_features.h).
 *
 * The fallback texts say what this provider does without a feature, in
 * the words docs/KERNELS.md uses; where it has no fallback (the XDP
 * program needs the feature to load or attach) they say so.
 */
#include "netdev-afxdp/kernel_features.h"

#include <sys/utsname.h>

#include <array>
#include <cstdlib>
#include <map>
#include <mutex>
#include <sstream>

#include "netdev-afxdp/kernel_probes.h"

namespace afxdp::netdev {

namespace {

struct Description {
    const char *name;
    const char *fallback;
};

constexpr Description kDescriptions[kKernelFeatureCount] = {
    {"xdp-adjust-meta",
     "the fast path's mark and hash travel in a 16-byte header prepended "
     "to the frame (fast-path-carrier frame-header), MTU 16 bytes lower"},
    {"live-frames",
     "not used by the provider; perf/afxdp-pktgen cannot generate frames "
     "in the kernel"},
    {"xdp-multi-buffer",
     "sockets bound without XDP_USE_SG: one chunk per frame, MTU at most "
     "3694"},
    {"shared-umem",
     "each socket registers the UMEM area itself (a kernel UMEM per "
     "socket); frames still cross ports by address"},
    {"xdp-features-netlink",
     "the driver's rx-sg is not read before binding (the bind decides); the "
     "fast path does not redirect between ports in native mode"},
    {"devmap",
     "none: the XDP program declares a DEVMAP and does not load, ports do "
     "not open"},
    {"devmap-broadcast",
     "not used: the fast path outputs to one port per flow, floods stay in "
     "OVS"},
    {"xdp-link",
     "none: the XDP program is attached only through a bpf_link (detached "
     "by the kernel when ovs-vswitchd dies), ports do not open"},
    {"need-wakeup",
     "sockets bound without XDP_USE_NEED_WAKEUP: every transmit kicks the "
     "kernel, receive never waits to be woken"},
    {"busy-poll",
     "busy-poll-budget is refused (status afxdp-config-error says why), "
     "queues are polled without busy polling"},
    {"xdp-frags-program",
     "the XDP program loads without BPF_F_XDP_HAS_FRAGS: one buffer per "
     "frame, max-mtu 3694"},
};

constexpr const char *kDisabledReason = "disabled by AFXDP_DISABLE_FEATURES";

// Names AFXDP_DISABLE_FEATURES takes that are no kernel feature's: the
// fallbacks they force are taken where the feature is used (see
// disabled_by_test()).
constexpr const char *kOtherSwitches[] = {"xdp-fast-path"};

// Calls fn(name) for each comma-separated name in 'list', trimmed.
template <typename Fn>
void for_each_name(const char *list, Fn fn)
{
    if (!list) {
        return;
    }
    std::istringstream names(list);
    std::string name;
    while (std::getline(names, name, ',')) {
        size_t b = name.find_first_not_of(" \t");
        size_t e = name.find_last_not_of(" \t");
        if (b != std::string::npos) {
            fn(name.substr(b, e - b + 1));
        }
    }
}

// ---- The table -----------------------------------------------------------

struct Table {
    std::mutex mutex;
    std::array<bool, kKernelFeatureCount> probed{};
    std::array<FeatureProbe, kKernelFeatureCount> results;
    // Per feature: port name -> what it saw.
    std::array<std::map<std::string, PortObservation>, kKernelFeatureCount>
        ports;
};

Table &table()
{
    static Table t;
    return t;
}

}  // namespace

const char *kernel_feature_name(KernelFeature f) noexcept
{
    size_t i = static_cast<size_t>(f);
    return i < kKernelFeatureCount ? kDescriptions[i].name : "unknown";
}

const char *kernel_feature_fallback(KernelFeature f) noexcept
{
    size_t i = static_cast<size_t>(f);
    return i < kKernelFeatureCount ? kDescriptions[i].fallback : "";
}

bool feature_list_names(const char *list, KernelFeature f)
{
    bool named = false;
    for_each_name(list, [&](const std::string &name) {
        named = named || name == kernel_feature_name(f);
    });
    return named;
}

std::vector<std::string> unknown_feature_names(const char *list)
{
    std::vector<std::string> unknown;
    for_each_name(list, [&](const std::string &name) {
        bool known = false;
        for (const Description &d : kDescriptions) {
            known = known || name == d.name;
        }
        for (const char *other : kOtherSwitches) {
            known = known || name == other;
        }
        if (!known) {
            unknown.push_back(name);
        }
    });
    return unknown;
}

bool disabled_by_test(const std::string &name)
{
    bool named = false;
    for_each_name(
        std::getenv("AFXDP_DISABLE_FEATURES"),
        [&](const std::string &item) { named = named || item == name; });
    return named;
}

bool kernel_feature_disabled_by_test(KernelFeature f)
{
    return disabled_by_test(kernel_feature_name(f));
}

const FeatureProbe &kernel_feature(KernelFeature f)
{
    Table &t = table();
    size_t i = static_cast<size_t>(f);
    std::lock_guard<std::mutex> guard(t.mutex);
    if (!t.probed[i]) {
        t.results[i] = kernel_feature_disabled_by_test(f)
                           ? FeatureProbe{false, kDisabledReason}
                           : probe_kernel_feature(f);
        t.probed[i] = true;
    }
    return t.results[i];
}

// ---- Per port ------------------------------------------------------------

void record_port_feature(KernelFeature f, const std::string &port, bool ok,
                         std::string detail)
{
    Table &t = table();
    std::lock_guard<std::mutex> guard(t.mutex);
    t.ports[static_cast<size_t>(f)][port] =
        PortObservation{port, ok, std::move(detail)};
}

void forget_port_features(const std::string &port)
{
    Table &t = table();
    std::lock_guard<std::mutex> guard(t.mutex);
    for (auto &ports : t.ports) {
        ports.erase(port);
    }
}

std::vector<PortObservation> port_features(KernelFeature f)
{
    Table &t = table();
    std::lock_guard<std::mutex> guard(t.mutex);
    std::vector<PortObservation> out;
    for (const auto &[name, seen] : t.ports[static_cast<size_t>(f)]) {
        out.push_back(seen);
    }
    return out;
}

// ---- Text ----------------------------------------------------------------

std::vector<FeatureRow> kernel_feature_table()
{
    std::vector<FeatureRow> rows;
    for (size_t i = 0; i < kKernelFeatureCount; i++) {
        auto f = static_cast<KernelFeature>(i);
        rows.push_back(FeatureRow{f, kernel_feature(f), port_features(f)});
    }
    return rows;
}

std::string kernel_release()
{
    struct utsname u;
    return uname(&u) == 0 ? std::string(u.release) : std::string("unknown");
}

std::string features_summary(const std::string &release,
                             const std::vector<FeatureRow> &rows)
{
    std::string s = "kernel " + release + ":";
    const char *sep = " ";
    for (const FeatureRow &r : rows) {
        s += sep;
        s += kernel_feature_name(r.feature);
        s += r.probe.available ? " yes" : " no";
        sep = ", ";
    }
    return s;
}

namespace {

// "yes", or "no (WHY); instead: FALLBACK".
std::string verdict(KernelFeature f, bool ok, const std::string &why)
{
    if (ok) {
        return "yes";
    }
    std::string s = "no";
    if (!why.empty()) {
        s += " (" + why + ")";
    }
    return s + "; instead: " + kernel_feature_fallback(f);
}

}  // namespace

std::string features_show(const std::string &release,
                          const std::vector<FeatureRow> &rows)
{
    std::string s = "kernel: " + release + "\n";
    for (const FeatureRow &r : rows) {
        s += "  " + std::string(kernel_feature_name(r.feature)) + ": " +
             verdict(r.feature, r.probe.available, r.probe.detail) + "\n";
        for (const PortObservation &p : r.ports) {
            s += "    port " + p.port + ": " +
                 verdict(r.feature, p.ok, p.detail) + "\n";
        }
    }
    return s;
}

}  // namespace afxdp::netdev
