/*
 * afxdp-xdp-fwd: loads xdp_fwd.bpf.c on the ingress device, the kernel-only
 * contender of perf/bench.  Every frame arriving on --in is redirected to
 * --out through a devmap (or dropped with --drop) inside the ingress
 * device's NAPI poll, so it measures what the kernel can forward with no
 * user-space hop at all.
 *
 * The program is attached through a bpf_link, as afxdp-sink does: the link
 * belongs to this process, so any exit (SIGKILL and crashes included)
 * detaches it.  Counters are cumulative since attach.  SIGUSR1 prints the
 * current totals as one line, so a script can take a reading before and
 * after a measurement without restarting the program; SIGINT/SIGTERM print
 * them once more and detach.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <getopt.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "perf/perf_util.h"
#include "xdp_fwd.skel.h"

namespace afxdp::perf {
namespace {

constexpr const char *kProg = "afxdp-xdp-fwd";

using FwdSkel = SkelPtr<xdp_fwd, xdp_fwd__destroy>;

// Mirrors struct fwd_counters of xdp_fwd.bpf.c.
struct FwdCounters {
    std::uint64_t packets;
    std::uint64_t bytes;
    std::uint64_t redirect_failed;
    std::uint64_t pad;
};

std::atomic<bool> g_report{false};

void on_report_signal(int)
{
    g_report.store(true);
}

struct Options {
    std::string in;
    std::string out;
    bool drop = false;
    bool generic = false;
    bool verbose = false;
};

void usage(FILE *out)
{
    std::fprintf(
        out,
        "Usage: %s --in IFNAME (--out IFNAME | --drop) [options]\n"
        "\n"
        "Redirects every frame received on --in to --out through a devmap, or\n"
        "drops it with --drop, in XDP.  Runs until SIGINT/SIGTERM; SIGUSR1 "
        "prints\n"
        "the counters since attach as one JSON line.\n"
        "\n"
        "Options:\n"
        "  -i, --in IFNAME       ingress device (required)\n"
        "  -o, --out IFNAME      egress device\n"
        "      --drop            XDP_DROP instead of redirecting\n"
        "  -m, --mode MODE       native (default) or generic XDP on --in\n"
        "  -v, --verbose         libbpf debug messages\n"
        "  -h, --help            this text\n",
        kProg);
}

Result<Options> parse_options(int argc, char **argv, bool &help)
{
    enum { kOptDrop = 1000 };
    static const struct option long_opts[] = {
        {"in", required_argument, nullptr, 'i'},
        {"out", required_argument, nullptr, 'o'},
        {"drop", no_argument, nullptr, kOptDrop},
        {"mode", required_argument, nullptr, 'm'},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    Options o;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":i:o:m:vh", long_opts, nullptr)) !=
           -1) {
        std::string arg = optarg ? optarg : "";
        switch (c) {
        case 'i': o.in = arg; break;
        case 'o': o.out = arg; break;
        case kOptDrop: o.drop = true; break;
        case 'm': {
            auto generic = parse_generic_mode(arg);
            if (!generic)
                return generic.error();
            o.generic = generic.value();
            break;
        }
        case 'v': o.verbose = true; break;
        case 'h': help = true; return o;
        default: return getopt_error(c, argv);
        }
    }
    if (auto r = no_operands(argc, argv); !r)
        return r.error();
    if (o.in.empty())
        return Error{EINVAL, "--in IFNAME is required"};
    if (o.out.empty() == !o.drop)
        return Error{EINVAL, "give exactly one of --out IFNAME and --drop"};
    return o;
}

Result<FwdCounters> read_counters(const xdp_fwd &skel)
{
    auto percpu = read_percpu<FwdCounters>(bpf_map__fd(skel.maps.counters), 0);
    if (!percpu)
        return percpu.error();
    FwdCounters t{};
    for (const auto &c : percpu.value()) {
        t.packets += c.packets;
        t.bytes += c.bytes;
        t.redirect_failed += c.redirect_failed;
    }
    return t;
}

void print_counters(const char *kind, const FwdCounters &c, double seconds)
{
    std::printf("{\"tool\":\"%s\",\"type\":\"%s\",\"packets\":%llu,"
                "\"bytes\":%llu,\"redirect_failed\":%llu,"
                "\"duration_s\":%.6f}\n",
                kProg, kind, static_cast<unsigned long long>(c.packets),
                static_cast<unsigned long long>(c.bytes),
                static_cast<unsigned long long>(c.redirect_failed), seconds);
    std::fflush(stdout);
}

int run(const Options &o)
{
    auto in = device_info(o.in);
    if (!in) {
        std::fprintf(stderr, "%s: %s\n", kProg, in.error().message.c_str());
        return 1;
    }
    unsigned out_ifindex = 0;
    if (!o.drop) {
        auto out = device_info(o.out);
        if (!out) {
            std::fprintf(stderr, "%s: %s\n", kProg,
                         out.error().message.c_str());
            return 1;
        }
        out_ifindex = out.value().ifindex;
    }

    FwdSkel skel(xdp_fwd__open());
    if (!skel) {
        std::fprintf(stderr, "%s: opening the BPF object: %s\n", kProg,
                     std::strerror(errno));
        return 1;
    }
    skel->rodata->cfg_drop = o.drop;
    if (int err = xdp_fwd__load(skel.get()); err) {
        std::fprintf(stderr, "%s: loading the XDP program: %s\n", kProg,
                     std::strerror(-err));
        return 1;
    }
    if (!o.drop) {
        std::uint32_t key = 0, value = out_ifindex;
        if (bpf_map_update_elem(bpf_map__fd(skel->maps.tx_port), &key, &value,
                                BPF_ANY)) {
            std::fprintf(stderr, "%s: adding %s to the devmap: %s\n", kProg,
                         o.out.c_str(), std::strerror(errno));
            return 1;
        }
    }

    LIBBPF_OPTS(bpf_link_create_opts, link_opts,
                .flags = o.generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);
    Fd link(bpf_link_create(bpf_program__fd(skel->progs.xdp_fwd),
                            static_cast<int>(in.value().ifindex), BPF_XDP,
                            &link_opts));
    if (link.get() < 0) {
        std::fprintf(stderr, "%s: attaching XDP (%s) to %s: %s\n", kProg,
                     o.generic ? "generic" : "native", o.in.c_str(),
                     std::strerror(errno));
        return 1;
    }

    // Readings are taken while no traffic flows (before and after a
    // generator run), so polling the flag every 20 ms is precise enough.
    struct sigaction sa {};
    sa.sa_handler = on_report_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, nullptr);

    auto base = read_counters(*skel);
    if (!base) {
        std::fprintf(stderr, "%s: %s\n", kProg, base.error().message.c_str());
        return 1;
    }
    const double start = monotonic_seconds();
    std::fprintf(stderr, "%s: attached to %s (%s), %s\n", kProg, o.in.c_str(),
                 o.generic ? "generic" : "native",
                 o.drop ? "dropping" : ("redirecting to " + o.out).c_str());

    for (;;) {
        if (!stop_requested() && !g_report.load()) {
            usleep(20000);
            continue;
        }
        const bool stop = stop_requested();
        if (g_report.exchange(false) || stop) {
            auto cur = read_counters(*skel);
            if (!cur) {
                std::fprintf(stderr, "%s: %s\n", kProg,
                             cur.error().message.c_str());
                return 1;
            }
            FwdCounters d = cur.value();
            d.packets -= base.value().packets;
            d.bytes -= base.value().bytes;
            d.redirect_failed -= base.value().redirect_failed;
            print_counters(stop ? "total" : "reading", d,
                           monotonic_seconds() - start);
        }
        if (stop)
            break;
    }
    return 0;  // 'link' closes here and detaches the program.
}

}  // namespace
}  // namespace afxdp::perf

int main(int argc, char **argv)
{
    using namespace afxdp::perf;
    return tool_main(kProg, argc, argv, parse_options, usage, run);
}
