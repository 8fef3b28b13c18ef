#include "net/endpoint.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace ub::net {
namespace {

class EndpointCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "endpoint"; }
  std::string message(int ev) const override {
    switch (static_cast<EndpointError>(ev)) {
      case EndpointError::kEmpty:
        return "empty address (expected HOST:PORT, e.g. 127.0.0.1:10000 or [::1]:0)";
      case EndpointError::kMissingPort:
        return "missing port (expected HOST:PORT)";
      case EndpointError::kBadPort:
        return "port must be a number from 0 to 65535";
      case EndpointError::kMissingHost:
        return "missing host (expected HOST:PORT)";
      case EndpointError::kBadHost:
        return "host must be a numeric IPv4 or IPv6 address or 'localhost'";
      case EndpointError::kBadBrackets:
        return "IPv6 addresses need brackets: [::1]:PORT";
    }
    return "unknown endpoint error";
  }
};

}  // namespace

const std::error_category& endpoint_category() {
  static const EndpointCategory category;
  return category;
}

Endpoint::Endpoint() {
  auto* sin = reinterpret_cast<sockaddr_in*>(&storage_);
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

Endpoint Endpoint::loopback_v4(uint16_t port) { return Endpoint().with_port(port); }

Endpoint Endpoint::loopback_v6(uint16_t port) {
  Endpoint e;
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&e.storage_);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_addr = in6addr_loopback;
  sin6->sin6_port = htons(port);
  return e;
}

Endpoint Endpoint::from_sockaddr(const sockaddr* addr, socklen_t len) {
  Endpoint e;
  std::memcpy(&e.storage_, addr, std::min<size_t>(len, sizeof(e.storage_)));
  return e;
}

Result<Endpoint> Endpoint::parse(std::string_view text) {
  if (text.empty()) return make_error_code(EndpointError::kEmpty);

  std::string_view host;
  std::string_view port_text;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return make_error_code(EndpointError::kBadBrackets);
    host = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return make_error_code(EndpointError::kMissingPort);
    port_text = rest.substr(1);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return make_error_code(EndpointError::kMissingPort);
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return make_error_code(EndpointError::kBadBrackets);
    }
  }

  unsigned port = 0;
  if (port_text.empty()) return make_error_code(EndpointError::kMissingPort);
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) {
    return make_error_code(EndpointError::kBadPort);
  }
  if (host.empty()) return make_error_code(EndpointError::kMissingHost);

  // "localhost" maps to the IPv4 loopback without a lookup, as /etc/hosts does on Debian
  // and as the seed's ('localhost', 10000) ends up in Python.
  if (host == "localhost") return loopback_v4(static_cast<uint16_t>(port));

  const std::string host_z(host);
  Endpoint e;
  auto* sin = reinterpret_cast<sockaddr_in*>(&e.storage_);
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&e.storage_);
  std::memset(&e.storage_, 0, sizeof(e.storage_));
  if (inet_pton(AF_INET, host_z.c_str(), &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(port));
    return e;
  }
  if (inet_pton(AF_INET6, host_z.c_str(), &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(port));
    return e;
  }
  return make_error_code(EndpointError::kBadHost);
}

uint16_t Endpoint::port() const {
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
}

Endpoint Endpoint::with_port(uint16_t port) const {
  Endpoint e = *this;
  if (family() == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&e.storage_)->sin6_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in*>(&e.storage_)->sin_port = htons(port);
  }
  return e;
}

socklen_t Endpoint::sockaddr_len() const {
  return family() == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
}

std::string Endpoint::host() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf,
              sizeof(buf));
  } else {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf,
              sizeof(buf));
  }
  return buf;
}

std::string Endpoint::to_string() const {
  std::string text;
  if (family() == AF_INET6) text += '[';
  text += host();
  if (family() == AF_INET6) text += ']';
  text += ':';
  text += std::to_string(port());
  return text;
}

}  // namespace ub::net
