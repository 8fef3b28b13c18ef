#pragma once
// The resolver's error category. Name lookups fail with codes that are not errnos:
// getaddrinfo's EAI_* values (negative in glibc) and gethostby*_r's h_errno values
// (small positive numbers that collide with EPERM, ENOENT, ...). Both live here, with the
// system's own messages, so they are never printed as the errno that shares their number.
// EAI_SYSTEM and NETDB_INTERNAL mean "see errno": those become system_category errors.

#include <netdb.h>

#include <string>
#include <system_error>

namespace ub::resolve {

enum class Error : int {
  // getaddrinfo/getnameinfo (values as in glibc's netdb.h; messages from gai_strerror).
  kBadFlags = EAI_BADFLAGS,
  kNoName = EAI_NONAME,
  kAgain = EAI_AGAIN,
  kFail = EAI_FAIL,
  kNoData = EAI_NODATA,
  kFamily = EAI_FAMILY,
  kSockType = EAI_SOCKTYPE,
  kService = EAI_SERVICE,
  kMemory = EAI_MEMORY,
  kOverflow = EAI_OVERFLOW,
  // gethostbyname_r/gethostbyaddr_r h_errno values (messages from hstrerror).
  kHostNotFound = HOST_NOT_FOUND,
  kTryAgain = TRY_AGAIN,
  kNoRecovery = NO_RECOVERY,
  kHostNoData = NO_DATA,
  // The resolver's own.
  kTimedOut = 100,         // the per-query deadline passed; the answer, if any, is dropped
  kServiceNotFound = 101,  // getservbyname found nothing (Python: "service/proto not found")
  kPortNotFound = 102,     // getservbyport found nothing (Python: "port/proto not found")
  kBadAddress = 103,       // reverse(): not a numeric IPv4/IPv6 address
  kBadQuery = 104,         // a query the engine cannot run (bad kind, port out of range)
  kShutdown = 105,         // the resolver was destroyed before the query ran
};

const std::error_category& resolve_category();

inline std::error_code make_error_code(Error e) {
  return {static_cast<int>(e), resolve_category()};
}

// A getaddrinfo/getnameinfo return value as an error_code (EAI_SYSTEM reads errno).
std::error_code gai_error(int eai);
// An h_errno value as an error_code (NETDB_INTERNAL reads errno).
std::error_code herrno_error(int herr);
// The getaddrinfo code glibc reports for a gethostby*_r h_errno, so a lookup made with
// gethostbyname2_r fails with the code (and message) Python's getaddrinfo-based
// socket.gethostbyname shows.
std::error_code herrno_as_gai_error(int herr);

// "[Errno -2] Name or service not known" for EAI and h_errno codes, as Python prints
// socket.gaierror and socket.herror; the bare message for the resolver's own codes.
std::string python_style_message(std::error_code error);

}  // namespace ub::resolve

template <>
struct std::is_error_code_enum<ub::resolve::Error> : std::true_type {};
