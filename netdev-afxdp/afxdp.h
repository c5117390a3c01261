/*
 * The C ABI of the ovs-afxdp core: everything dpif/ (the OVS-facing C glue)
 * may call.  It is shaped like libxdp's xsk.h: opaque handles, plain-data
 * config and stats structs, and one-line return contracts.
 *
 * Error convention: functions returning int return 0 or a POSITIVE errno,
 * as OVS expects; a human-readable reason goes through the log handler.
 *
 * Threading (mirrors what dpif-netdev guarantees):
 *  - afxdp_port_open/close and the queries run on the main thread.
 *  - afxdp_rx_burst(port, q) is called by one thread at a time per queue.
 *  - afxdp_tx_burst(port, q, ..., AFXDP_TXQ_EXCLUSIVE) is called by one
 *    thread at a time per queue; with AFXDP_TXQ_SHARED (PMD threads) or
 *    AFXDP_TXQ_SHARED_NONPMD (the main thread) several threads may call it
 *    for the same queue and the core serialises them (see the enum).
 *  - afxdp_frame_release* may be called from any thread at any time, also
 *    after the port that produced the frame was closed.
 *
 * This header must stay valid C (it is included by dpif/ C files compiled
 * inside OVS's build) and must never include OVS headers.
 */
#ifndef AFXDP_AFXDP_H
#define AFXDP_AFXDP_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Logging ---------------------------------------------------------- */

enum afxdp_log_level {
    AFXDP_LOG_ERR,
    AFXDP_LOG_WARN,
    AFXDP_LOG_INFO,
    AFXDP_LOG_DBG,
};

typedef void afxdp_log_fn(enum afxdp_log_level, const char *message);

/* Routes the core's messages, and libbpf's and libxdp's, to 'fn'.  Without a
 * handler, messages go to stderr.  Call once, before opening ports. */
void afxdp_set_log_handler(afxdp_log_fn *fn);

/* ---- Kernel features -------------------------------------------------- */

/* What the running kernel has that the provider uses, each probed once,
 * the first time it is asked for (netdev-afxdp/kernel_features.h); the
 * environment variable AFXDP_DISABLE_FEATURES (comma-separated names)
 * makes features answer no, for tests of the fallbacks. */
struct afxdp_kernel_feature {
    const char *name; /* "xdp-multi-buffer", as in the variable. */
    bool available;
    const char *detail;   /* Why not, or how it was seen; may be "". */
    const char *fallback; /* What the provider does without it. */
};

/* Feature 'i' (0, 1, ...).  Returns 0, or ENOENT when there is no feature
 * 'i'.  The strings stay valid for the life of the process. */
int afxdp_kernel_feature_get(size_t i, struct afxdp_kernel_feature *);

/* One line for the log: "kernel RELEASE: NAME yes|no, ...".  malloc()ed;
 * NULL only when out of memory. */
char *afxdp_kernel_features_summary(void);

/* afxdp/show's "kernel:" section, lines ending in newlines: each feature
 * yes or no, for no why and what is done instead, and what each port saw
 * of the features that also depend on its driver.  malloc()ed; NULL only
 * when out of memory. */
char *afxdp_kernel_features_show(void);

/* ---- XDP modes -------------------------------------------------------- */

enum afxdp_xdp_mode {
    AFXDP_XDP_MODE_BEST_EFFORT, /* Try native-with-zerocopy, native, generic;
                                 * use the first that binds. */
    AFXDP_XDP_MODE_NATIVE_ZC,
    AFXDP_XDP_MODE_NATIVE,
    AFXDP_XDP_MODE_GENERIC,
};

/* "best-effort", "native-with-zerocopy", "native", "generic". */
const char *afxdp_xdp_mode_to_string(enum afxdp_xdp_mode);

/* Returns 0 and sets '*mode', or EINVAL for an unknown name. */
int afxdp_xdp_mode_from_string(const char *name, enum afxdp_xdp_mode *mode);

