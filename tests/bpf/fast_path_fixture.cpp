#include "fast_path_fixture.h"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <iomanip>
#include <sstream>

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include "netdev-afxdp/kernel_features.h"
#include "netdev-afxdp/offload/flow_maps.h"
#include "xsk_redirect.skel.h"

// ---- Printing -----------------------------------------------------------

void PrintTo(const afxdp_flow_key &key, std::ostream *os)
{
    const auto *bytes = reinterpret_cast<const std::uint8_t *>(&key);
    *os << "{mask_id " << unsigned{key.mask_id};
    for (const afxdp::test::KeyField &f : afxdp::test::key_fields()) {
        bool zero = std::all_of(bytes + f.offset, bytes + f.offset + f.size,
                                [](std::uint8_t b) { return b == 0; });
        if (zero) {
            continue;
        }
        *os << ", " << f.name << " ";
        for (std::size_t i = 0; i < f.size; i++) {
            *os << std::hex << std::setw(2) << std::setfill('0')
                << unsigned{bytes[f.offset + i]};
        }
        *os << std::dec;
    }
    *os << "}";
}

void PrintTo(const afxdp_xdp_meta &meta, std::ostream *os)
{
    *os << "{flags " << meta.flags << ", rx_hash 0x" << std::hex << meta.rx_hash
        << ", flow_mark " << std::dec << meta.flow_mark << "}";
}

