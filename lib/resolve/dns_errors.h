#pragma once
// c-ares status codes in the resolver's error category. Decision: they map onto the codes
// the "system" engine reports (the h_errno glibc's stub resolver sets in the same case,
// then, for forward lookups, the EAI_* code getaddrinfo would give), not onto codes of
// their own, so the same input fails with the same code and message, and Python-style
// text, whichever engine ran it:
//   ARES_ENOTFOUND, ARES_EBADNAME         HOST_NOT_FOUND  (EAI_NONAME)
//   ARES_ENODATA                          NO_DATA         (EAI_NODATA)
//   ARES_ESERVFAIL, ARES_EREFUSED,
//   ARES_ECONNREFUSED                     TRY_AGAIN       (EAI_AGAIN)
//   ARES_ETIMEOUT                         Error::kTimedOut (every try went unanswered)
//   ARES_ENOMEM                           EAI_MEMORY
//   ARES_EDESTRUCTION, ARES_ECANCELLED    Error::kShutdown
//   anything else (FORMERR, NOTIMP, BADRESP, ...)  NO_RECOVERY  (EAI_FAIL)
// ares_status_name() keeps c-ares's own message (ares_strerror) for logs and tests.

#include <string_view>
#include <system_error>

namespace ub::resolve {

// The h_errno glibc would set for this outcome (0 for ARES_SUCCESS).
int ares_to_herrno(int status);
// For lookups (gethostbyname2 style, reported as getaddrinfo's EAI_* code).
std::error_code ares_lookup_error(int status);
// For reverse lookups (gethostbyaddr style, reported as h_errno).
std::error_code ares_reverse_error(int status);
// ares_strerror(status): "Domain name not found", ...
std::string_view ares_status_name(int status);

}  // namespace ub::resolve
