/*
 * Translate: an OVS megaflow (match and datapath actions, as the glue
 * copied them into afxdp_offload.h's structs) into what the fast path's
 * maps hold: a masked key, its mask and the flow's action stages.
 *
 * The rule is the one of OVS's own offload providers
 * (lib/netdev-offload-dpdk.c): consume what can be translated exactly, and
 * refuse on anything left.  A field the fast path cannot match exactly as
 * dpif-netdev does, in a combination where the key layout could mistake
 * one packet type for another (bpf/flow/flow_layout.h's shared bytes), is a
 * refusal of the whole flow.  Actions are different: a flow whose match
 * translates but whose actions cannot all run in XDP is still worth
 * matching there, to hand its frames to OVS with the flow's mark (partial
 * offload), so only the match can refuse.
 *
 * Pure functions of their inputs: no maps, no locks, no logging.
 */
#ifndef AFXDP_OFFLOAD_TRANSLATE_H
#define AFXDP_OFFLOAD_TRANSLATE_H

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "bpf/flow/flow_layout.h"
#include "netdev-afxdp/offload/afxdp_offload.h"
#include "umem/result.h"

namespace afxdp::offload {

struct TranslatedMatch {
    afxdp_flow_key key;  // Value & mask; mask_id not set.
    afxdp_flow_key mask;
};

// EOPNOTSUPP with the reason when the fast path cannot match it exactly.
Result<TranslatedMatch> translate_match(const afxdp_flow_match &match);

struct TranslatedActions {
    afxdp_offload_kind kind = AFXDP_OFFLOAD_PARTIAL;
    // The stages (flow_id and mark not set).  AFXDP_ACT_TO_OVS only when
    // partial.
    afxdp_flow_actions actions{};
    // The output port's state, when 'actions' has AFXDP_ACT_OUTPUT.
    afxdp_offload *output = nullptr;
    // Bytes each frame gains (push) or loses (pop) on the way out.
    int32_t tx_bytes_delta = 0;
    // Why the flow is only partially offloaded.
    std::string partial_reason;
};

// 'match' is the flow's (already translated) match: some actions depend on
// what it guarantees (a port rewrite needs the protocol matched, a VLAN pop
// needs the tag's presence matched).
TranslatedActions translate_actions(const afxdp_flow_match &match,
                                    const afxdp_flow_action *actions,
                                    size_t n_actions);

}  // namespace afxdp::offload

#endif  // AFXDP_OFFLOAD_TRANSLATE_H
