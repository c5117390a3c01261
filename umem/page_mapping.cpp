/*
 * PageMapping implementation: the three attempts of page_mapping.h, the
 * NUMA binding and the population, and reading back from /proc/self/smaps
 * how much of a THP-advised range the kernel really put on huge pages.
 */
#include "umem/page_mapping.h"

#include <numa.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

namespace afxdp::umem {

namespace {

constexpr size_t kHuge = PageMapping::kHugePageSize;

size_t round_up(size_t x, size_t to)
{
    return (x + to - 1) / to * to;
}

bool want_numa(int numa_node)
{
    return numa_node >= 0 && numa_available() >= 0;
}

// Binds (if asked) and faults every page in, on the bound node.
void bind_and_populate(char *p, size_t len, int numa_node)
{
    if (want_numa(numa_node)) {
        numa_tonode_memory(p, len, numa_node);
    }
    if (madvise(p, len, MADV_POPULATE_WRITE) != 0) {
        // Kernels before 5.14: touching every byte does the same.
        std::memset(p, 0, len);
    }
}

char *try_hugetlb(size_t len)
{
    void *p = mmap(nullptr, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    return p == MAP_FAILED ? nullptr : static_cast<char *>(p);
}

// A normal mapping of 'len' bytes starting on a 'align' boundary: map
// 'align' more and cut off both ends.
char *map_aligned(size_t len, size_t align, int *err)
{
    size_t over = len + align;
    void *p = mmap(nullptr, over, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        *err = errno;
        return nullptr;
    }
    char *raw = static_cast<char *>(p);
    size_t lead = (align - reinterpret_cast<uintptr_t>(raw) % align) % align;
    char *start = raw + lead;
    if (lead) {
        munmap(raw, lead);
    }
    if (over - lead > len) {
        munmap(start + len, over - lead - len);
    }
    return start;
}

// AnonHugePages of the mapping that starts at 'p', in bytes: smaps has a
// header line "start-end perms ..." per mapping, then "Key: value kB"
// lines.
size_t thp_bytes(const char *p)
{
    FILE *f = std::fopen("/proc/self/smaps", "re");
    if (!f) {
        return 0;
    }
    static const char kKey[] = "AnonHugePages:";
    char line[512];
    bool ours = false;
    size_t kb = 0;
    while (std::fgets(line, sizeof line, f)) {
        char *end = nullptr;
        unsigned long long start = std::strtoull(line, &end, 16);
        if (end != line && *end == '-') {
            if (ours) {
                break;  // Past our mapping without the key.
            }
            ours = start == reinterpret_cast<uintptr_t>(p);
        } else if (ours && !std::strncmp(line, kKey, sizeof kKey - 1)) {
            kb = std::strtoull(line + sizeof kKey - 1, nullptr, 10);
            break;
        }
    }
    static_cast<void>(std::fclose(f));
    return kb * 1024;
}

}  // namespace

const char *page_kind_name(PageKind kind) noexcept
{
    switch (kind) {
    case PageKind::kHugetlb: return "hugetlb";
    case PageKind::kTransparentHuge: return "thp";
    case PageKind::kNormal: return "none";
    }
    return "?";
}

Result<PageMapping> PageMapping::create(size_t bytes, int numa_node,
                                        bool try_huge)
{
    if (bytes == 0) {
        return Error{EINVAL, "cannot map 0 bytes"};
    }
    bool huge = try_huge && bytes >= kHuge / 2;

    if (huge) {
        size_t len = round_up(bytes, kHuge);
        if (char *p = try_hugetlb(len)) {
            bind_and_populate(p, len, numa_node);
            return PageMapping(p, bytes, len, PageKind::kHugetlb, len);
        }
    }

    size_t len = round_up(bytes, huge ? kHuge : 4096);
    int err = 0;
    char *p = map_aligned(len, huge ? kHuge : 4096, &err);
    if (!p) {
        return Error{err, "mmap of " + std::to_string(len) +
                              " bytes failed: " + std::strerror(err)};
    }
    if (huge) {
        // Only advice: with THP "never" the kernel ignores it.
        madvise(p, len, MADV_HUGEPAGE);
    }
    bind_and_populate(p, len, numa_node);
    size_t thp = huge ? thp_bytes(p) : 0;
    return PageMapping(p, bytes, len,
                       thp ? PageKind::kTransparentHuge : PageKind::kNormal,
                       thp);
}

PageMapping::PageMapping(PageMapping &&other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(other.size_),
      mapped_(std::exchange(other.mapped_, 0)), kind_(other.kind_),
      huge_bytes_(other.huge_bytes_)
{
}

PageMapping &PageMapping::operator=(PageMapping &&other) noexcept
{
    if (this != &other) {
        if (data_) {
            munmap(data_, mapped_);
        }
        data_ = std::exchange(other.data_, nullptr);
        size_ = other.size_;
        mapped_ = std::exchange(other.mapped_, 0);
        kind_ = other.kind_;
        huge_bytes_ = other.huge_bytes_;
    }
    return *this;
}

PageMapping::~PageMapping()
{
    if (data_) {
        munmap(data_, mapped_);
    }
}

}  // namespace afxdp::umem
