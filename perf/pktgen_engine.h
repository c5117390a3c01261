/*
 * What afxdp-pktgen's engines share: the frame template, the state all
 * sending threads see, one thread's plan, and the devmap engine.  The
 * engines differ only in how a frame gets to the device; the frames
 * themselves are numbered and varied by the same XDP code
 * (pktgen.bpf.c's generate()) in both BPF engines.  See the design note at
 * the top of pktgen.cpp for why there are several.
 */
#ifndef AFXDP_PERF_PKTGEN_ENGINE_H
#define AFXDP_PERF_PKTGEN_ENGINE_H

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "perf/perf_util.h"

namespace afxdp::perf {

// The frame every engine starts from, with the checksums the XDP program
// updates incrementally.
struct Template {
    std::vector<std::uint8_t> frame;
    std::uint32_t saddr_low = 0;  // host order
    std::uint16_t udp_csum = 0;   // as stored (raw, network order)
    std::uint16_t ip_csum = 0;    // as stored (raw, network order)
};

// State every sending thread of a run sees.
struct Shared {
    int prog_fd = -1;  // live engine: the program BPF_PROG_RUN runs
    const Template *tmpl = nullptr;
    unsigned ifindex = 0;
    unsigned batch = 0;
    double start = 0;
    double deadline = 0;  // 0: none
    std::atomic<bool> failed{false};
    std::mutex error_mutex;
    std::optional<Error> error;

    void fail(Error e)
    {
        std::lock_guard lock(error_mutex);
        if (!error)
            error = std::move(e);
        failed.store(true, std::memory_order_relaxed);
    }
};

// One sending thread's share of the run.
struct WorkerPlan {
    unsigned index = 0;       // thread number
    int cpu = -1;             // -1: not pinned
    std::uint64_t quota = 0;  // frames; 0: unlimited
    std::uint64_t rate = 0;   // frames/s; 0: as fast as possible
    double cpu_seconds = 0;   // out: CPU time the thread used
};

// Runs a thread's frames in runs of about 1/kRunsPerSecond s when paced.
constexpr double kRunsPerSecond = 1000;

double thread_cpu_seconds() noexcept;
// Pins the calling thread to 'cpu' (nothing for -1).
Result<void> pin_thread(int cpu) noexcept;

// ---- devmap engine ---------------------------------------------------------

// Most copies per seed: the devmap's entries.  Every copy of one seed is
// queued to the output device before its receiver polls once, and a veth
// peer's ring holds 256 frames (VETH_RING_SIZE): more copies than that
// would be dropped there.
constexpr unsigned kMaxFanout = 256;

struct FanoutConfig {
    unsigned out_ifindex = 0;  // the device frames leave by (caller's netns)
    unsigned fanout = 1;       // copies per seed, 1..kMaxFanout
    unsigned threads = 1;      // seed sockets, one per sending thread
    int fanout_prog_fd = -1;   // pktgen_fanout (on the helper veth)
    int egress_prog_fd = -1;   // pktgen_egress (per devmap entry)
    int devmap_fd = -1;        // 'fanout', max_entries >= fanout
    int single_fd = -1;        // 'single': one entry
    int mode_fd = -1;          // 'fanout_mode': 0 fans out, 1 sends once
};

// Sends frames without BPF_PROG_RUN: seeds go into a helper veth pair in a
// network namespace of the process's own, whose XDP program broadcasts
// each seed to 'fanout' devmap entries that all name the output device.
// The namespace has no name and only this object holds it, so the helper
// veth pair and its program are gone when the process ends, however it
// ends.  Move-only; members are destroyed sockets first, namespace last.
class FanoutEngine {
public:
    static Result<FanoutEngine> open(const FanoutConfig &cfg,
                                     const Template &tmpl);

    // Sends whole seeds of 'fanout' frames, paced at plan.rate, until the
    // deadline, a stop, or until fewer than 'fanout' frames of plan.quota
    // are left: those are top_up()'s.
    void run_worker(Shared &sh, WorkerPlan &plan) const noexcept;
    // Sends 'frames' more frames one per seed (never more than asked, even
    // if full seeds are still on their way) from thread 'index''s socket.
    Result<void> top_up(unsigned index, std::uint64_t frames) const noexcept;

    unsigned fanout() const noexcept { return fanout_; }

private:
    FanoutEngine() = default;
    // Sends 'seeds' seeds; returns how many the helper veth took.
    std::uint64_t send_seeds(unsigned index, std::uint64_t seeds,
                             Shared *sh) const noexcept;

    int mode_fd_ = -1;
    Fd netns_;                 // the private namespace
    Fd link_;                  // pktgen_fanout on the helper's peer
    std::vector<Fd> sockets_;  // AF_PACKET on the helper, per thread
    const Template *tmpl_ = nullptr;
    unsigned fanout_ = 1;
};

}  // namespace afxdp::perf

#endif  // AFXDP_PERF_PKTGEN_ENGINE_H
