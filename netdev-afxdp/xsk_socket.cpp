/*
 * XskSocket implementation: the AF_XDP socket API as the kernel documents
 * it (Documentation/networking/af_xdp.rst): create the socket, register or
 * share the UMEM, size the rings with setsockopt, map them at the offsets
 * XDP_MMAP_OFFSETS gives, bind.  The ring structs are filled in the way
 * libxdp's xsk.c fills them, so libxdp's inline ring helpers (xdp/xsk.h)
 * work on them unchanged.
 *
 * Errors become Results naming the device and queue; the sign of errno is
 * positive throughout (these are syscalls, not libbpf calls).
 */
#include "netdev-afxdp/xsk_socket.h"

#include <net/if.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "netdev-afxdp/log.h"
#include "netdev-afxdp/params.h"
#include "netdev-afxdp/xdp_compat.h"

namespace afxdp::netdev {

namespace {

Error sys_error(int err, const std::string &where, const std::string &what)
{
    return Error{err, where + what + ": " + strerror(err)};
}

const char *bind_name(UmemBind b)
{
    switch (b) {
    case UmemBind::kRegister: return "own UMEM";
    case UmemBind::kShare: return "shared UMEM";
    case UmemBind::kShareQueue: return "queue's UMEM";
    }
    return "?";
}

template <typename Ring>
void point_ring(Ring *r, char *map, const struct xdp_ring_offset &off,
                uint32_t size)
{
    r->mask = size - 1;
    r->size = size;
    r->producer = reinterpret_cast<uint32_t *>(map + off.producer);
    r->consumer = reinterpret_cast<uint32_t *>(map + off.consumer);
    r->flags = reinterpret_cast<uint32_t *>(map + off.flags);
    r->ring = map + off.desc;
    r->cached_prod = *r->producer;
    r->cached_cons = *r->consumer;
}

}  // namespace

// ---- RAII pieces ---------------------------------------------------------

XskSocket::Fd::~Fd()
{
    if (fd_ >= 0 && close(fd_) != 0) {
        log(AFXDP_LOG_ERR, "closing AF_XDP socket %d: %s", fd_,
            strerror(errno));
    }
}

XskSocket::RingMap::~RingMap()
{
    if (data_ && munmap(data_, len_) != 0) {
        log(AFXDP_LOG_ERR, "unmapping an AF_XDP ring: %s", strerror(errno));
    }
}

Result<void> XskSocket::RingMap::map(int fd, uint64_t offset, size_t len)
{
    void *p = mmap(nullptr, len, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_POPULATE, fd, off_t(offset));
    if (p == MAP_FAILED) {
        return Error{errno, ""};
    }
    data_ = static_cast<char *>(p);
    len_ = len;
    return {};
}

// ---- Creation ------------------------------------------------------------

XskSocket::~XskSocket() = default;

Result<void> XskSocket::set_up_rings(const XskSocketConfig &c,
                                     const std::string &where)
{
    struct {
        int opt;
        uint32_t size;
        const char *name;
    } const sizes[] = {
        {XDP_UMEM_FILL_RING, c.fill_size, "fill ring"},
        {XDP_UMEM_COMPLETION_RING, c.comp_size, "completion ring"},
        {XDP_RX_RING, c.rx_size, "rx ring"},
        {XDP_TX_RING, c.tx_size, "tx ring"},
    };
    for (const auto &s : sizes) {
        int size = int(s.size);
        if (size && setsockopt(fd(), SOL_XDP, s.opt, &size, sizeof size) != 0) {
            return sys_error(errno, where, std::string("sizing the ") + s.name);
        }
    }

    struct xdp_mmap_offsets off = {};
    socklen_t len = sizeof off;
    if (getsockopt(fd(), SOL_XDP, XDP_MMAP_OFFSETS, &off, &len) != 0) {
        return sys_error(errno, where, "XDP_MMAP_OFFSETS");
    }

    struct Map {
        uint32_t size;
        RingMap *map;
        uint64_t pgoff;
        const struct xdp_ring_offset *off;
        size_t entry;
    } const maps[] = {
        {c.fill_size, &fill_map_, XDP_UMEM_PGOFF_FILL_RING, &off.fr,
         sizeof(uint64_t)},
        {c.comp_size, &comp_map_, XDP_UMEM_PGOFF_COMPLETION_RING, &off.cr,
         sizeof(uint64_t)},
        {c.rx_size, &rx_map_, XDP_PGOFF_RX_RING, &off.rx,
         sizeof(struct xdp_desc)},
        {c.tx_size, &tx_map_, XDP_PGOFF_TX_RING, &off.tx,
         sizeof(struct xdp_desc)},
    };
    for (const Map &m : maps) {
        if (!m.size) {
            continue;
        }
        if (auto r = m.map->map(fd(), m.pgoff, m.off->desc + m.size * m.entry);
            !r) {
            return sys_error(r.error().code, where, "mapping a ring");
        }
    }

    if (c.fill_size) {
        point_ring(&fill_, fill_map_.data(), off.fr, c.fill_size);
        fill_.cached_cons += c.fill_size;  // A producer ring starts empty.
    }
    if (c.comp_size) {
        point_ring(&comp_, comp_map_.data(), off.cr, c.comp_size);
    }
    if (c.rx_size) {
        point_ring(&rx_, rx_map_.data(), off.rx, c.rx_size);
    }
    if (c.tx_size) {
        point_ring(&tx_, tx_map_.data(), off.tx, c.tx_size);
        tx_.cached_cons += c.tx_size;
    }
    return {};
}

Result<void> XskSocket::bind(const XskSocketConfig &c, const std::string &where)
{
    struct sockaddr_xdp sxdp = {};
    sxdp.sxdp_family = AF_XDP;
    sxdp.sxdp_ifindex = if_nametoindex(c.ifname.c_str());
    sxdp.sxdp_queue_id = c.queue_id;
    if (!sxdp.sxdp_ifindex) {
        return sys_error(ENODEV, where, "no such device");
    }
    if (c.umem_bind == UmemBind::kRegister) {
        sxdp.sxdp_flags = c.zero_copy ? XDP_ZEROCOPY : XDP_COPY;
        if (c.use_need_wakeup) {
            sxdp.sxdp_flags |= XDP_USE_NEED_WAKEUP;
        }
        if (c.multi_buffer) {
            sxdp.sxdp_flags |= XDP_USE_SG;
        }
    } else {
        // The kernel takes the mode from the shared UMEM and refuses
        // flags of our own.
        sxdp.sxdp_flags = XDP_SHARED_UMEM;
        sxdp.sxdp_shared_umem_fd = uint32_t(c.share_fd);
    }
    if (::bind(fd(), reinterpret_cast<struct sockaddr *>(&sxdp), sizeof sxdp) !=
        0) {
        int err = errno;
        return Error{err, where + "cannot bind AF_XDP socket (" +
                              (c.zero_copy ? "zero-copy" : "copy") + " mode, " +
                              (c.multi_buffer ? "multi-buffer, " : "") +
                              bind_name(c.umem_bind) + "): " + strerror(err)};
    }
    return {};
}

Result<std::unique_ptr<XskSocket>> XskSocket::create(
    const XskSocketConfig &config, const umem::UmemArea &area)
{
    std::string where =
        config.ifname + ": queue " + std::to_string(config.queue_id) + ": ";

    int fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return sys_error(errno, where, "cannot create AF_XDP socket");
    }
    std::unique_ptr<XskSocket> s(new XskSocket(fd, config.queue_id));