/* ---- Interface options ------------------------------------------------ */

/* The options: column of an afxdp Interface, as OVS's database holds it.
 * NULL: not set (the default). */
struct afxdp_option_strings {
    const char *n_rxq;            /* Default 1. */
    const char *xdp_mode;         /* Default "best-effort". */
    const char *use_need_wakeup;  /* Default "true". */
    const char *shared_umem;      /* "shared-umem", default "true". */
    const char *busy_poll_budget; /* Default "0": no busy polling. */
    const char *busy_poll_usecs;  /* Default "20". */
    const char *multi_buffer;     /* "multi-buffer", default "true". */
};

struct afxdp_options {
    uint32_t n_rxq;
    enum afxdp_xdp_mode xdp_mode;
    bool use_need_wakeup;
    bool shared_umem;
    uint32_t busy_poll_budget; /* 0..65535: SO_BUSY_POLL_BUDGET is 16-bit. */
    uint32_t busy_poll_usecs;  /* > 0. */
    bool multi_buffer;         /* Jumbo frames where the kernel can. */
};

/* One port's options across OVS's set_config calls, and the policy for a
 * bad one (netdev-afxdp/options.h): a port that had valid options keeps
 * them, a port that never had any is refused. */
struct afxdp_port_options;

struct afxdp_port_options *afxdp_port_options_create(const char *ifname);
void afxdp_port_options_destroy(struct afxdp_port_options *);

/* Takes the Interface's options, checked against device 'ifname's queues.
 * Returns 0 when they are valid, and also when they are not but the port
 * had valid options before: those stay requested, the reason is logged as
 * one error (once per distinct reason) and kept for
 * afxdp_port_options_error().  Returns EINVAL when they are invalid and
 * the port never had valid ones, after logging the reason as one error,
 * with that reason in '*reason' (malloc()ed, for OVS's error column;
 * NULL otherwise).  '*changed' tells whether the requested options differ
 * from before the call. */
int afxdp_port_options_update(struct afxdp_port_options *,
                              const struct afxdp_option_strings *,
                              bool *changed, char **reason);

/* Whether 'a' and 'b' ask for the same port. */
bool afxdp_options_equal(const struct afxdp_options *a,
                         const struct afxdp_options *b);

/* The last valid options (the defaults before any). */
void afxdp_port_options_requested(const struct afxdp_port_options *,
                                  struct afxdp_options *);

/* Why the options last given were not taken, or NULL when they were.
 * Valid until the next update. */
const char *afxdp_port_options_error(const struct afxdp_port_options *);

/* ---- Devices ---------------------------------------------------------- */

/* A device's queues (ethtool -l): 'current' receive now (combined + rx-only
 * channels, or the rx-* queues in sysfs for a driver without channels),
 * 'max' is the driver's limit (0: not reported). */
struct afxdp_device_queues {
    uint32_t current;
    uint32_t max;
};

/* 0 or positive errno (ENODEV for a missing device); logs nothing. */
int afxdp_device_get_queues(const char *ifname, struct afxdp_device_queues *);

/* The ifindex of device 'ifname', or 0 when there is none. */
int afxdp_device_ifindex(const char *ifname);

/* Whether device 'ifname' is no longer the one that had 'ifindex' (0: there
 * was none) when its port was last opened: deleted, created, or deleted
 * and created again (a new ifindex).  Then the port must be opened again:
 * its sockets and XDP program belong to a device that is gone. */
bool afxdp_device_replaced(const char *ifname, int ifindex);

/* ---- Ports ------------------------------------------------------------ */

/* One device: the XDP program attached to it and one AF_XDP socket per
 * queue, on the UMEM shared by all ports of its NUMA node. */
struct afxdp_port;

