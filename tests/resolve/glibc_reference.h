#pragma once
// Straight glibc calls, the reference the "system" engine must match answer for answer.

#include <arpa/inet.h>
#include <netdb.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "resolve/query.h"

namespace ub::resolve::testing {

struct Reference {
  bool ok = false;
  int herr = 0;
  Answer answer;
};

inline Reference from_hostent(int rc, hostent* res, int herr) {
  Reference r;
  if (rc != 0 || res == nullptr) {
    r.herr = herr;
    return r;
  }
  r.ok = true;
  r.answer.name = res->h_name;
  for (char** p = res->h_aliases; *p; ++p) r.answer.aliases.emplace_back(*p);
  for (char** p = res->h_addr_list; *p; ++p) {
    char text[INET6_ADDRSTRLEN];
    inet_ntop(res->h_addrtype, *p, text, sizeof text);
    r.answer.addresses.emplace_back(text);
  }
  return r;
}

inline Reference glibc_by_name(const std::string& name, int family) {
  hostent he{};
  hostent* res = nullptr;
  int herr = 0;
  std::vector<char> buf(64 * 1024);
  const int rc = gethostbyname2_r(name.c_str(), family, &he, buf.data(), buf.size(), &res, &herr);
  return from_hostent(rc, res, herr);
}

inline Reference glibc_by_addr(const std::string& address) {
  unsigned char bytes[16];
  int family = AF_INET;
  socklen_t len = 4;
  if (inet_pton(AF_INET, address.c_str(), bytes) != 1) {
    family = AF_INET6;
    len = 16;
    if (inet_pton(AF_INET6, address.c_str(), bytes) != 1) return {};
  }
  hostent he{};
  hostent* res = nullptr;
  int herr = 0;
  std::vector<char> buf(64 * 1024);
  const int rc = gethostbyaddr_r(bytes, len, family, &he, buf.data(), buf.size(), &res, &herr);
  return from_hostent(rc, res, herr);
}

// getaddrinfo(AF_UNSPEC)'s addresses as a set (its order is RFC 3484's, not the zone's).
inline std::optional<std::set<std::string>> glibc_getaddrinfo(const std::string& name) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(name.c_str(), nullptr, &hints, &res) != 0) return std::nullopt;
  std::set<std::string> out;
  for (addrinfo* p = res; p; p = p->ai_next) {
    char text[INET6_ADDRSTRLEN];
    const void* addr =
        p->ai_family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(p->ai_addr)->sin_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(p->ai_addr)->sin6_addr);
    inet_ntop(p->ai_family, addr, text, sizeof text);
    out.insert(text);
  }
  freeaddrinfo(res);
  return out;
}

}  // namespace ub::resolve::testing
