/*
 * XdpProgram: loading bpf/xsk_redirect.bpf.c and attaching it to a device.
 *
 * The program comes from the skeleton generated at build time, so there is
 * no object file to find at run time.  Its XSKMAP is sized to the most
 * queues the driver allows (DeviceQueues::max, ethtool -l "Pre-set
 * maximums"), or keeps the program's default (64) when ethtool cannot
 * tell: an rx_queue_index beyond the map would simply miss and go to the
 * stack, but no socket could be bound there.
 *
 * Attachment is a bpf_link (BPF_LINK_CREATE with BPF_XDP): the link fd is
 * the only thing keeping the program on the device, so the kernel detaches
 * it when the process exits however it exits.  A program attached through
 * netlink has no such owner: a copy of ours attached that way (by an older
 * build, or by hand while debugging) outlives whoever attached it, so it is
 * treated as stale and detached, with XDP_FLAGS_REPLACE so that exactly the
 * program inspected is removed.  A copy of ours held by a live bpf_link
 * belongs to a running process (the kernel would refuse the netlink detach
 * anyway: "Can't replace active BPF XDP link", net/core/dev.c
 * dev_xdp_attach()), and anything else attached is somebody else's; both
 * are left alone and attaching fails with EBUSY.
 *
 * Errors are reported, not logged: the caller logs one line per failure.
 * The only line logged here is the stale-program replacement, which
 * succeeds but changes the device under someone's feet.
 */
#include "netdev-afxdp/xdp_program.h"

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/flow/flow_layout.h"
#include "netdev-afxdp/device.h"
#include "netdev-afxdp/log.h"
// The skeleton names the program's global data types: after their header.
#include "xsk_redirect.skel.h"

namespace afxdp::netdev {

namespace {

// ---- Resource owners ---------------------------------------------------

struct SkeletonDeleter {
    void operator()(xsk_redirect *skel) const noexcept
    {
        xsk_redirect__destroy(skel);
    }
};
using SkeletonPtr = std::unique_ptr<xsk_redirect, SkeletonDeleter>;

class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) noexcept : fd_(fd) {}
    UniqueFd(UniqueFd &&other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    UniqueFd &operator=(UniqueFd &&other) noexcept
    {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    ~UniqueFd() { reset(); }

    int get() const noexcept { return fd_; }
    void reset() noexcept
    {
        if (fd_ >= 0) {
            close(fd_);
            fd_ = -1;
        }
    }

private:
    int fd_ = -1;
};

// ---- Helpers -----------------------------------------------------------

const char *mode_name(XdpAttachMode mode) noexcept
{
    return mode == XdpAttachMode::kNative ? "native" : "generic";
}

__u32 mode_flag(XdpAttachMode mode) noexcept
{
    return mode == XdpAttachMode::kNative ? XDP_FLAGS_DRV_MODE
                                          : XDP_FLAGS_SKB_MODE;
}

// The cause part of an error message.  Libbpf returns negative errnos.
std::string cause(int negative_errno)
{
    switch (-negative_errno) {
    case EPERM:
    case EACCES: return "no permission (needs CAP_BPF and CAP_NET_ADMIN)";
    case ENODEV: return "no such device";
    default: return std::strerror(-negative_errno);
    }
}

// The same for BPF_LINK_CREATE, whose errnos come from the driver too.
std::string attach_cause(int negative_errno, XdpAttachMode mode)
{
    const bool native = mode == XdpAttachMode::kNative;
    switch (-negative_errno) {
    case EOPNOTSUPP:
        return native ? "driver has no native XDP" : "XDP not supported";
    case EBUSY:
    case EEXIST: return "another XDP program is attached";
    case EINVAL:
        return native ? "rejected by the driver (MTU too large for XDP, or "
                        "unsupported configuration)"
                      : "invalid argument";
    default: return cause(negative_errno);
    }
}

// "<device>: <what>: <cause>", with the errno made positive.
Error make_error(int negative_errno, const std::string &ifname,
                 const std::string &what, const std::string &why)
{
    return Error::from_negative(negative_errno,
                                ifname + ": " + what + ": " + why);
}

// Upper bound of rx_queue_index on the device, or 0 if ethtool cannot
// tell: the driver's maximum, not the current count, so that a socket can
// still be bound on every queue after `ethtool -L` adds channels.  Queues
// are numbered combined channels first, then rx-only ones.
unsigned xskmap_entries(int ifindex, const std::string &ifname)
{
    char name[IF_NAMESIZE] = {};
    if (!if_indextoname(static_cast<unsigned>(ifindex), name)) {
        std::strncpy(name, ifname.c_str(), sizeof name - 1);
    }
    auto queues = device_queues(name);
    return queues ? queues.value().max : 0;
}

struct ProgIdentity {
    UniqueFd fd;
    std::string name;
};

// Opens program 'id' and reads its name.  ENOENT means it went away.
Result<ProgIdentity> identify_prog(unsigned id)
{
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) {
        return Error::from_negative(fd, "cannot open program");
    }
    ProgIdentity prog{UniqueFd(fd), {}};
    bpf_prog_info info;
    std::memset(&info, 0, sizeof info);
    __u32 len = sizeof info;
    int err = bpf_obj_get_info_by_fd(fd, &info, &len);
    if (err) {
        return Error::from_negative(err, "cannot read program info");
    }
    prog.name.assign(info.name, strnlen(info.name, sizeof info.name));
    return prog;
}

// The id of a live bpf_link attaching program 'prog_id' to 'ifindex', or 0.
// Checked before a netlink detach, which the kernel would refuse (and
// libbpf would log the refusal as a warning).  Link ids are global and
// ifindexes are per namespace, hence the match on the program too.
unsigned find_xdp_link(int ifindex, unsigned prog_id) noexcept
{
    __u32 id = 0;
    while (bpf_link_get_next_id(id, &id) == 0) {
        UniqueFd fd(bpf_link_get_fd_by_id(id));
        if (fd.get() < 0) {
            continue;  // Went away meanwhile.
        }
        bpf_link_info info;
        std::memset(&info, 0, sizeof info);
        __u32 len = sizeof info;
        if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) == 0 &&
            info.type == BPF_LINK_TYPE_XDP && info.prog_id == prog_id &&
            info.xdp.ifindex == static_cast<__u32>(ifindex)) {
            return id;
        }
    }
    return 0;
}