    if (config.umem_bind == UmemBind::kRegister) {
        struct xdp_umem_reg reg = {};
        reg.addr = reinterpret_cast<uint64_t>(area.base());
        reg.len = area.size();
        reg.chunk_size = area.chunk_size();
        reg.headroom = kFrameHeadroom;
        if (setsockopt(fd, SOL_XDP, XDP_UMEM_REG, &reg, sizeof reg) != 0) {
            return sys_error(errno, where, "cannot register UMEM");
        }
    }
    if (auto r = s->set_up_rings(config, where); !r) {
        return r.error();
    }
    auto r = s->bind(config, where);
    if (!r) {
        // The kernel releases a closed socket's hold on its queue from
        // deferred work, so right after a reconfiguration the queue can
        // still be taken.  The caller opens again later (open_retry.h)
        // rather than waiting here with the device mutex held.
        if (r.error().code == EBUSY) {
            return Error{EAGAIN, r.error().message +
                                     " (the kernel may still be releasing a "
                                     "socket closed on this queue)"};
        }
        return r.error();
    }
    return s;
}

// ---- Queries -------------------------------------------------------------

XskRings XskSocket::rings() noexcept
{
    return {fill_.ring ? &fill_ : nullptr, comp_.ring ? &comp_ : nullptr,
            rx_.ring ? &rx_ : nullptr, tx_.ring ? &tx_ : nullptr};
}

bool XskSocket::zero_copy() const noexcept
{
    struct xdp_options opts = {};
    socklen_t len = sizeof opts;
    return getsockopt(fd(), SOL_XDP, XDP_OPTIONS, &opts, &len) == 0 &&
           (opts.flags & XDP_OPTIONS_ZEROCOPY);
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

Result<void> XskSocket::set_busy_poll(uint32_t budget, uint32_t usecs)
{
    std::string where = "queue " + std::to_string(queue_id_) + ": ";
    int prefer = 1;
    int us = int(usecs);
    int b = int(budget);
    if (setsockopt(fd(), SOL_SOCKET, SO_PREFER_BUSY_POLL, &prefer,
                   sizeof prefer) != 0) {
        return sys_error(errno, where, "SO_PREFER_BUSY_POLL");
    }
    if (setsockopt(fd(), SOL_SOCKET, SO_BUSY_POLL, &us, sizeof us) != 0) {
        return sys_error(errno, where, "SO_BUSY_POLL");
    }
    if (setsockopt(fd(), SOL_SOCKET, SO_BUSY_POLL_BUDGET, &b, sizeof b) != 0) {
        return sys_error(errno, where, "SO_BUSY_POLL_BUDGET");
    }
    busy_poll_budget_ = budget;
    return {};
}

XskSocket::BusyPoll XskSocket::busy_poll() const noexcept
{
    BusyPoll bp;
    bp.budget = busy_poll_budget_;
    int v = 0;
    socklen_t len = sizeof v;
    if (getsockopt(fd(), SOL_SOCKET, SO_BUSY_POLL, &v, &len) == 0) {
        bp.usecs = uint32_t(v);
    }
    len = sizeof v;
    if (getsockopt(fd(), SOL_SOCKET, SO_PREFER_BUSY_POLL, &v, &len) == 0) {
        bp.prefer = v != 0;
    }
    return bp;
}

}  // namespace afxdp::netdev
