/*
 * Control-path helpers of the perf tools; see perf_util.h.
 *
 * Device look-ups use ioctl(SIOCGIF*) on a throw-away datagram socket: it
 * answers for the calling thread's network namespace, which is the one the
 * tools are started in (ip netns exec).
 */
#include "perf/perf_util.h"

#include <getopt.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>

namespace afxdp::perf {

// ---- Fd --------------------------------------------------------------------

Fd &Fd::operator=(Fd &&other) noexcept
{
    if (this != &other) {
        reset();
        fd_ = other.release();
    }
    return *this;
}

int Fd::release() noexcept
{
    int fd = fd_;
    fd_ = -1;
    return fd;
}

void Fd::reset() noexcept
{
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
}

// ---- signals, time, logging ------------------------------------------------

namespace {

std::atomic<bool> g_stop{false};
bool g_libbpf_verbose = false;

void on_stop_signal(int)
{
    g_stop.store(true, std::memory_order_relaxed);
}

int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
    if (level == LIBBPF_DEBUG && !g_libbpf_verbose)
        return 0;
    return std::vfprintf(stderr, fmt, args);
}

}  // namespace

void install_stop_handler() noexcept
{
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // No SA_RESTART: interrupt sleeps and BPF_PROG_RUN.
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

bool stop_requested() noexcept
{
    return g_stop.load(std::memory_order_relaxed);
}

void set_libbpf_logging(bool verbose) noexcept
{
    g_libbpf_verbose = verbose;
    libbpf_set_print(libbpf_print);
}

double monotonic_seconds() noexcept
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

void sleep_until(double deadline) noexcept
{
    struct timespec ts;
    double whole = std::floor(deadline);
    ts.tv_sec = static_cast<time_t>(whole);
    ts.tv_nsec = static_cast<long>((deadline - whole) * 1e9);
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_nsec = 999999999L;
    while (!stop_requested()) {
        int err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
        if (err != EINTR)
            break;
    }
}

// ---- parsing ---------------------------------------------------------------

Result<std::uint64_t> parse_uint(const std::string &text, std::uint64_t min,
                                 std::uint64_t max, const char *what)
{
    if (text.empty() || text[0] == '-')
        return Error{EINVAL,
                     std::string("invalid ") + what + " '" + text + "'"};
    errno = 0;
    char *end = nullptr;
    unsigned long long v = std::strtoull(text.c_str(), &end, 0);
    if (errno || *end != '\0')
        return Error{EINVAL,
                     std::string("invalid ") + what + " '" + text + "'"};
    if (v < min || v > max)
        return Error{ERANGE, std::string(what) + " must be in " +
                                 std::to_string(min) + ".." +
                                 std::to_string(max) + ", got " + text};
    return static_cast<std::uint64_t>(v);
}

Error getopt_error(int c, char **argv)
{
    if (c == ':')
        return Error{EINVAL, std::string("option ") + argv[optind - 1] +
                                 " needs an argument"};
    return Error{EINVAL, std::string("unknown option ") + argv[optind - 1]};
}

Result<void> no_operands(int argc, char **argv)
{
    if (optind < argc)
        return Error{EINVAL,
                     std::string("unexpected argument '") + argv[optind] + "'"};
    return {};
}

Result<bool> parse_generic_mode(const std::string &arg)
{
    if (arg == "native" || arg == "drv")
        return false;
    if (arg == "generic" || arg == "skb")
        return true;
    return Error{EINVAL, "--mode must be native or generic, not '" + arg + "'"};
}

Result<double> parse_seconds(const std::string &text, const char *what)
{
    errno = 0;
    char *end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (text.empty() || errno || *end != '\0' || !std::isfinite(v) || v <= 0)
        return Error{EINVAL, std::string("invalid ") + what + " '" + text +
                                 "' (seconds > 0)"};
    return v;
}

Result<MacAddr> parse_mac(const std::string &text)
{
    // strtoul rather than sscanf("%x"), which has undefined behaviour on
    // overflow: one or two hex digits per byte, ':' between bytes.
    MacAddr mac{};
    const char *p = text.c_str();
    for (int i = 0; i < 6; i++) {
        char *end = nullptr;
        unsigned long b = 0;
        if (std::isxdigit(static_cast<unsigned char>(*p)))
            b = std::strtoul(p, &end, 16);
        if (!end || end - p > 2 || *end != (i < 5 ? ':' : '\0'))
            return Error{EINVAL, "invalid MAC address '" + text +
                                     "' (expected xx:xx:xx:xx:xx:xx)"};
        mac[i] = static_cast<std::uint8_t>(b);
        p = end + 1;
    }
    return mac;
}

Result<std::vector<int>> parse_cpu_list(const std::string &text)
{
    std::vector<int> cpus;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t comma = text.find(',', pos);
        std::string item = text.substr(
            pos, comma == std::string::npos ? std::string::npos : comma - pos);
        std::size_t dash = item.find('-');
        auto lo = parse_uint(item.substr(0, dash), 0, 4095, "CPU number");
        if (!lo)
            return lo.error();
        std::uint64_t hi = lo.value();
        if (dash != std::string::npos) {
            auto h = parse_uint(item.substr(dash + 1), lo.value(), 4095,
                                "CPU range end");
            if (!h)
                return h.error();
            hi = h.value();
        }
        for (std::uint64_t c = lo.value(); c <= hi; c++)
            cpus.push_back(static_cast<int>(c));
        if (comma == std::string::npos)
            break;
        pos = comma + 1;
    }
    return cpus;
}