// A program attached to a device in one mode (a device has one slot per
// mode, and more than one may be taken at once).
struct AttachedProg {
    __u32 id;
    __u32 flag;        // The slot's XDP_FLAGS_*_MODE, for the detach.
    const char *mode;  // For messages.
};

// The programs attached to 'ifindex', one per taken slot.
Result<std::vector<AttachedProg>> attached_progs(int ifindex,
                                                 const std::string &ifname)
{
    bpf_xdp_query_opts query;
    std::memset(&query, 0, sizeof query);
    query.sz = sizeof query;
    int err = bpf_xdp_query(ifindex, 0, &query);
    if (err) {
        return make_error(err, ifname, "querying attached XDP programs",
                          cause(err));
    }
    const AttachedProg slots[] = {
        {query.drv_prog_id, XDP_FLAGS_DRV_MODE, "native"},
        {query.skb_prog_id, XDP_FLAGS_SKB_MODE, "generic"},
        {query.hw_prog_id, XDP_FLAGS_HW_MODE, "offloaded"},
    };
    std::vector<AttachedProg> progs;
    for (const AttachedProg &slot : slots) {
        if (slot.id) {
            progs.push_back(slot);
        }
    }
    return progs;
}

// "XDP program <id> (<name>, <mode> mode)", for messages.
std::string describe(const AttachedProg &attached, const std::string &name)
{
    return "XDP program " + std::to_string(attached.id) + " (" +
           (name.empty() ? "unnamed" : name) + ", " + attached.mode + " mode)";
}

