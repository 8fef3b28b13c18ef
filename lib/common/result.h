#pragma once
// Result<T>: a value or a std::error_code. GCC 12 has no std::expected; this is the
// small subset the project needs.

#include <cassert>
#include <system_error>
#include <utility>
#include <variant>

namespace ub {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit on purpose
  Result(std::error_code error) : state_(error) { assert(error); }  // NOLINT

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }

  std::error_code error() const {
    return ok() ? std::error_code{} : std::get<std::error_code>(state_);
  }

  T& value() & { return std::get<T>(state_); }
  const T& value() const& { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

 private:
  std::variant<T, std::error_code> state_;
};

// An errno value as an error_code; `err` may be negative (liburing style).
inline std::error_code errno_code(int err) {
  return {err < 0 ? -err : err, std::system_category()};
}

}  // namespace ub
