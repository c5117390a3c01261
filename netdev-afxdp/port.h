/*
 * Port: one device opened for AF_XDP: our XDP program attached to it and
 * one socket per queue, all on the UMEM of the port's NUMA node that the
 * port shares with every other afxdp port there (SharedUmem).
 *
 * Opening picks the XDP mode.  Best-effort tries native with zero-copy,
 * then native in copy mode, then generic (skb) mode, and keeps the first
 * that works: zero-copy needs driver support, native XDP needs a driver
 * hook, generic works everywhere.  Each attempt attaches the program in its
 * attach mode (the two native attempts share one attachment) and creates
 * every queue's socket; a failed attempt releases everything it made before
 * the next one starts, so a fallback never leaves half a port behind.
 *
 * Each queue's socket shares the kernel UMEM of a socket already bound on
 * the UMEM in the same mode, or registers the UMEM itself when there is
 * none or the kernel refuses (the port's UMEM status says which and why).
 * Queue 0 also gets the main thread's tx lane (see XskQueue).
 *
 * Internal steps return Errors; the C ABI logs the one that ends an open.
 *
 * Member order is destruction order, last to first: the queues (sockets
 * closed, their chunks handed to the UMEM for reclaim), the program, then
 * the port's reference to its UMEM (frames still held by OVS keep the
 * memory mapped until they are released).
 */
#ifndef AFXDP_NETDEV_PORT_H
#define AFXDP_NETDEV_PORT_H

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "netdev-afxdp/afxdp.h"
#include "netdev-afxdp/event_report.h"
#include "netdev-afxdp/shared_umem.h"
#include "netdev-afxdp/xdp_program.h"
#include "netdev-afxdp/xsk_queue.h"
#include "netdev-afxdp/xsk_socket.h"
#include "umem/result.h"

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
    int ifindex() const noexcept { return ifindex_; }
    afxdp_xdp_mode mode() const noexcept { return mode_; }

    // The largest MTU the sockets can carry: kMaxMtuMultiBuffer when every
    // queue's socket takes chained frames, else one chunk's frame less the
    // Ethernet and VLAN headers; and, below the former, why.
    uint32_t max_mtu() const noexcept;
    bool multi_buffer() const noexcept { return multi_buffer_; }
    const std::string &max_mtu_reason() const noexcept { return mtu_note_; }
    // When the device's MTU is above max_mtu(): what that means, else "".
    std::string mtu_error() const;

    // The fast path's maps of the port's program (all fds -1 without it).
    FastPathMaps fast_path_maps() const noexcept
    {
        return program_ ? program_->fast_path_maps() : FastPathMaps{};
    }
    uint32_t n_queues() const noexcept { return uint32_t(queues_.size()); }
    // For afxdp/show (afxdp_port_get_info()); reads the device's queues.
    void info(afxdp_port_info *) const;
    void fast_path(afxdp_port_fast_path *) const;
    // Opened with config.fast_path, whether or not the program runs it.
    bool fast_path_requested() const noexcept { return fast_path_requested_; }
    int queue_fd(uint32_t qid) const noexcept;

    // Hot path.  'qid' must be < n_queues() for rx; tx uses qid % n.
    uint32_t rx_burst(uint32_t qid, afxdp_rx_frame *frames,
                      uint32_t max) noexcept;
    uint32_t tx_burst(uint32_t qid, const afxdp_tx_frame *frames, uint32_t n,
                      TxSharing sharing) noexcept;

    Result<void> queue_stats(uint32_t qid, afxdp_queue_stats *) const;
    // Summed over the queues (afxdp_port_traffic()).
    afxdp_traffic traffic() const noexcept;
    // Counted since the previous call (EventReport); returns a line to log
    // as a warning, or "".
    std::string take_events(afxdp_port_events *);
    void umem_stats(afxdp_umem_stats *) const;
    void umem_info(afxdp_umem_info *) const;

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
    // One queue: its socket, the main thread's tx lane (queue 0), and the
    // datapath over them; destroyed in that order, last to first.
    struct Queue {
        uint16_t tag = 0;  // Owner tag in the UMEM.
        bool shares_kernel_umem = false;
        bool multi_buffer = false;  // Bound with XDP_USE_SG.
        std::unique_ptr<XskSocket> socket;
        std::unique_ptr<XskSocket> main_lane;
        std::unique_ptr<XskQueue> datapath;
    };

    static Result<std::vector<Attempt>> attempts_for(afxdp_xdp_mode mode,
                                                     const std::string &ifname);
    static Result<void> check_queue_count(const std::string &ifname,
                                          uint32_t n_queues);
    Result<void> open_first_working(const std::vector<Attempt> &,
                                    const afxdp_port_config &);
    Result<void> try_attempt(const Attempt &, const afxdp_port_config &);
    Result<void> open_queue(uint32_t q, const Attempt &,
                            const afxdp_port_config &);
    Result<std::unique_ptr<XskSocket>> open_socket(uint32_t q, const Attempt &,
                                                   const afxdp_port_config &,
                                                   Queue *queue);
    Result<std::unique_ptr<XskSocket>> open_socket_as(uint32_t q,
                                                      const Attempt &,
                                                      const afxdp_port_config &,
                                                      bool multi_buffer,
                                                      Queue *queue);
    XdpProgramOptions program_options(const afxdp_port_config &);
    Result<XdpProgram> attach_program(const Attempt &,
                                      const afxdp_port_config &);
    void check_multi_buffer(const Attempt &, const afxdp_port_config &);
    Result<std::unique_ptr<XskSocket>> share_kernel_umem(XskSocketConfig sc,
                                                         Error *refused);
    static afxdp_port_config kernel_fallbacks(const afxdp_port_config &,
                                              const std::string &ifname);
    void open_main_lane(Queue *queue, const afxdp_port_config &);
    void release_queues() noexcept;

    std::string ifname_;
    int ifindex_;
    afxdp_xdp_mode mode_ = AFXDP_XDP_MODE_GENERIC;
    std::string umem_note_;      // Why a queue registered its own kernel UMEM.
    bool multi_buffer_ = false;  // Every queue takes chained frames.
    std::string mtu_note_;       // Why not, when not.
    bool fast_path_requested_ = false;
    std::string fast_path_off_;  // Why the fast path did not load, if not.
    std::string carrier_note_;   // Why metadata travels in a header, if so.
    std::shared_ptr<SharedUmem> umem_;
    std::optional<XdpProgram> program_;
    std::vector<Queue> queues_;
    EventReport events_{ifname_};
};

}  // namespace afxdp::netdev

#endif  // AFXDP_NETDEV_PORT_H
