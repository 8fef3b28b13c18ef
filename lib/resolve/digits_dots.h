#pragma once
// Names that are addresses, as glibc's gethostbyname2_r treats them before any lookup
// (nss/digits_dots.c): "127.1" is 127.0.0.1 for AF_INET (inet_aton's forms), "::1" is
// itself for AF_INET6, and such a name in the wrong family, or a malformed one ("300.1.1.1",
// "a:b"), is HOST_NOT_FOUND without asking anyone. Only a name ending in '.' or with other
// characters goes on to /etc/hosts and DNS.

#include <optional>
#include <string>

#include "resolve/query.h"

namespace ub::resolve {

struct DigitsDots {
  bool found = false;  // false: HOST_NOT_FOUND
  Answer answer;       // name as given, no aliases, the one address
};

// nullopt: not an address-like name, look it up.
std::optional<DigitsDots> digits_dots(const std::string& name, int family);

}  // namespace ub::resolve
