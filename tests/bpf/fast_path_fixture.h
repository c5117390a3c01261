/*
 * FastPath: bpf/xsk_redirect.bpf.c loaded the way XdpProgram loads it for
 * hw-offload (cfg_fast_path and cfg_rx_hash on; flows, flow_stats and
 * tx_ports sized as size_maps() in netdev-afxdp/xdp_program.cpp sizes
 * them), but not attached: tests write masks into the mask table and flows
 * into the flows map by hand, as netdev-afxdp/offload/ would (the mask's
 * used words next to it; each flow as an afxdp_flow_entry under the
 * afxdp_flow_hash() of its masked key), and run crafted frames through the
 * program with BPF_PROG_RUN.
 *
 * What BPF_PROG_RUN hands back (kernel net/bpf/test_run.c): the verdict;
 * the bytes from data_meta to data_end, so metadata the program put in
 * front of the frame comes first; and the context, whose 'data' is then
 * the offset of the frame in those bytes.  XdpRun splits the two.  Without
 * live frames (no BPF_F_TEST_XDP_LIVE_FRAMES) a redirect is only a verdict:
 * nothing is sent.
 *
 * The program is loaded with the metadata carrier XdpProgram would pick on
 * this kernel (bpf/xdp_meta.h; AFXDP_DISABLE_FEATURES=xdp-adjust-meta
 * forces the header).  With no socket in the XSKMAP a frame for OVS goes
 * on with XDP_PASS, and the header carrier then takes its header off
 * again, as it must for the kernel stack; so for the header carrier the
 * fixture puts an AF_XDP socket (never bound: the kernel does not ask,
 * and without live frames nothing is sent to it) in the XSKMAP, takes the
 * header off what comes back, and reports the frame with the verdict
 * XDP_PASS that the tests expect of a frame handed to OVS.  Which frames
 * went to OVS it knows from the program's to_ovs_* counters, one of which
 * counts every such frame in fast-path mode.
 *
 * Per-CPU counters are summed over all possible CPUs: the run happens on
 * whichever CPU the test thread is on.
 */
#ifndef AFXDP_TESTS_BPF_FAST_PATH_FIXTURE_H
#define AFXDP_TESTS_BPF_FAST_PATH_FIXTURE_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "bpf/flow/flow_layout.h"
#include "bpf/xdp_meta.h"
#include "frame_builder.h"

struct xsk_redirect;

// Failure messages show keys field by field (gtest finds these by ADL: the
// structs are the BPF side's, in the global namespace).
void PrintTo(const afxdp_flow_key &key, std::ostream *os);
void PrintTo(const afxdp_xdp_meta &meta, std::ostream *os);

namespace afxdp::test {

// What one BPF_PROG_RUN gave back.
struct XdpRun {
    int err = 0;  // bpf_prog_test_run_opts()'s return value.
    std::uint32_t verdict = ~0u;
    Bytes frame;               // From data to data_end.
    std::size_t meta_len = 0;  // Bytes the program put in front of it.
    // When meta_len is the carrier's (FastPath::carrier_len()).
    std::optional<afxdp_xdp_meta> meta;
};

// Where two frames differ, for failure messages: their lengths and the
// first differing offset with the bytes there.
std::string frame_difference(const Bytes &got, const Bytes &want);

// A field of afxdp_flow_key: for bit flips and for printing.
struct KeyField {
    const char *name;
    std::size_t offset;
    std::size_t size;
};
// Every field but mask_id and the pads.
const std::vector<KeyField> &key_fields();

// All ones over every field of key_fields(): an exact match.
afxdp_flow_key exact_mask();

// Keys field by field, in network order as the key holds them: the
// Ethernet fields of a frame from kDstMac to kSrcMac, then the rest.
afxdp_flow_key eth_key(std::uint16_t dl_type);
void put_ipv4_addrs(afxdp_flow_key &k, std::uint32_t src = kIp4Src,
                    std::uint32_t dst = kIp4Dst);
void put_ipv6_addrs(afxdp_flow_key &k, const Ip6 &src = kIp6Src,
                    const Ip6 &dst = kIp6Dst);
void put_nw(afxdp_flow_key &k, std::uint8_t proto, std::uint8_t tos,
            std::uint8_t ttl, std::uint8_t frag = 0);
void put_ports(afxdp_flow_key &k, std::uint16_t src, std::uint16_t dst);

// Flows that do nothing but be counted, or that hand frames to OVS.
afxdp_flow_actions drop_flow(std::uint32_t flow_id);
afxdp_flow_actions to_ovs_flow(std::uint32_t flow_id, std::uint32_t mark);

class FastPath {
public:
    static constexpr std::uint32_t kMaxFlows = 64;

