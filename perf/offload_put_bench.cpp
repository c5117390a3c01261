/*
 * afxdp-offload-put: how fast the XDP fast path installs, reads and
 * removes megaflows, without OVS around it.
 *
 * It creates a veth pair in a network namespace of its own, opens an afxdp
 * port on one end with the fast path in its program, and drives the
 * provider's C ABI (netdev-afxdp/offload/afxdp_offload.h) as dpif-netdev's
 * offload thread and revalidators do: N flow_put of distinct megaflows
 * under one mask (UDP, exact source address, like perf/bench's flows), N
 * flow_get, N flow_del.  Each put must cost map updates only, never a
 * program reload; the rates show it.  Prints one JSON object.
 *
 * Needs root (XDP, AF_XDP, a network namespace).
 */
#include <arpa/inet.h>
#include <sched.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "netdev-afxdp/afxdp.h"
#include "netdev-afxdp/offload/afxdp_offload.h"

namespace {

constexpr const char *kProg = "afxdp-offload-put";
constexpr const char *kDev = "opb0";

double seconds_since(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
        .count();
}

// Megaflow i: in_port 1, UDP from 198.18.0.0 + i to 198.19.0.1, not a
// fragment; every other field wildcarded.
afxdp_flow_match megaflow(uint32_t i)
{
    afxdp_flow_match m;
    std::memset(&m, 0, sizeof m);
    m.value.in_port = 1;
    m.mask.in_port = UINT32_MAX;
    m.value.dl_type = htons(0x0800);
    m.mask.dl_type = 0xffff;
    m.value.nw_src = htonl(0xc6120000u + i);
    m.mask.nw_src = UINT32_MAX;
    m.value.nw_dst = htonl(0xc6130001u);
    m.mask.nw_dst = UINT32_MAX;
    m.value.nw_proto = 17;
    m.mask.nw_proto = 0xff;
    m.mask.nw_frag = 0xff;
    return m;
}

void ufid_of(uint32_t i, uint8_t ufid[16])
{
    std::memset(ufid, 0, 16);
    std::memcpy(ufid, &i, sizeof i);
    ufid[15] = 0xa5;
}

bool make_veth()
{
    if (unshare(CLONE_NEWNET) != 0) {
        std::perror("unshare(CLONE_NEWNET)");
        return false;
    }
    std::string cmd = std::string("ip link add ") + kDev +
                      " type veth peer name opb1 && ip link set " + kDev +
                      " up && ip link set opb1 up";
    return std::system(cmd.c_str()) == 0;
}

}  // namespace

int main(int argc, char **argv)
{
    uint32_t n =
        argc > 1 ? uint32_t(std::strtoul(argv[1], nullptr, 10)) : 10000;
    if (argc > 2 || n == 0 || n > 16000) {
        std::fprintf(stderr, "usage: %s [FLOWS]  (1..16000, default 10000)\n",
                     kProg);
        return 2;
    }
    if (!make_veth()) {
        std::fprintf(stderr, "%s: cannot create the veth pair\n", kProg);
        return 1;
    }

    afxdp_port_config cfg;
    std::memset(&cfg, 0, sizeof cfg);
    cfg.ifname = kDev;
    cfg.n_queues = 1;
    cfg.xdp_mode = AFXDP_XDP_MODE_NATIVE;
    cfg.use_need_wakeup = true;
    cfg.meta_size = 64;
    cfg.numa_node = -1;
    cfg.fast_path = true;
    afxdp_port *port = nullptr;
    afxdp_offload *off = nullptr;
    if (afxdp_port_open(&cfg, &port) || afxdp_offload_create(kDev, &off)) {
        std::fprintf(stderr, "%s: cannot open the port\n", kProg);
        return 1;
    }
    afxdp_offload_bind(off, port);

    afxdp_flow_action drop;
    std::memset(&drop, 0, sizeof drop);
    drop.type = AFXDP_FLOW_ACTION_DROP;
    uint8_t ufid[16];

    auto t0 = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < n; i++) {
        afxdp_flow_match m = megaflow(i);
        afxdp_offload_kind kind;
        ufid_of(i, ufid);
        if (int err =
                afxdp_offload_flow_put(off, ufid, &m, &drop, 1, i + 1, &kind);
            err || kind != AFXDP_OFFLOAD_FULL) {
            std::fprintf(stderr, "%s: put %u: %s\n", kProg, i,
                         std::strerror(err));
            return 1;
        }
    }
    double put_s = seconds_since(t0);

    t0 = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < n; i++) {
        afxdp_offload_flow_stats s;
        afxdp_offload_kind kind;
        ufid_of(i, ufid);
        if (afxdp_offload_flow_get(off, ufid, &s, &kind)) {
            std::fprintf(stderr, "%s: get %u failed\n", kProg, i);
            return 1;
        }
    }
    double get_s = seconds_since(t0);

    t0 = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < n; i++) {
        ufid_of(i, ufid);
        if (afxdp_offload_flow_del(off, ufid, nullptr)) {
            std::fprintf(stderr, "%s: del %u failed\n", kProg, i);
            return 1;
        }
    }
    double del_s = seconds_since(t0);

    afxdp_offload_destroy(off);
    afxdp_port_close(port);
    std::printf("{\"tool\":\"%s\",\"flows\":%u,\"put_s\":%.6f,"
                "\"puts_per_s\":%.0f,\"get_s\":%.6f,\"gets_per_s\":%.0f,"
                "\"del_s\":%.6f,\"dels_per_s\":%.0f}\n",
                kProg, n, put_s, n / put_s, get_s, n / get_s, del_s, n / del_s);
    return 0;
}