namespace afxdp::test {

std::string frame_difference(const Bytes &got, const Bytes &want)
{
    std::ostringstream os;
    os << "got " << got.size() << " bytes, want " << want.size();
    for (std::size_t i = 0; i < std::min(got.size(), want.size()); i++) {
        if (got[i] != want[i]) {
            os << "; first difference at offset " << i << ": got 0x" << std::hex
               << unsigned{got[i]} << ", want 0x" << unsigned{want[i]};
            break;
        }
    }
    return os.str();
}

// ---- Keys and actions ---------------------------------------------------

const std::vector<KeyField> &key_fields()
{
#define AFXDP_FIELD(name)                                                      \
    KeyField                                                                   \
    {                                                                          \
#name, offsetof(afxdp_flow_key, name), sizeof(afxdp_flow_key::name)    \
    }
    static const std::vector<KeyField> fields = {
        AFXDP_FIELD(nw_frag),   AFXDP_FIELD(nw_tos),     AFXDP_FIELD(nw_ttl),
        AFXDP_FIELD(nw_proto),  AFXDP_FIELD(dl_type),    AFXDP_FIELD(vlan_tci),
        AFXDP_FIELD(vlan_tpid), AFXDP_FIELD(tp_src),     AFXDP_FIELD(tp_dst),
        AFXDP_FIELD(dl_dst),    AFXDP_FIELD(dl_src),     AFXDP_FIELD(tcp_flags),
        AFXDP_FIELD(addr),      AFXDP_FIELD(ipv6_label),
    };
#undef AFXDP_FIELD
    return fields;
}

afxdp_flow_key exact_mask()
{
    afxdp_flow_key mask;
    std::memset(&mask, 0, sizeof mask);
    auto *bytes = reinterpret_cast<std::uint8_t *>(&mask);
    for (const KeyField &f : key_fields()) {
        std::memset(bytes + f.offset, 0xff, f.size);
    }
    return mask;
}

afxdp_flow_key eth_key(std::uint16_t dl_type)
{
    afxdp_flow_key k;
    std::memset(&k, 0, sizeof k);
    std::memcpy(k.dl_dst, kDstMac.data(), 6);
    std::memcpy(k.dl_src, kSrcMac.data(), 6);
    k.dl_type = htons(dl_type);
    return k;
}

void put_ipv4_addrs(afxdp_flow_key &k, std::uint32_t src, std::uint32_t dst)
{
    const std::uint32_t s = htonl(src);
    const std::uint32_t d = htonl(dst);
    std::memcpy(&k.addr[AFXDP_ADDR_IPV4_SRC], &s, 4);
    std::memcpy(&k.addr[AFXDP_ADDR_IPV4_DST], &d, 4);
}

void put_ipv6_addrs(afxdp_flow_key &k, const Ip6 &src, const Ip6 &dst)
{
    std::memcpy(&k.addr[AFXDP_ADDR_IPV6_SRC], src.data(), 16);
    std::memcpy(&k.addr[AFXDP_ADDR_IPV6_DST], dst.data(), 16);
}

void put_nw(afxdp_flow_key &k, std::uint8_t proto, std::uint8_t tos,
            std::uint8_t ttl, std::uint8_t frag)
{
    k.nw_proto = proto;
    k.nw_tos = tos;
    k.nw_ttl = ttl;
    k.nw_frag = frag;
}

void put_ports(afxdp_flow_key &k, std::uint16_t src, std::uint16_t dst)
{
    k.tp_src = htons(src);
    k.tp_dst = htons(dst);
}

afxdp_flow_actions drop_flow(std::uint32_t flow_id)
{
    afxdp_flow_actions a;
    std::memset(&a, 0, sizeof a);
    a.flow_id = flow_id;
    a.mark = 1000 + flow_id;
    return a;
}

afxdp_flow_actions to_ovs_flow(std::uint32_t flow_id, std::uint32_t mark)
{
    afxdp_flow_actions a = drop_flow(flow_id);
    a.flags = AFXDP_ACT_TO_OVS;
    a.mark = mark;
    return a;
}

// ---- FastPath -----------------------------------------------------------

void FastPath::SkeletonDeleter::operator()(xsk_redirect *skel) const noexcept
{
    xsk_redirect__destroy(skel);
}

FastPath::FastPath() = default;
FastPath::~FastPath()
{
    if (xsk_fd_ >= 0) {
        close(xsk_fd_);
    }
}

std::size_t FastPath::carrier_len() const noexcept
{
    return carrier_ == AFXDP_XDP_CARRIER_HEAD ? AFXDP_XDP_HEAD_LEN
                                              : sizeof(afxdp_xdp_meta);
}

void FastPath::load()
{
    ASSERT_EQ(geteuid(), 0u) << "the bpf test tier must run as root";
    skel_.reset(xsk_redirect__open());
    ASSERT_TRUE(skel_) << "opening xsk_redirect: " << std::strerror(errno);
    // As size_maps() does for options.fast_path.
    ASSERT_EQ(bpf_map__set_max_entries(skel_->maps.flows, kMaxFlows), 0);
    ASSERT_EQ(bpf_map__set_max_entries(skel_->maps.flow_stats, kMaxFlows), 0);
    ASSERT_EQ(
        bpf_map__set_max_entries(skel_->maps.tx_ports, AFXDP_FLOW_MAX_OUTPUTS),
        0);
    skel_->rodata->cfg_fast_path = 1;
    skel_->rodata->cfg_rx_hash = 1;
    // As Port::program_options() picks it.
    carrier_ = afxdp::netdev::kernel_feature(
                   afxdp::netdev::KernelFeature::kXdpAdjustMeta)
                       .available
                   ? AFXDP_XDP_CARRIER_META
                   : AFXDP_XDP_CARRIER_HEAD;
    skel_->rodata->cfg_carrier = static_cast<__u8>(carrier_);
    int err = xsk_redirect__load(skel_.get());
    ASSERT_EQ(err, 0) << "loading xsk_redirect with the fast path: "
                      << std::strerror(-err);
    if (carrier_ == AFXDP_XDP_CARRIER_HEAD) {
        xsk_fd_ = socket(AF_XDP, SOCK_RAW, 0);
        ASSERT_GE(xsk_fd_, 0) << "AF_XDP socket: " << std::strerror(errno);
        std::uint32_t queue = 0;
        std::uint32_t fd = static_cast<std::uint32_t>(xsk_fd_);
        ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.xsks_map), &queue,
                                      &fd, BPF_ANY),
                  0)
            << "XSKMAP: " << std::strerror(errno);
    }
}

void FastPath::set_mask(std::uint8_t slot, const afxdp_flow_key &mask)
{
    ASSERT_LT(slot, AFXDP_FLOW_MAX_MASKS);
    mask_table().masks[slot] = mask;
    mask_table().words[slot] = afxdp_mask_words(&mask);
}

void FastPath::set_order(const std::vector<std::uint8_t> &order)
{
    ASSERT_LE(order.size(), std::size_t{AFXDP_FLOW_MAX_MASKS});
    afxdp_mask_table &t = mask_table();
    std::copy(order.begin(), order.end(), t.order);
    t.n_masks = static_cast<std::uint32_t>(order.size());
}

afxdp_mask_table &FastPath::mask_table()
{
    return skel_->bss->mask_table;
}

