// PageMapping: huge pages when the system has them, a fall-back to normal
// pages that still works, alignment, zeroed memory, and move semantics.
// Which kind a large mapping gets depends on the machine (reserved
// hugetlb pages, the THP setting); the test reads both and checks that
// the mapping says what it is.
#include "umem/page_mapping.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>

namespace afxdp::umem {
namespace {

constexpr size_t kHuge = PageMapping::kHugePageSize;

long hugetlb_free()
{
    std::ifstream f("/proc/meminfo");
    std::string key;
    long value = 0;
    while (f >> key >> value) {
        if (key == "HugePages_Free:") {
            return value;
        }
        f.ignore(256, '\n');
    }
    return 0;
}

bool thp_possible()
{
    std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string s;
    std::getline(f, s);
    return s.find("[never]") == std::string::npos && !s.empty();
}

void check_usable(const PageMapping &m, size_t bytes)
{
    ASSERT_NE(m.data(), nullptr);
    EXPECT_EQ(m.size(), bytes);
    EXPECT_GE(m.mapped(), bytes);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(m.data()) % 4096, 0u);
    for (size_t i = 0; i < bytes; i += 4096) {
        EXPECT_EQ(m.data()[i], 0) << i;
    }
    std::memset(m.data(), 0x5a, bytes);
}

TEST(PageMapping, SmallMappingsUseNormalPages)
{
    auto r = PageMapping::create(size_t{64} * 1024, -1, true);
    ASSERT_TRUE(r.ok()) << r.error().message;
    check_usable(r.value(), size_t{64} * 1024);
    EXPECT_EQ(r.value().kind(), PageKind::kNormal);
    EXPECT_STREQ(page_kind_name(r.value().kind()), "none");
}

TEST(PageMapping, WithoutHugePagesAsked)
{
    auto r = PageMapping::create(4 * kHuge, -1, false);
    ASSERT_TRUE(r.ok()) << r.error().message;
    check_usable(r.value(), 4 * kHuge);
    EXPECT_EQ(r.value().kind(), PageKind::kNormal);
    EXPECT_EQ(r.value().huge_bytes(), 0u);
}

TEST(PageMapping, LargeMappingsTryHugePages)
{
    long free_before = hugetlb_free();
    auto r = PageMapping::create(3 * kHuge + 4096, 0, true);
    ASSERT_TRUE(r.ok()) << r.error().message;
    const PageMapping &m = r.value();
    check_usable(m, 3 * kHuge + 4096);
    // Huge attempts map whole, aligned huge pages.
    EXPECT_EQ(m.mapped(), 4 * kHuge);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(m.data()) % kHuge, 0u);
    if (free_before >= 4) {
        EXPECT_EQ(m.kind(), PageKind::kHugetlb);
        EXPECT_EQ(m.huge_bytes(), 4 * kHuge);
        EXPECT_EQ(hugetlb_free(), free_before - 4);
    } else if (m.kind() == PageKind::kTransparentHuge) {
        EXPECT_TRUE(thp_possible());
        EXPECT_GT(m.huge_bytes(), 0u);
        EXPECT_LE(m.huge_bytes(), m.mapped());
    } else {
        // No reserved pages and no THP backing (THP off, or no free
        // 2 MiB blocks): normal pages, said so.
        EXPECT_EQ(m.kind(), PageKind::kNormal);
        EXPECT_EQ(m.huge_bytes(), 0u);
    }
}

TEST(PageMapping, MovesOwnership)
{
    auto r = PageMapping::create(8192, -1, true);
    ASSERT_TRUE(r.ok());
    PageMapping a = std::move(r).value();
    char *p = a.data();
    PageMapping b = std::move(a);
    EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(b.data(), p);
    PageMapping c;
    c = std::move(b);
    EXPECT_EQ(c.data(), p);
    p[0] = 1;
}

TEST(PageMapping, ZeroBytesIsEinval)
{
    auto r = PageMapping::create(0, -1, true);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, EINVAL);
}

}  // namespace
}  // namespace afxdp::umem