struct afxdp_port_config {
    const char *ifname;
    uint32_t n_queues; /* Sockets on queues 0..n_queues-1. */
    enum afxdp_xdp_mode xdp_mode;
    bool use_need_wakeup;
    uint32_t meta_size; /* Caller bytes preallocated per chunk. */
    int numa_node;      /* UMEM placement; -1: no preference. */
    /* The XDP fast path (offloaded megaflows, netdev-afxdp/offload/) in
     * the port's program, for a datapath with OVS's hw-offload on. */
    bool fast_path;
    /* Every frame's 5-tuple hash computed by the XDP program and handed
     * over in afxdp_rx_frame.rx_hash. */
    bool rx_hash;
    bool private_umem;         /* A UMEM of its own instead of the node's shared
                                * one (frames to other ports are then copied). */
    uint32_t busy_poll_budget; /* 0: no busy polling; else SO_PREFER_BUSY_POLL
                                * with this SO_BUSY_POLL_BUDGET... */
    uint32_t busy_poll_usecs;  /* ...and this SO_BUSY_POLL (> 0). */
    /* Multi-buffer AF_XDP (kernel 6.6+): frames up to the MTU of
     * afxdp_max_mtu_multi_buffer() in chained chunks, where the kernel and
     * driver take them (afxdp_port_max_mtu() says what the port got). */
    bool multi_buffer;
};

/* Opens a port.  Returns 0 and sets '*portp', or a positive errno after
 * logging exactly one error that names the device and the cause.  EAGAIN:
 * a queue is still taken, most likely by a socket the kernel has not yet
 * released; open again after afxdp_open_retry_delay_ms(). */
int afxdp_port_open(const struct afxdp_port_config *,
                    struct afxdp_port **portp);

/* After afxdp_port_open() said EAGAIN for the 'retry'th time in a row (1
 * for the first): milliseconds to wait before opening again, or 0 when the
 * retries have waited long enough and the failure stands. */
uint32_t afxdp_open_retry_delay_ms(uint32_t retry);

/* The status text of an afxdp_port_open() that failed with 'error': "cannot
 * open AF_XDP sockets with xdp-mode=M, n_rxq=N: <cause>", where 'cause' is
 * the error the open logged, without its leading "<ifname>: " (NULL:
 * strerror(error)).  malloc()ed; NULL only when out of memory. */
char *afxdp_port_open_error(const struct afxdp_port_config *, const char *cause,
                            int error);

/* Closes the sockets and detaches the XDP program.  Never fails.  A UMEM
 * whose frames are still held by the caller stays mapped until the last of
 * them is released with afxdp_frame_release*(). */
void afxdp_port_close(struct afxdp_port *);

/* Detaches the XDP program only (fatal-signal path).  Idempotent. */
void afxdp_port_detach_xdp(struct afxdp_port *);

/* The mode actually in use (never BEST_EFFORT). */
enum afxdp_xdp_mode afxdp_port_xdp_mode(const struct afxdp_port *);
uint32_t afxdp_port_n_queues(const struct afxdp_port *);

/* What `ovs-appctl afxdp/show` tells about a port. */
struct afxdp_port_info {
    int ifindex;
    enum afxdp_xdp_mode xdp_mode; /* In use (never BEST_EFFORT). */
    uint32_t n_queues;            /* Sockets, on queues 0..n_queues-1. */
    struct afxdp_device_queues device_queues; /* Now; zeros if unreadable. */
    uint32_t prog_id;                         /* As bpftool prog show says. */
    uint32_t link_id; /* As bpftool link show says; 0: unknown. */
    bool fast_path;   /* The program runs offloaded flows. */
    bool rx_hash;     /* The program hands over a hash. */

    /* The UMEM's geometry (afxdp_port_umem_info() tells the rest). */
    uint32_t chunk_size;     /* Bytes. */
    uint32_t frame_headroom; /* Bytes of a chunk before a received frame. */
    uint32_t ring_size;      /* Entries of each ring of a queue. */
};

