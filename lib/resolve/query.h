#pragma once
// What the resolver is asked (Query) and what it answers (Outcome). The kinds mirror the
// lookups of Python's socket module that the seed demonstrates.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace ub::resolve {

enum class Kind {
  kHostname,     // gethostname(): the machine's name; `text` is ignored
  kLookup,       // gethostbyname(text): the first IPv4 address
  kLookupEx,     // gethostbyname_ex(text): canonical name, aliases, IPv4 and IPv6 addresses
  kFqdn,         // getfqdn(text), with Python's rules
  kReverse,      // gethostbyaddr(text): text must be a numeric IPv4 or IPv6 address
  kServicePort,  // getservbyname(text, proto): the port of a service name
  kServiceName,  // getservbyport(port, proto): the service name of a port
  kSchemePort,   // the port of a URL's scheme ("https://x/" -> 443), as the seed does
};

std::string_view kind_name(Kind kind);  // "lookup", "lookup_ex", ...
std::optional<Kind> kind_from_name(std::string_view name);

struct Query {
  Kind kind = Kind::kLookup;
  std::string text;   // host name, address, service name or URL
  int port = 0;       // kServiceName
  std::string proto;  // kServicePort/kServiceName/kSchemePort: "tcp", "udp"; "" = any

  static Query hostname() { return {Kind::kHostname, {}, 0, {}}; }
  static Query lookup(std::string name) { return {Kind::kLookup, std::move(name), 0, {}}; }
  static Query lookup_ex(std::string name) { return {Kind::kLookupEx, std::move(name), 0, {}}; }
  static Query fqdn(std::string name) { return {Kind::kFqdn, std::move(name), 0, {}}; }
  static Query reverse(std::string address) { return {Kind::kReverse, std::move(address), 0, {}}; }
  static Query service_port(std::string name, std::string proto = {}) {
    return {Kind::kServicePort, std::move(name), 0, std::move(proto)};
  }
  static Query service_name(int port, std::string proto = {}) {
    return {Kind::kServiceName, {}, port, std::move(proto)};
  }
  static Query scheme_port(std::string url, std::string proto = {}) {
    return {Kind::kSchemePort, std::move(url), 0, std::move(proto)};
  }
};

// The answer to one query. Which fields are set depends on the kind:
//   hostname, fqdn:        name
//   lookup:                addresses (exactly one, IPv4)
//   lookup_ex, reverse:    name (canonical / official), aliases, addresses
//   service_*, scheme_port: name (official service name), aliases, port, proto
struct Answer {
  std::string name;
  std::vector<std::string> aliases;
  std::vector<std::string> addresses;  // numeric, IPv4 before IPv6, in the order glibc gave
  int port = 0;
  std::string proto;

  friend bool operator==(const Answer&, const Answer&) = default;
};

struct Outcome {
  std::error_code error;               // empty on success; see errors.h
  std::chrono::nanoseconds latency{};  // time the engine spent on it (not queue wait)
  Answer answer;

  bool ok() const { return !error; }
};

}  // namespace ub::resolve
