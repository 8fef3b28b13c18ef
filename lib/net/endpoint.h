#pragma once
// Endpoint: an IPv4 or IPv6 socket address with a port, parsed from "127.0.0.1:10000",
// "[::1]:0" or "localhost:80". Only numeric addresses and "localhost" are accepted:
// parsing never sends a DNS query (names go through lib/resolve instead).

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "common/result.h"

namespace ub::net {

enum class EndpointError {
  kEmpty = 1,
  kMissingPort,
  kBadPort,
  kMissingHost,
  kBadHost,
  kBadBrackets,
};
const std::error_category& endpoint_category();
inline std::error_code make_error_code(EndpointError e) {
  return {static_cast<int>(e), endpoint_category()};
}

class Endpoint {
 public:
  Endpoint();  // 127.0.0.1:0

  static Result<Endpoint> parse(std::string_view text);
  static Endpoint from_sockaddr(const sockaddr* addr, socklen_t len);
  static Endpoint loopback_v4(uint16_t port);
  static Endpoint loopback_v6(uint16_t port);

  int family() const { return storage_.ss_family; }
  uint16_t port() const;
  Endpoint with_port(uint16_t port) const;
  const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t sockaddr_len() const;

  std::string host() const;       // "127.0.0.1", "::1"
  std::string to_string() const;  // "127.0.0.1:80", "[::1]:80"

  friend bool operator==(const Endpoint& a, const Endpoint& b) {
    return a.to_string() == b.to_string();
  }

 private:
  sockaddr_storage storage_{};
};

}  // namespace ub::net

template <>
struct std::is_error_code_enum<ub::net::EndpointError> : std::true_type {};