    FastPath();
    ~FastPath();
    FastPath(const FastPath &) = delete;
    FastPath &operator=(const FastPath &) = delete;

    // Opens, sizes and loads the program; records a fatal failure on error
    // (call it under ASSERT_NO_FATAL_FAILURE).
    void load();

    // The mask table in the program's global data: the mask and the words
    // it uses (afxdp_mask_words()), as mask_table.cpp writes them.
    void set_mask(std::uint8_t slot, const afxdp_flow_key &mask);
    // order[] and n_masks: try these slots, in this order.
    void set_order(const std::vector<std::uint8_t> &order);
    afxdp_mask_table &mask_table();

    // The flows map entry of a flow under mask 'slot' that matches frames
    // whose parsed key is 'key': key & mask, with mask_id = slot, as
    // netdev-afxdp/offload/flow_table.cpp builds it.
    afxdp_flow_key masked(std::uint8_t slot, const afxdp_flow_key &key);
    // The flows map's key for it: afxdp_flow_hash() of the masked key over
    // the words its mask slot uses.
    std::uint64_t flow_hash(const afxdp_flow_key &map_key);
    // Flows given by their masked key, stored under its hash.
    void put_raw(const afxdp_flow_key &map_key, const afxdp_flow_actions &a);
    void delete_raw(const afxdp_flow_key &map_key);
    // Any entry under any hash: for entries whose key is not their hash's.
    void put_entry(std::uint64_t hash, const afxdp_flow_entry &entry);
    void put_flow(std::uint8_t slot, const afxdp_flow_key &key,
                  const afxdp_flow_actions &a);

    // tx_ports[slot] = ifindex: an output port that takes redirects.
    void set_output(std::uint16_t slot, int ifindex);
    // No entry at tx_ports[slot]: the port is gone.
    void clear_output(std::uint16_t slot);

    XdpRun run(const Bytes &frame, std::uint32_t repeat = 1,
               int ingress_ifindex = 0);

    // Summed over CPUs: packets and bytes added, tcp_flags ORed,
    // used_jiffies the latest.
    afxdp_flow_stats flow_stats(std::uint32_t flow_id);
    afxdp_xdp_counters counters();
    // The kernel's jiffies now, read by the program's afxdp_clock.
    std::uint64_t jiffies();
    bool meta_unsupported();
    afxdp_xdp_carrier carrier() const noexcept { return carrier_; }
    // Bytes the carrier puts in front of a frame handed to OVS.
    std::size_t carrier_len() const noexcept;

private:
    // Frames counted by the to_ovs_* counters.
    std::uint64_t to_ovs_total();
    void split_carrier(XdpRun *r, const Bytes &out, std::size_t data_offset,
                       bool to_ovs) const;
    afxdp_xdp_carrier carrier_ = AFXDP_XDP_CARRIER_META;
    int xsk_fd_ = -1;  // The header carrier's socket in the XSKMAP.

    struct SkeletonDeleter {
        void operator()(xsk_redirect *skel) const noexcept;
    };
    std::unique_ptr<xsk_redirect, SkeletonDeleter> skel_;
};

// A loaded FastPath per test.
class FastPathTest : public ::testing::Test {
protected:
    void SetUp() override;

    // A miss: the frame goes on towards the socket (none: XDP_PASS),
    // unmodified, with the rx hash and no mark.
    void expect_miss(const XdpRun &r, const Bytes &frame,
                     const std::string &what);

    // For failure messages: the fields in which 'key' and the parser's key
    // for 'frame' differ, found by looking each field up alone under a
    // mask of its own in slot kScratchSlot.  Leaves order[] at that slot.
    std::string differing_fields(const Bytes &frame, const afxdp_flow_key &key);
    static constexpr std::uint8_t kScratchSlot = AFXDP_FLOW_MAX_MASKS - 1;

    FastPath fp_;
};

}  // namespace afxdp::test

#endif  // AFXDP_TESTS_BPF_FAST_PATH_FIXTURE_H
