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

/* ---- Ports ------------------------------------------------------------ */

/* One device: the XDP program attached to it and one AF_XDP socket per
 * queue, on the UMEM shared by all ports of its NUMA node. */
struct afxdp_port;

struct afxdp_port_config {
    const char *ifname;
    uint32_t n_queues; /* Sockets on queues 0..n_queues-1. */
    enum afxdp_xdp_mode xdp_mode;
    bool use_need_wakeup;
    uint32_t meta_size;        /* Caller bytes preallocated per chunk. */
    int numa_node;             /* UMEM placement; -1: no preference. */
    bool private_umem;         /* A UMEM of its own instead of the node's shared
                                * one (frames to other ports are then copied). */
    uint32_t busy_poll_budget; /* 0: no busy polling; else SO_PREFER_BUSY_POLL
                                * with this SO_BUSY_POLL_BUDGET... */
    uint32_t busy_poll_usecs;  /* ...and this SO_BUSY_POLL (> 0). */
};

/* Opens a port.  Returns 0 and sets '*portp', or a positive errno after
 * logging exactly one error that names the device and the cause. */
int afxdp_port_open(const struct afxdp_port_config *,
                    struct afxdp_port **portp);

/* Closes the sockets and detaches the XDP program.  Never fails.  A UMEM
 * whose frames are still held by the caller stays mapped until the last of
 * them is released with afxdp_frame_release*(). */
void afxdp_port_close(struct afxdp_port *);

/* Detaches the XDP program only (fatal-signal path).  Idempotent. */
void afxdp_port_detach_xdp(struct afxdp_port *);

/* The mode actually in use (never BEST_EFFORT). */
enum afxdp_xdp_mode afxdp_port_xdp_mode(const struct afxdp_port *);
uint32_t afxdp_port_n_queues(const struct afxdp_port *);

/* The file descriptor of queue 'qid's socket, for poll(). */
int afxdp_port_queue_fd(const struct afxdp_port *, uint32_t qid);

/* Queues the device offers (combined/rx channels).  0 or positive errno
 * (ENODEV for a missing device); logs nothing. */
int afxdp_device_max_queues(const char *ifname, uint32_t *n_queues);

/* Largest frame (L2, without FCS) one chunk can receive and transmit. */
uint32_t afxdp_max_frame_len(void);

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
};

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
    uint64_t tx_dropped;   /* No chunk, ring full, too long, not held. */
    uint64_t tx_zero_copy; /* Of tx_packets: sent by address, no copy. */

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
