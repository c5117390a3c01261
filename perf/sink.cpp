/*
 * afxdp-sink: the receiving end of a benchmark.  An XDP program
 * (sink.bpf.c) counts frames and bytes per CPU and drops them, so what is
 * measured is what reached the device, not what a socket or the stack could
 * take.  With --seq it also follows afxdp-pktgen's sequence header to count
 * lost and reordered frames.
 *
 * The program is attached through a bpf_link (BPF_LINK_CREATE with
 * BPF_XDP), never through netlink: the link is owned by this process, so any
 * exit, SIGKILL and crashes included, detaches it.  Counters are read from
 * the per-CPU map and summed here; the first reading is taken right after
 * attaching, so totals cover exactly the time the program was attached.
 *
 * For scripts: "attached" is printed on stderr once the program is in
 * place, and --once prints a single summary at SIGINT/SIGTERM (or after
 * --duration), so a benchmark can run the sink in the background and read
 * the result after stopping it.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <getopt.h>
#include <linux/bpf.h>
#include <linux/if_link.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "perf/perf_util.h"
#include "perf/pktgen_proto.h"
#include "sink.skel.h"

namespace afxdp::perf {
namespace {

constexpr const char *kProg = "afxdp-sink";

using SinkSkel = SkelPtr<sink, sink__destroy>;

// ---- options ---------------------------------------------------------------

struct Options {
    std::string dev;
    bool generic = false;
    double interval = 1.0;
    double duration = 0;
    bool once = false;
    bool seq = false;
    bool json = false;
    bool verbose = false;
};

void usage(FILE *out)
{
    // The text is laid out as it prints.
    // clang-format off
    std::fprintf(out,
"Usage: %s --dev IFNAME [options]\n"
"\n"
"Attaches an XDP program to IFNAME that counts and drops every frame, and\n"
"prints the receive rate.  Stops at --duration or SIGINT/SIGTERM, prints\n"
"the totals since attach and detaches (the program is held by a bpf_link,\n"
"so nothing stays attached even if the process is killed).\n"
"\n"
"Options:\n"
"  -i, --dev IFNAME      device to receive on (required)\n"
"  -m, --mode MODE       native (default) or generic XDP\n"
"  -I, --interval SEC    print the rate every SEC seconds (default 1)\n"
"  -d, --duration SEC    stop after SEC seconds\n"
"  -o, --once            print nothing until stopped, then the totals\n"
"      --seq             check afxdp-pktgen --seq headers: count lost and\n"
"                        reordered frames per flow\n"
"  -j, --json            JSON output, one object per line\n"
"  -v, --verbose         libbpf debug messages\n"
"  -h, --help            this text\n",
        kProg);
    // clang-format on
}

Result<Options> parse_options(int argc, char **argv, bool &help)
{
    enum { kOptSeq = 1000 };
    static const struct option long_opts[] = {
        {"dev", required_argument, nullptr, 'i'},
        {"mode", required_argument, nullptr, 'm'},
        {"interval", required_argument, nullptr, 'I'},
        {"duration", required_argument, nullptr, 'd'},
        {"once", no_argument, nullptr, 'o'},
        {"seq", no_argument, nullptr, kOptSeq},
        {"json", no_argument, nullptr, 'j'},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    Options o;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":i:m:I:d:ojvh", long_opts, nullptr)) !=
           -1) {
        std::string arg = optarg ? optarg : "";
        switch (c) {
        case 'i': o.dev = arg; break;
        case 'm': {
            auto generic = parse_generic_mode(arg);
            if (!generic)
                return generic.error();
            o.generic = generic.value();
            break;
        }
        case 'I':
        case 'd': {
            auto s = parse_seconds(arg, c == 'I' ? "--interval" : "--duration");
            if (!s)
                return s.error();
            (c == 'I' ? o.interval : o.duration) = s.value();
            break;
        }
        case 'o': o.once = true; break;
        case kOptSeq: o.seq = true; break;
        case 'j': o.json = true; break;
        case 'v': o.verbose = true; break;
        case 'h': help = true; return o;
        default: return getopt_error(c, argv);
        }
    }
    if (auto r = no_operands(argc, argv); !r)
        return r.error();
    if (o.dev.empty())
        return Error{EINVAL, "--dev IFNAME is required"};
    return o;
}

// ---- counters --------------------------------------------------------------

static_assert(sizeof(sink_counters) % 8 == 0);

sink_counters &operator+=(sink_counters &a, const sink_counters &b)
{
    a.packets += b.packets;
    a.bytes += b.bytes;
    a.seq_packets += b.seq_packets;
    a.lost += b.lost;
    a.reordered += b.reordered;
    a.flows += b.flows;
    return a;
}

sink_counters operator-(sink_counters a, const sink_counters &b)
{
    a.packets -= b.packets;
    a.bytes -= b.bytes;
    a.seq_packets -= b.seq_packets;
    a.lost -= b.lost;
    a.reordered -= b.reordered;
    a.flows -= b.flows;
    return a;
}

Result<sink_counters> read_counters(const sink &skel)
{
    auto percpu =
        read_percpu<sink_counters>(bpf_map__fd(skel.maps.counters), 0);
    if (!percpu)
        return percpu.error();
    sink_counters total{};
    for (const auto &c : percpu.value())
        total += c;
    return total;
}

void print_counters(const Options &o, const char *kind, const sink_counters &c,
                    double seconds)
{
    const double mpps = seconds > 0 ? c.packets / seconds / 1e6 : 0;
    const double gbps = seconds > 0 ? c.bytes * 8.0 / seconds / 1e9 : 0;
    const auto ull = [](std::uint64_t v) {
        return static_cast<unsigned long long>(v);
    };
    if (o.json) {
        std::printf("{\"tool\":\"afxdp-sink\",\"type\":\"%s\",\"dev\":\"%s\","
                    "\"mode\":\"%s\",\"packets\":%llu,\"bytes\":%llu,"
                    "\"duration_s\":%.6f,\"mpps\":%.6f,\"gbps\":%.6f",
                    kind, o.dev.c_str(), o.generic ? "generic" : "native",
                    ull(c.packets), ull(c.bytes), seconds, mpps, gbps);
        if (o.seq)
            std::printf(",\"seq_packets\":%llu,\"lost\":%llu,"
                        "\"reordered\":%llu,\"flows\":%llu",
                        ull(c.seq_packets), ull(c.lost), ull(c.reordered),
                        ull(c.flows));
        std::printf("}\n");
    } else {
        std::printf("%-8s %s: %llu packets, %llu bytes in %.3f s: "
                    "%.3f Mpps, %.3f Gbps",
                    kind, o.dev.c_str(), ull(c.packets), ull(c.bytes), seconds,
                    mpps, gbps);
        if (o.seq)
            std::printf("; seq: %llu packets, %llu flows, %llu lost, "
                        "%llu reordered",
                        ull(c.seq_packets), ull(c.flows), ull(c.lost),
                        ull(c.reordered));
        std::printf("\n");
    }
    std::fflush(stdout);
}

// ---- main ------------------------------------------------------------------

int run(const Options &o)
{
    auto dev = device_info(o.dev);
    if (!dev) {
        std::fprintf(stderr, "%s: %s\n", kProg, dev.error().message.c_str());
        return 1;
    }

    SinkSkel skel(sink__open());
    if (!skel) {
        std::fprintf(stderr, "%s: opening the BPF object: %s\n", kProg,
                     std::strerror(errno));
        return 1;
    }
    skel->rodata->cfg_check_seq = o.seq;
    if (int err = sink__load(skel.get()); err) {
        std::fprintf(stderr, "%s: loading the XDP program: %s\n", kProg,
                     std::strerror(-err));
        return 1;
    }

    LIBBPF_OPTS(bpf_link_create_opts, link_opts,
                .flags = o.generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);
    Fd link(bpf_link_create(bpf_program__fd(skel->progs.sink_drop),
                            static_cast<int>(dev.value().ifindex), BPF_XDP,
                            &link_opts));
    if (link.get() < 0) {
        int err = errno;
        std::fprintf(stderr, "%s: attaching XDP (%s) to %s: %s\n", kProg,
                     o.generic ? "generic" : "native", o.dev.c_str(),
                     std::strerror(err));
        if (err == EBUSY || err == EEXIST)
            std::fprintf(stderr, "%s: %s already has an XDP program\n", kProg,
                         o.dev.c_str());
        else if (err == EOPNOTSUPP && !o.generic)
            std::fprintf(stderr, "%s: try --mode generic\n", kProg);
        return 1;
    }

    auto base = read_counters(*skel);
    if (!base) {
        std::fprintf(stderr, "%s: %s\n", kProg, base.error().message.c_str());
        return 1;
    }
    const double start = monotonic_seconds();
    const double end = o.duration > 0 ? start + o.duration : 0;
    std::fprintf(stderr, "%s: attached to %s (%s)\n", kProg, o.dev.c_str(),
                 o.generic ? "generic" : "native");

    sink_counters last = base.value();
    double last_time = start;
    while (!stop_requested()) {
        double next =
            o.once ? (end ? end : start + 1e9) : last_time + o.interval;
        if (end && next > end)
            next = end;
        sleep_until(next);
        const double now = monotonic_seconds();
        if (stop_requested() || (end && now >= end))
            break;
        auto cur = read_counters(*skel);
        if (!cur) {
            std::fprintf(stderr, "%s: %s\n", kProg,
                         cur.error().message.c_str());
            return 1;
        }
        if (!o.once)
            print_counters(o, "interval", cur.value() - last, now - last_time);
        last = cur.value();
        last_time = now;
    }

    auto total = read_counters(*skel);
    const double elapsed = monotonic_seconds() - start;
    if (!total) {
        std::fprintf(stderr, "%s: %s\n", kProg, total.error().message.c_str());
        return 1;
    }
    print_counters(o, "total", total.value() - base.value(), elapsed);
    return 0;  // 'link' closes here and detaches the program.
}

}  // namespace
}  // namespace afxdp::perf

int main(int argc, char **argv)
{
    using namespace afxdp::perf;
    return tool_main(kProg, argc, argv, parse_options, usage, run);
}
