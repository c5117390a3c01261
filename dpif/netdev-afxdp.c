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
 *    true), shared-umem (default true) and busy-poll-budget/-usecs
 *    (default off).  An impossible request is refused in set_config, so the bridge
 *    reports it once on the Interface; a reconfigure that fails anyway (the
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
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "coverage.h"
#include "dp-packet.h"
#include "netdev-afxdp.h"
#include "netdev-linux-private.h"
#include "netdev-provider.h"
#include "openvswitch/vlog.h"
#include "ovs-thread.h"
#include "packets.h"
#include "smap.h"
#include "util.h"

#include "netdev-afxdp/afxdp.h"

VLOG_DEFINE_THIS_MODULE(netdev_afxdp);

static struct vlog_rate_limit rl = VLOG_RATE_LIMIT_INIT(5, 20);

/* Datapath events, counted per thread (cheap enough for every burst) and
 * shown by `ovs-appctl coverage/show`:
 *  - afxdp_rx_empty: an rx poll found no frame (the idle case; a PMD that
 *    is never idle shows a rate near zero);
 *  - afxdp_tx_dropped: frames a send could not queue (no free chunk, tx
 *    ring full, too long, or the port has no sockets); the per-queue
 *    statistics say which. */
COVERAGE_DEFINE(afxdp_rx_empty);
COVERAGE_DEFINE(afxdp_tx_dropped);

/* Busy polling is off unless 'busy-poll-budget' is set; its time slice
 * ('busy-poll-usecs') then defaults to what the kernel's xdpsock uses. */
#define AFXDP_BUSY_POLL_USECS_DEFAULT 20

/* Per-device state, owned through netdev_linux's 'afxdp' member. */
struct netdev_afxdp {
    /* Requested by set_config(). */
    int requested_n_rxq;
    enum afxdp_xdp_mode requested_xdp_mode;
    bool requested_need_wakeup;
    bool requested_shared_umem;
    uint32_t requested_busy_poll_budget;
    uint32_t requested_busy_poll_usecs;

    /* Applied by the last reconfigure(). */
    enum afxdp_xdp_mode xdp_mode;       /* As configured (may be best-effort).*/
    bool use_need_wakeup;
    bool shared_umem;
    uint32_t busy_poll_budget;
    uint32_t busy_poll_usecs;

    /* NULL before the first reconfigure() and after a failed one. */
    struct afxdp_port *port;

    /* The device's ifindex when the last reconfigure() ran (0: missing).
     * A device deleted and created again under the same name gets a new
     * ifindex; set_config(), which the bridge calls on every link change,
     * compares it to notice and reopen the sockets. */
    int ifindex;

    /* Why the last reconfigure() failed (status "afxdp-error"), or NULL. */
    char *open_error;
};

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

int
netdev_afxdp_rxq_recv(struct netdev_rxq *rxq_, struct dp_packet_batch *batch,
                      int *qfill)
{
    struct afxdp_port *port = afxdp_port_of(rxq_->netdev);
    struct afxdp_rx_frame frames[NETDEV_MAX_BURST];
    uint32_t i, n;

    if (qfill) {
        *qfill = 0;
    }
    if (OVS_UNLIKELY(!port)) {
        return EAGAIN;
    }

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

int
netdev_afxdp_init(void)
{
    static struct ovsthread_once once = OVSTHREAD_ONCE_INITIALIZER;

    /* Called once per class ("afxdp" and "afxdp-nonpmd"). */
    if (ovsthread_once_start(&once)) {
        afxdp_set_log_handler(afxdp_log);
        ovsthread_once_done(&once);
    }
    return 0;
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
    state->requested_n_rxq = 1;
    state->requested_xdp_mode = AFXDP_XDP_MODE_BEST_EFFORT;
    state->requested_need_wakeup = true;
    state->requested_shared_umem = true;
    state->requested_busy_poll_usecs = AFXDP_BUSY_POLL_USECS_DEFAULT;
    state->xdp_mode = AFXDP_XDP_MODE_BEST_EFFORT;
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
        if (dev->afxdp->port) {
            afxdp_port_close(dev->afxdp->port);
        }
        free(dev->afxdp->open_error);
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

static int
afxdp_parse_busy_poll(const char *name, const struct smap *args,
                      uint32_t *budget, uint32_t *usecs, char **errp)
{
    const char *budget_s = smap_get(args, "busy-poll-budget");
    const char *usecs_s = smap_get(args, "busy-poll-usecs");
    int b = 0, u = AFXDP_BUSY_POLL_USECS_DEFAULT;

    /* The kernel takes a 16-bit budget (SO_BUSY_POLL_BUDGET). */
    if (budget_s && (!str_to_int(budget_s, 10, &b) || b < 0 || b > 65535)) {
        VLOG_ERR_BUF(errp, "%s: Invalid 'busy-poll-budget' (%s): must be an "
                     "integer from 0 (off) to 65535.", name, budget_s);
        return EINVAL;
    }
    if (usecs_s && (!str_to_int(usecs_s, 10, &u) || u <= 0)) {
        VLOG_ERR_BUF(errp, "%s: Invalid 'busy-poll-usecs' (%s): must be a "
                     "positive integer.", name, usecs_s);
        return EINVAL;
    }
    *budget = b;
    *usecs = u;
    return 0;
}

int
netdev_afxdp_set_config(struct netdev *netdev, const struct smap *args,
                        char **errp)
{
    struct netdev_linux *dev = netdev_linux_cast(netdev);
    const char *name = netdev_get_name(netdev);
    const char *n_rxq_s = smap_get(args, "n_rxq");
    const char *mode_s = smap_get_def(args, "xdp-mode", "best-effort");
    enum afxdp_xdp_mode xdp_mode;
    bool need_wakeup, shared_umem;
    uint32_t max_queues, busy_poll_budget, busy_poll_usecs;
    int n_rxq = 1;
    int error;

    if (n_rxq_s && (!str_to_int(n_rxq_s, 10, &n_rxq) || n_rxq <= 0)) {
        VLOG_ERR_BUF(errp, "%s: Invalid 'n_rxq' (%s): must be a positive "
                     "integer.", name, n_rxq_s);
        return EINVAL;
    }

    /* Refusing here, not in reconfigure(), reports the error once. */
    error = afxdp_device_max_queues(name, &max_queues);
    if (error == ENODEV) {
        /* Gone for now: reconfigure() reports it once, and reopens the
         * port when the device comes back. */
    } else if (error) {
        VLOG_WARN_RL(&rl, "%s: cannot read the number of queues (%s); "
                     "'n_rxq' is checked when the sockets are opened.",
                     name, ovs_strerror(error));
    } else if ((uint32_t) n_rxq > max_queues) {
        VLOG_ERR_BUF(errp, "%s: Too big 'n_rxq' (%d > %"PRIu32").",
                     name, n_rxq, max_queues);
        return EINVAL;
    }

    if (afxdp_xdp_mode_from_string(mode_s, &xdp_mode)) {
        VLOG_ERR_BUF(errp, "%s: Incorrect xdp-mode (%s).", name, mode_s);
        return EINVAL;
    }

    need_wakeup = smap_get_bool(args, "use-need-wakeup", true);
    shared_umem = smap_get_bool(args, "shared-umem", true);
    if (afxdp_parse_busy_poll(name, args, &busy_poll_budget,
                              &busy_poll_usecs, errp)) {
        return EINVAL;
    }

    ovs_mutex_lock(&dev->mutex);
    struct netdev_afxdp *state = dev->afxdp;
    if (state->requested_n_rxq != n_rxq
        || state->requested_xdp_mode != xdp_mode
        || state->requested_need_wakeup != need_wakeup
        || state->requested_shared_umem != shared_umem
        || state->requested_busy_poll_budget != busy_poll_budget
        || state->requested_busy_poll_usecs != busy_poll_usecs
        || state->ifindex != (int) if_nametoindex(name)) {
        state->requested_n_rxq = n_rxq;
        state->requested_xdp_mode = xdp_mode;
        state->requested_need_wakeup = need_wakeup;
        state->requested_shared_umem = shared_umem;
        state->requested_busy_poll_budget = busy_poll_budget;
        state->requested_busy_poll_usecs = busy_poll_usecs;
        netdev_request_reconfigure(netdev);
    }
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

int
netdev_afxdp_get_config(const struct netdev *netdev, struct smap *args)
{
    struct netdev_linux *dev = netdev_linux_cast(netdev);
    const struct netdev_afxdp *state;

    ovs_mutex_lock(&dev->mutex);
    state = dev->afxdp;
    smap_add_format(args, "n_rxq", "%d", netdev_n_rxq(netdev));
    smap_add(args, "xdp-mode", afxdp_xdp_mode_to_string(state->xdp_mode));
    smap_add(args, "xdp-mode-in-use",
             state->port
             ? afxdp_xdp_mode_to_string(afxdp_port_xdp_mode(state->port))
             : "unspecified");
    smap_add(args, "use-need-wakeup",
             state->use_need_wakeup ? "true" : "false");
    smap_add(args, "shared-umem", state->shared_umem ? "true" : "false");
    if (state->busy_poll_budget) {
        smap_add_format(args, "busy-poll-budget", "%"PRIu32,
                        state->busy_poll_budget);
        smap_add_format(args, "busy-poll-usecs", "%"PRIu32,
                        state->busy_poll_usecs);
    }
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

int
netdev_afxdp_reconfigure(struct netdev *netdev)
{
    struct netdev_linux *dev = netdev_linux_cast(netdev);
    const char *name = netdev_get_name(netdev);
    struct netdev_afxdp *state;
    struct afxdp_port_config cfg;
    struct afxdp_port *port = NULL;
    int numa_id, ifindex, error;

    /* netdev_get_numa_id() takes 'dev->mutex' itself. */
    numa_id = netdev_get_numa_id(netdev);

    ovs_mutex_lock(&dev->mutex);
    state = dev->afxdp;
    ifindex = if_nametoindex(name);
    if (state->port
        && state->ifindex == ifindex
        && netdev->n_rxq == state->requested_n_rxq
        && state->xdp_mode == state->requested_xdp_mode
        && state->use_need_wakeup == state->requested_need_wakeup
        && state->shared_umem == state->requested_shared_umem
        && state->busy_poll_budget == state->requested_busy_poll_budget
        && state->busy_poll_usecs == state->requested_busy_poll_usecs) {
        ovs_mutex_unlock(&dev->mutex);
        return 0;
    }

    /* Frames still held by OVS keep the old UMEM mapped until released. */
    if (state->port) {
        afxdp_port_close(state->port);
        state->port = NULL;
    }

    state->xdp_mode = state->requested_xdp_mode;
    state->use_need_wakeup = state->requested_need_wakeup;
    state->shared_umem = state->requested_shared_umem;
    state->busy_poll_budget = state->requested_busy_poll_budget;
    state->busy_poll_usecs = state->requested_busy_poll_usecs;
    state->ifindex = ifindex;

    cfg = (struct afxdp_port_config) {
        .ifname = name,
        .n_queues = state->requested_n_rxq,
        .xdp_mode = state->xdp_mode,
        .use_need_wakeup = state->use_need_wakeup,
        .meta_size = sizeof(struct dp_packet),
        .numa_node = (numa_id >= 0 && numa_id != NETDEV_NUMA_UNSPEC
                      ? numa_id : -1),
        .private_umem = !state->shared_umem,
        .busy_poll_budget = state->busy_poll_budget,
        .busy_poll_usecs = state->busy_poll_usecs,
    };
    free(state->open_error);
    state->open_error = NULL;

    /* The core logs exactly one error on failure; take it over so that the
     * log has one line saying what was asked and why it failed. */
    char *cause = NULL;
    *afxdp_capture_get() = &cause;
    error = afxdp_port_open(&cfg, &port);
    *afxdp_capture_get() = NULL;

    if (error) {
        size_t name_len = strlen(name);

        /* The core's messages start with the device name; ours too. */
        const char *why = cause ? cause : ovs_strerror(error);
        if (!strncmp(why, name, name_len)
            && !strncmp(why + name_len, ": ", 2)) {
            why += name_len + 2;
        }

        /* Keep the queue counts so that dpif-netdev's view stays
         * consistent; rxq_recv() finds nothing and send() drops until the
         * configuration changes. */
        state->open_error = xasprintf(
            "cannot open AF_XDP sockets with xdp-mode=%s, n_rxq=%d: %s",
            afxdp_xdp_mode_to_string(state->xdp_mode),
            state->requested_n_rxq, why);
        VLOG_ERR("%s: %s; the port passes no traffic until its "
                 "configuration changes.", name, state->open_error);
        netdev->n_rxq = state->requested_n_rxq;
        netdev->n_txq = state->requested_n_rxq;
    } else {
        /* The core has logged the mode and queues in use. */
        state->port = port;
        netdev->n_rxq = afxdp_port_n_queues(port);
        netdev->n_txq = netdev->n_rxq;
    }
    free(cause);
    netdev_change_seq_changed(netdev);
    ovs_mutex_unlock(&dev->mutex);
    return 0;
}

int
netdev_afxdp_verify_mtu_size(const struct netdev *netdev, int mtu)
{
    /* Called with 'dev->mutex' held (from netdev_linux_set_mtu()). */
    uint32_t max_frame = afxdp_max_frame_len();

    if (mtu < 0 || (uint32_t) mtu + VLAN_ETH_HEADER_LEN > max_frame) {
        /* The bridge asks again on every reconfiguration. */
        VLOG_WARN_RL(&rl, "%s: MTU %d is too large for AF_XDP: the largest "
                     "is %"PRIu32" (MTU plus %d bytes of Ethernet and VLAN "
                     "headers must fit in a %"PRIu32"-byte frame).",
                     netdev_get_name(netdev), mtu,
                     max_frame - VLAN_ETH_HEADER_LEN, VLAN_ETH_HEADER_LEN,
                     max_frame);
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

int
netdev_afxdp_get_status(const struct netdev *netdev, struct smap *smap)
{
    struct netdev_linux *dev = netdev_linux_cast(netdev);
    bool added = false;
    int error;

    /* Takes 'dev->mutex' itself. */
    error = netdev_linux_get_status(netdev, smap);

    ovs_mutex_lock(&dev->mutex);
    if (dev->afxdp->port) {
        smap_add(smap, "xdp-mode", afxdp_xdp_mode_to_string(
                     afxdp_port_xdp_mode(dev->afxdp->port)));
        afxdp_umem_status(dev->afxdp->port, smap);
        added = true;
    } else if (dev->afxdp->open_error) {
        smap_add(smap, "afxdp-error", dev->afxdp->open_error);
        added = true;
    }
    ovs_mutex_unlock(&dev->mutex);

    return added ? 0 : error;
}

int
netdev_afxdp_get_stats(const struct netdev *netdev,
                       struct netdev_stats *stats)
{
    struct netdev_linux *dev = netdev_linux_cast(netdev);
    struct netdev_stats kernel;
    struct afxdp_queue_stats sum = { 0 };
    struct afxdp_port *port;
    int error;

    ovs_mutex_lock(&dev->mutex);
    error = get_stats_via_netlink(netdev, &kernel);
    if (error) {
        VLOG_WARN_RL(&rl, "%s: cannot read the device's statistics (%s).",
                     netdev_get_name(netdev), ovs_strerror(error));
        ovs_mutex_unlock(&dev->mutex);
        return error;
    }

    port = dev->afxdp->port;
    if (port) {
        uint32_t q, n = afxdp_port_n_queues(port);

        for (q = 0; q < n; q++) {
            struct afxdp_queue_stats qs;

            if (!afxdp_port_queue_stats(port, q, &qs)) {
                sum.rx_packets += qs.rx_packets;
                sum.rx_bytes += qs.rx_bytes;
                sum.tx_packets += qs.tx_packets;
                sum.tx_bytes += qs.tx_bytes;
                sum.rx_dropped += qs.rx_dropped + qs.rx_ring_full;
                sum.tx_dropped += qs.tx_dropped;
            }
        }
    }
    ovs_mutex_unlock(&dev->mutex);

    /* OVS's traffic is what crossed the sockets: in native XDP mode many
     * drivers (veth among them) do not count frames redirected to AF_XDP
     * as received.  The device's own counters serve when no socket is
     * open, and for the errors. */
    if (port) {
        stats->rx_packets = sum.rx_packets;
        stats->rx_bytes = sum.rx_bytes;
        stats->tx_packets = sum.tx_packets;
        stats->tx_bytes = sum.tx_bytes;
    } else {
        stats->rx_packets = kernel.rx_packets;
        stats->rx_bytes = kernel.rx_bytes;
        stats->tx_packets = kernel.tx_packets;
        stats->tx_bytes = kernel.tx_bytes;
    }
    stats->rx_errors = kernel.rx_errors;
    stats->tx_errors = kernel.tx_errors;
    /* Frames the socket could not take (fill ring empty, rx ring full)
     * are counted by some drivers as their own rx drops (veth counts every
     * failed XDP redirect) and not by others.  Taking the larger of the two
     * counts each such drop once either way. */
    stats->rx_dropped = MAX(kernel.rx_dropped, sum.rx_dropped);
    stats->tx_dropped = kernel.tx_dropped + sum.tx_dropped;
    stats->multicast = kernel.multicast;
    stats->collisions = kernel.collisions;
    stats->rx_length_errors = kernel.rx_length_errors;
    stats->rx_over_errors = kernel.rx_over_errors;
    stats->rx_crc_errors = kernel.rx_crc_errors;
    stats->rx_frame_errors = kernel.rx_frame_errors;
    stats->rx_fifo_errors = kernel.rx_fifo_errors;
    stats->rx_missed_errors = kernel.rx_missed_errors;
    stats->tx_aborted_errors = kernel.tx_aborted_errors;
    stats->tx_carrier_errors = kernel.tx_carrier_errors;
    stats->tx_fifo_errors = kernel.tx_fifo_errors;
    stats->tx_heartbeat_errors = kernel.tx_heartbeat_errors;
    stats->tx_window_errors = kernel.tx_window_errors;
    return 0;
}

/* Every field of struct afxdp_queue_stats, reported as "q<N>_<field>". */
#define AFXDP_QUEUE_STATS                       \
    QSTAT(rx_packets)                           \
    QSTAT(rx_bytes)                             \
    QSTAT(tx_packets)                           \
    QSTAT(tx_bytes)                             \
    QSTAT(tx_dropped)                           \
    QSTAT(tx_zero_copy)                         \
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
    USTAT(pool_overflows)

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
#define USTAT(FIELD) + 1
    enum { N_USTATS = 0 AFXDP_UMEM_STATS };
#undef USTAT

    ovs_mutex_lock(&dev->mutex);
    port = dev->afxdp->port;
    n_queues = port ? afxdp_port_n_queues(port) : 0;
    custom_stats->counters = xcalloc(n_queues * N_QSTATS + N_USTATS,
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
