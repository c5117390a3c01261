/*
 * afxdp-pktgen: a traffic generator that sends XDP frames, built by the
 * kernel, so that neither packet memory nor a socket per frame is on the
 * generator's path: the generator should be neither the bottleneck nor
 * the code under test.  Three engines (--engine), one choice (auto):
 *
 * live (BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES, 5.18+): the kernel
 * builds frames from one template in page pool pages and sends whatever
 * the XDP program returns XDP_TX for out of the device named by the
 * context's ingress_ifindex (net/bpf/test_run.c).  One syscall sends
 * 'repeat' frames.  Nothing is attached to any device: the program only
 * exists while the process holds its fd.  The fastest engine, but some
 * kernels refuse the flag: before 5.18 (EINVAL), and locked-down cloud
 * builds (EPERM, while ordinary BPF_PROG_RUN works).
 *
 * devmap (pktgen_devmap.cpp, 5.13+): where live frames are refused.  A
 * user-space sender (AF_PACKET, or AF_XDP in copy mode: a veth has no
 * zero-copy) builds an skb per frame and tops out near 1 Mpps per core,
 * what the forwarders under test do, so it could not rank them.  Instead
 * user space sends seed frames into a helper veth pair of its own, and the
 * XDP program on the pair's far end redirects each seed with
 * BPF_F_BROADCAST into a DEVMAP whose K entries all hold the output
 * device: the kernel clones the frame once per entry and sends the copies
 * through the device's ndo_xdp_xmit, as XDP_TX of a live frame does.  A
 * devmap egress program on each entry runs the same per-frame code as the
 * live engine (pktgen.bpf.c's generate()), so flows, sequence headers and
 * --mix behave alike.  K is the per-millisecond share of --rate up to 64
 * (so a paced run comes in bursts no larger than the live engine's 1 ms
 * runs in batches of 64), or 64 unpaced.
 * --count stays exact: whole seeds first, then the remainder, and any
 * frames lost with a seed, one frame per seed (the fan-out switched to a
 * one-entry devmap), until the egress program has counted exactly
 * --count.  The helper pair lives in an unnamed network namespace held
 * only by this process, so no exit leaves it behind.
 *
 * socket (AF_PACKET, qdisc bypassed): frames above a page cannot be XDP
 * frames on either engine, up to a 9000-byte jumbo frame go out through an
 * AF_PACKET socket, one flow, no per-frame variation, no pacing.
 *
 * auto picks socket above kMaxLiveFrame; else live if one live frame
 * through a probe program (XDP_DROP) is accepted, else devmap, and says
 * why on stderr and in the JSON (engine_reason).  AFXDP_DISABLE_FEATURES
 * containing "live-frames" makes the probe fail, to test the fallback on
 * a kernel that has live frames.
 *
 * What the kernel requires for live frames (bpf_prog_test_run_xdp): the
 * device must be up and in the caller's namespace; data_in at least an
 * Ethernet header and at most a page minus head- and tailroom; ctx
 * (struct xdp_md) with data = 0, data_end = size of data_in; no
 * data_out/ctx_out; batch_size <= 256.  Either engine's frames leave a
 * veth by ndo_xdp_xmit, which only reaches the peer if the peer runs an
 * XDP program or has GRO enabled (veth only then sets up its NAPI ring);
 * otherwise the frames are silently dropped.
 *
 * Each BPF_PROG_RUN with repeat > 1 registers the program with the kernel's
 * XDP dispatcher on entry and unregisters it on exit, and each change of
 * the dispatcher waits for an RCU grace period, twice per run: measured
 * here at 15-30 ms per run on a busy machine, which caps a single thread
 * at a few runs per second (~1 Mpps instead of ~8, and no pacing at
 * all).  A program already in the dispatcher is only reference-counted, so
 * the live engine keeps its program registered for its lifetime by
 * attaching it in generic mode to the loopback device of its namespace
 * (through a bpf_link, detached at any exit); the program passes every
 * frame that is not one of its own test runs untouched.  --no-hold skips
 * this.
 *
 * --mix turns the generator into a source of malformed frames for
 * robustness tests: the XDP program cuts (or grows) each frame to its
 * kind's length with bpf_xdp_adjust_tail() and writes the bytes that make
 * it that kind (see pktgen.bpf.c); valid frames, interleaved, carry
 * sequence numbers.
 *
 * Per-frame variation (flows, sequence numbers) is done by the XDP program
 * from a per-CPU counter; that counter is also the count of frames sent,
 * exact even when a run is cut short by a signal.  Rate limiting paces
 * whole runs: each thread sends its share of --rate in runs of about a
 * millisecond, each started when it is due.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <getopt.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "perf/perf_util.h"
#include "perf/pktgen_engine.h"
#include "perf/pktgen_proto.h"
#include "pktgen.skel.h"

namespace afxdp::perf {
namespace {

constexpr const char *kProg = "afxdp-pktgen";
constexpr unsigned kMinSize = 64;
constexpr unsigned kMaxSize = 9000;  // Above kMaxLiveFrame: AF_PACKET.
constexpr unsigned kMaxFlows = 65535;
constexpr unsigned kMaxBatch = 256;            // TEST_XDP_MAX_BATCH
constexpr std::uint64_t kMaxRepeat = 1 << 15;  // ~10 ms at line rate
// The largest data_in BPF_PROG_RUN takes with live frames on x86-64: a page
// less XDP_PACKET_HEADROOM, the kernel's struct xdp_page_head and the
// skb_shared_info tailroom (net/bpf/test_run.c).  --mix sends frames of
// this size as "oversize".
constexpr unsigned kMaxLiveFrame = 3392;

// --mix kind names, in enum pktgen_kind order.
constexpr const char *kKindNames[PKTGEN_KIND_N] = {
    "valid",    "runt",   "ethertype", "bad-ip", "trunc-l3",
    "trunc-l4", "random", "oversize",  "vlan",
};

using PktgenSkel = SkelPtr<pktgen, pktgen__destroy>;

// ---- options ---------------------------------------------------------------

struct Options {
    std::string dev;
    std::optional<MacAddr> src_mac;
    std::optional<MacAddr> dst_mac;
    std::string src_ip;
    std::string dst_ip;
    bool ipv6 = false;
    unsigned size = kMinSize;
    unsigned flows = 1;
    unsigned src_port = 1024;
    unsigned dst_port = 9;
    std::uint64_t rate = 0;
    double duration = 0;
    std::uint64_t count = 0;
    unsigned threads = 1;
    std::vector<int> cpus;
    unsigned batch = 64;
    bool seq = false;
    bool json = false;
    bool verbose = false;
    bool hold = true;
    std::vector<std::uint8_t> mix;  // kinds, one per frame, repeated
    std::string engine = "auto";    // auto, live, devmap or socket
    unsigned fanout = 0;            // devmap copies per seed; 0: chosen
};

void usage(FILE *out)
{
    // The text is laid out as it prints.
    // clang-format off
    std::fprintf(out,
"Usage: %s --dev IFNAME [options]\n"
"\n"
"Sends UDP frames out of IFNAME as XDP frames: BPF_PROG_RUN live frames\n"
"(XDP_TX), or seeds multiplied by a devmap broadcast where the kernel\n"
"refuses live frames.  On a veth the frames arrive at the peer, which must\n"
"run an XDP program (e.g. afxdp-sink) or have GRO on.  Runs until\n"
"--duration, --count or SIGINT/SIGTERM, then prints what was sent.\n"
"\n"
"Options:\n"
"  -i, --dev IFNAME      device to send from (required, must be up)\n"
"  -e, --engine NAME     auto (default): live if the kernel allows it,\n"
"                        else devmap; socket above %u bytes\n"
"                        live: BPF_PROG_RUN live frames (5.18+)\n"
"                        devmap: seeds through a helper veth, copied by a\n"
"                        devmap broadcast redirect (5.13+)\n"
"                        socket: AF_PACKET, one flow, one thread, no\n"
"                        --seq, --mix or --rate\n"
"      --fanout K        devmap: copies per seed, 1..%u (default: the\n"
"                        per-millisecond share of --rate up to 64, else\n"
"                        64)\n"
"      --src-mac MAC     source MAC (default: IFNAME's MAC)\n"
"      --dst-mac MAC     destination MAC (default: ff:ff:ff:ff:ff:ff)\n"
"      --src-ip ADDR     source address of flow 0 (default 198.18.0.1,\n"
"                        with --ipv6 2001:2::1); flow N adds N to it\n"
"      --dst-ip ADDR     destination address (default 198.19.0.1,\n"
"                        with --ipv6 2001:2:0:1::1)\n"
"  -6, --ipv6            IPv6 instead of IPv4\n"
"  -s, --size BYTES      frame size without FCS, %u..%u (default %u)\n"
"  -f, --flows N         flows, 1..%u: flow N uses UDP source port\n"
"                        --src-port + N and source address + N (default 1)\n"
"      --src-port PORT   UDP source port of flow 0 (default 1024)\n"
"      --dst-port PORT   UDP destination port (default 9)\n"
"  -r, --rate PPS        total packets per second, 0 = as fast as possible\n"
"                        (default 0)\n"
"  -d, --duration SEC    stop after SEC seconds\n"
"  -n, --count N         stop after N packets (in total)\n"
"  -t, --threads N       sending threads (default 1, or the --cpu count)\n"
"  -c, --cpu LIST        pin thread i to the i-th CPU of LIST, e.g. 0,2-3\n"
"  -b, --batch N         frames per kernel batch, 1..%u (default 64)\n"
"      --seq             write a pktgen sequence header into the payload\n"
"                        (afxdp-sink --seq counts loss and reordering)\n"
"      --mix[=KIND[:W],...]\n"
"                        interleave malformed frames with valid ones (IPv4\n"
"                        only): KIND is valid, runt, ethertype, bad-ip,\n"
"                        trunc-l3, trunc-l4, random, oversize or vlan, W its\n"
"                        weight (default 1, weights add up to at most 64);\n"
"                        without a list, every kind once.  Valid frames are\n"
"                        --size bytes with a sequence header (UDP checksum\n"
"                        0), the others never carry one\n"
"      --no-hold         do not keep the program in the XDP dispatcher by\n"
"                        attaching it (XDP_PASS) to this namespace's lo;\n"
"                        each run then waits for two RCU grace periods\n"
"  -j, --json            print the result as one JSON object\n"
"  -v, --verbose         libbpf debug messages\n"
"  -h, --help            this text\n",
        kProg, kMaxLiveFrame, kMaxFanout, kMinSize, kMaxSize, kMinSize,
        kMaxFlows, kMaxBatch);
    // clang-format on
}

enum LongOnly {
    kOptSrcMac = 1000,
    kOptDstMac,
    kOptSrcIp,
    kOptDstIp,
    kOptSrcPort,
    kOptDstPort,
    kOptSeq,
    kOptNoHold,
    kOptMix,
    kOptFanout,
};

// Parses "KIND[:WEIGHT],..." into a pattern that spreads each kind evenly:
// round after round, every kind with weight left adds one frame.
Result<std::vector<std::uint8_t>> parse_mix(const std::string &spec)
{
    unsigned weights[PKTGEN_KIND_N] = {};
    unsigned total = 0;
    if (spec.empty()) {
        for (auto &w : weights)
            w = 1;
        total = PKTGEN_KIND_N;
    }
    std::size_t pos = 0;
    while (pos < spec.size()) {
        std::size_t end = spec.find(',', pos);
        if (end == std::string::npos)
            end = spec.size();
        std::string item = spec.substr(pos, end - pos);
        pos = end + 1;
        std::string name = item;
        unsigned weight = 1;
        if (auto colon = item.find(':'); colon != std::string::npos) {
            name = item.substr(0, colon);
            auto w = parse_uint(item.substr(colon + 1), 1, PKTGEN_MIX_MAX,
                                "--mix weight");
            if (!w)
                return w.error();
            weight = static_cast<unsigned>(w.value());
        }
        auto it = std::find_if(std::begin(kKindNames), std::end(kKindNames),
                               [&name](const char *k) { return name == k; });
        if (it == std::end(kKindNames))
            return Error{EINVAL, "--mix: unknown kind '" + name + "'"};
        weights[it - std::begin(kKindNames)] += weight;
        total += weight;
    }
    if (total > PKTGEN_MIX_MAX)
        return Error{EINVAL, "--mix: weights add up to " +
                                 std::to_string(total) + ", more than " +
                                 std::to_string(PKTGEN_MIX_MAX)};
    std::vector<std::uint8_t> pattern;
    while (pattern.size() < total)
        for (unsigned k = 0; k < PKTGEN_KIND_N; k++)
            if (weights[k]) {
                weights[k]--;
                pattern.push_back(static_cast<std::uint8_t>(k));
            }
    return pattern;
}

Result<Options> parse_options(int argc, char **argv, bool &help)
{
    static const struct option long_opts[] = {
        {"dev", required_argument, nullptr, 'i'},
        {"src-mac", required_argument, nullptr, kOptSrcMac},
        {"dst-mac", required_argument, nullptr, kOptDstMac},
        {"src-ip", required_argument, nullptr, kOptSrcIp},
        {"dst-ip", required_argument, nullptr, kOptDstIp},
        {"ipv6", no_argument, nullptr, '6'},
        {"size", required_argument, nullptr, 's'},
        {"flows", required_argument, nullptr, 'f'},
        {"src-port", required_argument, nullptr, kOptSrcPort},
        {"dst-port", required_argument, nullptr, kOptDstPort},
        {"rate", required_argument, nullptr, 'r'},
        {"duration", required_argument, nullptr, 'd'},
        {"count", required_argument, nullptr, 'n'},
        {"threads", required_argument, nullptr, 't'},
        {"cpu", required_argument, nullptr, 'c'},
        {"batch", required_argument, nullptr, 'b'},
        {"seq", no_argument, nullptr, kOptSeq},
        {"no-hold", no_argument, nullptr, kOptNoHold},
        {"mix", optional_argument, nullptr, kOptMix},
        {"engine", required_argument, nullptr, 'e'},
        {"fanout", required_argument, nullptr, kOptFanout},
        {"json", no_argument, nullptr, 'j'},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    Options o;
    bool threads_given = false;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":i:e:6s:f:r:d:n:t:c:b:jvh", long_opts,
                            nullptr)) != -1) {
        std::string arg = optarg ? optarg : "";
        Result<std::uint64_t> num = std::uint64_t{0};
        switch (c) {
        case 'i': o.dev = arg; break;
        case kOptSrcMac:
        case kOptDstMac: {
            auto mac = parse_mac(arg);
            if (!mac)
                return mac.error();
            (c == kOptSrcMac ? o.src_mac : o.dst_mac) = mac.value();
            break;
        }
        case kOptSrcIp: o.src_ip = arg; break;
        case kOptDstIp: o.dst_ip = arg; break;
        case '6': o.ipv6 = true; break;
        case 's':
            if (!(num = parse_uint(arg, kMinSize, kMaxSize, "--size")))
                return num.error();
            o.size = static_cast<unsigned>(num.value());
            break;
        case 'f':
            if (!(num = parse_uint(arg, 1, kMaxFlows, "--flows")))
                return num.error();
            o.flows = static_cast<unsigned>(num.value());
            break;
        case kOptSrcPort:
        case kOptDstPort:
            if (!(num = parse_uint(arg, 1, 65535, "UDP port")))
                return num.error();
            (c == kOptSrcPort ? o.src_port : o.dst_port) =
                static_cast<unsigned>(num.value());
            break;
        case 'r':
            if (!(num = parse_uint(arg, 0, 1000000000, "--rate")))
                return num.error();
            o.rate = num.value();
            break;
        case 'd': {
            auto d = parse_seconds(arg, "--duration");
            if (!d)
                return d.error();
            o.duration = d.value();
            break;
        }
        case 'n':
            if (!(num = parse_uint(arg, 1, UINT64_MAX, "--count")))
                return num.error();
            o.count = num.value();
            break;
        case 't':
            if (!(num = parse_uint(arg, 1, 1024, "--threads")))
                return num.error();
            o.threads = static_cast<unsigned>(num.value());
            threads_given = true;
            break;
        case 'c': {
            auto cpus = parse_cpu_list(arg);
            if (!cpus)
                return cpus.error();
            o.cpus = cpus.value();
            break;
        }
        case 'b':
            if (!(num = parse_uint(arg, 1, kMaxBatch, "--batch")))
                return num.error();
            o.batch = static_cast<unsigned>(num.value());
            break;
        case kOptSeq: o.seq = true; break;
        case kOptNoHold: o.hold = false; break;
        case kOptMix: {
            auto mix = parse_mix(arg);
            if (!mix)
                return mix.error();
            o.mix = mix.value();
            break;
        }
        case 'e':
            if (arg != "auto" && arg != "live" && arg != "devmap" &&
                arg != "socket")
                return Error{EINVAL, "--engine: auto, live, devmap or socket"};
            o.engine = arg;
            break;
        case kOptFanout:
            if (!(num = parse_uint(arg, 1, kMaxFanout, "--fanout")))
                return num.error();
            o.fanout = static_cast<unsigned>(num.value());
            break;
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
    if (!o.cpus.empty()) {
        if (!threads_given)
            o.threads = static_cast<unsigned>(o.cpus.size());
        else if (o.cpus.size() < o.threads)
            return Error{EINVAL, "--cpu lists fewer CPUs than --threads"};
    }
    if (o.rate && o.rate < o.threads)
        return Error{EINVAL, "--rate must be at least --threads"};
    if (o.count && o.count < o.threads)
        return Error{EINVAL, "--count must be at least --threads"};
    unsigned payload_off = o.ipv6 ? PKTGEN_PAYLOAD_OFF6 : PKTGEN_PAYLOAD_OFF4;
    if (o.seq && o.size < payload_off + sizeof(pktgen_seq_hdr))
        return Error{EINVAL,
                     "--seq needs --size >= " +
                         std::to_string(payload_off + sizeof(pktgen_seq_hdr)) +
                         (o.ipv6 ? " with --ipv6" : "")};
    if (!o.mix.empty()) {
        if (o.ipv6)
            return Error{EINVAL, "--mix builds IPv4 frames only"};
        o.seq = true;  // the valid frames are what a sink counts
    }
    if (o.src_ip.empty())
        o.src_ip = o.ipv6 ? "2001:2::1" : "198.18.0.1";
    if (o.dst_ip.empty())
        o.dst_ip = o.ipv6 ? "2001:2:0:1::1" : "198.19.0.1";
    return o;
}

// ---- frame template --------------------------------------------------------

// One's complement sum of 'len' bytes as big-endian 16-bit words.
std::uint32_t csum_add(std::uint32_t sum, const std::uint8_t *p,
                       std::size_t len)
{
    for (std::size_t i = 0; i + 1 < len; i += 2)
        sum += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
    if (len & 1)
        sum += static_cast<std::uint32_t>(p[len - 1] << 8);
    return sum;
}

std::uint16_t csum_finish(std::uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

void put16(std::uint8_t *p, unsigned v)
{
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}

Result<Template> build_template(const Options &o, const MacAddr &src_mac,
                                const MacAddr &dst_mac, std::uint16_t run)
{
    Template t;
    t.frame.assign(o.size, 0);
    std::uint8_t *f = t.frame.data();
    std::memcpy(f, dst_mac.data(), 6);
    std::memcpy(f + 6, src_mac.data(), 6);
    put16(f + 12, o.ipv6 ? ETH_P_IPV6 : ETH_P_IP);

    std::uint8_t *ip = f + PKTGEN_ETH_LEN;
    unsigned ip_len = o.ipv6 ? PKTGEN_IP6_LEN : PKTGEN_IP4_LEN;
    std::uint8_t *udp = ip + ip_len;
    unsigned udp_len = o.size - PKTGEN_ETH_LEN - ip_len;
    const int family = o.ipv6 ? AF_INET6 : AF_INET;
    std::uint8_t *saddr = ip + (o.ipv6 ? 8 : 12);
    std::uint8_t *daddr = ip + (o.ipv6 ? 24 : 16);
    const unsigned addr_len = o.ipv6 ? 16 : 4;
    const char *fam_name = o.ipv6 ? "IPv6" : "IPv4";
    if (inet_pton(family, o.src_ip.c_str(), saddr) != 1)
        return Error{EINVAL, "--src-ip '" + o.src_ip + "' is not an " +
                                 fam_name + " address"};
    if (inet_pton(family, o.dst_ip.c_str(), daddr) != 1)
        return Error{EINVAL, "--dst-ip '" + o.dst_ip + "' is not an " +
                                 fam_name + " address"};
    std::uint32_t low;
    std::memcpy(&low, saddr + addr_len - 4, 4);
    t.saddr_low = ntohl(low);

    if (o.ipv6) {
        ip[0] = 0x60;
        put16(ip + 4, udp_len);
        ip[6] = IPPROTO_UDP;
        ip[7] = 64;
    } else {
        ip[0] = 0x45;
        put16(ip + 2, o.size - PKTGEN_ETH_LEN);
        put16(ip + 6, 0x4000);  // DF
        ip[8] = 64;
        ip[9] = IPPROTO_UDP;
        put16(ip + 10, csum_finish(csum_add(0, ip, PKTGEN_IP4_LEN)));
        std::memcpy(&t.ip_csum, ip + 10, 2);
    }

    put16(udp, o.src_port);
    put16(udp + 2, o.dst_port);
    put16(udp + 4, udp_len);
    if (o.seq) {
        put16(udp + PKTGEN_UDP_LEN, PKTGEN_SEQ_MAGIC);
        put16(udp + PKTGEN_UDP_LEN + 2, run);
        // stream, flow and seq stay 0: the XDP program fills them in.
    }
    // Pseudo header: addresses, protocol, UDP length.
    std::uint32_t sum = csum_add(0, saddr, addr_len);
    sum = csum_add(sum, daddr, addr_len);
    sum += IPPROTO_UDP + udp_len;
    sum = csum_add(sum, udp, udp_len);
    std::uint16_t udp_csum = csum_finish(sum);
    put16(udp + 6, udp_csum ? udp_csum : 0xffff);
    std::memcpy(&t.udp_csum, udp + 6, 2);
    return t;
}

// ---- generator threads -----------------------------------------------------

void run_worker(Shared &sh, WorkerPlan &plan)
{
    const double cpu_start = thread_cpu_seconds();
    if (auto r = pin_thread(plan.cpu); !r) {
        sh.fail(r.error());
        return;
    }

    struct xdp_md ctx {};
    ctx.data = 0;
    ctx.data_end = static_cast<__u32>(sh.tmpl->frame.size());
    ctx.ingress_ifindex = sh.ifindex;
    ctx.rx_queue_index = 0;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = sh.tmpl->frame.data(),
                .data_size_in = static_cast<__u32>(sh.tmpl->frame.size()),
                .ctx_in = &ctx, .ctx_size_in = sizeof ctx,
                .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = sh.batch);

    const std::uint64_t per_run =
        plan.rate ? std::clamp<std::uint64_t>(
                        static_cast<std::uint64_t>(plan.rate / kRunsPerSecond),
                        1, kMaxRepeat)
                  : kMaxRepeat;
    std::uint64_t done = 0;
    double frames_per_second = 0;  // measured, to end close to the deadline
    while (!stop_requested() && !sh.failed.load(std::memory_order_relaxed)) {
        std::uint64_t n = per_run;
        if (plan.quota)
            n = std::min(n, plan.quota - done);
        if (n == 0)
            break;
        double now = monotonic_seconds();
        if (plan.rate) {
            double due = sh.start + static_cast<double>(done) /
                                        static_cast<double>(plan.rate);
            if (sh.deadline && due >= sh.deadline)
                break;
            sleep_until(due);
            if (stop_requested())
                break;
        } else if (sh.deadline) {
            if (now >= sh.deadline)
                break;
            if (frames_per_second > 0)
                n = std::clamp<std::uint64_t>(
                    static_cast<std::uint64_t>((sh.deadline - now) *
                                               frames_per_second),
                    sh.batch, n);
        }
        opts.repeat = static_cast<__u32>(n);
        if (bpf_prog_test_run_opts(sh.prog_fd, &opts) < 0) {
            int err = errno;
            if (err == EINTR)
                continue;  // A stop signal; the counter has what was sent.
            sh.fail(Error{err, std::string("BPF_PROG_RUN (live frames): ") +
                                   std::strerror(err)});
            break;
        }
        done += n;
        double took = monotonic_seconds() - now;
        if (took > 0)
            frames_per_second = static_cast<double>(n) / took;
    }
    plan.cpu_seconds = thread_cpu_seconds() - cpu_start;
}

// ---- dispatcher hold -------------------------------------------------------

// Attaches the program to the namespace's loopback device in generic mode
// so that it stays registered with the XDP dispatcher (see the note at the
// top).  Failing is not fatal: runs are only slower to start and stop.
Fd hold_dispatcher(int prog_fd)
{
    int lo = static_cast<int>(if_nametoindex("lo"));
    if (lo == 0) {
        std::fprintf(stderr,
                     "%s: warning: no lo device, runs will be "
                     "slow to start\n",
                     kProg);
        return Fd();
    }
    LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = XDP_FLAGS_SKB_MODE);
    Fd link(bpf_link_create(prog_fd, lo, BPF_XDP, &opts));
    if (link.get() < 0)
        std::fprintf(stderr,
                     "%s: warning: cannot attach to lo to keep the "
                     "program in the XDP dispatcher (%s); runs will be slow "
                     "to start\n",
                     kProg, std::strerror(errno));
    return link;
}

// ---- main ------------------------------------------------------------------

std::uint64_t frames_sent(const pktgen &skel)
{
    auto counts =
        read_percpu<std::uint64_t>(bpf_map__fd(skel.maps.tx_count), 0);
    std::uint64_t total = 0;
    if (counts)
        for (auto v : counts.value())
            total += v;
    return total;
}

// ---- jumbo frames: AF_PACKET -----------------------------------------------

// Sends copies of the template through an AF_PACKET socket bound to the
// device, bypassing the qdisc, kSocketBatch per sendmmsg(): a frame above
// a page cannot be a live frame.  Prints the same result as run().
int run_socket(const Options &o, const Template &t, int ifindex,
               const std::string &reason)
{
    constexpr unsigned kSocketBatch = 64;
    if (o.flows != 1 || o.seq || !o.mix.empty() || o.rate || o.threads != 1) {
        std::fprintf(stderr,
                     "%s: the socket engine (AF_PACKET, and every frame "
                     "above %u bytes) sends one flow from one thread, no "
                     "--seq, --mix or --rate\n",
                     kProg, kMaxLiveFrame);
        return 2;
    }
    if (!reason.empty())
        std::fprintf(stderr, "%s: engine socket: %s\n", kProg, reason.c_str());
    Fd fd(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));  // Send only.
    struct sockaddr_ll sll = {};
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = ifindex;
    int one = 1;
    if (fd.get() < 0 ||
        bind(fd.get(), reinterpret_cast<sockaddr *>(&sll), sizeof sll) != 0 ||
        setsockopt(fd.get(), SOL_PACKET, PACKET_QDISC_BYPASS, &one,
                   sizeof one) != 0) {
        std::fprintf(stderr, "%s: AF_PACKET socket on %s: %s\n", kProg,
                     o.dev.c_str(), std::strerror(errno));
        return 1;
    }
    if (!o.cpus.empty()) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(o.cpus[0], &set);
        pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    }
    struct iovec iov = {const_cast<std::uint8_t *>(t.frame.data()),
                        t.frame.size()};
    std::vector<struct mmsghdr> msgs(kSocketBatch);
    for (auto &m : msgs) {
        m.msg_hdr.msg_iov = &iov;
        m.msg_hdr.msg_iovlen = 1;
    }
    const double start = monotonic_seconds();
    const double deadline = o.duration > 0 ? start + o.duration : 0;
    std::uint64_t sent = 0;
    bool ok = true;
    while (!stop_requested() && (!o.count || sent < o.count) &&
           (!deadline || monotonic_seconds() < deadline)) {
        unsigned n = kSocketBatch;
        if (o.count)
            n = static_cast<unsigned>(
                std::min<std::uint64_t>(n, o.count - sent));
        int r = sendmmsg(fd.get(), msgs.data(), n, 0);
        if (r < 0) {
            if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN)
                continue;
            std::fprintf(stderr, "%s: sendmmsg on %s: %s\n", kProg,
                         o.dev.c_str(), std::strerror(errno));
            ok = false;
            break;
        }
        sent += static_cast<unsigned>(r);
    }
    const double elapsed = monotonic_seconds() - start;
    const double mpps = elapsed > 0 ? sent / elapsed / 1e6 : 0;
    const double gbps = elapsed > 0 ? sent * o.size * 8.0 / elapsed / 1e9 : 0;
    if (o.json)
        std::printf("{\"tool\":\"afxdp-pktgen\",\"dev\":\"%s\","
                    "\"family\":\"ipv4\",\"size\":%u,\"flows\":1,"
                    "\"threads\":1,\"transport\":\"af_packet\","
                    "\"engine\":\"socket\",\"engine_reason\":\"%s\","
                    "\"packets\":%llu,\"duration_s\":%.6f,\"mpps\":%.6f,"
                    "\"gbps\":%.6f,\"ok\":%s}\n",
                    o.dev.c_str(), o.size, reason.c_str(),
                    static_cast<unsigned long long>(sent), elapsed, mpps, gbps,
                    ok ? "true" : "false");
    else
        std::printf("engine socket (AF_PACKET)\n"
                    "%s: %llu frames of %u bytes in %.3f s (AF_PACKET): "
                    "%.3f Mpps, %.3f Gbps\n",
                    o.dev.c_str(), static_cast<unsigned long long>(sent),
                    o.size, elapsed, mpps, gbps);
    return ok ? 0 : 1;
}

// ---- engine choice ---------------------------------------------------------

// AFXDP_DISABLE_FEATURES (a comma list) names kernel features to treat as
// absent, so that a fallback can be tested on a kernel that has them.
bool feature_disabled(const std::string &feature)
{
    const char *env = std::getenv("AFXDP_DISABLE_FEATURES");
    std::string list = env ? env : "";
    std::size_t pos = 0;
    while (pos <= list.size()) {
        std::size_t end = list.find(',', pos);
        if (end == std::string::npos)
            end = list.size();
        if (list.compare(pos, end - pos, feature) == 0)
            return true;
        pos = end + 1;
    }
    return false;
}

// One live frame through pktgen_probe (XDP_DROP): whether the kernel takes
// BPF_F_TEST_XDP_LIVE_FRAMES at all.  Kernels before 5.18 answer EINVAL,
// some locked-down ones EPERM.
Result<void> probe_live(const pktgen &skel, unsigned ifindex, const Template &t)
{
    if (feature_disabled("live-frames"))
        return Error{EPERM, "live frames disabled by AFXDP_DISABLE_FEATURES"};
    struct xdp_md ctx {};
    ctx.data_end = static_cast<__u32>(t.frame.size());
    ctx.ingress_ifindex = ifindex;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = t.frame.data(),
                .data_size_in = static_cast<__u32>(t.frame.size()),
                .ctx_in = &ctx, .ctx_size_in = sizeof ctx, .repeat = 1,
                .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = 1);
    if (bpf_prog_test_run_opts(bpf_program__fd(skel.progs.pktgen_probe),
                               &opts) != 0)
        return Error{errno,
                     std::string("BPF_PROG_RUN with live frames refused: ") +
                         std::strerror(errno)};
    return {};
}

struct EngineChoice {
    std::string name;    // live, devmap or socket
    std::string reason;  // why auto did not pick live; empty otherwise
};

// The engine for frames up to a page: live when the kernel allows it,
// devmap otherwise.  An explicit --engine live that cannot run is an error.
Result<EngineChoice> choose_engine(const Options &o, const pktgen &skel,
                                   unsigned ifindex, const Template &t)
{
    if (o.engine == "devmap")
        return EngineChoice{"devmap", ""};
    auto live = probe_live(skel, ifindex, t);
    if (live)
        return EngineChoice{"live", ""};
    if (o.engine == "live")
        return live.error();
    return EngineChoice{"devmap", live.error().message};
}

// Copies per seed: what a paced thread sends per run (so that pacing is as
// smooth as the live engine's), or kDefaultFanout unpaced.
unsigned choose_fanout(const Options &o)
{
    constexpr unsigned kDefaultFanout = 64;
    if (o.fanout)
        return o.fanout;
    if (!o.rate)
        return kDefaultFanout;
    const double per_run =
        static_cast<double>(o.rate) / o.threads / kRunsPerSecond;
    return static_cast<unsigned>(
        std::clamp(per_run, 1.0, static_cast<double>(kDefaultFanout)));
}

// ---- a run -----------------------------------------------------------------

struct RunResult {
    std::string engine;
    std::string reason;
    unsigned fanout = 0;
    std::uint64_t sent = 0;
    double elapsed = 0;
    double cpu_seconds = 0;
    std::uint64_t delivered = 0;  // the device's tx_packets delta
    std::uint64_t dropped = 0;    // the device's tx_dropped delta
    std::uint64_t kinds[PKTGEN_KIND_N] = {};
};

std::vector<WorkerPlan> make_plans(const Options &o)
{
    std::vector<WorkerPlan> plans(o.threads);
    for (unsigned i = 0; i < o.threads; i++) {
        plans[i].index = i;
        plans[i].cpu = o.cpus.empty() ? -1 : o.cpus[i];
        // Thread 0 takes the remainders.
        plans[i].quota =
            o.count / o.threads + (i == 0 ? o.count % o.threads : 0);
        plans[i].rate = o.rate / o.threads + (i == 0 ? o.rate % o.threads : 0);
    }
    return plans;
}

// Waits until the frames in flight (in the helper veth's ring, or in a
// softirq deferred to ksoftirqd) have been counted.
std::uint64_t settled_count(const pktgen &skel)
{
    std::uint64_t last = frames_sent(skel);
    for (int i = 0; i < 200; i++) {
        sleep_until(monotonic_seconds() + 0.005);
        std::uint64_t now = frames_sent(skel);
        if (now == last && i >= 2)
            break;
        last = now;
    }
    return last;
}

// --count with the devmap engine: the threads sent whole seeds only; the
// rest, and whatever seeds lost on the way to the fan-out program (its
// ring full) did not make, goes out one frame per seed until exactly
// o.count frames have been sent.
void top_up_count(const Options &o, const pktgen &skel, const FanoutEngine &fan,
                  Shared &sh)
{
    if (!o.count)
        return;
    if (!o.cpus.empty())
        (void)pin_thread(o.cpus[0]);
    std::uint64_t sent = settled_count(skel);
    while (sent < o.count && !stop_requested() && !sh.error) {
        if (auto r = fan.top_up(0, o.count - sent); !r)
            sh.fail(r.error());
        const std::uint64_t before = sent;
        sent = settled_count(skel);
        if (sent == before)
            break;  // Nothing gets through.
    }
    if (sent < o.count && !stop_requested() && !sh.error)
        sh.fail(Error{EIO, "devmap engine: only " + std::to_string(sent) +
                               " of " + std::to_string(o.count) +
                               " frames went out (on a veth, the peer "
                               "needs an XDP program or GRO on)"});
}

// Runs the threads of the chosen engine; fills res.elapsed and cpu_seconds.
void send_frames(const Options &o, const pktgen &skel, Shared &sh,
                 const FanoutEngine *fan, RunResult &res)
{
    auto plans = make_plans(o);
    sh.start = monotonic_seconds();
    sh.deadline = o.duration > 0 ? sh.start + o.duration : 0;
    {
        std::vector<std::jthread> workers;
        workers.reserve(plans.size());
        for (auto &plan : plans)
            workers.emplace_back([&sh, &plan, fan] {
                if (fan)
                    fan->run_worker(sh, plan);
                else
                    run_worker(sh, plan);
            });
    }
    if (fan)
        top_up_count(o, skel, *fan, sh);
    res.elapsed = monotonic_seconds() - sh.start;
    for (const auto &plan : plans)
        res.cpu_seconds += plan.cpu_seconds;
}

// Loads the XDP programs with the run's constants.
Result<PktgenSkel> load_skel(const Options &o, const Template &t,
                             const DeviceInfo &dev, std::uint16_t run_id,
                             unsigned fanout)
{
    PktgenSkel skel(pktgen__open());
    if (!skel)
        return Error{errno, std::string("opening the BPF object: ") +
                                std::strerror(errno)};
    skel->rodata->cfg_flows = o.flows;
    skel->rodata->cfg_seq = o.seq;
    skel->rodata->cfg_ipv6 = o.ipv6;
    skel->rodata->cfg_run = run_id;
    skel->rodata->cfg_sport = static_cast<__u16>(o.src_port);
    skel->rodata->cfg_saddr = t.saddr_low;
    skel->rodata->cfg_udp_csum = t.udp_csum;
    skel->rodata->cfg_ip_csum = t.ip_csum;
    skel->rodata->cfg_ifindex = dev.ifindex;
    // A devmap seed is a valid frame: --mix's template is larger (the
    // largest kind), but the fan-out's redirect checks the seed against
    // the output device's MTU; the egress program grows the oversize kind.
    skel->rodata->cfg_seed_len = o.size;
    bpf_map__set_max_entries(skel->maps.fanout, fanout);
    if (!o.mix.empty()) {
        skel->rodata->cfg_mix_len = static_cast<__u32>(o.mix.size());
        std::copy(o.mix.begin(), o.mix.end(), skel->rodata->cfg_mix);
        skel->rodata->cfg_valid_len = o.size;
        skel->rodata->cfg_max_len = kMaxLiveFrame;
        std::memcpy(const_cast<__u64 *>(skel->rodata->cfg_head), t.frame.data(),
                    PKTGEN_MIX_HEAD);
    }
    if (int err = pktgen__load(skel.get()); err)
        return Error{-err, std::string("loading the XDP programs: ") +
                               std::strerror(-err)};
    return skel;
}

// ---- output ----------------------------------------------------------------

void print_json(const Options &o, const RunResult &r, bool ok)
{
    const double mpps = r.elapsed > 0 ? r.sent / r.elapsed / 1e6 : 0;
    const double gbps =
        r.elapsed > 0 ? r.sent * o.size * 8.0 / r.elapsed / 1e9 : 0;
    const double per_cpu = r.cpu_seconds > 0 ? r.sent / r.cpu_seconds / 1e6 : 0;
    std::string mix;
    for (unsigned k = 0; k < PKTGEN_KIND_N && !o.mix.empty(); k++)
        mix += std::string(k ? "," : "\"mix\":{") + "\"" + kKindNames[k] +
               "\":" + std::to_string(r.kinds[k]) +
               (k + 1 == PKTGEN_KIND_N ? "}," : "");
    std::printf(
        "{\"tool\":\"afxdp-pktgen\",\"dev\":\"%s\",\"family\":\"%s\","
        "\"size\":%u,\"flows\":%u,\"threads\":%u,\"seq\":%s,"
        "\"engine\":\"%s\",\"engine_reason\":\"%s\",\"fanout\":%u,"
        "\"rate_target_pps\":%llu,\"packets\":%llu,"
        "\"duration_s\":%.6f,\"mpps\":%.6f,\"gbps\":%.6f,"
        "\"cpu_s\":%.6f,\"mpps_per_cpu\":%.6f,"
        "\"dev_tx_packets\":%llu,\"dev_tx_dropped\":%llu,%s"
        "\"ok\":%s}\n",
        o.dev.c_str(), o.ipv6 ? "ipv6" : "ipv4", o.size, o.flows, o.threads,
        o.seq ? "true" : "false", r.engine.c_str(), r.reason.c_str(), r.fanout,
        static_cast<unsigned long long>(o.rate),
        static_cast<unsigned long long>(r.sent), r.elapsed, mpps, gbps,
        r.cpu_seconds, per_cpu, static_cast<unsigned long long>(r.delivered),
        static_cast<unsigned long long>(r.dropped), mix.c_str(),
        ok ? "true" : "false");
}

void print_text(const Options &o, const RunResult &r)
{
    const double mpps = r.elapsed > 0 ? r.sent / r.elapsed / 1e6 : 0;
    const double gbps =
        r.elapsed > 0 ? r.sent * o.size * 8.0 / r.elapsed / 1e9 : 0;
    // The CPU time includes the receiver's NAPI poll when it is raised on
    // the sending CPU (veth), so this is the cost of the whole path.
    const double per_cpu = r.cpu_seconds > 0 ? r.sent / r.cpu_seconds / 1e6 : 0;
    std::printf("%s: %s, %u-byte %s/UDP frames, %u flow%s, %u thread%s\n",
                kProg, o.dev.c_str(), o.size, o.ipv6 ? "IPv6" : "IPv4", o.flows,
                o.flows == 1 ? "" : "s", o.threads, o.threads == 1 ? "" : "s");
    if (r.engine == "devmap")
        std::printf("engine devmap (%u copies per seed)\n", r.fanout);
    else
        std::printf("engine %s\n", r.engine.c_str());
    std::printf("sent %llu packets in %.3f s: %.3f Mpps, %.3f Gbps\n",
                static_cast<unsigned long long>(r.sent), r.elapsed, mpps, gbps);
    std::printf("CPU time %.3f s: %.3f Mpps per CPU second\n", r.cpu_seconds,
                per_cpu);
    std::printf("device counters: tx_packets +%llu, tx_dropped +%llu\n",
                static_cast<unsigned long long>(r.delivered),
                static_cast<unsigned long long>(r.dropped));
    std::string mix;
    for (unsigned k = 0; k < PKTGEN_KIND_N && !o.mix.empty(); k++)
        mix += std::string(k ? ", " : "") + kKindNames[k] + " " +
               std::to_string(r.kinds[k]);
    if (!o.mix.empty())
        std::printf("mix: %s\n", mix.c_str());
}

// Prints the result and the warnings it calls for; the exit status.
int report(const Options &o, const RunResult &r, const Shared &sh)
{
    if (sh.error) {
        std::fprintf(stderr, "%s: %s: %s\n", kProg, o.dev.c_str(),
                     sh.error->message.c_str());
        if (sh.error->code == ENXIO || sh.error->code == EOPNOTSUPP)
            std::fprintf(stderr, "%s: the device cannot transmit XDP frames\n",
                         kProg);
    }
    if (o.json)
        print_json(o, r, !sh.error);
    else
        print_text(o, r);
    std::fflush(stdout);
    // veth counts the frames its peer took in tx_packets; far fewer than
    // were sent means the peer could not take XDP frames at all.
    if (!sh.error && r.sent >= 1000 && r.delivered < r.sent / 2)
        std::fprintf(stderr,
                     "%s: warning: %s reports only %llu of %llu frames "
                     "transmitted; if it is a veth, its peer needs an XDP "
                     "program (e.g. afxdp-sink) or GRO enabled\n",
                     kProg, o.dev.c_str(),
                     static_cast<unsigned long long>(r.delivered),
                     static_cast<unsigned long long>(r.sent));
    return sh.error ? 1 : 0;
}

// ---- main ------------------------------------------------------------------

// The device is up, the CPUs asked for are ours; warnings for MTUs.
Result<DeviceInfo> check_device(const Options &o)
{
    auto dev = device_info(o.dev);
    if (!dev)
        return dev.error();
    if (!dev.value().up)
        return Error{ENETDOWN,
                     o.dev + " is down (ip link set " + o.dev + " up)"};
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    sched_getaffinity(0, sizeof allowed, &allowed);
    for (int cpu : o.cpus)
        if (cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &allowed))
            return Error{EINVAL, "CPU " + std::to_string(cpu) +
                                     " is not available to this process"};
    const std::uint64_t mtu = device_stat_file(o.dev, "mtu");
    if (mtu && o.size - PKTGEN_ETH_LEN > mtu)
        std::fprintf(stderr,
                     "%s: warning: %u-byte frames carry %u-byte IP packets, "
                     "more than the %llu-byte MTU of %s\n",
                     kProg, o.size, o.size - PKTGEN_ETH_LEN,
                     static_cast<unsigned long long>(mtu), o.dev.c_str());
    const bool oversize = std::find(o.mix.begin(), o.mix.end(),
                                    PKTGEN_KIND_OVERSIZE) != o.mix.end();
    if (oversize && mtu && kMaxLiveFrame - PKTGEN_ETH_LEN > mtu)
        std::fprintf(stderr,
                     "%s: warning: the kernel drops the %u-byte oversize "
                     "frames of --mix: the MTU of %s is %llu, not >= %u\n",
                     kProg, kMaxLiveFrame, o.dev.c_str(),
                     static_cast<unsigned long long>(mtu),
                     kMaxLiveFrame - PKTGEN_ETH_LEN);
    return dev;
}

// The per-kind counts of --mix.
void read_kinds(const pktgen &skel, RunResult &r)
{
    for (std::uint32_t k = 0; k < PKTGEN_KIND_N; k++)
        if (auto c =
                read_percpu<std::uint64_t>(bpf_map__fd(skel.maps.mix_count), k))
            for (auto v : c.value())
                r.kinds[k] += v;
}

// Live or devmap: loads the programs, picks the engine and sends.
int run_xdp(const Options &o, const Template &t, const DeviceInfo &dev,
            std::uint16_t run_id)
{
    RunResult res;
    res.fanout = choose_fanout(o);
    auto skel = load_skel(o, t, dev, run_id, res.fanout);
    if (!skel) {
        std::fprintf(stderr, "%s: %s\n", kProg, skel.error().message.c_str());
        return 1;
    }
    const pktgen &sk = *skel.value();
    auto choice = choose_engine(o, sk, dev.ifindex, t);
    if (!choice) {
        std::fprintf(stderr, "%s: engine live: %s\n", kProg,
                     choice.error().message.c_str());
        return 1;
    }
    res.engine = choice.value().name;
    res.reason = choice.value().reason;
    if (!res.reason.empty())
        std::fprintf(stderr, "%s: engine %s: %s\n", kProg, res.engine.c_str(),
                     res.reason.c_str());
    Shared sh;
    sh.prog_fd = bpf_program__fd(sk.progs.pktgen_tx);
    sh.tmpl = &t;
    sh.ifindex = dev.ifindex;
    sh.batch = o.batch;
    Template seed = t;
    seed.frame.resize(o.size);  // see cfg_seed_len in load_skel()
    std::optional<FanoutEngine> fan;
    Fd hold;
    if (res.engine == "devmap") {
        FanoutConfig cfg{dev.ifindex,
                         res.fanout,
                         o.threads,
                         bpf_program__fd(sk.progs.pktgen_fanout),
                         bpf_program__fd(sk.progs.pktgen_egress),
                         bpf_map__fd(sk.maps.fanout),
                         bpf_map__fd(sk.maps.single),
                         bpf_map__fd(sk.maps.fanout_mode)};
        auto f = FanoutEngine::open(cfg, seed);
        if (!f) {
            std::fprintf(stderr, "%s: engine devmap: %s\n", kProg,
                         f.error().message.c_str());
            return 1;
        }
        fan.emplace(std::move(f.value()));
    } else {
        res.fanout = 0;
        if (o.hold)
            hold = hold_dispatcher(sh.prog_fd);
    }
    const std::uint64_t tx_before = device_stat(o.dev, "tx_packets");
    const std::uint64_t drop_before = device_stat(o.dev, "tx_dropped");
    send_frames(o, sk, sh, fan ? &*fan : nullptr, res);
    res.sent = fan ? settled_count(sk) : frames_sent(sk);
    if (!o.mix.empty())
        read_kinds(sk, res);
    res.delivered = device_stat(o.dev, "tx_packets") - tx_before;
    res.dropped = device_stat(o.dev, "tx_dropped") - drop_before;
    return report(o, res, sh);
}

int run(const Options &o)
{
    auto dev = check_device(o);
    if (!dev) {
        std::fprintf(stderr, "%s: %s\n", kProg, dev.error().message.c_str());
        return dev.error().code == EINVAL ? 2 : 1;
    }
    const MacAddr src_mac = o.src_mac.value_or(dev.value().mac);
    const MacAddr dst_mac =
        o.dst_mac.value_or(MacAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
    const auto run_id =
        static_cast<std::uint16_t>(std::random_device{}() & 0xffff);
    auto tmpl = build_template(o, src_mac, dst_mac, run_id);
    if (!tmpl) {
        std::fprintf(stderr, "%s: %s\n", kProg, tmpl.error().message.c_str());
        return 2;
    }
    const bool big = o.size > kMaxLiveFrame;
    if (big && (o.engine == "live" || o.engine == "devmap")) {
        std::fprintf(stderr, "%s: frames above %u bytes need --engine socket\n",
                     kProg, kMaxLiveFrame);
        return 2;
    }
    if (o.engine == "socket" || big)
        return run_socket(o, tmpl.value(), dev.value().ifindex,
                          big && o.engine == "auto"
                              ? "frames above " +
                                    std::to_string(kMaxLiveFrame) +
                                    " bytes are larger than an XDP frame"
                              : "");
    if (!o.mix.empty()) {
        // Valid --mix frames: UDP checksum 0 (their payload is leftover
        // bytes, see pktgen.bpf.c), and the template is the largest frame
        // so that every kind can be cut from it.
        std::uint8_t *udp =
            tmpl.value().frame.data() + PKTGEN_ETH_LEN + PKTGEN_IP4_LEN;
        put16(udp + 6, 0);
        tmpl.value().frame.resize(kMaxLiveFrame, 0);
    }
    return run_xdp(o, tmpl.value(), dev.value(), run_id);
}

}  // namespace

// ---- shared with the engines -----------------------------------------------

double thread_cpu_seconds() noexcept
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

Result<void> pin_thread(int cpu) noexcept
{
    if (cpu < 0)
        return {};
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    int err = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    if (err)
        return Error{err, "cannot pin a thread to CPU " + std::to_string(cpu) +
                              ": " + std::strerror(err)};
    return {};
}

}  // namespace afxdp::perf

int main(int argc, char **argv)
{
    using namespace afxdp::perf;
    return tool_main(kProg, argc, argv, parse_options, usage, run);
}
