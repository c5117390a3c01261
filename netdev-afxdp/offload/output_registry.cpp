/*
 * OutputRegistry implementation: slots, the devmaps that mirror them, and
 * the monitor thread that follows the devices' XDP features.
 */
#include "netdev-afxdp/offload/output_registry.h"

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "netdev-afxdp/log.h"
#include "netdev-afxdp/offload/flow_table.h"

namespace afxdp::offload {

OutputRegistry &OutputRegistry::instance()
{
    static OutputRegistry registry;
    return registry;
}

OutputRegistry::OutputRegistry() = default;

OutputRegistry::~OutputRegistry()
{
    stop_monitor();
}

// ---- Slots
// ---------------------------------------------------------------------

Result<uint16_t> OutputRegistry::allocate(const std::string &ifname)
{
    std::lock_guard<std::mutex> guard(mutex_);
    for (uint32_t i = 0; i < kMaxSlots; i++) {
        Slot &s = slots_[i];
        if (s.allocated || s.flows) {
            continue;
        }
        s.allocated = true;
        s.ifname = ifname;
        s.ifindex = 0;
        s.ndo_xmit = false;
        s.rx_packets = s.rx_bytes = s.tx_packets = s.tx_bytes = 0;
        if (n_allocated_++ == 0) {
            start_monitor_locked();
        }
        return uint16_t(i);
    }
    return Error{ENOSPC, ifname + ": more than " + std::to_string(kMaxSlots) +
                             " afxdp ports: no fast-path output slot left"};
}

void OutputRegistry::release(uint16_t slot) noexcept
{
    bool last;
    {
        std::lock_guard<std::mutex> guard(mutex_);
        Slot &s = slots_[slot];
        if (!s.allocated) {
            return;
        }
        s.allocated = false;
        s.ifindex = 0;
        sync_slot_locked(slot);
        last = --n_allocated_ == 0;
    }
    if (last) {
        stop_monitor();
    }
}

void OutputRegistry::hold_output(uint16_t slot) noexcept
{
    std::lock_guard<std::mutex> guard(mutex_);
    slots_[slot].flows++;
}

void OutputRegistry::drop_output(uint16_t slot) noexcept
{
    std::lock_guard<std::mutex> guard(mutex_);
    if (slots_[slot].flows) {
        slots_[slot].flows--;
    }
}

void OutputRegistry::set_device(uint16_t slot, int ifindex)
{
    std::lock_guard<std::mutex> guard(mutex_);
    Slot &s = slots_[slot];
    s.ifindex = ifindex;
    s.ndo_xmit =
        ifindex > 0 && (query_features_locked(ifindex) & kXdpActNdoXmit) != 0;
    sync_slot_locked(slot);
}

bool OutputRegistry::usable_locked(const Slot &s, bool generic) const noexcept
{
    return s.allocated && s.ifindex > 0 && (generic || s.ndo_xmit);
}

bool OutputRegistry::usable(uint16_t slot, bool generic_program)
{
    std::lock_guard<std::mutex> guard(mutex_);
    return usable_locked(slots_[slot], generic_program);
}

// Every program's devmap entry for 'slot' as the slot's state says.
void OutputRegistry::sync_slot_locked(uint16_t slot) noexcept
{
    const Slot &s = slots_[slot];
    for (FlowMaps *p : programs_) {
        if (usable_locked(s, p->generic_mode())) {
            p->set_output(slot, s.ifindex);
        } else {
            p->clear_output(slot);
        }
    }
}

// ---- Programs and tables
// ------------------------------------------------------------

void OutputRegistry::attach_program(FlowMaps *maps) noexcept
{
    std::lock_guard<std::mutex> guard(mutex_);
    programs_.push_back(maps);
    for (uint32_t i = 0; i < kMaxSlots; i++) {
        if (usable_locked(slots_[i], maps->generic_mode())) {
            maps->set_output(uint16_t(i), slots_[i].ifindex);
        }
    }
}

void OutputRegistry::detach_program(FlowMaps *maps) noexcept
{
    std::lock_guard<std::mutex> guard(mutex_);
    programs_.erase(std::remove(programs_.begin(), programs_.end(), maps),
                    programs_.end());
}

void OutputRegistry::add_table(const std::shared_ptr<FlowTable> &table)
{
    std::lock_guard<std::mutex> guard(tables_mutex_);
    tables_.push_back(table);
}

// Waits for a port_traffic() in progress, which may hold the table.
void OutputRegistry::remove_table(const FlowTable *table) noexcept
{
    std::lock_guard<std::mutex> guard(tables_mutex_);
    tables_.erase(std::remove_if(tables_.begin(), tables_.end(),
                                 [table](const std::weak_ptr<FlowTable> &w) {
                                     auto t = w.lock();
                                     return !t || t.get() == table;
                                 }),
                  tables_.end());
}

// ---- Traffic
// ------------------------------------------------------------------------

void OutputRegistry::add_retired(uint16_t rx_slot, uint16_t tx_slot,
                                 bool has_tx, uint64_t packets, uint64_t bytes,
                                 uint64_t tx_bytes) noexcept
{
    Slot &rx = slots_[rx_slot];
    rx.rx_packets.fetch_add(packets, std::memory_order_relaxed);
    rx.rx_bytes.fetch_add(bytes, std::memory_order_relaxed);
    if (has_tx) {
        Slot &tx = slots_[tx_slot];
        tx.tx_packets.fetch_add(packets, std::memory_order_relaxed);
        tx.tx_bytes.fetch_add(tx_bytes, std::memory_order_relaxed);
    }
}

PortTraffic OutputRegistry::port_traffic(uint16_t slot)
{
    // The table lock for the whole read, so that remove_table() waits
    // until this thread no longer holds the tables; not the registry's
    // lock: tables take theirs, then may call in.
    std::lock_guard<std::mutex> tables_guard(tables_mutex_);
    PortTraffic t;
    {
        std::lock_guard<std::mutex> guard(mutex_);
        const Slot &s = slots_[slot];
        t.rx_packets = s.rx_packets.load(std::memory_order_relaxed);
        t.rx_bytes = s.rx_bytes.load(std::memory_order_relaxed);
        t.tx_packets = s.tx_packets.load(std::memory_order_relaxed);
        t.tx_bytes = s.tx_bytes.load(std::memory_order_relaxed);
    }
    for (const auto &w : tables_) {
        if (auto table = w.lock()) {
            table->add_live_traffic(slot, t);
        }
    }
    return t;
}

// ---- XDP features
// -------------------------------------------------------------------

bool OutputRegistry::features_known()
{
    std::lock_guard<std::mutex> guard(mutex_);
    return query_.has_value();
}

// The device's NETDEV_XDP_ACT_* bits, or 0 (not usable by native-mode
// programs) when they cannot be read: when in doubt, do not redirect.
uint64_t OutputRegistry::query_features_locked(int ifindex) noexcept
{
    try {
        if (!query_) {
            auto f = XdpFeatures::open();
            if (!f) {
                if (!features_unknown_logged_) {
                    features_unknown_logged_ = true;
                    log(AFXDP_LOG_WARN,
                        "XDP fast path: cannot read devices' XDP features "
                        "(%s); native-mode programs will not redirect "
                        "between ports",
                        f.error().message.c_str());
                }
                return 0;
            }
            query_.emplace(std::move(f).value());
        }
        auto features = query_->query(ifindex);
        if (!features) {
            log(AFXDP_LOG_DBG, "XDP features of ifindex %d: %s", ifindex,
                features.error().message.c_str());
            return 0;
        }
        return features.value();
    } catch (...) {  // std::bad_alloc, std::system_error of a lock.
        return 0;
    }
}

void OutputRegistry::on_features(int ifindex, uint64_t features) noexcept
{
    std::lock_guard<std::mutex> guard(mutex_);
    for (uint32_t i = 0; i < kMaxSlots; i++) {
        Slot &s = slots_[i];
        if (!s.allocated || s.ifindex != ifindex) {
            continue;
        }
        bool ndo_xmit = (features & kXdpActNdoXmit) != 0;
        if (ndo_xmit != s.ndo_xmit) {
            // The maps first: frames are lost until they change.
            s.ndo_xmit = ndo_xmit;
            sync_slot_locked(uint16_t(i));
            log(AFXDP_LOG_INFO,
                "%s: %s XDP redirects: fast-path output to it %s",
                s.ifname.c_str(), ndo_xmit ? "accepts" : "no longer accepts",
                ndo_xmit ? "resumes" : "falls back to OVS");
        }
    }
}

void OutputRegistry::requery_all()
{
    std::lock_guard<std::mutex> guard(mutex_);
    for (uint32_t i = 0; i < kMaxSlots; i++) {
        Slot &s = slots_[i];
        if (s.allocated && s.ifindex > 0) {
            s.ndo_xmit =
                (query_features_locked(s.ifindex) & kXdpActNdoXmit) != 0;
            sync_slot_locked(uint16_t(i));
        }
    }
}

void OutputRegistry::start_monitor_locked() noexcept
{
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) {
        log(AFXDP_LOG_WARN, "XDP fast path: eventfd: %s", std::strerror(errno));
        return;
    }
    monitor_ = std::thread([this] { monitor_main(); });
}