/* Never fails (a port without sockets gives zero counts). */
void afxdp_port_get_info(const struct afxdp_port *, struct afxdp_port_info *);

/* The XDP fast path of a port and how its program hands the flow mark and
 * hash over, for status and afxdp/show.  The strings are static or live as
 * long as the port. */
struct afxdp_port_fast_path {
    bool requested;             /* Opened with afxdp_port_config.fast_path. */
    bool running;               /* The program runs offloaded flows. */
    const char *off_reason;     /* Requested but not running: why; else "". */
    const char *carrier;        /* "xdp-metadata", "frame-header" or "none". */
    const char *carrier_reason; /* Why not the metadata area, or "". */
};
void afxdp_port_get_fast_path(const struct afxdp_port *,
                              struct afxdp_port_fast_path *);

/* The file descriptor of queue 'qid's socket, for poll(). */
int afxdp_port_queue_fd(const struct afxdp_port *, uint32_t qid);

/* Largest frame (L2, without FCS) one chunk can receive and transmit. */
uint32_t afxdp_max_frame_len(void);

/* The largest MTU with multi-buffer AF_XDP (9000), and without it (one
 * chunk's frame less 18 bytes of Ethernet and VLAN headers). */
uint32_t afxdp_max_mtu_multi_buffer(void);
uint32_t afxdp_max_mtu_single_buffer(void);

/* The largest MTU the port's sockets carry, and in '*reason' (valid until
 * the port is closed) why it is not the multi-buffer one, or "". */
uint32_t afxdp_port_max_mtu(const struct afxdp_port *, const char **reason);

/* When the device's MTU is above afxdp_port_max_mtu(), a malloc()ed
 * sentence saying so and why (for status and log); else NULL. */
char *afxdp_port_mtu_error(const struct afxdp_port *);

/* Bytes reserved in front of every received frame for OVS to push headers
 * (VLAN, MPLS, tunnels) without reallocating. */
uint32_t afxdp_frame_headroom(void);

/* ---- Datapath (hot; no allocation, no locks unless shared) ------------ */

struct afxdp_rx_frame {
    void *meta;          /* meta_size caller bytes owned with this frame. */
    void *chunk;         /* Start of the chunk (dp_packet base). */
    uint32_t chunk_size; /* Bytes usable from 'chunk'. */
    uint32_t headroom;   /* Frame data starts at chunk + headroom. */
    uint32_t len;        /* Frame length. */
    /* From the XDP program (bpf/xdp_meta.h), valid as 'xdp_flags' says:
     * AFXDP_RX_HASH: 'rx_hash' is the frame's 5-tuple hash;
     * AFXDP_RX_FLOW_MARK: the frame matched the offloaded megaflow whose
     * OVS flow mark is 'flow_mark'. */
    uint32_t xdp_flags;
    uint32_t rx_hash;
    uint32_t flow_mark;
};

#define AFXDP_RX_HASH 0x1u
#define AFXDP_RX_FLOW_MARK 0x2u

/* Refills queue 'qid's fill ring, then receives up to 'max' frames.
 * Returns the number received.  Each frame stays owned by the caller until
 * passed to afxdp_frame_release*(). */
uint32_t afxdp_rx_burst(struct afxdp_port *, uint32_t qid,
                        struct afxdp_rx_frame *frames, uint32_t max);

struct afxdp_tx_frame {
    const void *data;
    uint32_t len;
    /* NULL, or the 'meta' of a frame from afxdp_rx_burst() that 'data'
     * points into: the core takes the frame over (see afxdp_tx_burst). */
    void *meta;
};

/* How many threads may send on a queue at once (dpif-netdev's concurrent
 * txqs), and who is calling. */
