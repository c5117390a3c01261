/*
 * XskSocket implementation: libxdp does the ring mmaps and the bind; we
 * choose the geometry (params.h) and the bind flags, and turn libxdp's
 * negative errnos into Errors that say which device and queue failed.
 */
#include "netdev-afxdp/xsk_socket.h"

#include <linux/if_link.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "netdev-afxdp/log.h"
#include "netdev-afxdp/params.h"

#ifndef SOL_XDP
#define SOL_XDP 283
#endif

namespace afxdp::netdev {

namespace {

// Up to about five seconds for the kernel to release a queue (see
// create()); under load the release has been seen to take over a second.
constexpr int kBindBusyRetries = 250;
constexpr auto kBindBusyWait = std::chrono::milliseconds(20);

}  // namespace

void XskSocket::UmemDeleter::operator()(struct xsk_umem *umem) const noexcept
{
    // libxdp refuses (EBUSY) while a socket still uses the UMEM and then
    // frees nothing: the registration and its fill and completion rings
    // stay until the process exits.  Member order makes that impossible;
    // say so if it ever happens.
    int rc = xsk_umem__delete(umem);
    if (rc) {
        log(AFXDP_LOG_ERR, "cannot delete the UMEM registration: %s",
            strerror(-rc));
    }
}

void XskSocket::SocketDeleter::operator()(struct xsk_socket *xsk) const noexcept
{
    xsk_socket__delete(xsk);
}

XskSocket::XskSocket(umem::AreaRef area, uint32_t queue_id)
    : area_(std::move(area)), queue_id_(queue_id)
{
}

XskSocket::~XskSocket() = default;

int XskSocket::fd() const noexcept
{
    return xsk_socket__fd(socket_.get());
}

Result<std::unique_ptr<XskSocket>> XskSocket::create(
    const XskSocketConfig &config, umem::AreaRef area)
{
    std::string where =
        config.ifname + ": queue " + std::to_string(config.queue_id) + ": ";
    if (area->chunk_size() != kChunkSize) {
        return Error{EINVAL, where + "UMEM chunk size must be " +
                                 std::to_string(kChunkSize)};
    }

    std::unique_ptr<XskSocket> s(
        new XskSocket(std::move(area), config.queue_id));

    struct xsk_umem_config ucfg = {};
    ucfg.fill_size = kRingSize;
    ucfg.comp_size = kRingSize;
    ucfg.frame_size = kChunkSize;
    ucfg.frame_headroom = kFrameHeadroom;
    ucfg.flags = 0;

    struct xsk_socket_config xcfg = {};
    xcfg.rx_size = kRingSize;
    xcfg.tx_size = kRingSize;
    xcfg.libbpf_flags = XSK_LIBBPF_FLAGS__INHIBIT_PROG_LOAD;
    xcfg.xdp_flags = config.attach_mode == XdpAttachMode::kNative
                         ? XDP_FLAGS_DRV_MODE
                         : XDP_FLAGS_SKB_MODE;
    xcfg.bind_flags = config.zero_copy ? XDP_ZEROCOPY : XDP_COPY;
    if (config.use_need_wakeup) {
        xcfg.bind_flags |= XDP_USE_NEED_WAKEUP;
    }

    // The kernel releases a closed socket's hold on its queue from deferred
    // work (xp_release_deferred, after an RCU grace period), so a socket
    // reopened on the same queue right after a reconfiguration can find it
    // still taken: bind() says EBUSY.  Wait for the release, a bounded
    // number of times.  A failed bind leaves libxdp's UMEM rings unusable,
    // so each attempt registers the UMEM afresh.
    for (int attempt = 0;; attempt++) {
        struct xsk_umem *umem = nullptr;
        int rc = xsk_umem__create(&umem, s->area_->base(), s->area_->size(),
                                  &s->fill_, &s->comp_, &ucfg);
        if (rc) {
            return Error::from_negative(
                rc, where + "cannot register UMEM: " + strerror(-rc));
        }
        s->umem_.reset(umem);

        struct xsk_socket *xsk = nullptr;
        rc = xsk_socket__create(&xsk, config.ifname.c_str(), config.queue_id,
                                s->umem_.get(), &s->rx_, &s->tx_, &xcfg);
        if (!rc) {
            s->socket_.reset(xsk);
            if (attempt) {
                log(AFXDP_LOG_INFO,
                    "%s: queue %u: waited %d ms for the kernel to release "
                    "the queue",
                    config.ifname.c_str(), config.queue_id,
                    attempt * int(kBindBusyWait.count()));
            }
            break;
        }
        s->umem_.reset();
        if (rc == -EBUSY && attempt < kBindBusyRetries) {
            std::this_thread::sleep_for(kBindBusyWait);
            continue;
        }
        return Error::from_negative(
            rc, where + "cannot create AF_XDP socket (" +
                    (config.zero_copy ? "zero-copy" : "copy") +
                    " mode): " + strerror(-rc));
    }

    XskRings rings{&s->fill_, &s->comp_, &s->rx_, &s->tx_};
    s->queue_.emplace(rings, s->area_.get(), s->fd(), config.use_need_wakeup,
                      kTxHeadroom, kMaxFrameLen);
    return s;
}

Result<struct xdp_statistics> XskSocket::statistics() const
{
    struct xdp_statistics st = {};
    socklen_t len = sizeof st;
    if (getsockopt(fd(), SOL_XDP, XDP_STATISTICS, &st, &len) < 0) {
        int err = errno;
        return Error{err, "queue " + std::to_string(queue_id_) +
                              ": XDP_STATISTICS: " + strerror(err)};
    }
    return st;
}

}  // namespace afxdp::netdev