void OutputRegistry::stop_monitor() noexcept
{
    if (!monitor_.joinable()) {
        return;
    }
    uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof one) < 0) {
        log(AFXDP_LOG_WARN, "XDP fast path: waking the monitor: %s",
            std::strerror(errno));
    }
    monitor_.join();
    close(wake_fd_);
    wake_fd_ = -1;
}

// Follows NETDEV_CMD_DEV_CHANGE_NTF until woken through 'wake_fd_'.
void OutputRegistry::monitor_main() noexcept
{
    // Every frame redirected to a device between the kernel clearing its
    // NDO_XMIT bit and our devmap update is dropped, so the wake-up must
    // not wait for a time slice behind busy PMD threads: the lowest
    // real-time priority preempts them for the few microseconds of work
    // and sleeps otherwise.  Without the privilege it runs as it is.
    sched_param param{};
    param.sched_priority = 1;
    if (int err = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param)) {
        log(AFXDP_LOG_DBG, "XDP fast path monitor: no real-time priority: %s",
            std::strerror(err));
    }
    pthread_setname_np(pthread_self(), "afxdp_monitor");
    try {
        monitor_loop();
    } catch (...) {  // std::bad_alloc, std::system_error of a lock.
        log(AFXDP_LOG_ERR, "XDP fast path monitor stopped on an error; "
                           "output ports keep their last state");
    }
}

void OutputRegistry::monitor_loop()
{
    auto f = XdpFeatures::open();
    if (!f || !f.value().subscribe()) {
        // query_features_locked() says why, once.
        return;
    }
    XdpFeatures watch = std::move(f).value();
    // Changes before the subscription are not lost: each set_device()
    // queries the device after this thread started.
    requery_all();
    for (;;) {
        pollfd fds[2] = {{watch.fd(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            return;
        }
        if (fds[1].revents) {
            return;
        }
        auto r = watch.drain([this](int ifindex, uint64_t features) {
            on_features(ifindex, features);
        });
        if (!r && r.error().code == ENOBUFS) {
            requery_all();  // Notifications were lost.
        }
    }
}

}  // namespace afxdp::offload
