#include "resolve/digits_dots.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cctype>

namespace ub::resolve {
namespace {

bool all_of(const std::string& s, bool (*ok)(char)) {
  for (char c : s) {
    if (!ok(c)) return false;
  }
  return true;
}

bool digit_or_dot(char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '.'; }
bool ipv6_char(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
}

DigitsDots found(const std::string& name, int family, const void* bytes) {
  char text[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(family, bytes, text, sizeof text);
  DigitsDots d;
  d.found = true;
  d.answer.name = name;
  d.answer.addresses.emplace_back(text);
  return d;
}

}  // namespace

std::optional<DigitsDots> digits_dots(const std::string& name, int family) {
  if (name.empty()) return std::nullopt;
  const auto first = static_cast<unsigned char>(name.front());
  in6_addr bytes{};
  if (std::isdigit(first) && all_of(name, digit_or_dot)) {
    if (name.back() == '.') return std::nullopt;
    // inet_aton, not inet_pton: glibc accepts "1.2.3", "127.1" and octal parts here.
    const bool ok = family == AF_INET
                        ? ::inet_aton(name.c_str(), reinterpret_cast<in_addr*>(&bytes)) != 0
                        : ::inet_pton(AF_INET6, name.c_str(), &bytes) == 1;
    if (!ok) return DigitsDots{};
    return found(name, family, &bytes);
  }
  if ((std::isxdigit(first) && name.find(':') != std::string::npos) || first == ':') {
    if (family == AF_INET) return DigitsDots{};  // an IPv6 literal has no IPv4 form
    if (!all_of(name, ipv6_char) || name.back() == '.') return std::nullopt;
    if (::inet_pton(AF_INET6, name.c_str(), &bytes) != 1) return DigitsDots{};
    return found(name, AF_INET6, &bytes);
  }
  return std::nullopt;
}

}  // namespace ub::resolve
