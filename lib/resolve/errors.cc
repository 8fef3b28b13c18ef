#include "resolve/errors.h"

#include <fmt/core.h>

#include <cerrno>
#include <string>

namespace ub::resolve {
namespace {

bool is_herrno(int code) { return code >= HOST_NOT_FOUND && code <= NO_DATA; }
bool is_gai(int code) { return code < 0; }

class ResolveCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "resolve"; }

  std::string message(int code) const override {
    if (is_gai(code)) return ::gai_strerror(code);
    if (is_herrno(code)) return ::hstrerror(code);
    switch (static_cast<Error>(code)) {
      case Error::kTimedOut:
        return "timed out";
      case Error::kServiceNotFound:
        return "service/proto not found";
      case Error::kPortNotFound:
        return "port/proto not found";
      case Error::kBadAddress:
        return "illegal IP address string";
      case Error::kBadQuery:
        return "invalid query";
      case Error::kShutdown:
        return "resolver shut down";
      default:
        return "unknown resolver error " + std::to_string(code);
    }
  }

  std::error_condition default_error_condition(int code) const noexcept override {
    switch (static_cast<Error>(code)) {
      case Error::kTimedOut:
        return std::errc::timed_out;
      case Error::kMemory:
        return std::errc::not_enough_memory;
      case Error::kBadAddress:
      case Error::kBadQuery:
        return std::errc::invalid_argument;
      default:
        return {code, *this};
    }
  }
};

std::error_code errno_or(int fallback) {
  const int err = errno;
  if (err != 0) return {err, std::system_category()};
  return {fallback, resolve_category()};
}

}  // namespace

const std::error_category& resolve_category() {
  static const ResolveCategory category;
  return category;
}

std::error_code gai_error(int eai) {
  if (eai == 0) return {};
  if (eai == EAI_SYSTEM) return errno_or(EAI_FAIL);
  return {eai, resolve_category()};
}

std::error_code herrno_error(int herr) {
  if (herr == 0) return make_error_code(Error::kHostNotFound);  // "failed, but said nothing"
  if (herr == NETDB_INTERNAL) return errno_or(NO_RECOVERY);
  return {herr, resolve_category()};
}

std::error_code herrno_as_gai_error(int herr) {
  switch (herr) {
    case HOST_NOT_FOUND:
      return make_error_code(Error::kNoName);
    case TRY_AGAIN:
      return make_error_code(Error::kAgain);
    case NO_DATA:
      return make_error_code(Error::kNoData);
    case NETDB_INTERNAL:
      return errno_or(EAI_FAIL);
    case NO_RECOVERY:
    default:
      return make_error_code(Error::kFail);
  }
}

std::string python_style_message(std::error_code error) {
  if (error.category() == resolve_category() &&
      (is_gai(error.value()) || is_herrno(error.value()))) {
    return fmt::format("[Errno {}] {}", error.value(), error.message());
  }
  if (error.category() == std::system_category()) {
    return fmt::format("[Errno {}] {}", error.value(), error.message());
  }
  return error.message();
}

}  // namespace ub::resolve
