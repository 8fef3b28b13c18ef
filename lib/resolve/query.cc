#include "resolve/query.h"

#include <array>
#include <utility>

namespace ub::resolve {
namespace {

constexpr std::array<std::pair<Kind, std::string_view>, 8> kKindNames = {{
    {Kind::kHostname, "hostname"},
    {Kind::kLookup, "lookup"},
    {Kind::kLookupEx, "lookup_ex"},
    {Kind::kFqdn, "fqdn"},
    {Kind::kReverse, "reverse"},
    {Kind::kServicePort, "service_port"},
    {Kind::kServiceName, "service_name"},
    {Kind::kSchemePort, "scheme_port"},
}};

}  // namespace

std::string_view kind_name(Kind kind) {
  for (const auto& [k, name] : kKindNames) {
    if (k == kind) return name;
  }
  return "unknown";
}

std::optional<Kind> kind_from_name(std::string_view name) {
  for (const auto& [k, n] : kKindNames) {
    if (n == name) return k;
  }
  return std::nullopt;
}

}  // namespace ub::resolve
