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

#include <memory>
#include <string>

#include "common/result.h"

namespace afxdp::netdev {

enum class XdpAttachMode { kNative, kGeneric };

// Name of our program as the kernel reports it (bpftool prog show).
inline constexpr const char *kXdpProgramName = "xsk_redirect";

class XdpProgram {
public:
    // Loads the embedded program and attaches it to 'ifindex' in 'mode'.
    static Result<XdpProgram> attach(int ifindex, const std::string &ifname,
                                     XdpAttachMode mode);

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
    unsigned prog_id() const noexcept;

    // The id of whatever XDP program is attached to 'ifindex' (any mode), or
    // 0.  For tests and diagnostics.
    static unsigned attached_prog_id(int ifindex) noexcept;

private:
    struct State;
    explicit XdpProgram(std::unique_ptr<State>);
    std::unique_ptr<State> state_;
};

}  // namespace afxdp::netdev

#endif  // AFXDP_NETDEV_XDP_PROGRAM_H