afxdp_flow_key FastPath::masked(std::uint8_t slot, const afxdp_flow_key &key)
{
    const afxdp_flow_key &mask = mask_table().masks[slot];
    afxdp_flow_key out;
    const auto *k = reinterpret_cast<const std::uint8_t *>(&key);
    const auto *m = reinterpret_cast<const std::uint8_t *>(&mask);
    auto *o = reinterpret_cast<std::uint8_t *>(&out);
    for (std::size_t i = 0; i < sizeof out; i++) {
        o[i] = k[i] & m[i];
    }
    out.mask_id = slot;
    return out;
}

std::uint64_t FastPath::flow_hash(const afxdp_flow_key &map_key)
{
    return afxdp_flow_hash(&map_key, mask_table().words[map_key.mask_id]);
}

void FastPath::put_raw(const afxdp_flow_key &map_key,
                       const afxdp_flow_actions &a)
{
    afxdp_flow_entry entry;
    std::memset(&entry, 0, sizeof entry);
    entry.key = map_key;
    entry.actions = a;
    put_entry(flow_hash(map_key), entry);
}

void FastPath::delete_raw(const afxdp_flow_key &map_key)
{
    const std::uint64_t hash = flow_hash(map_key);
    ASSERT_EQ(bpf_map_delete_elem(bpf_map__fd(skel_->maps.flows), &hash), 0)
        << "flows map delete: " << std::strerror(errno);
}

void FastPath::put_entry(std::uint64_t hash, const afxdp_flow_entry &entry)
{
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.flows), &hash, &entry,
                                  BPF_ANY),
              0)
        << "flows map update: " << std::strerror(errno);
}

void FastPath::put_flow(std::uint8_t slot, const afxdp_flow_key &key,
                        const afxdp_flow_actions &a)
{
    put_raw(masked(slot, key), a);
}

void FastPath::set_output(std::uint16_t slot, int ifindex)
{
    std::uint32_t key = slot;
    auto value = static_cast<std::uint32_t>(ifindex);
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.tx_ports), &key,
                                  &value, BPF_ANY),
              0)
        << "tx_ports[" << slot << "] = " << ifindex << ": "
        << std::strerror(errno);
}

void FastPath::clear_output(std::uint16_t slot)
{
    std::uint32_t key = slot;
    ASSERT_EQ(bpf_map_delete_elem(bpf_map__fd(skel_->maps.tx_ports), &key), 0)
        << "tx_ports[" << slot << "]: " << std::strerror(errno);
}

XdpRun FastPath::run(const Bytes &frame, std::uint32_t repeat,
                     int ingress_ifindex)
{
    XdpRun r;
    // Room for metadata and a pushed VLAN tag.
    Bytes out(frame.size() + 64);

    xdp_md ctx_in;
    std::memset(&ctx_in, 0, sizeof ctx_in);
    ctx_in.data_end = static_cast<std::uint32_t>(frame.size());
    ctx_in.ingress_ifindex = static_cast<std::uint32_t>(ingress_ifindex);
    xdp_md ctx_out;
    std::memset(&ctx_out, 0, sizeof ctx_out);

    bpf_test_run_opts opts;
    std::memset(&opts, 0, sizeof opts);
    opts.sz = sizeof opts;
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<std::uint32_t>(frame.size());
    opts.data_out = out.data();
    opts.data_size_out = static_cast<std::uint32_t>(out.size());
    opts.ctx_in = &ctx_in;
    opts.ctx_size_in = sizeof ctx_in;
    opts.ctx_out = &ctx_out;
    opts.ctx_size_out = sizeof ctx_out;
    opts.repeat = static_cast<int>(repeat);

    const std::uint64_t to_ovs_before = to_ovs_total();
    r.err = bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.xsk_redirect),
                                   &opts);
    if (r.err) {
        return r;
    }
    r.verdict = opts.retval;
    out.resize(opts.data_size_out);
    split_carrier(&r, out, ctx_out.data, to_ovs_total() > to_ovs_before);
    return r;
}

// Splits what came back into the carrier's bytes and the frame (see the
// note at the top of the header).
void FastPath::split_carrier(XdpRun *r, const Bytes &out,
                             std::size_t data_offset, bool to_ovs) const
{
    r->meta_len = std::min(data_offset, out.size());
    if (carrier_ == AFXDP_XDP_CARRIER_HEAD && to_ovs &&
        r->verdict == XDP_REDIRECT && r->meta_len == 0) {
        r->verdict = XDP_PASS;
        r->meta_len = std::min<std::size_t>(AFXDP_XDP_HEAD_LEN, out.size());
    }
    r->frame.assign(out.begin() + static_cast<std::ptrdiff_t>(r->meta_len),
                    out.end());
    if (r->meta_len == carrier_len()) {
        afxdp_xdp_meta meta;
        std::memcpy(&meta, out.data(), sizeof meta);
        r->meta = meta;
    }
}

