/*
 * XdpFeatures implementation: plain netlink, the few messages it needs
 * built by hand (no libnl, no libynl on Debian 12).
 */
#include "netdev-afxdp/xdp_features.h"

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "netdev-afxdp/kernel_features.h"

namespace afxdp::netdev {

namespace {

// include/uapi/linux/netdev.h (kernel 6.3+).
constexpr const char *kFamilyName = "netdev";
constexpr const char *kMgmtGroup = "mgmt";
constexpr uint8_t kCmdDevGet = 1;
constexpr uint8_t kCmdDevAddNtf = 2;
constexpr uint8_t kCmdDevChangeNtf = 4;
constexpr uint16_t kAttrIfindex = 1;
constexpr uint16_t kAttrXdpFeatures = 3;

struct Request {
    nlmsghdr nlh;
    genlmsghdr genl;
    char attrs[64];
};

// Appends attribute 'type' with 'len' bytes of 'data' to 'req'.
void add_attr(Request &req, uint16_t type, const void *data, size_t len)
{
    auto *nla = reinterpret_cast<nlattr *>(reinterpret_cast<char *>(&req) +
                                           NLMSG_ALIGN(req.nlh.nlmsg_len));
    nla->nla_type = type;
    nla->nla_len = uint16_t(NLA_HDRLEN + len);
    std::memcpy(reinterpret_cast<char *>(nla) + NLA_HDRLEN, data, len);
    req.nlh.nlmsg_len =
        NLMSG_ALIGN(req.nlh.nlmsg_len) + NLA_ALIGN(nla->nla_len);
}

Request make_request(uint16_t family, uint8_t cmd, uint32_t seq)
{
    Request req;
    std::memset(&req, 0, sizeof req);
    req.nlh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
    req.nlh.nlmsg_type = family;
    req.nlh.nlmsg_flags = NLM_F_REQUEST;
    req.nlh.nlmsg_seq = seq;
    req.genl.cmd = cmd;
    req.genl.version = 1;
    return req;
}

// Calls fn(type, payload, payload_len) for each attribute in [p, p+len).
template <typename Fn>
void for_each_attr(const char *p, size_t len, Fn fn)
{
    while (len >= NLA_HDRLEN) {
        const auto *nla = reinterpret_cast<const nlattr *>(p);
        if (nla->nla_len < NLA_HDRLEN || nla->nla_len > len) {
            return;
        }
        fn(uint16_t(nla->nla_type & NLA_TYPE_MASK), p + NLA_HDRLEN,
           size_t(nla->nla_len - NLA_HDRLEN));
        size_t step = NLA_ALIGN(nla->nla_len);
        if (step >= len) {
            return;
        }
        p += step;
        len -= step;
    }
}

// The attributes of a generic netlink message.
std::pair<const char *, size_t> genl_attrs(const nlmsghdr *nlh)
{
    const char *p =
        reinterpret_cast<const char *>(NLMSG_DATA(nlh)) + GENL_HDRLEN;
    size_t len = nlh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
    return {p, len};
}

Result<void> send_request(int fd, const Request &req)
{
    sockaddr_nl to;
    std::memset(&to, 0, sizeof to);
    to.nl_family = AF_NETLINK;
    if (sendto(fd, &req, req.nlh.nlmsg_len, 0,
               reinterpret_cast<const sockaddr *>(&to), sizeof to) < 0) {
        int err = errno;
        return Error{err, std::string("netlink send: ") + std::strerror(err)};
    }
    return {};
}

// Receives the reply to 'seq' and calls fn(nlh) for its message.
template <typename Fn>
Result<void> recv_reply(int fd, uint32_t seq, Fn fn)
{
    std::vector<char> buf(8192);
    for (;;) {
        ssize_t n = recv(fd, buf.data(), buf.size(), 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            int err = errno;
            return Error{err,
                         std::string("netlink recv: ") + std::strerror(err)};
        }
        size_t len = size_t(n);
        for (auto *nlh = reinterpret_cast<nlmsghdr *>(buf.data());
             NLMSG_OK(nlh, len); nlh = NLMSG_NEXT(nlh, len)) {
            if (nlh->nlmsg_seq != seq) {
                continue;
            }
            if (nlh->nlmsg_type == NLMSG_ERROR) {
                const auto *e = static_cast<const nlmsgerr *>(NLMSG_DATA(nlh));
                if (e->error) {
                    return Error::from_negative(e->error,
                                                std::string("netlink: ") +
                                                    std::strerror(-e->error));
                }
                continue;
            }
            fn(nlh);
            return {};
        }
    }
}

struct FamilyIds {
    uint16_t family = 0;
    uint32_t mgmt_group = 0;
};

FamilyIds parse_family(const nlmsghdr *nlh)
{
    FamilyIds ids;
    auto [p, len] = genl_attrs(nlh);
    for_each_attr(p, len, [&](uint16_t type, const char *d, size_t n) {
        if (type == CTRL_ATTR_FAMILY_ID && n >= 2) {
            std::memcpy(&ids.family, d, 2);
        } else if (type == CTRL_ATTR_MCAST_GROUPS) {
            for_each_attr(d, n, [&](uint16_t, const char *g, size_t gn) {
                std::string name;
                uint32_t id = 0;
                for_each_attr(g, gn, [&](uint16_t t, const char *a, size_t an) {
                    if (t == CTRL_ATTR_MCAST_GRP_NAME) {
                        name.assign(a, strnlen(a, an));
                    } else if (t == CTRL_ATTR_MCAST_GRP_ID && an >= 4) {
                        std::memcpy(&id, a, 4);
                    }
                });
                if (name == kMgmtGroup) {
                    ids.mgmt_group = id;
                }
            });
        }
    });
    return ids;
}

// (ifindex, features) of a device message; ifindex 0 if absent.
std::pair<int, uint64_t> parse_device(const nlmsghdr *nlh)
{
    uint32_t ifindex = 0;
    uint64_t features = 0;
    auto [p, len] = genl_attrs(nlh);
    for_each_attr(p, len, [&](uint16_t type, const char *d, size_t n) {
        if (type == kAttrIfindex && n >= 4) {
            std::memcpy(&ifindex, d, 4);
        } else if (type == kAttrXdpFeatures && n >= 8) {
            std::memcpy(&features, d, 8);
        }
    });
    return {int(ifindex), features};
}

}  // namespace

XdpFeatures::XdpFeatures(int fd, uint16_t family, uint32_t mgmt_group) noexcept
    : fd_(fd), family_(family), mgmt_group_(mgmt_group)
{
}

XdpFeatures::XdpFeatures(XdpFeatures &&other) noexcept
    : fd_(std::exchange(other.fd_, -1)), family_(other.family_),
      mgmt_group_(other.mgmt_group_), seq_(other.seq_)
{
}

XdpFeatures &XdpFeatures::operator=(XdpFeatures &&other) noexcept
{
    if (this != &other) {
        if (fd_ >= 0) {
            close(fd_);
        }
        fd_ = std::exchange(other.fd_, -1);
        family_ = other.family_;
        mgmt_group_ = other.mgmt_group_;
        seq_ = other.seq_;
    }
    return *this;
}

XdpFeatures::~XdpFeatures()
{
    if (fd_ >= 0) {
        close(fd_);
    }
}

Result<XdpFeatures> XdpFeatures::open()
{
    // The test switch: every user (ports, the fast path) then takes its
    // fallback for a kernel without the family.
    if (kernel_feature_disabled_by_test(KernelFeature::kXdpFeaturesNetlink)) {
        return Error{ENOENT, "the \"netdev\" netlink family is disabled by "
                             "AFXDP_DISABLE_FEATURES"};
    }
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
    if (fd < 0) {
        int err = errno;
        return Error{err, std::string("netlink socket: ") + std::strerror(err)};
    }
    XdpFeatures f(fd, 0, 0);

    Request req = make_request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, ++f.seq_);
    add_attr(req, CTRL_ATTR_FAMILY_NAME, kFamilyName,
             std::strlen(kFamilyName) + 1);
    if (auto r = send_request(fd, req); !r) {
        return r.error();
    }
    FamilyIds ids;
    auto r = recv_reply(fd, f.seq_,
                        [&](const nlmsghdr *nlh) { ids = parse_family(nlh); });
    if (!r) {
        return Error{r.error().code == ENOENT ? ENOENT : r.error().code,
                     "the kernel has no \"netdev\" netlink family (" +
                         r.error().message + ")"};
    }
    if (!ids.family || !ids.mgmt_group) {
        return Error{ENOENT, "the \"netdev\" netlink family has no \"mgmt\" "
                             "group"};
    }
    f.family_ = ids.family;
    f.mgmt_group_ = ids.mgmt_group;
    return f;
}

