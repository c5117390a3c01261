/*
 * XdpProgram: our XDP program (bpf/xsk_redirect.bpf.c) loaded and attached
 * to one device.  It redirects each frame into the AF_XDP socket bound to
 * the frame's rx queue (XSKMAP keyed by rx_queue_index) and passes it to the
 * kernel stack when no socket is bound there.
 *
 * The program is attached through a bpf_link (BPF_LINK_CREATE), not through
 * netlink: the kernel detaches it when the last link fd closes, so even an
 * ovs-vswitchd killed with SIGKILL leaves no program behind.  A program
 * attached through netlink by an older or crashed process (recognised by our
 * program name) is detached before attaching; any other program on the
 * device is left alone and attaching fails with EBUSY and a clear message.
 *
 * Move-only RAII: destruction detaches and closes everything.
 */
#ifndef AFXDP_NETDEV_XDP_PROGRAM_H
#define AFXDP_NETDEV_XDP_PROGRAM_H

#include <cstdint>
#include <memory>
#include <string>

#include "bpf/flow/flow_layout.h"
#include "bpf/xdp_meta.h"
#include "umem/result.h"

namespace afxdp::netdev {

enum class XdpAttachMode { kNative, kGeneric };

// What the program does besides redirecting to the sockets (bpf/
// xsk_redirect.bpf.c); fixed at load time, so the verifier removes what is
// off.
struct XdpProgramOptions {
    bool fast_path = false;  // Run offloaded megaflows (hw-offload=true).
    bool rx_hash = false;    // Hand every frame's 5-tuple hash to OVS.
    uint32_t max_flows = 0;  // Flow table size when fast_path.
    // How the hash and mark reach user space (bpf/xdp_meta.h); NONE unless
    // fast_path or rx_hash.
    afxdp_xdp_carrier carrier = AFXDP_XDP_CARRIER_NONE;
    // Loaded as an xdp.frags program (BPF_F_XDP_HAS_FRAGS, kernel 5.18+),
    // so that the driver hands over frames in several buffers; without,
    // the program loads on older kernels and no frame is larger than one.
    bool frags = true;
};

// The fast path's maps and global data, owned by the program: valid while
// it lives.  'mask_table' and the scalars are the program's global data,
// mapped into this process.
struct FastPathMaps {
    int flows_fd = -1;       // HASH: afxdp_flow_key -> afxdp_flow_actions.
    int stats_fd = -1;       // PERCPU_ARRAY: flow id -> afxdp_flow_stats.
    int tx_ports_fd = -1;    // DEVMAP: output slot -> ifindex.
    int counters_fd = -1;    // PERCPU_ARRAY[1]: afxdp_xdp_counters.
    int clock_prog_fd = -1;  // Samples jiffies and CLOCK_MONOTONIC.
    uint32_t max_flows = 0;
    afxdp_mask_table *mask_table = nullptr;
    const volatile __u64 *clock_jiffies = nullptr;
    const volatile __u64 *clock_ns = nullptr;
};

// Name of our program as the kernel reports it (bpftool prog show).
inline constexpr const char *kXdpProgramName = "xsk_redirect";

class XdpProgram {
public:
    // Loads the embedded program and attaches it to 'ifindex' in 'mode'.
    static Result<XdpProgram> attach(int ifindex, const std::string &ifname,
                                     XdpAttachMode mode,
                                     const XdpProgramOptions &options = {});

    XdpProgram(XdpProgram &&) noexcept;
    XdpProgram &operator=(XdpProgram &&) noexcept;
    ~XdpProgram();

    // The XSKMAP: key = rx queue index, value = AF_XDP socket fd.
    int xsk_map_fd() const noexcept;

    // Binds / unbinds queue 'queue_id' to socket 'xsk_fd' in the XSKMAP.
    Result<void> bind_queue(unsigned queue_id, int xsk_fd);
    void unbind_queue(unsigned queue_id) noexcept;

    // Detaches now (closes the link); safe to call more than once.
    void detach() noexcept;

    XdpAttachMode mode() const noexcept;
    // The kernel's ids (bpftool prog / bpftool link), for diagnostics.
    unsigned prog_id() const noexcept;
    unsigned link_id() const noexcept;  // 0 if it could not be read.
    const XdpProgramOptions &options() const noexcept;

    // Only with options().fast_path; otherwise all fds are -1.
    FastPathMaps fast_path_maps() const noexcept;

    // Whether the device refused the metadata in front of a frame (raised
    // by the program, never lowered): the rx path must ignore those bytes.
    // Hot path: one load.
    bool meta_unsupported() const noexcept { return *meta_unsupported_ != 0; }
    const volatile uint32_t *meta_unsupported_flag() const noexcept
    {
        return meta_unsupported_;
    }

    // The id of whatever XDP program is attached to 'ifindex' (any mode), or
    // 0.  For tests and diagnostics.
    static unsigned attached_prog_id(int ifindex) noexcept;

private:
    struct State;
    explicit XdpProgram(std::unique_ptr<State>);
    std::unique_ptr<State> state_;
    const volatile uint32_t *meta_unsupported_ = nullptr;
};

}  // namespace afxdp::netdev

#endif  // AFXDP_NETDEV_XDP_PROGRAM_H
