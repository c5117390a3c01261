/*
 * XskSocket: one AF_XDP socket bound to one device queue, with the kernel
 * registration of its UMEM and its four rings, and the XskQueue that runs
 * its datapath.
 *
 * libxdp keeps pointers to the fill and completion ring structs we pass to
 * xsk_umem__create() (it unmaps them through those pointers on delete and
 * hands them to later sockets sharing the UMEM), so the ring structs must
 * not move: XskSocket is neither copyable nor movable and lives behind a
 * unique_ptr.
 *
 * Member order is destruction order, last to first: the queue (no
 * resources), the socket, the kernel UMEM registration (which refuses to go
 * while a socket uses it), and finally our reference to the memory area,
 * which is retired, not freed: frames the caller still holds keep it.
 *
 * We never let libxdp load its own XDP program (INHIBIT_PROG_LOAD): the
 * port attaches ours and puts this socket's fd into its XSKMAP.
 */
#ifndef AFXDP_NETDEV_XSK_SOCKET_H
#define AFXDP_NETDEV_XSK_SOCKET_H

#include <linux/if_xdp.h>
#include <xdp/xsk.h>

#include <memory>
#include <optional>
#include <string>

#include "common/result.h"
#include "netdev-afxdp/xdp_program.h"
#include "netdev-afxdp/xsk_queue.h"
#include "umem/umem_area.h"

namespace afxdp::netdev {

struct XskSocketConfig {
    std::string ifname;
    uint32_t queue_id = 0;
    bool zero_copy = false;  // XDP_ZEROCOPY, else XDP_COPY.
    bool use_need_wakeup = false;
    XdpAttachMode attach_mode = XdpAttachMode::kGeneric;
};

class XskSocket {
public:
    // Registers 'area' (kChunkSize chunks) as the socket's UMEM and binds
    // the socket.  Errors name the device and queue.
    static Result<std::unique_ptr<XskSocket>> create(
        const XskSocketConfig &config, umem::AreaRef area);

    XskSocket(const XskSocket &) = delete;
    XskSocket &operator=(const XskSocket &) = delete;
    ~XskSocket();

    int fd() const noexcept;
    uint32_t queue_id() const noexcept { return queue_id_; }
    XskQueue &queue() noexcept { return *queue_; }
    const XskQueue &queue() const noexcept { return *queue_; }

    // The kernel's struct xdp_statistics (getsockopt XDP_STATISTICS).
    Result<struct xdp_statistics> statistics() const;

private:
    struct UmemDeleter {
        void operator()(struct xsk_umem *umem) const noexcept;
    };
    struct SocketDeleter {
        void operator()(struct xsk_socket *xsk) const noexcept;
    };

    XskSocket(umem::AreaRef area, uint32_t queue_id);

    umem::AreaRef area_;
    const uint32_t queue_id_;
    struct xsk_ring_prod fill_ = {};
    struct xsk_ring_cons comp_ = {};
    struct xsk_ring_cons rx_ = {};
    struct xsk_ring_prod tx_ = {};
    std::unique_ptr<struct xsk_umem, UmemDeleter> umem_;
    std::unique_ptr<struct xsk_socket, SocketDeleter> socket_;
    std::optional<XskQueue> queue_;
};

}  // namespace afxdp::netdev

#endif  // AFXDP_NETDEV_XSK_SOCKET_H
