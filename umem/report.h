/*
 * Errors the umem layer detects on its own hot paths (a chunk released
 * twice, a pool pushed past its capacity) are bugs of its callers, found
 * at run time in every build.  They are counted by the object that saw
 * them and reported here as one line of text.
 *
 * umem/ cannot include the provider's log (nothing below umem/ includes
 * from above it), so the layer above installs a hook; without one, reports
 * go to stderr.  report_error() is for error paths only: it formats on the
 * stack and calls the hook, which may take locks.  Callers limit the rate
 * themselves (should_report()).
 */
#ifndef AFXDP_UMEM_REPORT_H
#define AFXDP_UMEM_REPORT_H

#include <bit>
#include <cstdint>

namespace afxdp::umem {

using ErrorHook = void (*)(const char *message);

// Installs 'hook' (nullptr: back to stderr).  Any thread, any time.
void set_error_hook(ErrorHook hook) noexcept;

void report_error(const char *format, ...) noexcept
    __attribute__((format(printf, 1, 2)));

// Whether an error count going from 'before' to 'after' deserves a log
// line: when it passes 1, 2, 4, 8... so a bug that fires per packet logs a
// few dozen lines in all, not millions.
constexpr bool should_report(uint64_t before, uint64_t after) noexcept
{
    return std::bit_width(before) != std::bit_width(after);
}

}  // namespace afxdp::umem

#endif  // AFXDP_UMEM_REPORT_H
