/*
 * Port: one device opened for AF_XDP: our XDP program attached to it and
 * one socket (each with its own UMEM area, for now) per queue.
 *
 * Opening picks the XDP mode.  Best-effort tries native with zero-copy,
 * then native in copy mode, then generic (skb) mode, and keeps the first
 * that works: zero-copy needs driver support, native XDP needs a driver
 * hook, generic works everywhere.  Each attempt attaches the program in its
 * attach mode (the two native attempts share one attachment) and creates
 * every queue's socket; a failed attempt releases everything it made before
 * the next one starts, so a fallback never leaves half a port behind.
 *
 * Internal steps return Errors; the C ABI logs the one that ends an open.
 *
 * Member order is destruction order, last to first: sockets, program, then
 * the port's references to the UMEM areas (retired; frames still held by
 * OVS keep an area mapped until they are released).
 */
#ifndef AFXDP_NETDEV_PORT_H
#define AFXDP_NETDEV_PORT_H

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "netdev-afxdp/afxdp.h"
#include "common/result.h"
#include "netdev-afxdp/xdp_program.h"
#include "netdev-afxdp/xsk_socket.h"
#include "umem/umem_area.h"

namespace afxdp::netdev {

class Port {
public:
    static Result<std::unique_ptr<Port>> open(const afxdp_port_config &);

    Port(const Port &) = delete;
    Port &operator=(const Port &) = delete;
    ~Port();

    // Fatal-signal path: detach the program now.  Idempotent.
    void detach_xdp() noexcept;

    const std::string &ifname() const noexcept { return ifname_; }
    afxdp_xdp_mode mode() const noexcept { return mode_; }
    uint32_t n_queues() const noexcept { return uint32_t(sockets_.size()); }
    int queue_fd(uint32_t qid) const noexcept;

    // Hot path.  'qid' must be < n_queues() for rx; tx uses qid % n.
    uint32_t rx_burst(uint32_t qid, afxdp_rx_frame *frames,
                      uint32_t max) noexcept;
    uint32_t tx_burst(uint32_t qid, const afxdp_tx_frame *frames, uint32_t n,
                      bool concurrent) noexcept;

    Result<void> queue_stats(uint32_t qid, afxdp_queue_stats *) const;

    // A port with no queues and no program, bound to no device: lets unit
    // tests exercise the C ABI's argument checks without privileges.
    static std::unique_ptr<Port> make_unbound(std::string ifname);

private:
    Port(std::string ifname, int ifindex);

    struct Attempt {
        afxdp_xdp_mode mode;
        XdpAttachMode attach;
        bool zero_copy;
    };
    Result<void> try_attempt(const Attempt &, const afxdp_port_config &);
    void release_queues() noexcept;

    std::string ifname_;
    int ifindex_;
    afxdp_xdp_mode mode_ = AFXDP_XDP_MODE_GENERIC;
    std::vector<umem::AreaRef> areas_;
    std::optional<XdpProgram> program_;
    std::vector<std::unique_ptr<XskSocket>> sockets_;
};

}  // namespace afxdp::netdev

#endif  // AFXDP_NETDEV_PORT_H
