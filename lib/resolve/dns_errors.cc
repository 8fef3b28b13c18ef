#include "resolve/dns_errors.h"

#include <ares.h>
#include <netdb.h>

#include "resolve/errors.h"

namespace ub::resolve {
namespace {

// Codes with a meaning of their own, whatever the lookup's style; nullopt-like: {}.
std::error_code special(int status) {
  switch (status) {
    case ARES_ETIMEOUT:
      return make_error_code(Error::kTimedOut);
    case ARES_ENOMEM:
      return make_error_code(Error::kMemory);
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED:
      return make_error_code(Error::kShutdown);
    default:
      return {};
  }
}

}  // namespace

int ares_to_herrno(int status) {
  switch (status) {
    case ARES_SUCCESS:
      return 0;
    case ARES_ENOTFOUND:
    case ARES_EBADNAME:
      return HOST_NOT_FOUND;
    case ARES_ENODATA:
      return NO_DATA;
    case ARES_ESERVFAIL:
    case ARES_EREFUSED:
    case ARES_ECONNREFUSED:
    case ARES_ETIMEOUT:
      return TRY_AGAIN;
    default:
      return NO_RECOVERY;
  }
}

std::error_code ares_lookup_error(int status) {
  if (status == ARES_SUCCESS) return {};
  if (auto e = special(status)) return e;
  return herrno_as_gai_error(ares_to_herrno(status));
}

std::error_code ares_reverse_error(int status) {
  if (status == ARES_SUCCESS) return {};
  if (auto e = special(status)) return e;
  return herrno_error(ares_to_herrno(status));
}

std::string_view ares_status_name(int status) { return ::ares_strerror(status); }

}  // namespace ub::resolve
