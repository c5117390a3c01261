/*
 * UmemRegistry implementation: a list of weak references, pruned as the
 * UMEMs go.  The registry itself is never destroyed (a function-local
 * static allocated once), so that no thread exiting after main() returns
 * finds it gone.
 */
#include "netdev-afxdp/umem_registry.h"

#include <algorithm>
#include <mutex>
#include <vector>

namespace afxdp::netdev {

namespace {

struct Registry {
    std::mutex mutex;
    std::vector<std::weak_ptr<SharedUmem>> shared;
    uint32_t next_id = 1;
};

Registry &registry()
{
    static Registry *r = new Registry;
    return *r;
}

}  // namespace

Result<std::shared_ptr<SharedUmem>> UmemRegistry::acquire(int numa_node,
                                                          uint32_t meta_size,
                                                          uint32_t n_queues,
                                                          bool share)
{
    Registry &r = registry();
    std::lock_guard<std::mutex> guard(r.mutex);
    std::erase_if(r.shared, [](const auto &w) { return w.expired(); });

    if (share && n_queues <= SharedUmem::kMaxQueues) {
        for (const auto &w : r.shared) {
            std::shared_ptr<SharedUmem> u = w.lock();
            if (u && u->numa_node() == numa_node &&
                u->meta_size() == meta_size && u->has_room(n_queues)) {
                return u;
            }
        }
    }
    auto u = SharedUmem::create(r.next_id++, numa_node, meta_size, share);
    if (!u) {
        return u.error();
    }
    if (share) {
        r.shared.push_back(u.value());
    }
    return u;
}

uint32_t UmemRegistry::shared_count()
{
    Registry &r = registry();
    std::lock_guard<std::mutex> guard(r.mutex);
    return uint32_t(std::count_if(r.shared.begin(), r.shared.end(),
                                  [](const auto &w) { return !w.expired(); }));
}

}  // namespace afxdp::netdev