Result<uint64_t> XdpFeatures::query(int ifindex)
{
    Request req = make_request(family_, kCmdDevGet, ++seq_);
    uint32_t idx = uint32_t(ifindex);
    add_attr(req, kAttrIfindex, &idx, sizeof idx);
    if (auto r = send_request(fd_, req); !r) {
        return r.error();
    }
    uint64_t features = 0;
    auto r = recv_reply(fd_, seq_, [&](const nlmsghdr *nlh) {
        features = parse_device(nlh).second;
    });
    if (!r) {
        return r.error();
    }
    return features;
}

Result<void> XdpFeatures::subscribe()
{
    uint32_t group = mgmt_group_;
    if (setsockopt(fd_, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group,
                   sizeof group) < 0) {
        int err = errno;
        return Error{err, std::string("joining netdev's mgmt group: ") +
                              std::strerror(err)};
    }
    return {};
}

Result<void> XdpFeatures::drain(const std::function<void(int, uint64_t)> &fn)
{
    std::vector<char> buf(16384);
    for (;;) {
        ssize_t n = recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return {};
            }
            int err = errno;
            return Error{err,
                         std::string("netlink recv: ") + std::strerror(err)};
        }
        size_t len = size_t(n);
        for (auto *nlh = reinterpret_cast<nlmsghdr *>(buf.data());
             NLMSG_OK(nlh, len); nlh = NLMSG_NEXT(nlh, len)) {
            if (nlh->nlmsg_type != family_) {
                continue;
            }
            const auto *genl = static_cast<const genlmsghdr *>(NLMSG_DATA(nlh));
            if (genl->cmd == kCmdDevChangeNtf || genl->cmd == kCmdDevAddNtf) {
                auto [ifindex, features] = parse_device(nlh);
                if (ifindex) {
                    fn(ifindex, features);
                }
            }
        }
    }
}

}  // namespace afxdp::netdev