// EBUSY unless 'attached' is a copy of ours that no live bpf_link holds:
// anything else belongs to someone who is still using it.
Result<void> check_stale(int ifindex, const std::string &ifname,
                         const AttachedProg &attached, const std::string &name)
{
    const std::string who = describe(attached, name);
    if (name != kXdpProgramName) {
        return Error{EBUSY, ifname + ": " + who +
                                " is already attached; not replacing "
                                "another program"};
    }
    if (unsigned link_id = find_xdp_link(ifindex, attached.id)) {
        return Error{EBUSY, ifname + ": " + who +
                                " is held by a live bpf_link (id " +
                                std::to_string(link_id) +
                                "); is another process using the device?"};
    }
    return {};
}

// Detaches exactly the program 'prog' (XDP_FLAGS_REPLACE) from the slot
// 'attached' through netlink.  Losing a race with its owner is not an
// error unless the program got linked meanwhile.
Result<void> detach_stale(int ifindex, const std::string &ifname,
                          const AttachedProg &attached,
                          const ProgIdentity &prog)
{
    const std::string who = describe(attached, prog.name);
    bpf_xdp_attach_opts opts;
    std::memset(&opts, 0, sizeof opts);
    opts.sz = sizeof opts;
    opts.old_prog_fd = prog.fd.get();
    int err = bpf_xdp_detach(ifindex, attached.flag | XDP_FLAGS_REPLACE, &opts);
    if (err == -EBUSY) {  // Linked since the lookup.
        return Error{EBUSY, ifname + ": " + who +
                                " is held by a live bpf_link; is another "
                                "process using the device?"};
    }
    if (err == -EEXIST || err == -ENOENT) {
        return {};  // Replaced or detached since the query.
    }
    if (err) {
        return make_error(err, ifname, "detaching stale " + who, cause(err));
    }
    log(AFXDP_LOG_INFO,
        "%s: detached stale %s left attached by an earlier process",
        ifname.c_str(), who.c_str());
    return {};
}

// Identifies the program in one slot, then detaches it if it is stale.
Result<void> clear_stale_slot(int ifindex, const std::string &ifname,
                              const AttachedProg &attached)
{
    auto prog = identify_prog(attached.id);
    if (!prog) {
        const Error &e = prog.error();
        if (e.code == ENOENT) {
            return {};  // Detached since the query.
        }
        return make_error(-e.code, ifname,
                          "XDP program " + std::to_string(attached.id) +
                              " is attached (" + attached.mode + " mode) and " +
                              e.message,
                          cause(-e.code));
    }
    if (auto r = check_stale(ifindex, ifname, attached, prog.value().name);
        !r) {
        return r;
    }
    return detach_stale(ifindex, ifname, attached, prog.value());
}

// Detaches a stale copy of our program attached through netlink in any
// mode; fails with EBUSY on any other program, or ours held by a live link.
Result<void> clear_stale(int ifindex, const std::string &ifname)
{
    auto progs = attached_progs(ifindex, ifname);
    if (!progs) {
        return progs.error();
    }
    for (const AttachedProg &attached : progs.value()) {
        if (auto r = clear_stale_slot(ifindex, ifname, attached); !r) {
            return r;
        }
    }
    return {};
}

}  // namespace

// ---- State -------------------------------------------------------------

struct XdpProgram::State {
    // Destroyed in reverse order: the link (detaching the program) goes
    // before the skeleton that owns the program and map fds.
    SkeletonPtr skel;
    UniqueFd link;
    std::string ifname;
    XdpAttachMode mode = XdpAttachMode::kNative;
    XdpProgramOptions options;
    unsigned prog_id = 0;
    unsigned link_id = 0;
};