std::uint64_t FastPath::to_ovs_total()
{
    afxdp_xdp_counters c = counters();
    return c.to_ovs_miss + c.to_ovs_partial + c.to_ovs_parse + c.to_ovs_action +
           c.to_ovs_fallback + c.to_ovs_multi_buffer;
}

afxdp_flow_stats FastPath::flow_stats(std::uint32_t flow_id)
{
    afxdp_flow_stats sum;
    std::memset(&sum, 0, sizeof sum);
    const int n_cpus = libbpf_num_possible_cpus();
    EXPECT_GT(n_cpus, 0);
    std::vector<afxdp_flow_stats> per_cpu(
        static_cast<std::size_t>(std::max(n_cpus, 1)));
    EXPECT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel_->maps.flow_stats), &flow_id,
                                  per_cpu.data()),
              0)
        << std::strerror(errno);
    for (const afxdp_flow_stats &s : per_cpu) {
        sum.packets += s.packets;
        sum.bytes += s.bytes;
        sum.used_jiffies = std::max(sum.used_jiffies, s.used_jiffies);
        sum.tcp_flags |= s.tcp_flags;
    }
    return sum;
}

afxdp_xdp_counters FastPath::counters()
{
    afxdp_xdp_counters sum;
    std::memset(&sum, 0, sizeof sum);
    const int n_cpus = libbpf_num_possible_cpus();
    std::vector<afxdp_xdp_counters> per_cpu(
        static_cast<std::size_t>(std::max(n_cpus, 1)));
    std::uint32_t zero = 0;
    EXPECT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel_->maps.counters), &zero,
                                  per_cpu.data()),
              0)
        << std::strerror(errno);
    for (const afxdp_xdp_counters &c : per_cpu) {
        offload::add_xdp_counters(sum, c);
    }
    return sum;
}

std::uint64_t FastPath::jiffies()
{
    // BPF_PROG_RUN wants at least an Ethernet header.
    Bytes frame(64, 0);
    bpf_test_run_opts opts;
    std::memset(&opts, 0, sizeof opts);
    opts.sz = sizeof opts;
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<std::uint32_t>(frame.size());
    opts.repeat = 1;
    EXPECT_EQ(bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.afxdp_clock),
                                     &opts),
              0);
    return skel_->bss->clock_jiffies;
}

bool FastPath::meta_unsupported()
{
    return skel_->bss->meta_unsupported != 0;
}

// ---- FastPathTest -------------------------------------------------------

void FastPathTest::SetUp()
{
    ASSERT_NO_FATAL_FAILURE(fp_.load());
}

void FastPathTest::expect_miss(const XdpRun &r, const Bytes &frame,
                               const std::string &what)
{
    ASSERT_EQ(r.err, 0) << std::strerror(-r.err);
    EXPECT_EQ(r.verdict, XDP_PASS) << what;
    ASSERT_TRUE(r.meta) << what << ": no metadata (" << r.meta_len << " bytes)";
    EXPECT_EQ(r.meta->flags, AFXDP_XDP_META_HASH) << what;
    EXPECT_TRUE(r.frame == frame)
        << what << ": " << frame_difference(r.frame, frame);
}

std::string FastPathTest::differing_fields(const Bytes &frame,
                                           const afxdp_flow_key &key)
{
    std::string out;
    const afxdp_flow_actions scratch = drop_flow(FastPath::kMaxFlows - 1);
    for (const KeyField &f : key_fields()) {
        afxdp_flow_key mask;
        std::memset(&mask, 0, sizeof mask);
        std::memset(reinterpret_cast<std::uint8_t *>(&mask) + f.offset, 0xff,
                    f.size);
        fp_.set_mask(kScratchSlot, mask);
        fp_.set_order({kScratchSlot});
        fp_.put_flow(kScratchSlot, key, scratch);
        if (fp_.run(frame).verdict != XDP_DROP) {
            out += std::string(out.empty() ? "" : ", ") + f.name;
        }
        fp_.delete_raw(fp_.masked(kScratchSlot, key));
    }
    return out.empty() ? "none?" : out;
}

}  // namespace afxdp::test
