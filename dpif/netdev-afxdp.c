/*
 * OVS glue for the ovs-afxdp core: implements lib/netdev-afxdp.h, the
 * interface behind netdev-linux's "afxdp" and "afxdp-nonpmd" classes, by
 * calling the C ABI in netdev-afxdp/afxdp.h.  This file is compiled inside
 * OVS's build (scripts/build-ovs.sh links it in as lib/ovs-afxdp/) because
 * OVS headers do not compile as C++.  It only casts, calls and translates.
 *
 * Design notes:
 *
 *  - Packets are not copied on receive.  The core reserves 'meta_size' =
 *    sizeof(struct dp_packet) caller bytes next to every UMEM chunk, and the
 *    struct dp_packet of a received frame lives in that slot.  Its source is
 *    DPBUF_AFXDP, so when OVS frees it (dp_packet_delete) it calls
 *    free_afxdp_buf() with the slot's address, which goes straight back to
 *    the core (afxdp_frame_release), from whatever thread OVS frees it on.
 *    OVS cannot grow such a packet (dp_packet_resize() of a DPBUF_AFXDP
 *    packet aborts), which is why the core leaves afxdp_frame_headroom()
 *    bytes in front of each frame for pushed headers.
 *
 *  - Nor between our ports on send: send hands every DPBUF_AFXDP packet to
 *    the core with its slot ('meta'), and the core puts it on the tx ring
 *    by address when its chunk is in the output port's UMEM (all ports of
 *    a NUMA node share one), or copies and releases it otherwise.  Either
 *    way the core owns such packets from then on; send frees only the
 *    others (taps, system ports, OVS's own copies).
 *
 *  - Configuration follows the netdev provider contract: set_config only
 *    validates and records a request, and reconfigure applies it (dpif-netdev
 *    calls it with no thread polling or sending on the device).  Options:
 *    n_rxq (default 1, at most the device's queues), xdp-mode (best-effort,
 *    native-with-zerocopy, native, generic), use-need-wakeup (default
 *    true), shared-umem (default true), busy-poll-budget/-usecs
 *    (default off) and multi-buffer (default true: MTU up to 9000).
 *    The core checks them (afxdp_port_options_update): an
 *    impossible request is refused on a fresh port, so that the bridge
 *    reports it on the Interface and does not add the port, and kept out
 *    on a running port, which keeps its last valid options (an error
 *    returned there would make the bridge delete the port and add it
 *    again, logging each time) and shows the reason as status
 *    "afxdp-config-error".  A reconfigure that fails anyway (the
 *    driver refuses the mode, no memory) leaves the device without sockets
 *    but present in the datapath: returning an error there would make
 *    dpif-netdev drop the port and the bridge add it again, failing in a
 *    loop.  Such a failure is logged once and shown as status
 *    "afxdp-error" until a reconfigure succeeds.
 *
 *  - Locking: the state below is protected by netdev_linux's 'mutex', taken
 *    on the control path only.  The datapath functions read 'port' without
 *    it: dpif-netdev does not poll or send on a port while it reconfigures
 *    it, and the core serialises concurrent senders on one queue itself,
 *    given whether the caller is a PMD thread (afxdp_txq_sharing()): the
 *    main thread gets a tx ring of its own, so that it never holds a lock
 *    a PMD thread spins on.
 *
 *  - afxdp-nonpmd ports are polled by the main thread, which sleeps in
 *    poll() between iterations: netdev-linux's rxq_wait() waits on the
 *    rxq's 'fd', so each rxq carries its queue's AF_XDP socket.
 */

#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coverage.h"
#include "dp-packet.h"
#include "netdev-afxdp.h"
#include "netdev-linux-private.h"
#include "netdev-offload.h"
#include "netdev-provider.h"
#include "openvswitch/dynamic-string.h"
#include "openvswitch/poll-loop.h"
#include "openvswitch/shash.h"
#include "openvswitch/vlog.h"
#include "ovs-atomic.h"
#include "ovs-thread.h"
#include "packets.h"
#include "smap.h"
#include "unixctl.h"
#include "util.h"

#include "dpif/netdev-afxdp-offload.h"
#include "netdev-afxdp/afxdp.h"
#include "netdev-afxdp/offload/afxdp_offload.h"

VLOG_DEFINE_THIS_MODULE(netdev_afxdp);

static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 20);

/* Datapath events, shown by `ovs-appctl coverage/show`.  Counted per
 * thread on the datapath (cheap enough for every burst):
 *  - afxdp_rx_empty: an rx poll found no frame (the idle case; a PMD that
 *    is never idle shows a rate near zero);
 *  - afxdp_tx_dropped: frames a send could not queue, for any reason,
 *    including a port without sockets.
 * Counted by the core's queues and added here when the statistics are
 * read (afxdp_port_take_events(), every stats-update-interval and before
 * a port is closed), so the datapath pays nothing more for them:
 *  - afxdp_tx_dropped_no_chunk, afxdp_tx_dropped_ring_full,
 *    afxdp_tx_dropped_bad_len, afxdp_tx_dropped_not_held: afxdp_tx_dropped of ports with sockets, by
 *    reason (per queue: statistics q<N>_tx_dropped_<reason>);
 *  - afxdp_tx_kick_errors: failed transmit wakeups (q<N>_tx_kick_errors),
 *    also logged by the core at most once a minute per port. */
COVERAGE_DEFINE(afxdp_rx_empty);
COVERAGE_DEFINE(afxdp_tx_dropped);
COVERAGE_DEFINE(afxdp_tx_dropped_no_chunk);
COVERAGE_DEFINE(afxdp_tx_dropped_ring_full);
COVERAGE_DEFINE(afxdp_tx_dropped_bad_len);
COVERAGE_DEFINE(afxdp_tx_dropped_not_held);
COVERAGE_DEFINE(afxdp_tx_kick_errors);

/* Per-device state, owned through netdev_linux's 'afxdp' member. */
struct netdev_afxdp {
    /* Requested by set_config(): the last valid options. */
    struct afxdp_options requested;

    /* Applied by the last reconfigure() (xdp_mode as configured, which
     * may be best-effort; the port says which mode is in use). */
    struct afxdp_options applied;

    /* NULL before the first reconfigure() and after a failed one. */
    struct afxdp_port *port;

    /* The device's ifindex when the last reconfigure() ran (0: missing).
     * A device deleted and created again under the same name gets a new
     * ifindex; set_config(), which the bridge calls on every link change,
     * compares it to notice and reopen the sockets. */
    int ifindex;

    /* Why the last reconfigure() failed (status "afxdp-error"), or NULL. */
    char *open_error;

    /* While a queue is still taken (afxdp_port_open() said EAGAIN): how
     * many opens in a row failed so, and when (time_msec()) the polling
     * thread asks for the next, 0 for never. */
    uint32_t open_retries;
    atomic_llong open_retry_at;

    /* The Interface's options: the last valid ones, and why the latest
     * were not taken (status "afxdp-config-error"). */
    struct afxdp_port_options *options;

    /* The XDP fast path's flows of this port, from the first
     * init_flow_api() (OVS's hw-offload on) until destruct(): offload
     * threads hold a reference to the netdev, not to this. */
    struct afxdp_offload *offload;