namespace {

// Sizes the maps of the features 'options' enables; the others keep the
// one entry they are declared with.
Result<void> size_maps(xsk_redirect *skel, int ifindex,
                       const std::string &ifname,
                       const XdpProgramOptions &options)
{
    struct Size {
        bpf_map *map;
        uint32_t entries;
        const char *what;
    };
    std::vector<Size> sizes;
    if (unsigned n = xskmap_entries(ifindex, ifname)) {
        sizes.push_back({skel->maps.xsks_map, n, "XSKMAP"});
    }
    if (options.fast_path) {
        sizes.push_back({skel->maps.flows, options.max_flows, "flow table"});
        sizes.push_back(
            {skel->maps.flow_stats, options.max_flows, "flow counters"});
        sizes.push_back(
            {skel->maps.tx_ports, AFXDP_FLOW_MAX_OUTPUTS, "output ports"});
    }
    for (const Size &size : sizes) {
        if (int err = bpf_map__set_max_entries(size.map, size.entries)) {
            return make_error(err, ifname, std::string("sizing ") + size.what,
                              cause(err));
        }
    }
    skel->rodata->cfg_fast_path = options.fast_path;
    skel->rodata->cfg_rx_hash = options.rx_hash;
    skel->rodata->cfg_carrier = static_cast<__u8>(options.carrier);
    skel->rodata->cfg_frags = options.frags;
    if (!options.frags) {
        bpf_program *prog = skel->progs.xsk_redirect;
        bpf_program__set_flags(prog,
                               bpf_program__flags(prog) &
                                   ~static_cast<__u32>(BPF_F_XDP_HAS_FRAGS));
    }
    return {};
}

// Opens the embedded program, sizes its maps and loads it.
Result<SkeletonPtr> load_program(int ifindex, const std::string &ifname,
                                 const XdpProgramOptions &options)
{
    SkeletonPtr skel(xsk_redirect__open());
    if (!skel) {
        int err = errno ? -errno : -ENOMEM;
        return make_error(err, ifname, "opening XDP program", cause(err));
    }
    if (auto sized = size_maps(skel.get(), ifindex, ifname, options); !sized) {
        return sized.error();
    }
    if (int err = xsk_redirect__load(skel.get())) {
        return make_error(err, ifname, "loading XDP program", cause(err));
    }
    return skel;
}

// The kernel's id of the program behind 'prog_fd' (bpftool prog show).
Result<unsigned> prog_id_of(int prog_fd, const std::string &ifname)
{
    bpf_prog_info info;
    std::memset(&info, 0, sizeof info);
    __u32 len = sizeof info;
    if (int err = bpf_obj_get_info_by_fd(prog_fd, &info, &len)) {
        return make_error(err, ifname, "reading XDP program info", cause(err));
    }
    return info.id;
}

// The kernel's id of the link behind 'link_fd' (bpftool link show), or 0.
unsigned link_id_of(int link_fd) noexcept
{
    bpf_link_info info;
    std::memset(&info, 0, sizeof info);
    __u32 len = sizeof info;
    return bpf_obj_get_info_by_fd(link_fd, &info, &len) == 0 ? info.id : 0;
}

// Attaches program 'prog_fd' to 'ifindex' through a bpf_link.
Result<UniqueFd> create_link(int prog_fd, int ifindex,
                             const std::string &ifname, XdpAttachMode mode)
{
    bpf_link_create_opts opts;
    std::memset(&opts, 0, sizeof opts);
    opts.sz = sizeof opts;
    opts.flags = mode_flag(mode);
    int link_fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);
    if (link_fd < 0) {
        return make_error(link_fd, ifname,
                          std::string("attaching XDP program in ") +
                              mode_name(mode) + " mode",
                          attach_cause(link_fd, mode));
    }
    return UniqueFd(link_fd);
}

}  // namespace

// ---- Init / free -------------------------------------------------------

Result<XdpProgram> XdpProgram::attach(int ifindex, const std::string &ifname,
                                      XdpAttachMode mode,
                                      const XdpProgramOptions &options)
{
    // Netlink queries succeed, empty, for a missing ifindex and
    // BPF_LINK_CREATE says EINVAL: check first, for a clear error.
    char name[IF_NAMESIZE];
    if (ifindex <= 0 || !if_indextoname(static_cast<unsigned>(ifindex), name)) {
        return make_error(-ENODEV, ifname, "ifindex " + std::to_string(ifindex),
                          cause(-ENODEV));
    }

    auto skel = load_program(ifindex, ifname, options);
    if (!skel) {
        return skel.error();
    }
    const int prog_fd = bpf_program__fd(skel.value()->progs.xsk_redirect);
    auto prog_id = prog_id_of(prog_fd, ifname);
    if (!prog_id) {
        return prog_id.error();
    }
    if (auto cleared = clear_stale(ifindex, ifname); !cleared) {
        return cleared.error();
    }
    auto link = create_link(prog_fd, ifindex, ifname, mode);
    if (!link) {
        return link.error();
    }

    auto state = std::make_unique<State>();
    state->skel = std::move(skel).value();
    state->link = std::move(link).value();
    state->ifname = ifname;
    state->mode = mode;
    state->options = options;
    state->prog_id = prog_id.value();
    // For diagnostics only (afxdp/show): no reason to give up the link.
    state->link_id = link_id_of(state->link.get());
    return XdpProgram(std::move(state));
}