enum afxdp_txq_sharing {
    AFXDP_TXQ_EXCLUSIVE,     /* The only sender: no lock at all. */
    AFXDP_TXQ_SHARED,        /* A PMD thread, others may send too: the
                              * PMDs share the queue's tx ring under a
                              * lock held only to write descriptors. */
    AFXDP_TXQ_SHARED_NONPMD, /* The main thread, PMDs may send too: it has
                              * a tx ring of its own, so that it never
                              * holds a lock a PMD waits for. */
};

/* Queues up to 'n' frames on queue (qid % n_queues)'s tx ring, submits them
 * and wakes the kernel when it needs it.  A frame with a 'meta' whose chunk
 * is in this port's UMEM goes by address, without a copy; every other frame
 * is copied into a chunk.  Frames that do not fit (no free chunk, ring full,
 * too long, a chunk the caller does not hold) are dropped and counted.
 * Returns the number queued.  Frames with a 'meta' are the core's from
 * now on, queued or not; the caller keeps the memory of the others. */
uint32_t afxdp_tx_burst(struct afxdp_port *, uint32_t qid,
                        const struct afxdp_tx_frame *frames, uint32_t n,
                        enum afxdp_txq_sharing sharing);

/* Returns frames received by afxdp_rx_burst() to their pools.  Any thread.*/
void afxdp_frame_release(void *meta);
void afxdp_frame_release_batch(void *const *metas, uint32_t n);

/* ---- Statistics ------------------------------------------------------- */

struct afxdp_queue_stats {
    uint64_t rx_packets;
    uint64_t rx_bytes;
    uint64_t tx_packets;
    uint64_t tx_bytes;
    uint64_t tx_dropped;           /* The sum of the four reasons below. */
    uint64_t tx_dropped_no_chunk;  /* No free chunk in the UMEM. */
    uint64_t tx_dropped_ring_full; /* No room on the tx ring. */
    uint64_t tx_dropped_bad_len;   /* Empty or > afxdp_max_frame_len(). */
    uint64_t tx_dropped_not_held;  /* A chunk of the UMEM the caller did not
                                    * hold: refused, neither sent nor freed. */
    /* Transmit wakeups (sendto) that failed for another reason than the
     * kernel being busy or the link down; their frames stay on the tx ring
     * for the next one.  Not drops. */
    uint64_t tx_kick_errors;
    uint64_t tx_zero_copy; /* Of tx_packets: sent by address, no copy. */
    /* Frames larger than a chunk (multi-buffer): received and assembled,
     * of rx_packets; dropped on receive (longer than the largest frame,
     * or no jumbo buffer free); sent as chains, of tx_packets. */
    uint64_t rx_multi_buffer;
    uint64_t rx_dropped_multi_buffer;
    uint64_t tx_multi_buffer;

    /* struct xdp_statistics, read from the socket. */
    uint64_t rx_dropped;
    uint64_t rx_invalid_descs;
    uint64_t tx_invalid_descs;
    uint64_t rx_ring_full;
    uint64_t rx_fill_ring_empty_descs;
    uint64_t tx_ring_empty_descs;

    /* The UMEM's chunks lent to the kernel through this queue. */
    uint32_t chunks_fill; /* Fill ring and kernel transit. */
    uint32_t chunks_rx;
    uint32_t chunks_tx;
    uint32_t chunks_completion;
};

/* 0 or positive errno (EINVAL for a bad 'qid'). */
int afxdp_port_queue_stats(const struct afxdp_port *, uint32_t qid,
                           struct afxdp_queue_stats *);

/* The counters of a device that OVS's interface statistics take from us
 * (struct netdev_stats's fields of the same names). */
struct afxdp_traffic {
    uint64_t rx_packets;
    uint64_t rx_bytes;
    uint64_t tx_packets;
    uint64_t tx_bytes;
    uint64_t rx_dropped;
    uint64_t tx_dropped;
};

/* What crossed the port's sockets, summed over its queues: rx_dropped is
 * what the sockets could not take (XDP_STATISTICS rx_dropped plus
 * rx_ring_full), tx_dropped what the port could not queue.  A queue whose
 * statistics cannot be read counts as zero. */