    /* Which thread polls each of the port's queues, for afxdp/show: a PMD
     * thread's core id, or AFXDP_POLLER_*.  Allocated with 'port' by
     * reconfigure(); written by the polling thread when it changes. */
    atomic_int *pollers;
};

#define AFXDP_POLLER_NONE (-2) /* Not polled since the port was opened. */
#define AFXDP_POLLER_MAIN (-1) /* The main thread (afxdp-nonpmd ports). */

static struct netdev_afxdp *
afxdp_state(const struct netdev *netdev)
{
    return netdev_linux_cast(netdev)->afxdp;
}

static struct afxdp_port *
afxdp_port_of(const struct netdev *netdev)
{
    return afxdp_state(netdev)->port;
}

/* ---- Datapath ---------------------------------------------------------- */

/* The calling thread as a poller: a PMD thread's core id (dpif-netdev names
 * its PMD threads "pmd-c<core>/id:<n>"), or the main thread.  Worked out
 * once per thread. */
DEFINE_STATIC_PER_THREAD_DATA(int, afxdp_self_poller, INT_MIN);

static int
afxdp_poller_self(void)
{
    int *self = afxdp_self_poller_get();

    if (OVS_UNLIKELY(*self == INT_MIN)) {
        int core;

        *self = (ovs_scan(get_subprogram_name(), "pmd-c%d", &core)
                 && core >= 0 ? core : AFXDP_POLLER_MAIN);
    }
    return *self;
}

/* Records who polls queue 'qid', for afxdp/show: dpif-netdev keeps its
 * rxq-to-PMD assignment to itself (dpif-netdev/pmd-rxq-show), so the
 * provider notes which thread actually calls.  Costs a thread-local read
 * and a relaxed load per burst; the store happens only when the queue
 * moves to another thread. */
static inline void
afxdp_note_poller(struct netdev_afxdp *state, int qid)
{
    int self = afxdp_poller_self();
    int seen;

    atomic_read_relaxed(&state->pollers[qid], &seen);
    if (OVS_UNLIKELY(seen != self)) {
        atomic_store_relaxed(&state->pollers[qid], self);
    }
}

/* A port whose queue was still taken opens again when its time comes;
 * the thread polling its queues, which finds nothing there meanwhile, asks
 * for the reconfiguration, so the main thread never waits for it. */
static void
afxdp_request_retry_when_due(struct netdev *netdev,
                             struct netdev_afxdp *state)
{
    long long int at;

    atomic_read_relaxed(&state->open_retry_at, &at);
    if (!at) {
        return;
    }
    if (time_msec() >= at) {
        if (atomic_compare_exchange_strong(&state->open_retry_at, &at, 0)) {
            netdev_request_reconfigure(netdev);
        }
    } else if (!netdev_is_pmd(netdev)) {
        poll_timer_wait_until(at);  /* The main thread polls, then sleeps. */
    }
}

int
netdev_afxdp_rxq_recv(struct netdev_rxq *rxq_, struct dp_packet_batch *batch,
                      int *qfill)
{
    struct netdev_afxdp *state = afxdp_state(rxq_->netdev);
    struct afxdp_port *port = state->port;
    struct afxdp_rx_frame frames[NETDEV_MAX_BURST];
    uint32_t i, n;

    if (qfill) {
        *qfill = 0;
    }
    if (OVS_UNLIKELY(!port)) {
        afxdp_request_retry_when_due(rxq_->netdev, state);
        return EAGAIN;
    }
    afxdp_note_poller(state, rxq_->queue_id);

    n = afxdp_rx_burst(port, rxq_->queue_id, frames, NETDEV_MAX_BURST);
    if (!n) {
        COVERAGE_INC(afxdp_rx_empty);
        return EAGAIN;
    }

    for (i = 0; i < n; i++) {
        const struct afxdp_rx_frame *f = &frames[i];
        struct dp_packet *packet = f->meta;

        /* 'allocated' counts from the base, i.e. the start of the chunk. */
        dp_packet_use_afxdp(packet, (char *) f->chunk + f->headroom,
                            f->chunk_size, f->headroom);
        dp_packet_set_size(packet, f->len);
        /* From our XDP program: the hash spares dpif-netdev its own, the
         * mark its flow lookup (partial offload). */
        if (f->xdp_flags & AFXDP_RX_HASH) {
            dp_packet_set_rss_hash(packet, f->rx_hash);
        }
        if (f->xdp_flags & AFXDP_RX_FLOW_MARK) {
            dp_packet_set_flow_mark(packet, f->flow_mark);
        }
        dp_packet_batch_add(batch, packet);
    }
    return 0;
}

/* Whether the calling thread is a PMD thread: asked once per thread. */
DEFINE_STATIC_PER_THREAD_DATA(int, afxdp_is_pmd, -1);

static enum afxdp_txq_sharing
afxdp_txq_sharing(bool concurrent_txq)
{
    int *is_pmd;

    if (!concurrent_txq) {
        return AFXDP_TXQ_EXCLUSIVE;
    }
    is_pmd = afxdp_is_pmd_get();
    if (*is_pmd < 0) {
        *is_pmd = thread_is_pmd();
    }
    return *is_pmd ? AFXDP_TXQ_SHARED : AFXDP_TXQ_SHARED_NONPMD;
}

int
netdev_afxdp_batch_send(struct netdev *netdev, int qid,
                        struct dp_packet_batch *batch, bool concurrent_txq)
{
    struct afxdp_port *port = afxdp_port_of(netdev);
    struct afxdp_tx_frame frames[NETDEV_MAX_BURST];
    void *metas[NETDEV_MAX_BURST];
    uint32_t n = dp_packet_batch_size(batch);
    uint32_t n_metas = 0, sent = 0, i = 0;
    struct dp_packet *packet;

    /* dpif-netdev has already applied the batch's cut lengths.  Packets
     * received from our ports carry their metadata slot ('meta'): the core
     * takes them over and sends them without a copy when they can. */
    DP_PACKET_BATCH_FOR_EACH (j, packet, batch) {
        frames[i].data = dp_packet_data(packet);
        frames[i].len = dp_packet_size(packet);
        frames[i].meta = packet->source == DPBUF_AFXDP ? packet : NULL;
        i++;
    }
    if (OVS_LIKELY(port)) {
        sent = afxdp_tx_burst(port, qid, frames, n,
                              afxdp_txq_sharing(concurrent_txq));
    }

    /* The rest is ours to free. */
    DP_PACKET_BATCH_FOR_EACH (j, packet, batch) {
        if (packet->source != DPBUF_AFXDP) {
            dp_packet_delete(packet);
        } else if (OVS_UNLIKELY(!port)) {
            metas[n_metas++] = packet;
        }
    }
    if (n_metas) {
        afxdp_frame_release_batch(metas, n_metas);
    }
    dp_packet_batch_init(batch);

    if (OVS_UNLIKELY(sent < n)) {
        COVERAGE_ADD(afxdp_tx_dropped, n - sent);
        return EAGAIN;
    }
    return 0;
}

void
free_afxdp_buf(struct dp_packet *p)
{
    afxdp_frame_release(p);
}

