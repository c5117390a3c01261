/*
 * What the fast path's flow-offload provider (netdev-offload-afxdp.c)
 * needs from the port glue (netdev-afxdp.c), which owns the per-device
 * state.  OVS-side C, compiled inside OVS's build.
 */
#ifndef DPIF_NETDEV_AFXDP_OFFLOAD_H
#define DPIF_NETDEV_AFXDP_OFFLOAD_H 1

#include <stdbool.h>

struct afxdp_offload;
struct netdev;

/* Whether 'netdev' is of class "afxdp" or "afxdp-nonpmd". */
bool netdev_afxdp_is_afxdp(const struct netdev *);

/* Creates the port's fast-path state on OVS's first init_flow_api() and
 * binds it to the open port.  0 or a positive errno. */
int netdev_afxdp_offload_init(struct netdev *);

/* OVS's uninit_flow_api(): removes every offloaded flow. */
void netdev_afxdp_offload_uninit(struct netdev *);

/* The port's fast-path state, or NULL before init.  Valid while the
 * caller holds a reference to 'netdev'. */
struct afxdp_offload *netdev_afxdp_offload(const struct netdev *);

#endif /* DPIF_NETDEV_AFXDP_OFFLOAD_H */
