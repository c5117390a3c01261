/*
 * ChunkStates: where every chunk of one UMEM is, one 16-bit word per chunk.
 *
 * Two things need to know a chunk's state, and both used to guess it:
 *
 *  - Releasing a chunk the caller does not hold (a double free of a
 *    dp_packet, a stale pointer) used to push the same address onto the
 *    free list twice: two frames later land in one chunk, and the pool's
 *    stack overflows into the heap.  With a state per chunk, release()
 *    refuses any chunk that is not held, in every build, and the caller
 *    counts and logs the error instead of corrupting memory.
 *
 *  - A socket that closes takes with it the chunks we lent to the kernel
 *    through it (its fill ring, the kernel's own buffer cache, its rx, tx
 *    and completion rings).  With one UMEM shared by many sockets those
 *    chunks must come back to the pool, and the only way to find them is
 *    to remember which socket each lent chunk went to: the state of a lent
 *    chunk is its owner's tag, and reclaim() returns every chunk still
 *    lent to a tag.
 *
 * States: kFree (in the pool or a thread's cache), kHeld (by the caller,
 * received or taken for transmission), or an owner tag >= kFirstOwner
 * (lent to the kernel through that owner's rings).
 *
 * Each word has one writer at a time, the thread that owns the chunk at
 * that moment; ownership passes between threads through the rings, the
 * pool's lock or the caller's own synchronisation.  So the words are
 * relaxed atomics: a plain 16-bit load or store on every architecture we
 * build for, never a read-modify-write.  The check in release() is
 * therefore best effort against two threads releasing one chunk at the
 * same instant, and exact against the common bug, a second release after
 * the first.
 */
#ifndef AFXDP_UMEM_CHUNK_STATES_H
#define AFXDP_UMEM_CHUNK_STATES_H

#include <atomic>
#include <cstdint>
#include <memory>

namespace afxdp::umem {

class ChunkStates {
public:
    static constexpr uint16_t kFree = 0;
    static constexpr uint16_t kHeld = 1;
    static constexpr uint16_t kFirstOwner = 2;
    static constexpr uint16_t kLastOwner = 0xffff;

    // 'n_chunks' chunks, all free.  Throws std::bad_alloc only.
    explicit ChunkStates(uint32_t n_chunks);
    ChunkStates(const ChunkStates &) = delete;
    ChunkStates &operator=(const ChunkStates &) = delete;

    // ---- Hot path ----------------------------------------------------
    uint16_t get(uint32_t chunk) const noexcept
    {
        return states_[chunk].load(std::memory_order_relaxed);
    }
    void set(uint32_t chunk, uint16_t state) noexcept
    {
        states_[chunk].store(state, std::memory_order_relaxed);
    }

    // The words themselves, for loops that keep the array's address in a
    // register (stores through other pointers would make the compiler
    // reload it from this object on every iteration).
    std::atomic<uint16_t> *words() noexcept { return states_.get(); }

    static void set(std::atomic<uint16_t> *words, uint32_t chunk,
                    uint16_t state) noexcept
    {
        words[chunk].store(state, std::memory_order_relaxed);
    }

    // Held -> free.  False, and nothing changed, when 'chunk' was not held.
    bool release(uint32_t chunk) noexcept
    {
        if (get(chunk) != kHeld) {
            return false;
        }
        set(chunk, kFree);
        return true;
    }

    // ---- Control path ------------------------------------------------
    // Every chunk lent to 'owner' becomes free; their addresses (index <<
    // 'chunk_shift') go to 'addrs', which has room for n_chunks().
    // Returns how many.  Only for an owner whose rings nobody uses any
    // more: nothing else may change those chunks meanwhile.
    uint32_t reclaim(uint16_t owner, uint32_t chunk_shift,
                     uint64_t *addrs) noexcept;

    // Chunks in 'state' (a snapshot: exact only when nothing moves).
    uint32_t count(uint16_t state) const noexcept;

    uint32_t n_chunks() const noexcept { return n_chunks_; }

private:
    const uint32_t n_chunks_;
    std::unique_ptr<std::atomic<uint16_t>[]> states_;
};

}  // namespace afxdp::umem

#endif  // AFXDP_UMEM_CHUNK_STATES_H
