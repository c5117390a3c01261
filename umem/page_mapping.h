/*
 * PageMapping: anonymous memory for a UMEM or its metadata slots, on huge
 * pages when the system has them, on the requested NUMA node, populated.
 *
 * Why huge pages: a 4 KiB-page UMEM puts every frame on its own page, so
 * receiving, parsing and transmitting a burst walks 32 pages and their TLB
 * entries, about one dTLB miss per frame once the UMEM is larger than the
 * TLB reaches.  On 2 MiB pages one entry covers 512 chunks.
 *
 * What we try, in order:
 *  1. hugetlbfs pages (MAP_HUGETLB): only if the administrator reserved
 *     them (vm.nr_hugepages); the mmap fails at once when too few are
 *     free, and we fall back;
 *  2. transparent huge pages: a 2 MiB-aligned normal mapping with
 *     MADV_HUGEPAGE, which the kernel backs with huge pages when THP is
 *     "always" or "madvise" and it finds free 2 MiB blocks; we read back
 *     what it did (AnonHugePages in /proc/self/smaps) to report it;
 *  3. normal pages.
 * kind() says which one the memory ended up on, for the port's status.
 *
 * The NUMA node is bound before the first touch, so pages are born there
 * rather than migrated; then the whole range is populated, so the first
 * frames do not page-fault (the kernel pins a UMEM when it is registered
 * anyway).  Small mappings (under half a huge page) skip the huge attempts.
 */
#ifndef AFXDP_UMEM_PAGE_MAPPING_H
#define AFXDP_UMEM_PAGE_MAPPING_H

#include <cstddef>
#include <cstdint>

#include "umem/result.h"

namespace afxdp::umem {

enum class PageKind {
    kHugetlb,          // MAP_HUGETLB, 2 MiB pages reserved by the admin.
    kTransparentHuge,  // THP backed at least part of it.
    kNormal,           // 4 KiB pages.
};

// "hugetlb", "thp", "none".
const char *page_kind_name(PageKind kind) noexcept;

class PageMapping {
public:
    static constexpr size_t kHugePageSize = size_t{2} << 20;

    // 'bytes' of zeroed, populated memory on 'numa_node' (-1: any), on
    // huge pages if 'try_huge' and possible.  Errors: mmap's errno.
    static Result<PageMapping> create(size_t bytes, int numa_node,
                                      bool try_huge);

    PageMapping() = default;
    PageMapping(PageMapping &&other) noexcept;
    PageMapping &operator=(PageMapping &&other) noexcept;
    PageMapping(const PageMapping &) = delete;
    PageMapping &operator=(const PageMapping &) = delete;
    ~PageMapping();

    char *data() const noexcept { return data_; }
    size_t size() const noexcept { return size_; }  // As requested.
    size_t mapped() const noexcept { return mapped_; }
    PageKind kind() const noexcept { return kind_; }
    // Bytes the kernel backs with huge pages (all of it for hugetlb).
    size_t huge_bytes() const noexcept { return huge_bytes_; }

private:
    PageMapping(char *data, size_t size, size_t mapped, PageKind kind,
                size_t huge_bytes) noexcept
        : data_(data), size_(size), mapped_(mapped), kind_(kind),
          huge_bytes_(huge_bytes)
    {
    }

    char *data_ = nullptr;
    size_t size_ = 0;
    size_t mapped_ = 0;
    PageKind kind_ = PageKind::kNormal;
    size_t huge_bytes_ = 0;
};

}  // namespace afxdp::umem

#endif  // AFXDP_UMEM_PAGE_MAPPING_H
