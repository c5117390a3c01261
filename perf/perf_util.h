/*
 * Control-path helpers shared by afxdp-pktgen and afxdp-sink: RAII owners
 * for fds and skeletons, stop-signal handling, option parsing and device
 * look-ups.  Nothing here is on a per-packet path: the packets never reach
 * user space in either tool.
 *
 * Errors are values (afxdp::Result) so that main() decides how to report
 * and exit; the helpers never print or exit themselves.
 */
#ifndef AFXDP_PERF_PERF_UTIL_H
#define AFXDP_PERF_PERF_UTIL_H

#include <array>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "umem/result.h"

namespace afxdp::perf {

using MacAddr = std::array<std::uint8_t, 6>;

// Move-only owner of a file descriptor (bpf_link fds included: closing
// the last fd of an XDP link detaches the program).
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) noexcept : fd_(fd) {}
    Fd(Fd &&other) noexcept : fd_(other.release()) {}
    Fd &operator=(Fd &&other) noexcept;
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    ~Fd() { reset(); }

    int get() const noexcept { return fd_; }
    int release() noexcept;
    void reset() noexcept;

private:
    int fd_ = -1;
};

// std::unique_ptr deleter for a bpftool-generated skeleton.
template <typename Skel, void (*Destroy)(Skel *)>
struct SkelDeleter {
    void operator()(Skel *skel) const noexcept { Destroy(skel); }
};
template <typename Skel, void (*Destroy)(Skel *)>
using SkelPtr = std::unique_ptr<Skel, SkelDeleter<Skel, Destroy>>;

// SIGINT/SIGTERM set a flag instead of killing the process, so every
// destructor runs.  The handler is installed without SA_RESTART: a sleep or
// a BPF_PROG_RUN in progress returns early with EINTR.
void install_stop_handler() noexcept;
bool stop_requested() noexcept;

// Routes libbpf's messages to stderr: warnings always, debug if 'verbose'.
void set_libbpf_logging(bool verbose) noexcept;

double monotonic_seconds() noexcept;
// Sleeps until 'deadline' (monotonic seconds) or a stop signal.
void sleep_until(double deadline) noexcept;

Result<std::uint64_t> parse_uint(const std::string &text, std::uint64_t min,
                                 std::uint64_t max, const char *what);
Result<double> parse_seconds(const std::string &text, const char *what);

// getopt_long() (with opterr = 0 and a leading ':' in the option string)
// returned ':' (missing argument) or '?' (unknown option): the Error.
Error getopt_error(int c, char **argv);

// What getopt_long() left over: an Error for the first stray argument.
Result<void> no_operands(int argc, char **argv);

// --mode: "native" (or "drv") or "generic" (or "skb"); true for generic.
Result<bool> parse_generic_mode(const std::string &arg);
Result<MacAddr> parse_mac(const std::string &text);
// "0,2-3" -> {0, 2, 3}.
Result<std::vector<int>> parse_cpu_list(const std::string &text);
std::string format_mac(const MacAddr &mac);

struct DeviceInfo {
    unsigned ifindex = 0;
    MacAddr mac{};
    bool up = false;
};
Result<DeviceInfo> device_info(const std::string &ifname);

// A counter from /sys/class/net/<dev>/statistics, or 0 if unreadable.
std::uint64_t device_stat(const std::string &ifname, const char *counter);
// A number from /sys/class/net/<dev>/<file> (e.g. "mtu"), or 0.
std::uint64_t device_stat_file(const std::string &ifname, const char *file);

int possible_cpus() noexcept;
// 'values' must hold possible_cpus() values of the map's value size.
Result<void> read_percpu_raw(int map_fd, std::uint32_t key, void *values);

// Reads slot 'key' of a per-CPU map and returns one T per possible CPU.
// T's size must be a multiple of 8 (the kernel's per-CPU value stride).
template <typename T>
Result<std::vector<T>> read_percpu(int map_fd, std::uint32_t key)
{
    static_assert(sizeof(T) % 8 == 0, "per-CPU values have a stride of 8");
    std::vector<T> values(possible_cpus());
    auto r = read_percpu_raw(map_fd, key, values.data());
    if (!r)
        return r.error();
    return values;
}

// The main() every perf tool shares: parse the options, answer --help,
// report a bad option (exit 2), route libbpf's messages, stop cleanly on
// SIGINT/SIGTERM, then run.  Only allocation failures can throw this far;
// they are reported instead of aborting.
template <typename Parse, typename Usage, typename Run>
int tool_main(const char *prog, int argc, char **argv, Parse parse, Usage usage,
              Run run) noexcept
{
    try {
        bool help = false;
        auto opts = parse(argc, argv, help);
        if (help) {
            usage(stdout);
            return 0;
        }
        if (!opts) {
            std::fprintf(stderr, "%s: %s\nTry '%s --help'.\n", prog,
                         opts.error().message.c_str(), prog);
            return 2;
        }
        set_libbpf_logging(opts.value().verbose);
        install_stop_handler();
        return run(opts.value());
    } catch (const std::exception &e) {
        std::fprintf(stderr, "%s: %s\n", prog, e.what());
        return 1;
    }
}

}  // namespace afxdp::perf

#endif  // AFXDP_PERF_PERF_UTIL_H
