/*
 * XskSocket: one AF_XDP socket bound to one device queue, with the rings
 * it maps.  It owns kernel resources only; XskQueue runs the datapath over
 * its rings.
 *
 * A socket gets at its UMEM (the chunk memory of a umem::UmemArea) in one
 * of three ways (UmemBind):
 *  - kRegister: it registers the area with the kernel itself
 *    (XDP_UMEM_REG) and gets its own fill and completion rings;
 *  - kShare: it shares the kernel UMEM of another bound socket on another
 *    device or queue (XDP_SHARED_UMEM, kernel 5.10+), with fill and
 *    completion rings of its own; the kernel then imposes that socket's
 *    copy/zero-copy mode and need_wakeup setting;
 *  - kShareQueue: a second socket on the same device and queue as
 *    'share_fd', sharing that socket's buffer pool and so its fill and
 *    completion rings (it may have none of its own); used for a tx ring
 *    of its own (see XskQueue's main-thread lane).
 * Whichever way, the descriptors carry offsets into the same area, so a
 * chunk received on one socket may be transmitted on any other.
 *
 * Why not libxdp's xsk_socket__create_shared(): libxdp shares a UMEM only
 * through the fd it registered the UMEM on, which is the first socket
 * created on it; that socket can then never close while others share the
 * UMEM (xsk_umem__delete() refuses), and stays bound to its device queue
 * after its port is gone.  The kernel accepts any bound socket of the UMEM
 * as 'sxdp_shared_umem_fd', so doing the few setsockopt/mmap/bind calls
 * ourselves lets sockets come and go in any order.
 *
 * Member order is destruction order, last to first: the ring mappings are
 * unmapped before the fd is closed, so that the close releases the socket
 * at once (a mapping holds a reference to it) and the kernel unbinds it
 * from its queue before close() returns.
 */
#ifndef AFXDP_NETDEV_XSK_SOCKET_H
#define AFXDP_NETDEV_XSK_SOCKET_H

#include <linux/if_xdp.h>
#include <xdp/xsk.h>

#include <memory>
#include <string>

#include "netdev-afxdp/xsk_queue.h"
#include "umem/result.h"
#include "umem/umem_area.h"

namespace afxdp::netdev {

enum class UmemBind { kRegister, kShare, kShareQueue };

struct XskSocketConfig {
    std::string ifname;
    uint32_t queue_id = 0;
    bool zero_copy = false;        // XDP_ZEROCOPY, else XDP_COPY (kRegister).
    bool use_need_wakeup = false;  // kRegister only; others inherit it.
    bool multi_buffer = false;     // XDP_USE_SG; kRegister only, ditto.
    UmemBind umem_bind = UmemBind::kRegister;
    int share_fd = -1;  // kShare, kShareQueue: a bound socket to share.
    // Ring sizes, powers of two; 0 for a ring the socket does not need.
    uint32_t rx_size = 0;
    uint32_t tx_size = 0;
    uint32_t fill_size = 0;  // Not with kShareQueue.
    uint32_t comp_size = 0;  // Not with kShareQueue.
};

class XskSocket {
public:
    // Creates the socket, its rings and binds it, 'area' being the UMEM.
    // Errors name the device and queue.
    static Result<std::unique_ptr<XskSocket>> create(
        const XskSocketConfig &config, const umem::UmemArea &area);

    XskSocket(const XskSocket &) = delete;
    XskSocket &operator=(const XskSocket &) = delete;
    ~XskSocket();

    int fd() const noexcept { return fd_.get(); }
    uint32_t queue_id() const noexcept { return queue_id_; }

    // The socket's rings; absent ones are nullptr.
    XskRings rings() noexcept;

    // Whether the kernel bound it in zero-copy mode (XDP_OPTIONS).
    bool zero_copy() const noexcept;

    // The kernel's struct xdp_statistics (getsockopt XDP_STATISTICS).
    Result<struct xdp_statistics> statistics() const;

    // Applies busy-polling socket options (see XskQueue): 'budget'
    // packets per NAPI poll (SO_BUSY_POLL_BUDGET), 'usecs' of busy
    // polling per call (SO_BUSY_POLL) and SO_PREFER_BUSY_POLL.
    Result<void> set_busy_poll(uint32_t budget, uint32_t usecs);

    // For the status, 0s when unset: SO_BUSY_POLL and SO_PREFER_BUSY_POLL
    // as the kernel reports them back; the kernel has no getsockopt for
    // SO_BUSY_POLL_BUDGET, so the budget is the one it accepted.
    struct BusyPoll {
        uint32_t budget = 0;
        uint32_t usecs = 0;
        bool prefer = false;
    };
    BusyPoll busy_poll() const noexcept;

private:
    // A file descriptor; closes on destruction (a failure is logged).
    class Fd {
    public:
        explicit Fd(int fd = -1) noexcept : fd_(fd) {}
        Fd(const Fd &) = delete;
        Fd &operator=(const Fd &) = delete;
        ~Fd();
        int get() const noexcept { return fd_; }

    private:
        int fd_;
    };

    // One ring's mmap; unmapped on destruction (a failure is logged).
    class RingMap {
    public:
        RingMap() = default;
        RingMap(const RingMap &) = delete;
        RingMap &operator=(const RingMap &) = delete;
        ~RingMap();
        Result<void> map(int fd, uint64_t offset, size_t len);
        char *data() const noexcept { return data_; }

    private:
        char *data_ = nullptr;
        size_t len_ = 0;
    };

    XskSocket(int fd, uint32_t queue_id) noexcept : fd_(fd), queue_id_(queue_id)
    {
    }

    Result<void> set_up_rings(const XskSocketConfig &config,
                              const std::string &where);
    Result<void> bind(const XskSocketConfig &config, const std::string &where);

    Fd fd_;
    const uint32_t queue_id_;
    uint32_t busy_poll_budget_ = 0;  // Accepted by SO_BUSY_POLL_BUDGET.
    RingMap fill_map_;
    RingMap comp_map_;
    RingMap rx_map_;
    RingMap tx_map_;
    struct xsk_ring_prod fill_ = {};
    struct xsk_ring_cons comp_ = {};
    struct xsk_ring_cons rx_ = {};
    struct xsk_ring_prod tx_ = {};
};

}  // namespace afxdp::netdev

#endif  // AFXDP_NETDEV_XSK_SOCKET_H
