/*
 * Where memory actually landed, for the tests that ask for a NUMA node.
 *
 * Two kernel views, both read without touching the memory (a read or a
 * write would fault absent pages in and hide that nothing populated them):
 *  - move_pages(2) with no target nodes moves nothing and reports, per page,
 *    the node holding it, or -ENOENT when the page is not present;
 *  - get_mempolicy(2) with MPOL_F_ADDR reports the policy of the mapping
 *    holding an address: mbind(MPOL_BIND) to the node when libnuma bound it
 *    (numa_tonode_memory(), numa_alloc_onnode()), MPOL_DEFAULT otherwise.
 * On a one-node machine the node check alone would pass for any memory;
 * the policy check is what tells a bound mapping from an unbound one.
 */
#ifndef AFXDP_TESTS_UNIT_NUMA_PLACEMENT_H
#define AFXDP_TESTS_UNIT_NUMA_PLACEMENT_H

#include <gtest/gtest.h>
#include <numa.h>
#include <numaif.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

namespace afxdp::test {

// Every page of [addr, addr + len) is present and on 'node' (any node if
// 'node' is negative).
inline ::testing::AssertionResult pages_on_node(const void *addr, size_t len,
                                                int node)
{
    const auto page = size_t(sysconf(_SC_PAGESIZE));
    const char *start = static_cast<const char *>(addr);
    size_t lead = reinterpret_cast<uintptr_t>(addr) & (page - 1);
    std::vector<void *> pages;
    for (size_t off = 0; off < lead + len; off += page) {
        pages.push_back(const_cast<char *>(start - lead + off));
    }
    std::vector<int> status(pages.size(), -1);
    if (numa_move_pages(0, pages.size(), pages.data(), nullptr, status.data(),
                        0) != 0) {
        return ::testing::AssertionFailure()
               << "move_pages: " << std::strerror(errno);
    }
    for (size_t i = 0; i < pages.size(); i++) {
        if (status[i] == -ENOENT) {
            return ::testing::AssertionFailure()
                   << "page " << i << " of " << pages.size()
                   << " is not populated";
        }
        if (status[i] < 0 || (node >= 0 && status[i] != node)) {
            return ::testing::AssertionFailure()
                   << "page " << i << " of " << pages.size() << ": "
                   << (status[i] < 0 ? std::strerror(-status[i])
                                     : "on node " + std::to_string(status[i]))
                   << ", expected node " << node;
        }
    }
    return ::testing::AssertionSuccess();
}

// The policy of the mapping holding 'addr' (MPOL_DEFAULT, MPOL_BIND, ...);
// 'nodes' gets its node mask.  -1 on error.
inline int mapping_policy(const void *addr, unsigned long *nodes)
{
    int mode = -1;
    *nodes = 0;
    if (get_mempolicy(&mode, nodes, sizeof *nodes * 8, const_cast<void *>(addr),
                      MPOL_F_ADDR) != 0) {
        return -1;
    }
    return mode;
}

// The mapping holding [addr, addr + len) is bound to exactly 'node'.
inline ::testing::AssertionResult bound_to_node(const void *addr, size_t len,
                                                int node)
{
    for (const char *p : {static_cast<const char *>(addr),
                          static_cast<const char *>(addr) + len - 1}) {
        unsigned long nodes = 0;
        int mode = mapping_policy(p, &nodes);
        if (mode != MPOL_BIND || nodes != 1UL << node) {
            return ::testing::AssertionFailure()
                   << "policy at offset " << p - static_cast<const char *>(addr)
                   << " is " << mode << " with node mask 0x" << std::hex
                   << nodes << ", expected MPOL_BIND (" << MPOL_BIND
                   << ") to node " << std::dec << node;
        }
    }
    return ::testing::AssertionSuccess();
}

}  // namespace afxdp::test

#endif  // AFXDP_TESTS_UNIT_NUMA_PLACEMENT_H
