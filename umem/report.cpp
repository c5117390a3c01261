/*
 * report_error(): format on the stack, hand to the installed hook.
 */
#include "umem/report.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>

namespace afxdp::umem {

namespace {

std::atomic<ErrorHook> error_hook{nullptr};

}  // namespace

void set_error_hook(ErrorHook hook) noexcept
{
    error_hook.store(hook, std::memory_order_release);
}

void report_error(const char *format, ...) noexcept
{
    char message[256];
    va_list args;
    va_start(args, format);
    std::vsnprintf(message, sizeof message, format, args);
    va_end(args);

    ErrorHook hook = error_hook.load(std::memory_order_acquire);
    if (hook) {
        hook(message);
    } else {
        std::fprintf(stderr, "afxdp umem: %s\n", message);
    }
}

}  // namespace afxdp::umem