void afxdp_port_traffic(const struct afxdp_port *, struct afxdp_traffic *);

/* The device's traffic as OVS shows it (netdev-afxdp/device_report.h says
 * why): from the kernel's counters of the device, what crossed the
 * sockets ('sockets', NULL when the port has none open) and what the XDP
 * fast path received and sent ('fast_path', NULL without one; its
 * drops are ignored).  Packets and bytes: the sockets' plus the fast
 * path's, or the kernel's without sockets; rx_dropped: the larger of the
 * kernel's and the sockets'; tx_dropped: their sum. */
void afxdp_merge_traffic(const struct afxdp_traffic *kernel,
                         const struct afxdp_traffic *sockets,
                         const struct afxdp_traffic *fast_path,
                         struct afxdp_traffic *out);

/* The drops and errors of all the port's queues, by reason. */
struct afxdp_port_events {
    uint64_t tx_dropped_no_chunk;
    uint64_t tx_dropped_ring_full;
    uint64_t tx_dropped_bad_len;
    uint64_t tx_dropped_not_held;
    uint64_t tx_kick_errors;
};

/* What the port's queues counted since the previous call (since the open,
 * the first time), for OVS's coverage counters.  Logs a warning about
 * kick errors, at most once a minute per port, summing those counted
 * meanwhile: the datapath itself never logs.  Control path, one caller
 * at a time. */
void afxdp_port_take_events(struct afxdp_port *, struct afxdp_port_events *);

/* The balance of the port's UMEM, shared with the other ports on it.  When
 * nothing moves, free + fill + rx + held + tx + completion == total. */
struct afxdp_umem_stats {
    uint32_t chunks_total;
    uint32_t chunks_free;       /* In the pool or a thread's cache. */
    uint32_t chunks_cached;     /* Of free: in threads' caches. */
    uint32_t chunks_fill;       /* Lent for receiving (all queues)... */
    uint32_t chunks_reclaiming; /* ...of which closed sockets' chunks,
                                 * back to free a moment after the close. */
    uint32_t chunks_rx;
    uint32_t chunks_held; /* Received, not yet released or sent. */
    uint32_t chunks_tx;
    uint32_t chunks_completion;
    uint32_t queues;         /* Sockets on it, all ports. */
    uint64_t release_errors; /* Releases refused: chunk not held. */
    uint64_t pool_overflows; /* Chunks refused by a full pool. */
    /* The buffers chained frames are assembled in: free + held == total
     * when nothing moves. */
    uint32_t jumbo_total;
    uint32_t jumbo_free;
    uint32_t jumbo_held;
};

/* Never fails; zeroes for a port without sockets. */
void afxdp_port_umem_stats(const struct afxdp_port *,
                           struct afxdp_umem_stats *);

/* What the port's UMEM is, for its status.  The strings stay valid until
 * the port is closed. */
struct afxdp_umem_info {
    uint32_t id;
    bool shared; /* The NUMA node's, or the port's own. */
    int numa_node;
    uint64_t size;                 /* Bytes of chunks. */
    uint64_t meta_size;            /* Bytes of per-chunk metadata. */
    const char *huge_pages;        /* "hugetlb", "thp" or "none". */
    uint32_t kernel_shared_queues; /* This port's queues that share another
                                    * socket's kernel UMEM registration. */
    const char *note;              /* Why one registered its own, or "". */
    bool main_lane;                /* The main thread has its own tx ring. */
    uint32_t busy_poll_budget;     /* As the kernel reports them; 0: off. */
    uint32_t busy_poll_usecs;
    bool busy_poll_prefer;
};

/* Never fails; zeroes for a port without sockets. */
void afxdp_port_umem_info(const struct afxdp_port *, struct afxdp_umem_info *);

#ifdef __cplusplus
}
#endif

#endif /* AFXDP_AFXDP_H */
