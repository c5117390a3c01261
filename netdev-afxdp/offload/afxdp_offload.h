/*
 * The C ABI of the XDP fast path: OVS's flow-offload provider (dpif/
 * netdev-offload-afxdp.c) hands megaflows here, in plain C structs that
 * name OVS's fields one by one; the core decides what the fast path can run
 * and keeps the BPF maps of every afxdp port in step.
 *
 * The glue's part is mechanical: copy each field of OVS's struct match and
 * each datapath action into the structs below, and name whatever it could
 * not copy.  Every decision (which masks, actions and ports the fast path
 * can handle exactly as dpif-netdev would, partial or full offload, map
 * contents, statistics) is made in netdev-afxdp/offload/, where unit tests
 * reach it.
 *
 * Same conventions as afxdp.h: opaque handles, 0 or a positive errno.
 * Threading: every function may be called from any thread (OVS's offload
 * threads put and delete, revalidators and the main thread read); each
 * afxdp_offload serialises its own state.
 */
#ifndef AFXDP_OFFLOAD_AFXDP_OFFLOAD_H
#define AFXDP_OFFLOAD_AFXDP_OFFLOAD_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netdev-afxdp/afxdp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One afxdp port's offloaded megaflows.  It outlives the port's sockets
 * and XDP program: when OVS reconfigures the port, the flows are installed
 * again into the new program with their statistics carried over. */
struct afxdp_offload;

/* The megaflow fields the fast path can match, by the names of OVS's
 * struct flow (lib/flow.h).  Multi-byte fields in network byte order. */
struct afxdp_flow_fields {
    uint32_t in_port; /* Datapath port number (host order). */
    uint32_t recirc_id;
    uint32_t packet_type;
    uint8_t dl_dst[6];
    uint8_t dl_src[6];
    uint16_t dl_type;
    uint16_t vlan_tci; /* OVS's: VLAN_CFI set when a tag is present. */
    uint16_t vlan_tpid;
    uint32_t nw_src;
    uint32_t nw_dst;
    uint8_t ipv6_src[16];
    uint8_t ipv6_dst[16];
    uint32_t ipv6_label;
    uint8_t nw_frag;
    uint8_t nw_tos;
    uint8_t nw_ttl;
    uint8_t nw_proto;
    uint16_t tp_src;
    uint16_t tp_dst;
    uint16_t tcp_flags;
    uint8_t arp_sha[6];
    uint8_t arp_tha[6];
};

struct afxdp_flow_match {
    struct afxdp_flow_fields value;
    struct afxdp_flow_fields mask;
    /* The first other field OVS's mask matches (a meta-flow name such as
     * "ct_state"), or NULL when the fields above are all it matches. */
    const char *other_field;
};

enum afxdp_flow_action_type {
    AFXDP_FLOW_ACTION_OUTPUT,
    AFXDP_FLOW_ACTION_SET_ETH, /* Masked (a plain set: all-ones masks). */
    AFXDP_FLOW_ACTION_SET_IPV4,
    AFXDP_FLOW_ACTION_SET_IPV6,
    AFXDP_FLOW_ACTION_SET_TCP,
    AFXDP_FLOW_ACTION_SET_UDP,
    AFXDP_FLOW_ACTION_PUSH_VLAN,
    AFXDP_FLOW_ACTION_POP_VLAN,
    AFXDP_FLOW_ACTION_DROP,  /* OVS's explicit drop: the list ends here. */
    AFXDP_FLOW_ACTION_OTHER, /* Anything else; 'other' names it. */
};

struct afxdp_flow_action {
    enum afxdp_flow_action_type type;
    union {
        struct {
            /* The output port's offload state, or NULL when the port is
             * not an afxdp port with offload. */
            struct afxdp_offload *port;
            uint32_t odp_port;
        } output;
        struct {
            uint8_t src[6], src_mask[6];
            uint8_t dst[6], dst_mask[6];
        } eth;
        struct {
            uint32_t src, src_mask;
            uint32_t dst, dst_mask;
            uint8_t tos, tos_mask;
            uint8_t ttl, ttl_mask;
        } ipv4; /* OVS never rewrites the protocol or fragment bits. */
        struct {
            uint8_t src[16], src_mask[16];
            uint8_t dst[16], dst_mask[16];
            uint32_t label, label_mask;
            uint8_t tclass, tclass_mask;
            uint8_t hlimit, hlimit_mask;
        } ipv6;
        struct {
            uint16_t src, src_mask;
            uint16_t dst, dst_mask;
        } tp; /* SET_TCP, SET_UDP. */
        struct {
            uint16_t tpid;
            uint16_t tci; /* With VLAN_CFI, as OVS's push_vlan carries it. */
        } push_vlan;
        const char *other;
    };
};

