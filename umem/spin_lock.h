/*
 * SpinLock: the smallest lock that is correct for our hot paths.
 *
 * The chunk pool and the per-queue tx lock are held for a handful of loads
 * and stores per batch (32 frames), far shorter than a futex round trip, and
 * the threads contending for them are OVS PMD threads that never sleep
 * anyway.  So a test-and-test-and-set spin on std::atomic_flag, with a CPU
 * pause while waiting, is both cheaper and simpler than std::mutex.  Never
 * hold it across anything that may block, nor across a syscall or a copy:
 * the tx lanes hold it to write descriptors only.  try_lock() is for
 * work that another holder does anyway (draining a completion ring).
 */
#ifndef AFXDP_UMEM_SPIN_LOCK_H
#define AFXDP_UMEM_SPIN_LOCK_H

#include <atomic>

namespace afxdp::umem {

class SpinLock {
public:
    SpinLock() = default;
    SpinLock(const SpinLock &) = delete;
    SpinLock &operator=(const SpinLock &) = delete;

    void lock() noexcept
    {
        while (flag_.test_and_set(std::memory_order_acquire)) {
            while (flag_.test(std::memory_order_relaxed)) {
                cpu_relax();
            }
        }
    }

    // Takes the lock only if nobody holds it: never waits.
    bool try_lock() noexcept
    {
        return !flag_.test(std::memory_order_relaxed) &&
               !flag_.test_and_set(std::memory_order_acquire);
    }

    void unlock() noexcept { flag_.clear(std::memory_order_release); }

private:
    static void cpu_relax() noexcept
    {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        asm volatile("yield" ::: "memory");
#endif
    }

    std::atomic_flag flag_ = ATOMIC_FLAG_INIT;
};

}  // namespace afxdp::umem

#endif  // AFXDP_UMEM_SPIN_LOCK_H