/* The packets of a dropped batch, together (ovs-patches/0007). */
void
free_afxdp_buf_batch(struct dp_packet **packets, size_t n)
{
    afxdp_frame_release_batch((void *const *) packets, n);
}

/* ---- Logging and init -------------------------------------------------- */

/* While reconfigure() opens a port, the core's error message is captured
 * here instead of being logged, so that the one error line (and the
 * status) can say both what was asked and why it failed.  The core calls
 * the handler synchronously, on the thread that called it. */
DEFINE_STATIC_PER_THREAD_DATA(char **, afxdp_capture, NULL);

static void
afxdp_log(enum afxdp_log_level level, const char *message)
{
    if (level == AFXDP_LOG_ERR) {
        char **capture = *afxdp_capture_get();

        if (capture && !*capture) {
            *capture = xstrdup(message);
            return;
        }
    }

    switch (level) {
    case AFXDP_LOG_ERR:
        VLOG_ERR("%s", message);
        break;
    case AFXDP_LOG_WARN:
        VLOG_WARN("%s", message);
        break;
    case AFXDP_LOG_INFO:
        VLOG_INFO("%s", message);
        break;
    case AFXDP_LOG_DBG:
    default:
        VLOG_DBG("%s", message);
        break;
    }
}

static unixctl_cb_func afxdp_unixctl_show;

int
netdev_afxdp_init(void)
{
    static struct ovsthread_once once = OVSTHREAD_ONCE_INITIALIZER;

    /* Called once per class ("afxdp" and "afxdp-nonpmd"). */
    if (ovsthread_once_start(&once)) {
        afxdp_set_log_handler(afxdp_log);
        unixctl_command_register("afxdp/show", "[PORT]", 0, 1,
                                 afxdp_unixctl_show, NULL);
        ovsthread_once_done(&once);
    }
    return 0;
}

/* What the kernel has (the core's probes and text), logged once, when the
 * first port opens: the probes cost nothing to a switch without afxdp
 * ports, and OVS's own test suite expects no line of ours at start-up. */
static void
afxdp_log_kernel_features_once(void)
{
    static struct ovsthread_once once = OVSTHREAD_ONCE_INITIALIZER;

    if (ovsthread_once_start(&once)) {
        char *kernel = afxdp_kernel_features_summary();

        if (kernel) {
            VLOG_INFO("%s", kernel);
            free(kernel);
        }
        ovsthread_once_done(&once);
    }
}

/* ---- Construction ------------------------------------------------------ */

int
netdev_afxdp_construct(struct netdev *netdev)
{
    struct netdev_linux *dev = netdev_linux_cast(netdev);
    struct netdev_afxdp *state;
    int error;

    error = netdev_linux_construct(netdev);
    if (error) {
        return error;
    }

    state = xzalloc(sizeof *state);
    atomic_init(&state->open_retry_at, 0);
    state->options = afxdp_port_options_create(netdev_get_name(netdev));
    afxdp_port_options_requested(state->options, &state->requested);
    state->applied = state->requested;
    dev->afxdp = state;

    /* No queue may be used before the first reconfigure() opens them. */
    netdev->n_rxq = 0;
    netdev->n_txq = 0;
    netdev_request_reconfigure(netdev);
    return 0;
}

void
netdev_afxdp_destruct(struct netdev *netdev)
{
    struct netdev_linux *dev = netdev_linux_cast(netdev);

    if (dev->afxdp) {
        /* The flows go before the program that runs them. */
        afxdp_offload_destroy(dev->afxdp->offload);
        if (dev->afxdp->port) {
            afxdp_port_close(dev->afxdp->port);
        }
        free(dev->afxdp->open_error);
        afxdp_port_options_destroy(dev->afxdp->options);
        free(dev->afxdp->pollers);
        free(dev->afxdp);
        dev->afxdp = NULL;
    }
    ovs_mutex_destroy(&dev->mutex);
}

int
netdev_afxdp_rxq_construct(struct netdev_rxq *rxq_)
{
    struct netdev_rxq_linux *rx = netdev_rxq_linux_cast(rxq_);
    struct afxdp_port *port = afxdp_port_of(rxq_->netdev);

    /* dpif-netdev opens the rxqs after reconfigure(), so the socket for
     * this queue, if any, exists now.  poll() ignores a negative fd. */
    rx->is_tap = false;
    rx->fd = port ? afxdp_port_queue_fd(port, rxq_->queue_id) : -1;
    return 0;
}

void
netdev_afxdp_rxq_destruct(struct netdev_rxq *rxq_ OVS_UNUSED)
{
    /* The socket belongs to the port. */
}

/* ---- Configuration ----------------------------------------------------- */

/* Adds what 'port's queues counted since the last call to the coverage
 * counters.  Called with 'dev->mutex' held. */
static void
afxdp_count_events(struct afxdp_port *port)
{
    struct afxdp_port_events ev;

    afxdp_port_take_events(port, &ev);
    COVERAGE_ADD(afxdp_tx_dropped_no_chunk, ev.tx_dropped_no_chunk);
    COVERAGE_ADD(afxdp_tx_dropped_ring_full, ev.tx_dropped_ring_full);
    COVERAGE_ADD(afxdp_tx_dropped_bad_len, ev.tx_dropped_bad_len);
    COVERAGE_ADD(afxdp_tx_dropped_not_held, ev.tx_dropped_not_held);
    COVERAGE_ADD(afxdp_tx_kick_errors, ev.tx_kick_errors);
}

/* One "not polled yet" per queue of a port just opened (no thread polls
 * the device during reconfigure()). */
static void
afxdp_reset_pollers(struct netdev_afxdp *state, uint32_t n_queues)
{
    uint32_t q;

    free(state->pollers);
    state->pollers = xcalloc(MAX(n_queues, 1), sizeof *state->pollers);
    for (q = 0; q < n_queues; q++) {
        atomic_init(&state->pollers[q], AFXDP_POLLER_NONE);
    }
}

int
netdev_afxdp_set_config(struct netdev *netdev, const struct smap *args,
                        char **errp)
{
    struct netdev_linux *dev = netdev_linux_cast(netdev);
    const char *name = netdev_get_name(netdev);
    const struct afxdp_option_strings strings = {
        .n_rxq = smap_get(args, "n_rxq"),
        .xdp_mode = smap_get(args, "xdp-mode"),
        .use_need_wakeup = smap_get(args, "use-need-wakeup"),
        .shared_umem = smap_get(args, "shared-umem"),
        .busy_poll_budget = smap_get(args, "busy-poll-budget"),
        .busy_poll_usecs = smap_get(args, "busy-poll-usecs"),
        .multi_buffer = smap_get(args, "multi-buffer"),
    };
    struct netdev_afxdp *state;
    char *reason = NULL;
    bool changed;
    int error;

    /* The core checks the options and decides whether a bad one is
     * refused (a fresh port) or kept out (a running port keeps its last
     * valid options); either way it has logged the one error line. */
    ovs_mutex_lock(&dev->mutex);
    state = dev->afxdp;
    error = afxdp_port_options_update(state->options, &strings, &changed,
                                      &reason);
    if (!error) {
        afxdp_port_options_requested(state->options, &state->requested);
        /* The bridge calls this on every link change: a device deleted
         * and created again under the same name has a new ifindex. */
        if (changed || afxdp_device_replaced(name, state->ifindex)) {
            netdev_request_reconfigure(netdev);
        }
    }
    ovs_mutex_unlock(&dev->mutex);

    if (errp) {
        *errp = reason;
    } else {
        free(reason);
    }
    return error;
}

