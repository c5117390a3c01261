/*
 * The core's log and the routing of libbpf's and libxdp's messages into it.
 *
 * Libraries print through global hooks (libbpf_set_print, libxdp_set_print)
 * with their own three levels; we install our hooks once, map their levels
 * onto ours and hand everything to one handler (the umem layer's error
 * reports too, as errors), so that ovs-vswitchd.log
 * shows why a BPF load or a socket bind failed.  Before a handler is
 * installed, messages go to stderr without DBG, which is about what libbpf
 * does by default.
 */
#include "netdev-afxdp/log.h"
#include "netdev-afxdp/log_hooks.h"

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "netdev-afxdp/afxdp.h"
#include "umem/report.h"

namespace afxdp {

namespace {

std::atomic<afxdp_log_fn *> log_handler{nullptr};

// QuietLibraryLog's depth on this thread.
thread_local int quiet_depth = 0;

// A library's level, or DBG while a probe runs on this thread.
afxdp_log_level library_level(afxdp_log_level level)
{
    return quiet_depth > 0 ? AFXDP_LOG_DBG : level;
}

const char *level_name(afxdp_log_level level)
{
    switch (level) {
    case AFXDP_LOG_ERR: return "ERR";
    case AFXDP_LOG_WARN: return "WARN";
    case AFXDP_LOG_INFO: return "INFO";
    case AFXDP_LOG_DBG: return "DBG";
    }
    return "?";
}

void vlog(afxdp_log_level level, const char *format, va_list args)
{
    afxdp_log_fn *fn = log_handler.load(std::memory_order_acquire);
    if (!fn && level == AFXDP_LOG_DBG) {
        return;
    }

    char message[1024];
    // The analyzer loses track of a va_list passed down from log()'s
    // va_start (x86-64 va_list is an array type).
    // NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized)
    vsnprintf(message, sizeof message, format, args);
    // Library messages end in a newline; OVS's log adds its own.
    size_t len = strlen(message);
    while (len && (message[len - 1] == '\n' || message[len - 1] == '\r')) {
        message[--len] = '\0';
    }

    if (fn) {
        fn(level, message);
    } else {
        fprintf(stderr, "afxdp|%s|%s\n", level_name(level), message);
    }
}

int print_libbpf(enum libbpf_print_level level, const char *format,
                 va_list args)
{
    afxdp_log_level our = level == LIBBPF_WARN   ? AFXDP_LOG_WARN
                          : level == LIBBPF_INFO ? AFXDP_LOG_INFO
                                                 : AFXDP_LOG_DBG;
    vlog(library_level(our), format, args);
    return 0;
}

int print_libxdp(enum libxdp_print_level level, const char *format,
                 va_list args)
{
    afxdp_log_level our = level == LIBXDP_WARN   ? AFXDP_LOG_WARN
                          : level == LIBXDP_INFO ? AFXDP_LOG_INFO
                                                 : AFXDP_LOG_DBG;
    vlog(library_level(our), format, args);
    return 0;
}

void print_umem(const char *message)
{
    log(AFXDP_LOG_ERR, "%s", message);
}

}  // namespace

void log(afxdp_log_level level, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vlog(level, format, args);
    va_end(args);
}

void install_library_log_hooks()
{
    static std::once_flag once;
    std::call_once(once, [] {
        libbpf_set_print(print_libbpf);
        libxdp_set_print(print_libxdp);
        umem::set_error_hook(print_umem);
    });
}

QuietLibraryLog::QuietLibraryLog() noexcept
{
    quiet_depth++;
}

QuietLibraryLog::~QuietLibraryLog()
{
    quiet_depth--;
}

}  // namespace afxdp

extern "C" void afxdp_set_log_handler(afxdp_log_fn *fn)
{
    afxdp::log_handler.store(fn, std::memory_order_release);
    afxdp::install_library_log_hooks();
}
