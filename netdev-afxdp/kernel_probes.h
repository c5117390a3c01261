/*
 * Internal to netdev-afxdp: the probe behind each KernelFeature, run once
 * by kernel_features.cpp (which applies AFXDP_DISABLE_FEATURES first).
 * kernel_probes.cpp says how each one asks the kernel and why that answer
 * can be trusted.
 */
#ifndef AFXDP_NETDEV_KERNEL_PROBES_H
#define AFXDP_NETDEV_KERNEL_PROBES_H

#include "netdev-afxdp/kernel_features.h"

namespace afxdp::netdev {

// Asks the kernel; never logs above DBG.
FeatureProbe probe_kernel_feature(KernelFeature f);

}  // namespace afxdp::netdev

#endif  // AFXDP_NETDEV_KERNEL_PROBES_H