int
netdev_afxdp_get_config(const struct netdev *netdev, struct smap *args)
{
    struct netdev_linux *dev = netdev_linux_cast(netdev);
    const struct netdev_afxdp *state;

    ovs_mutex_lock(&dev->mutex);
    state = dev->afxdp;
    smap_add_format(args, "n_rxq", "%d", netdev_n_rxq(netdev));
    smap_add(args, "xdp-mode", afxdp_xdp_mode_to_string(state->applied.xdp_mode));
    smap_add(args, "xdp-mode-in-use",
             state->port
             ? afxdp_xdp_mode_to_string(afxdp_port_xdp_mode(state->port))
             : "unspecified");
    smap_add(args, "use-need-wakeup",
             state->applied.use_need_wakeup ? "true" : "false");
    smap_add(args, "shared-umem", state->applied.shared_umem ? "true" : "false");
    smap_add(args, "multi-buffer",
             state->applied.multi_buffer ? "true" : "false");
    if (state->applied.busy_poll_budget) {
        smap_add_format(args, "busy-poll-budget", "%"PRIu32,
                        state->applied.busy_poll_budget);
        smap_add_format(args, "busy-poll-usecs", "%"PRIu32,
                        state->applied.busy_poll_usecs);
    }
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

/* Whether the port is open as requested, on the device of that name, with
 * the XDP fast path exactly when OVS's flow offload is on. */
static bool
afxdp_port_is_current(const struct netdev *netdev,
                      const struct netdev_afxdp *state)
{
    return state->port
           && !afxdp_device_replaced(netdev_get_name(netdev), state->ifindex)
           && afxdp_options_equal(&state->applied, &state->requested)
           && afxdp_port_fast_path_requested(state->port)
              == netdev_is_flow_api_enabled();
}

/* Frames still held by OVS keep the old UMEM mapped until released; the
 * offloaded flows wait for the new program. */
static void
afxdp_close_port(struct netdev_afxdp *state)
{
    if (state->port) {
        if (state->offload) {
            afxdp_offload_unbind(state->offload);
        }
        afxdp_count_events(state->port);
        afxdp_port_close(state->port);
        state->port = NULL;
    }
}

/* Logs a failed open once: a queue still taken is retried later (an INFO
 * line at the first retry), anything else, or a queue taken for too long,
 * stands until the configuration changes (an ERR line). */
static void
afxdp_report_open_failure(struct netdev_afxdp *state, const char *name,
                          int error)
{
    const char *why = state->open_error ? state->open_error : "out of memory";
    uint32_t delay = 0;

    if (error == EAGAIN) {
        delay = afxdp_open_retry_delay_ms(++state->open_retries);
    }
    if (delay) {
        if (state->open_retries == 1) {
            VLOG_INFO("%s: %s; opening again shortly.", name, why);
        }
        atomic_store_relaxed(&state->open_retry_at, time_msec() + delay);
        return;
    }
    if (state->open_retries) {
        VLOG_ERR("%s: %s (still, after %"PRIu32" retries); the port passes "
                 "no traffic until its configuration changes.", name, why,
                 state->open_retries - 1);
    } else {
        VLOG_ERR("%s: %s; the port passes no traffic until its "
                 "configuration changes.", name, why);
    }
    state->open_retries = 0;
}

/* A device whose MTU is above what the port's sockets carry (no multi-
 * buffer AF_XDP here, and the MTU was set before the port was added) would
 * drop every longer frame in silence: say so once per open, as an error;
 * the status says it for as long as it lasts. */
static void
afxdp_check_mtu(const char *name, const struct afxdp_port *port)
{
    char *mtu_error = afxdp_port_mtu_error(port);

    if (mtu_error) {
        VLOG_ERR("%s: %s.", name, mtu_error);
        free(mtu_error);
    }
}

/* Opens the port with the options applied.  A failure is logged as one
 * line saying what was asked and why, and kept for status; the queue
 * counts stay as requested so that dpif-netdev's view stays consistent
 * (rxq_recv() finds nothing and send() drops until the port opens again
 * or the configuration changes). */
static void
afxdp_open_port(struct netdev *netdev, struct netdev_afxdp *state,
                int numa_id)
{
    const char *name = netdev_get_name(netdev);
    const struct afxdp_port_config cfg = {
        .ifname = name,
        .n_queues = state->applied.n_rxq,
        .xdp_mode = state->applied.xdp_mode,
        .use_need_wakeup = state->applied.use_need_wakeup,
        .meta_size = sizeof(struct dp_packet),
        .numa_node = (numa_id >= 0 && numa_id != NETDEV_NUMA_UNSPEC
                      ? numa_id : -1),
        .fast_path = netdev_is_flow_api_enabled(),
        .rx_hash = netdev_is_flow_api_enabled(),
        .private_umem = !state->applied.shared_umem,
        .busy_poll_budget = state->applied.busy_poll_budget,
        .busy_poll_usecs = state->applied.busy_poll_usecs,
        .multi_buffer = state->applied.multi_buffer,
    };
    struct afxdp_port *port = NULL;
    char *cause = NULL;
    int error;

    afxdp_log_kernel_features_once();
    free(state->open_error);
    state->open_error = NULL;
    atomic_store_relaxed(&state->open_retry_at, 0);
    state->ifindex = afxdp_device_ifindex(name);

    /* The core logs exactly one error on failure; take it over. */
    *afxdp_capture_get() = &cause;
    error = afxdp_port_open(&cfg, &port);
    *afxdp_capture_get() = NULL;

    if (error) {
        state->open_error = afxdp_port_open_error(&cfg, cause, error);
        afxdp_report_open_failure(state, name, error);
        netdev->n_rxq = cfg.n_queues;
        netdev->n_txq = cfg.n_queues;
    } else {
        if (state->open_retries) {
            VLOG_INFO("%s: opened after %"PRIu32" retries while a queue was "
                      "still taken.", name, state->open_retries);
        }
        state->open_retries = 0;
        /* The core has logged the mode and queues in use. */
        state->port = port;
        netdev->n_rxq = afxdp_port_n_queues(port);
        netdev->n_txq = netdev->n_rxq;
        afxdp_reset_pollers(state, netdev->n_rxq);
        if (state->offload) {
            afxdp_offload_bind(state->offload, port);
        }
        afxdp_check_mtu(name, port);
    }
    free(cause);
}

int
netdev_afxdp_reconfigure(struct netdev *netdev)
{
    struct netdev_linux *dev = netdev_linux_cast(netdev);
    struct netdev_afxdp *state;
    int numa_id;

    /* netdev_get_numa_id() takes 'dev->mutex' itself. */
    numa_id = netdev_get_numa_id(netdev);

    ovs_mutex_lock(&dev->mutex);
    state = dev->afxdp;
    if (!afxdp_port_is_current(netdev, state)) {
        afxdp_close_port(state);
        state->applied = state->requested;
        afxdp_open_port(netdev, state, numa_id);
        netdev_change_seq_changed(netdev);
    }
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

/* The limit is what the port's sockets carry: with multi-buffer AF_XDP,
 * afxdp_max_mtu_multi_buffer(); without (kernel, driver or zero-copy mode
 * refused it), one chunk's frame.  Before the port's first reconfigure()
 * (add-port sets the MTU before the sockets are opened) it is the
 * multi-buffer one, and afxdp_check_mtu() reports a device MTU the sockets
 * then cannot carry.  The device's own maximum, if lower, is the kernel's
 * to enforce when netdev-linux sets the MTU. */
int
netdev_afxdp_verify_mtu_size(const struct netdev *netdev, int mtu)
{
    /* Called with 'dev->mutex' held (from netdev_linux_set_mtu()). */
    const struct netdev_afxdp *state = afxdp_state(netdev);
    const char *reason = "";
    uint32_t max_mtu = (state->port
                        ? afxdp_port_max_mtu(state->port, &reason)
                        : afxdp_max_mtu_multi_buffer());

    if (mtu < 0 || (uint32_t) mtu > max_mtu) {
        /* The bridge asks again on every reconfiguration. */
        VLOG_WARN_RL(&rl, "%s: MTU %d is too large for AF_XDP: the largest "
                     "is %"PRIu32" (%s).", netdev_get_name(netdev), mtu,
                     max_mtu,
                     *reason ? reason
                     : "frames in chained chunks, multi-buffer AF_XDP");
        return EINVAL;
    }
    return 0;
}

void
signal_remove_xdp(struct netdev *netdev)
{
    /* Fatal-signal path: no locking, the core's detach is idempotent. */
    struct netdev_afxdp *state = afxdp_state(netdev);

    if (state && state->port) {
        VLOG_WARN("%s: removing the XDP program.", netdev_get_name(netdev));
        afxdp_port_detach_xdp(state->port);
    }
}

/* ---- Status and statistics --------------------------------------------- */

/* The port's UMEM, as status keys (see docs/OPTIONS.md). */
static void
afxdp_umem_status(const struct afxdp_port *port, struct smap *smap)
{
    struct afxdp_umem_info u;

    afxdp_port_umem_info(port, &u);
    smap_add_format(smap, "umem", "%s, id %"PRIu32", numa %d",
                    u.shared ? "shared" : "private", u.id, u.numa_node);
    smap_add_format(smap, "umem-size", "%"PRIu64, u.size);
    smap_add_format(smap, "umem-meta-size", "%"PRIu64, u.meta_size);
    smap_add(smap, "umem-huge-pages", u.huge_pages);
    smap_add_format(smap, "umem-kernel-shared", "%"PRIu32"/%"PRIu32,
                    u.kernel_shared_queues, afxdp_port_n_queues(port));
    if (u.note[0]) {
        smap_add(smap, "umem-note", u.note);
    }
    smap_add(smap, "main-thread-tx-lane", u.main_lane ? "true" : "false");
    if (u.busy_poll_prefer || u.busy_poll_budget) {
        smap_add_format(smap, "busy-poll", "budget %"PRIu32", %"PRIu32" us%s",
                        u.busy_poll_budget, u.busy_poll_usecs,
                        u.busy_poll_prefer ? ", preferred" : "");
    }
}

/* Which MTU limit applies and why; an MTU above it is an error. */
static void
afxdp_mtu_status(const struct afxdp_port *port, struct smap *smap)
{
    const char *reason;
    uint32_t max_mtu = afxdp_port_max_mtu(port, &reason);
    char *mtu_error = afxdp_port_mtu_error(port);

    smap_add_format(smap, "max-mtu", "%"PRIu32, max_mtu);
    smap_add(smap, "max-mtu-reason",
             *reason ? reason : "multi-buffer AF_XDP (frames in chained "
                                "chunks)");
    if (mtu_error) {
        smap_add_nocopy(smap, xstrdup("afxdp-error"), mtu_error);
    }
}

/* Whether the XDP fast path runs, why not, and how the program hands the
 * flow mark and hash over (see docs/OFFLOAD.md). */
static void
afxdp_fast_path_status(const struct afxdp_port *port, struct smap *smap)
{
    struct afxdp_port_fast_path fp;

    afxdp_port_get_fast_path(port, &fp);
    if (fp.running) {
        smap_add(smap, "fast-path", "on");
    } else if (fp.requested) {
        smap_add_format(smap, "fast-path", "off: %s", fp.off_reason);
    } else {
        smap_add(smap, "fast-path", "off (hw-offload is not enabled)");
    }
    if (*fp.carrier_reason) {
        smap_add_format(smap, "fast-path-carrier", "%s (%s)", fp.carrier,
                        fp.carrier_reason);
    } else {
        smap_add(smap, "fast-path-carrier", fp.carrier);
    }
}

int
netdev_afxdp_get_status(const struct netdev *netdev, struct smap *smap)
{
    struct netdev_linux *dev = netdev_linux_cast(netdev);
    const char *config_error;
    bool added = false;
    int error;

    /* Takes 'dev->mutex' itself. */
    error = netdev_linux_get_status(netdev, smap);

    ovs_mutex_lock(&dev->mutex);
    if (dev->afxdp->port) {
        smap_add(smap, "xdp-mode", afxdp_xdp_mode_to_string(
                     afxdp_port_xdp_mode(dev->afxdp->port)));
        afxdp_umem_status(dev->afxdp->port, smap);
        afxdp_mtu_status(dev->afxdp->port, smap);
        afxdp_fast_path_status(dev->afxdp->port, smap);
        added = true;
    } else if (dev->afxdp->open_error) {
        smap_add(smap, "afxdp-error", dev->afxdp->open_error);
        added = true;
    }
    config_error = afxdp_port_options_error(dev->afxdp->options);
    if (config_error) {
        smap_add(smap, "afxdp-config-error", config_error);
        added = true;
    }
    ovs_mutex_unlock(&dev->mutex);

    return added ? 0 : error;
}

/* The kernel's counters of the device, in the core's terms. */
static struct afxdp_traffic
afxdp_kernel_traffic(const struct netdev_stats *kernel)
{
    return (struct afxdp_traffic) {
        .rx_packets = kernel->rx_packets,
        .rx_bytes = kernel->rx_bytes,
        .tx_packets = kernel->tx_packets,
        .tx_bytes = kernel->tx_bytes,
        .rx_dropped = kernel->rx_dropped,
        .tx_dropped = kernel->tx_dropped,
    };
}

/* What the XDP fast path received on the port and sent out of it: it never
 * crossed the sockets. */
static struct afxdp_traffic
afxdp_fast_path_traffic(const struct afxdp_offload *offload)
{
    struct afxdp_offload_port_stats fast;

    afxdp_offload_port_stats(offload, &fast);
    return (struct afxdp_traffic) {
        .rx_packets = fast.rx_packets,
        .rx_bytes = fast.rx_bytes,
        .tx_packets = fast.tx_packets,
        .tx_bytes = fast.tx_bytes,
    };
}

/* 'merged' for the traffic, the kernel's counters for the errors. */
static void
afxdp_fill_stats(const struct afxdp_traffic *merged,
                 const struct netdev_stats *kernel, struct netdev_stats *stats)
{
    stats->rx_packets = merged->rx_packets;
    stats->rx_bytes = merged->rx_bytes;
    stats->tx_packets = merged->tx_packets;
    stats->tx_bytes = merged->tx_bytes;
    stats->rx_dropped = merged->rx_dropped;
    stats->tx_dropped = merged->tx_dropped;
    stats->rx_errors = kernel->rx_errors;
    stats->tx_errors = kernel->tx_errors;
    stats->multicast = kernel->multicast;
    stats->collisions = kernel->collisions;
    stats->rx_length_errors = kernel->rx_length_errors;
    stats->rx_over_errors = kernel->rx_over_errors;
    stats->rx_crc_errors = kernel->rx_crc_errors;
    stats->rx_frame_errors = kernel->rx_frame_errors;
    stats->rx_fifo_errors = kernel->rx_fifo_errors;
    stats->rx_missed_errors = kernel->rx_missed_errors;
    stats->tx_aborted_errors = kernel->tx_aborted_errors;
    stats->tx_carrier_errors = kernel->tx_carrier_errors;
    stats->tx_fifo_errors = kernel->tx_fifo_errors;
    stats->tx_heartbeat_errors = kernel->tx_heartbeat_errors;
    stats->tx_window_errors = kernel->tx_window_errors;
}

/* The kernel's counters, the sockets' and the fast path's, merged by the
 * core (afxdp_merge_traffic()).  The bridge calls this every
 * stats-update-interval, which is also when the queues' drop reasons
 * reach the coverage counters. */
int
netdev_afxdp_get_stats(const struct netdev *netdev,
                       struct netdev_stats *stats)
{
    struct netdev_linux *dev = netdev_linux_cast(netdev);
    struct afxdp_traffic kernel_traffic, sockets, fast, merged;
    struct netdev_stats kernel;
    bool has_sockets, has_fast_path;
    int error;

    ovs_mutex_lock(&dev->mutex);
    error = get_stats_via_netlink(netdev, &kernel);
    if (error) {
        ovs_mutex_unlock(&dev->mutex);
        VLOG_WARN_RL(&rl, "%s: cannot read the device's statistics (%s).",
                     netdev_get_name(netdev), ovs_strerror(error));
        return error;
    }
    has_sockets = dev->afxdp->port != NULL;
    if (has_sockets) {
        afxdp_port_traffic(dev->afxdp->port, &sockets);
        afxdp_count_events(dev->afxdp->port);
    }
    has_fast_path = dev->afxdp->offload != NULL;
    if (has_fast_path) {
        fast = afxdp_fast_path_traffic(dev->afxdp->offload);
    }
    ovs_mutex_unlock(&dev->mutex);

    kernel_traffic = afxdp_kernel_traffic(&kernel);
    afxdp_merge_traffic(&kernel_traffic, has_sockets ? &sockets : NULL,
                        has_fast_path ? &fast : NULL, &merged);
    afxdp_fill_stats(&merged, &kernel, stats);
    return 0;
}

/* Every field of struct afxdp_queue_stats, reported as "q<N>_<field>". */
#define AFXDP_QUEUE_STATS                       \
    QSTAT(rx_packets)                           \
    QSTAT(rx_bytes)                             \
    QSTAT(tx_packets)                           \
    QSTAT(tx_bytes)                             \
    QSTAT(tx_dropped)                           \
    QSTAT(tx_dropped_no_chunk)                  \
    QSTAT(tx_dropped_ring_full)                 \
    QSTAT(tx_dropped_bad_len)                   \
    QSTAT(tx_kick_errors)                       \
    QSTAT(tx_dropped_not_held)                  \
    QSTAT(tx_zero_copy)                         \
    QSTAT(rx_multi_buffer)                      \
    QSTAT(rx_dropped_multi_buffer)              \
    QSTAT(tx_multi_buffer)                      \
    QSTAT(rx_dropped)                           \
    QSTAT(rx_invalid_descs)                     \
    QSTAT(tx_invalid_descs)                     \
    QSTAT(rx_ring_full)                         \
    QSTAT(rx_fill_ring_empty_descs)             \
    QSTAT(tx_ring_empty_descs)                  \
    QSTAT(chunks_fill)                          \
    QSTAT(chunks_rx)                            \
    QSTAT(chunks_tx)                            \
    QSTAT(chunks_completion)

/* Every field of struct afxdp_offload_counters, reported as
 * "fastpath_<field>" when the port has the XDP fast path. */
#define AFXDP_OFFLOAD_COUNTERS                  \
    OSTAT(flows_full)                           \
    OSTAT(flows_partial)                        \
    OSTAT(masks)                                \
    OSTAT(refused_match)                        \
    OSTAT(refused_full)                         \
    OSTAT(refused_fast_path_off)                \
    OSTAT(to_ovs_miss)                          \
    OSTAT(to_ovs_partial)                       \
    OSTAT(to_ovs_parse)                         \
    OSTAT(to_ovs_action)                        \
    OSTAT(to_ovs_fallback)                      \
    OSTAT(meta_failed)                          \
    OSTAT(action_failed)                        \
    OSTAT(to_ovs_multi_buffer)

/* Every field of struct afxdp_umem_stats, reported as "umem_<field>". */
#define AFXDP_UMEM_STATS                        \
    USTAT(chunks_total)                         \
    USTAT(chunks_free)                          \
    USTAT(chunks_cached)                        \
    USTAT(chunks_fill)                          \
    USTAT(chunks_reclaiming)                    \
    USTAT(chunks_rx)                            \
    USTAT(chunks_held)                          \
    USTAT(chunks_tx)                            \
    USTAT(chunks_completion)                    \
    USTAT(queues)                               \
    USTAT(release_errors)                       \
    USTAT(pool_overflows)                       \
    USTAT(jumbo_total)                          \
    USTAT(jumbo_free)                           \
    USTAT(jumbo_held)

int
netdev_afxdp_get_custom_stats(const struct netdev *netdev,
                              struct netdev_custom_stats *custom_stats)
{
    struct netdev_linux *dev = netdev_linux_cast(netdev);
    struct afxdp_port *port;
    uint32_t q, n_queues;
    size_t c = 0;

#define QSTAT(FIELD) + 1
    enum { N_QSTATS = 0 AFXDP_QUEUE_STATS };
#undef QSTAT
#define OSTAT(FIELD) + 1
    enum { N_OSTATS = 0 AFXDP_OFFLOAD_COUNTERS };
#undef OSTAT
#define USTAT(FIELD) + 1
    enum { N_USTATS = 0 AFXDP_UMEM_STATS };
#undef USTAT

    ovs_mutex_lock(&dev->mutex);
    port = dev->afxdp->port;
    n_queues = port ? afxdp_port_n_queues(port) : 0;
    custom_stats->counters = xcalloc(MAX(n_queues, 1) * N_QSTATS + N_OSTATS
                                     + N_USTATS,
                                     sizeof *custom_stats->counters);
    for (q = 0; q < n_queues; q++) {
        struct afxdp_queue_stats qs;

        if (afxdp_port_queue_stats(port, q, &qs)) {
            continue;
        }
#define QSTAT(FIELD)                                                    \
        snprintf(custom_stats->counters[c].name,                        \
                 NETDEV_CUSTOM_STATS_NAME_SIZE, "q%"PRIu32"_" #FIELD, q); \
        custom_stats->counters[c++].value = qs.FIELD;
        AFXDP_QUEUE_STATS
#undef QSTAT
    }
    if (dev->afxdp->offload) {
        struct afxdp_offload_counters oc;

        afxdp_offload_get_counters(dev->afxdp->offload, &oc);
#define OSTAT(FIELD)                                                    \
        ovs_strlcpy(custom_stats->counters[c].name, "fastpath_" #FIELD, \
                    NETDEV_CUSTOM_STATS_NAME_SIZE);                     \
        custom_stats->counters[c++].value = oc.FIELD;
        AFXDP_OFFLOAD_COUNTERS
#undef OSTAT
    }
    if (port) {
        struct afxdp_umem_stats us;

        afxdp_port_umem_stats(port, &us);
#define USTAT(FIELD)                                                    \
        ovs_strlcpy(custom_stats->counters[c].name, "umem_" #FIELD,     \
                    NETDEV_CUSTOM_STATS_NAME_SIZE);                     \
        custom_stats->counters[c++].value = us.FIELD;
        AFXDP_UMEM_STATS
#undef USTAT
    }
    custom_stats->size = c;
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

/* ---- ovs-appctl afxdp/show [PORT] ----------------------------------------
 *
 * One block per afxdp port; docs/OPTIONS.md shows and explains it.  The
 * numbers come from the core (afxdp_port_get_info(), the queues'
 * statistics, the fast path's counters); this only prints them.  Without
 * a PORT, a "kernel:" section follows (docs/KERNELS.md), text the core
 * builds. */

static void
afxdp_show_poller(struct ds *out, int poller)
{
    if (poller >= 0) {
        ds_put_format(out, "pmd core %d", poller);
    } else if (poller == AFXDP_POLLER_MAIN) {
        ds_put_cstr(out, "main thread");
    } else {
        ds_put_cstr(out, "not polled yet");
    }
}

static void
afxdp_show_header(struct ds *out, const struct netdev_afxdp *state,
                  const struct afxdp_port_info *info)
{
    ds_put_format(out, "  ifindex: %d\n", info->ifindex);
    ds_put_format(out, "  xdp-mode: %s (configured %s)\n",
                  afxdp_xdp_mode_to_string(info->xdp_mode),
                  afxdp_xdp_mode_to_string(state->applied.xdp_mode));
    ds_put_format(out, "  use-need-wakeup: %s\n",
                  state->applied.use_need_wakeup ? "true" : "false");
    if (state->port) {
        const char *reason;
        uint32_t max_mtu = afxdp_port_max_mtu(state->port, &reason);

        ds_put_format(out, "  max-mtu: %"PRIu32" (%s)\n", max_mtu,
                      *reason ? reason : "multi-buffer AF_XDP");
    }
    ds_put_format(out, "  queues: %"PRIu32" (device: %"PRIu32" now, "
                  "%"PRIu32" at most)\n", info->n_queues,
                  info->device_queues.current, info->device_queues.max);
    ds_put_format(out, "  xdp program: id %"PRIu32", link id %"PRIu32
                  ", fast path %s, rx hash %s\n", info->prog_id,
                  info->link_id, info->fast_path ? "on" : "off",
                  info->rx_hash ? "on" : "off");
    if (state->port) {
        struct afxdp_port_fast_path fp;

        afxdp_port_get_fast_path(state->port, &fp);
        ds_put_format(out, "  metadata carrier: %s%s%s%s\n", fp.carrier,
                      *fp.carrier_reason ? " (" : "", fp.carrier_reason,
                      *fp.carrier_reason ? ")" : "");
        if (fp.requested && !fp.running) {
            ds_put_format(out, "  fast path off: %s\n", fp.off_reason);
        }
    }
}

/* The UMEM the port's queues use (shared with other ports, or its own)
 * and where its chunks are. */
static void
afxdp_show_umem(struct ds *out, const struct afxdp_port *port,
                const struct afxdp_port_info *info)
{
    struct afxdp_umem_info u;
    struct afxdp_umem_stats us;

    afxdp_port_umem_info(port, &u);
    afxdp_port_umem_stats(port, &us);
    ds_put_format(out, "  umem: %s, id %"PRIu32", numa %d, %"PRIu32
                  " chunks of %"PRIu32" bytes (%"PRIu64" bytes), frame "
                  "headroom %"PRIu32", huge pages %s, %"PRIu32" queues\n",
                  u.shared ? "shared" : "private", u.id, u.numa_node,
                  us.chunks_total, info->chunk_size, u.size,
                  info->frame_headroom, u.huge_pages, us.queues);
    ds_put_format(out, "    chunks: total %"PRIu32", free %"PRIu32" (cached "
                  "%"PRIu32"), fill %"PRIu32" (reclaiming %"PRIu32"), rx "
                  "%"PRIu32", held %"PRIu32", tx %"PRIu32", completion "
                  "%"PRIu32"\n", us.chunks_total, us.chunks_free,
                  us.chunks_cached, us.chunks_fill, us.chunks_reclaiming,
                  us.chunks_rx, us.chunks_held, us.chunks_tx,
                  us.chunks_completion);
    ds_put_format(out, "    errors: release %"PRIu64", pool overflow %"PRIu64
                  "\n", us.release_errors, us.pool_overflows);
    ds_put_format(out, "    jumbo buffers: total %"PRIu32", free %"PRIu32
                  ", held %"PRIu32"\n", us.jumbo_total, us.jumbo_free,
                  us.jumbo_held);
}

static void
afxdp_show_queue(struct ds *out, const struct afxdp_queue_stats *qs,
                 uint32_t ring_size)
{
    /* The rx and completion rings' levels are exact; what the kernel
     * holds from the fill and tx rings is not told apart from what is
     * still on them. */
    ds_put_format(out, "    rings of %"PRIu32": rx %"PRIu32", completion "
                  "%"PRIu32", fill+kernel %"PRIu32", tx+kernel %"PRIu32"\n",
                  ring_size, qs->chunks_rx, qs->chunks_completion,
                  qs->chunks_fill, qs->chunks_tx);
    ds_put_format(out, "    packets: rx %"PRIu64", tx %"PRIu64" (by address "
                  "%"PRIu64")\n", qs->rx_packets, qs->tx_packets,
                  qs->tx_zero_copy);
    ds_put_format(out, "    xdp statistics: rx_dropped %"PRIu64
                  ", rx_invalid_descs %"PRIu64", tx_invalid_descs %"PRIu64
                  ", rx_ring_full %"PRIu64", rx_fill_ring_empty_descs "
                  "%"PRIu64", tx_ring_empty_descs %"PRIu64"\n",
                  qs->rx_dropped, qs->rx_invalid_descs, qs->tx_invalid_descs,
                  qs->rx_ring_full, qs->rx_fill_ring_empty_descs,
                  qs->tx_ring_empty_descs);
    ds_put_format(out, "    tx drops: no_chunk %"PRIu64", ring_full %"PRIu64
                  ", bad_len %"PRIu64", not_held %"PRIu64"; kick errors "
                  "%"PRIu64"\n", qs->tx_dropped_no_chunk,
                  qs->tx_dropped_ring_full, qs->tx_dropped_bad_len,
                  qs->tx_dropped_not_held, qs->tx_kick_errors);
    ds_put_format(out, "    multi-buffer: rx %"PRIu64", rx dropped %"PRIu64
                  ", tx %"PRIu64"\n", qs->rx_multi_buffer,
                  qs->rx_dropped_multi_buffer, qs->tx_multi_buffer);
}

static void
afxdp_show_fast_path(struct ds *out, const struct afxdp_offload *offload)
{
    struct afxdp_offload_counters c;

    afxdp_offload_get_counters(offload, &c);
    ds_put_format(out, "  fast path: flows %"PRIu64" (full %"PRIu64
                  ", partial %"PRIu64"), masks %"PRIu64"\n",
                  c.flows_full + c.flows_partial, c.flows_full,
                  c.flows_partial, c.masks);
    ds_put_format(out, "    refused: match %"PRIu64", table full %"PRIu64
                  ", fast path off %"PRIu64"\n", c.refused_match,
                  c.refused_full, c.refused_fast_path_off);
    ds_put_format(out, "    to ovs: miss %"PRIu64", partial %"PRIu64
                  ", parse %"PRIu64", action %"PRIu64", fallback %"PRIu64
                  ", multi-buffer %"PRIu64"\n", c.to_ovs_miss,
                  c.to_ovs_partial, c.to_ovs_parse, c.to_ovs_action,
                  c.to_ovs_fallback, c.to_ovs_multi_buffer);
    ds_put_format(out, "    failed: meta %"PRIu64", action %"PRIu64"\n",
                  c.meta_failed, c.action_failed);
}

/* Why a port has no sockets, or a configuration error it keeps. */
static void
afxdp_show_errors(struct ds *out, const struct netdev_afxdp *state)
{
    const char *config_error = afxdp_port_options_error(state->options);

    if (!state->port) {
        ds_put_format(out, "  no sockets: %s\n",
                      state->open_error ? state->open_error
                                        : "not configured yet");
    }
    if (config_error) {
        ds_put_format(out, "  config error: %s\n", config_error);
    }
}

static void
afxdp_show_port(struct ds *out, const struct netdev *netdev)
{
    struct netdev_linux *dev = netdev_linux_cast(netdev);
    const struct netdev_afxdp *state;
    struct afxdp_port_info info;
    uint32_t q;

    ovs_mutex_lock(&dev->mutex);
    state = dev->afxdp;
    ds_put_format(out, "%s (%s):\n", netdev_get_name(netdev),
                  netdev_get_type(netdev));
    afxdp_show_errors(out, state);
    if (state->port) {
        afxdp_port_get_info(state->port, &info);
        afxdp_show_header(out, state, &info);
        afxdp_show_umem(out, state->port, &info);
        for (q = 0; q < info.n_queues; q++) {
            struct afxdp_queue_stats qs;
            int poller;

            atomic_read_relaxed(&state->pollers[q], &poller);
            ds_put_format(out, "  queue %"PRIu32": ", q);
            afxdp_show_poller(out, poller);
            ds_put_char(out, '\n');
            if (!afxdp_port_queue_stats(state->port, q, &qs)) {
                afxdp_show_queue(out, &qs, info.ring_size);
            }
        }
    }
    if (state->offload) {
        afxdp_show_fast_path(out, state->offload);
    }
    ovs_mutex_unlock(&dev->mutex);
}

/* Every afxdp and afxdp-nonpmd netdev, referenced, by name. */
static void
afxdp_collect_netdevs(struct shash *netdevs)
{
    netdev_get_devices(&netdev_afxdp_class, netdevs);
    netdev_get_devices(&netdev_afxdp_nonpmd_class, netdevs);
}

static void
afxdp_unixctl_show(struct unixctl_conn *conn, int argc, const char *argv[],
                   void *aux OVS_UNUSED)
{
    struct shash netdevs = SHASH_INITIALIZER(&netdevs);
    struct ds out = DS_EMPTY_INITIALIZER;
    const struct shash_node **sorted;
    struct shash_node *node;
    size_t i;

    afxdp_collect_netdevs(&netdevs);
    if (argc > 1 && !shash_find(&netdevs, argv[1])) {
        unixctl_command_reply_error(conn, "no such afxdp port");
    } else {
        sorted = shash_sort(&netdevs);
        for (i = 0; i < shash_count(&netdevs); i++) {
            if (argc < 2 || !strcmp(sorted[i]->name, argv[1])) {
                afxdp_show_port(&out, sorted[i]->data);
            }
        }
        free(sorted);
        if (argc < 2) {
            /* The kernel's features, after the ports (the core's text). */
            char *kernel = afxdp_kernel_features_show();

            if (kernel) {
                ds_put_cstr(&out, kernel);
                free(kernel);
            }
        }
        unixctl_command_reply(conn, ds_cstr(&out));
    }
    SHASH_FOR_EACH (node, &netdevs) {
        netdev_close(node->data);
    }
    shash_destroy(&netdevs);
    ds_destroy(&out);
}

/* ---- The XDP fast path (dpif/netdev-offload-afxdp.c) -------------------- */

bool
netdev_afxdp_is_afxdp(const struct netdev *netdev)
{
    return netdev->netdev_class == &netdev_afxdp_class
           || netdev->netdev_class == &netdev_afxdp_nonpmd_class;
}

int
netdev_afxdp_offload_init(struct netdev *netdev)
{
    struct netdev_linux *dev = netdev_linux_cast(netdev);
    struct netdev_afxdp *state;
    int error = 0;

    ovs_mutex_lock(&dev->mutex);
    state = dev->afxdp;
    if (!state->offload) {
        error = afxdp_offload_create(netdev_get_name(netdev),
                                     &state->offload);
        if (!error && state->port) {
            if (afxdp_port_fast_path_requested(state->port)) {
                afxdp_offload_bind(state->offload, state->port);
            } else {
                /* Opened before OVS enabled offload: reopen with the fast
                 * path in the XDP program. */
                netdev_request_reconfigure(netdev);
            }
        }
    }
    ovs_mutex_unlock(&dev->mutex);
    return error;
}

void
netdev_afxdp_offload_uninit(struct netdev *netdev)
{
    struct afxdp_offload *offload = netdev_afxdp_offload(netdev);

    if (offload) {
        afxdp_offload_flush(offload);
    }
}

struct afxdp_offload *
netdev_afxdp_offload(const struct netdev *netdev)
{
    struct netdev_linux *dev = netdev_linux_cast(netdev);
    struct afxdp_offload *offload;

    ovs_mutex_lock(&dev->mutex);
    offload = dev->afxdp ? dev->afxdp->offload : NULL;
    ovs_mutex_unlock(&dev->mutex);
    return offload;
}