std::string format_mac(const MacAddr &mac)
{
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0],
                  mac[1], mac[2], mac[3], mac[4], mac[5]);
    return buf;
}

// ---- devices ---------------------------------------------------------------

Result<DeviceInfo> device_info(const std::string &ifname)
{
    DeviceInfo info;
    if (ifname.empty() || ifname.size() >= IFNAMSIZ)
        return Error{EINVAL, "invalid device name '" + ifname + "'"};
    info.ifindex = if_nametoindex(ifname.c_str());
    if (info.ifindex == 0)
        return Error{
            errno, "no device '" + ifname +
                       "' in this network namespace: " + std::strerror(errno)};

    Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (sock.get() < 0)
        return Error{errno, std::string("socket: ") + std::strerror(errno)};
    struct ifreq ifr {};
    std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    if (ioctl(sock.get(), SIOCGIFHWADDR, &ifr) < 0)
        return Error{errno, ifname + ": cannot read MAC address: " +
                                std::strerror(errno)};
    std::memcpy(info.mac.data(), ifr.ifr_hwaddr.sa_data, 6);
    if (ioctl(sock.get(), SIOCGIFFLAGS, &ifr) < 0)
        return Error{errno,
                     ifname + ": cannot read flags: " + std::strerror(errno)};
    info.up = (ifr.ifr_flags & IFF_UP) != 0;
    return info;
}

std::uint64_t device_stat_file(const std::string &ifname, const char *file)
{
    std::ifstream in("/sys/class/net/" + ifname + "/" + file);
    std::uint64_t v = 0;
    in >> v;
    return in ? v : 0;
}

std::uint64_t device_stat(const std::string &ifname, const char *counter)
{
    return device_stat_file(ifname,
                            (std::string("statistics/") + counter).c_str());
}

// ---- per-CPU maps ----------------------------------------------------------

int possible_cpus() noexcept
{
    int n = libbpf_num_possible_cpus();
    return n > 0 ? n : 1;
}

Result<void> read_percpu_raw(int map_fd, std::uint32_t key, void *values)
{
    if (bpf_map_lookup_elem(map_fd, &key, values) < 0)
        return Error{errno, std::string("reading per-CPU counters: ") +
                                std::strerror(errno)};
    return {};
}

}  // namespace afxdp::perf