XdpProgram::XdpProgram(std::unique_ptr<State> state)
    : state_(std::move(state)),
      meta_unsupported_(&state_->skel->bss->meta_unsupported)
{
}

XdpProgram::XdpProgram(XdpProgram &&) noexcept = default;
XdpProgram &XdpProgram::operator=(XdpProgram &&) noexcept = default;
XdpProgram::~XdpProgram() = default;

void XdpProgram::detach() noexcept
{
    // Only close(): this runs on the fatal-signal path too.
    if (state_) {
        state_->link.reset();
    }
}

// ---- Queries and the XSKMAP --------------------------------------------

int XdpProgram::xsk_map_fd() const noexcept
{
    return state_ ? bpf_map__fd(state_->skel->maps.xsks_map) : -1;
}

Result<void> XdpProgram::bind_queue(unsigned queue_id, int xsk_fd)
{
    __u32 key = queue_id;
    __u32 value = static_cast<__u32>(xsk_fd);
    int err = bpf_map_update_elem(xsk_map_fd(), &key, &value, BPF_ANY);
    if (err) {
        return make_error(err, state_ ? state_->ifname : "(moved-from)",
                          "binding queue " + std::to_string(queue_id) +
                              " to its AF_XDP socket",
                          err == -E2BIG ? "queue beyond the device's queues"
                                        : cause(err));
    }
    return {};
}

void XdpProgram::unbind_queue(unsigned queue_id) noexcept
{
    __u32 key = queue_id;
    bpf_map_delete_elem(xsk_map_fd(), &key);
}

XdpAttachMode XdpProgram::mode() const noexcept
{
    return state_ ? state_->mode : XdpAttachMode::kNative;
}

unsigned XdpProgram::prog_id() const noexcept
{
    return state_ ? state_->prog_id : 0;
}

unsigned XdpProgram::link_id() const noexcept
{
    return state_ ? state_->link_id : 0;
}

const XdpProgramOptions &XdpProgram::options() const noexcept
{
    return state_->options;
}

FastPathMaps XdpProgram::fast_path_maps() const noexcept
{
    FastPathMaps maps;
    if (!state_ || !state_->options.fast_path) {
        return maps;
    }
    xsk_redirect *skel = state_->skel.get();
    maps.flows_fd = bpf_map__fd(skel->maps.flows);
    maps.stats_fd = bpf_map__fd(skel->maps.flow_stats);
    maps.tx_ports_fd = bpf_map__fd(skel->maps.tx_ports);
    maps.counters_fd = bpf_map__fd(skel->maps.counters);
    maps.clock_prog_fd = bpf_program__fd(skel->progs.afxdp_clock);
    maps.max_flows = state_->options.max_flows;
    maps.mask_table = &skel->bss->mask_table;
    maps.clock_jiffies = &skel->bss->clock_jiffies;
    maps.clock_ns = &skel->bss->clock_ns;
    return maps;
}

unsigned XdpProgram::attached_prog_id(int ifindex) noexcept
{
    for (__u32 flags : {XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE, 0u}) {
        // 0: whatever is attached in a single mode (incl. offloaded).
        __u32 id = 0;
        if (bpf_xdp_query_id(ifindex, static_cast<int>(flags), &id) == 0 &&
            id) {
            return id;
        }
    }
    return 0;
}

}  // namespace afxdp::netdev