/* Creates the offload state of device 'ifname'.  0 or ENOSPC (more afxdp
 * ports than the fast path has output slots). */
int afxdp_offload_create(const char *ifname, struct afxdp_offload **);

/* Removes every flow from the fast path and frees the state. */
void afxdp_offload_destroy(struct afxdp_offload *);

/* After the port was (re)opened: installs the flows into its XDP program.
 * A port opened without the fast path takes no flows; one that asked for
 * it and did not get it (the kernel refused the program) refuses every put
 * with EOPNOTSUPP, counted in refused_fast_path_off, until it reopens. */
void afxdp_offload_bind(struct afxdp_offload *, struct afxdp_port *);

/* Before the port is closed: reads the program's counters into the flows'
 * statistics and forgets the program. */
void afxdp_offload_unbind(struct afxdp_offload *);

/* Whether 'port' was opened with the fast path in its XDP program. */
bool afxdp_port_has_fast_path(const struct afxdp_port *);

/* Whether 'port' was opened asking for the fast path, whether or not its
 * kernel loaded it (see afxdp_port_get_fast_path()). */
bool afxdp_port_fast_path_requested(const struct afxdp_port *);

enum afxdp_offload_kind {
    AFXDP_OFFLOAD_FULL,    /* Runs in XDP: matched, acted on, counted. */
    AFXDP_OFFLOAD_PARTIAL, /* Matched in XDP; OVS runs the actions. */
};

struct afxdp_offload_flow_stats {
    uint64_t n_packets;
    uint64_t n_bytes;
    long long used;     /* CLOCK_MONOTONIC, ms (OVS's time_msec()), or 0. */
    uint16_t tcp_flags; /* Host order. */
};

/* Offloads (or, for a known 'ufid', modifies) the megaflow 'ufid' (16
 * bytes).  'mark' is OVS's flow mark, put on frames the fast path hands to
 * OVS.  Returns 0 and sets '*kind', or EOPNOTSUPP when the match cannot be
 * run in XDP exactly (logged at debug level and counted), or ENOSPC when
 * the port's flow table or mask table is full. */
int afxdp_offload_flow_put(struct afxdp_offload *, const void *ufid,
                           const struct afxdp_flow_match *,
                           const struct afxdp_flow_action *actions,
                           size_t n_actions, uint32_t mark,
                           enum afxdp_offload_kind *kind);

/* The statistics of what the fast path did with flow 'ufid' since it was
 * put (zero for a partially offloaded flow: OVS counts those frames).
 * 0 or ENOENT. */
int afxdp_offload_flow_get(struct afxdp_offload *, const void *ufid,
                           struct afxdp_offload_flow_stats *,
                           enum afxdp_offload_kind *kind);

/* Removes flow 'ufid'; its final statistics go to '*stats' if nonnull.
 * 0 or ENOENT. */
int afxdp_offload_flow_del(struct afxdp_offload *, const void *ufid,
                           struct afxdp_offload_flow_stats *stats);

/* Removes every flow.  Never fails. */
void afxdp_offload_flush(struct afxdp_offload *);

uint64_t afxdp_offload_n_flows(const struct afxdp_offload *);

/* What the fast path received on this port and sent out of it, to add to
 * the port's interface statistics. */
struct afxdp_offload_port_stats {
    uint64_t rx_packets;
    uint64_t rx_bytes;
    uint64_t tx_packets;
    uint64_t tx_bytes;
};
void afxdp_offload_port_stats(const struct afxdp_offload *,
                              struct afxdp_offload_port_stats *);

/* Counters of the fast path on this port, for custom statistics. */
struct afxdp_offload_counters {
    uint64_t flows_full;    /* Installed now, fully offloaded. */
    uint64_t flows_partial; /* Installed now, partially offloaded. */
    uint64_t masks;         /* Masks in use now. */
    uint64_t refused_match; /* Puts refused: match not exact in XDP. */
    uint64_t refused_full;  /* Puts refused: flow or mask table full. */
    /* Puts refused: the port's kernel did not load the fast path. */
    uint64_t refused_fast_path_off;
    /* Frames the program handed to OVS, by reason (the XDP counters). */
    uint64_t to_ovs_miss;
    uint64_t to_ovs_partial;
    uint64_t to_ovs_parse;
    uint64_t to_ovs_action;
    uint64_t to_ovs_fallback; /* Output port could not take a redirect. */
    uint64_t meta_failed;
    uint64_t action_failed;
    /* Frames larger than one buffer (multi-buffer XDP): the fast path
     * leaves them to OVS, which assembles them. */
    uint64_t to_ovs_multi_buffer;
};
void afxdp_offload_get_counters(const struct afxdp_offload *,
                                struct afxdp_offload_counters *);

#ifdef __cplusplus
}
#endif

#endif /* AFXDP_OFFLOAD_AFXDP_OFFLOAD_H */
