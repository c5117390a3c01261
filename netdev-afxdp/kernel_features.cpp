/*
 * KernelFeatures implementation: one probe function per feature, each run
 * once, the first time anyone asks (see kernel_features.h).
 *
 * Helper probes load a program that calls the helper and nothing else.
 * libbpf's libbpf_probe_bpf_helper() is not used: it decides "missing" by
 * matching the verifier's wording ("invalid func", "unknown func"), and a
 * kernel that refuses a helper with other words ("program of this type
 * cannot use helper bpf_xdp_adjust_meta#54", seen on a 6.18 cloud build)
 * would be reported as having it.  A load that fails is a no here,
 * whatever the words, with the verifier's last line as the reason.
 */
#include "netdev-afxdp/kernel_features.h"

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>

#include <linux/bpf.h>
#include <unistd.h>

#include <bpf/bpf.h>

namespace afxdp::netdev {

namespace {

constexpr const char *kNames[kKernelFeatureCount] = {
    "xdp-adjust-meta",
};

// ---- BPF instructions (the kernel's filter.h macros are not uapi) ------

constexpr bpf_insn mov64_reg(__u8 dst, __u8 src)
{
    return {BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0};
}
constexpr bpf_insn mov64_imm(__u8 dst, __s32 imm)
{
    return {BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm};
}
constexpr bpf_insn call_helper(__s32 id)
{
    return {BPF_JMP | BPF_CALL, 0, 0, 0, id};
}
constexpr bpf_insn exit_insn()
{
    return {BPF_JMP | BPF_EXIT, 0, 0, 0, 0};
}

// The verifier's line that says why: the last one before its statistics
// ("processed N insns ...").
std::string verifier_reason(const char *log)
{
    std::istringstream lines(log);
    std::string line, reason;
    while (std::getline(lines, line)) {
        if (!line.empty() && line.rfind("processed ", 0) != 0) {
            reason = line;
        }
    }
    return reason;
}

// Loads an XDP program that calls helper 'id' with the context and
// 'arg2', then passes the frame.
FeatureProbe probe_xdp_helper(__s32 id, __s32 arg2)
{
    const std::array<bpf_insn, 4> insns = {
        mov64_imm(2, arg2),  // r1 is already the context.
        call_helper(id),
        mov64_imm(0, XDP_PASS),
        exit_insn(),
    };
    static char log[4096];  // Probes run under the table's mutex.
    log[0] = '\0';
    LIBBPF_OPTS(bpf_prog_load_opts, opts);
    opts.log_level = 1;
    opts.log_size = sizeof log;
    opts.log_buf = log;
    int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "afxdp_probe", "GPL",
                           insns.data(), insns.size(), &opts);
    if (fd >= 0) {
        close(fd);
        return {true, ""};
    }
    std::string why = verifier_reason(log);
    if (why.empty()) {
        why = std::strerror(errno);
    }
    return {false, "the verifier refuses it: " + why};
}

FeatureProbe probe(KernelFeature f)
{
    switch (f) {
    case KernelFeature::kXdpAdjustMeta:
        return probe_xdp_helper(BPF_FUNC_xdp_adjust_meta, -4);
    case KernelFeature::kCount: break;
    }
    return {false, "unknown feature"};
}

// ---- The table ---------------------------------------------------------

struct Table {
    std::mutex mutex;
    std::array<bool, kKernelFeatureCount> probed{};
    std::array<FeatureProbe, kKernelFeatureCount> results;
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
    return i < kKernelFeatureCount ? kNames[i] : "unknown";
}

bool disabled_by_test(const std::string &name)
{
    const char *env = std::getenv("AFXDP_DISABLE_FEATURES");
    if (!env) {
        return false;
    }
    std::istringstream list(env);
    std::string item;
    while (std::getline(list, item, ',')) {
        if (item == name) {
            return true;
        }
    }
    return false;
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
        t.results[i] =
            kernel_feature_disabled_by_test(f)
                ? FeatureProbe{false, "disabled by AFXDP_DISABLE_FEATURES"}
                : probe(f);
        t.probed[i] = true;
    }
    return t.results[i];
}

}  // namespace afxdp::netdev
