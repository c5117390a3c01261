/*
 * Errors as values for the control path.  A Result<T> holds either a T or an
 * Error (a positive errno, as OVS expects, plus a message naming the device
 * and the cause).  Libbpf and libxdp return negative errnos; convert them
 * with Error::from_negative() so the sign flips in exactly one place.
 *
 * std::expected would do this under C++23; we target C++20.
 *
 * Shared by every layer (umem/ and netdev-afxdp/ both return Results), so
 * it lives in umem/, the lowest, and includes nothing of ours.
 */
#ifndef AFXDP_UMEM_RESULT_H
#define AFXDP_UMEM_RESULT_H

#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace afxdp {

struct Error {
    int code = 0;  // Positive errno.
    std::string message;

    static Error from_negative(int negative_errno, std::string message)
    {
        return Error{negative_errno < 0 ? -negative_errno : negative_errno,
                     std::move(message)};
    }
};

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error error) : v_(std::move(error)) {}

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T &value() & { return std::get<0>(v_); }
    T &&value() && { return std::get<0>(std::move(v_)); }
    const Error &error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

// Result of an operation that yields nothing but may fail.
template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), failed_(true) {}

    bool ok() const noexcept { return !failed_; }
    explicit operator bool() const noexcept { return ok(); }
    const Error &error() const { return error_; }

private:
    Error error_;
    bool failed_ = false;
};

}  // namespace afxdp

#endif  // AFXDP_UMEM_RESULT_H
