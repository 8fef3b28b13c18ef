#pragma once
// How the resolve tool prints an answer: the seed's text formats (Python's str/repr of the
// same values) and JSON lines. Header-only; used by cmd/resolve.cc and its tests.

#include <fmt/core.h>

#include <string>
#include <string_view>
#include <vector>

#include "cli/python_repr.h"
#include "common/json.h"
#include "resolve/errors.h"
#include "resolve/query.h"

namespace ub::cli {

using ub::json_string;

inline std::string json_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ",";
    out += json_string(items[i]);
  }
  return out + "]";
}

// What the user typed for this query (the left-hand side of "name : answer").
inline std::string query_label(const resolve::Query& q) {
  if (q.kind == resolve::Kind::kServiceName && q.text.empty()) return std::to_string(q.port);
  return q.text;
}

// The seed's text output for one answer (one line, or a block for lookup_ex/reverse).
inline std::string format_text(const resolve::Query& q, const resolve::Outcome& o) {
  using resolve::Kind;
  const std::string label = query_label(q);
  const std::string error = o.ok() ? std::string() : resolve::python_style_message(o.error);
  const resolve::Answer& a = o.answer;
  switch (q.kind) {
    case Kind::kHostname:
      return o.ok() ? a.name + "\n" : fmt::format("ERROR: {}\n", error);
    case Kind::kLookup:
      return fmt::format("{} : {}\n", label, o.ok() ? a.addresses.front() : error);
    case Kind::kLookupEx:
    case Kind::kReverse:
      if (!o.ok()) return fmt::format("{}\nERROR: {}\n\n", label, error);
      return fmt::format("{}\n  Hostname: {}\n  Aliases : {}\n Addresses: {}\n\n", label, a.name,
                         python_list_repr(a.aliases), python_list_repr(a.addresses));
    case Kind::kFqdn:
      return fmt::format("{:>10} : {}\n", label, o.ok() ? a.name : error);
    case Kind::kServicePort:
    case Kind::kSchemePort:
      return fmt::format("{:>6} : {}\n", label, o.ok() ? std::to_string(a.port) : error);
    case Kind::kServiceName:
      return fmt::format("{:>6} : {}\n", label, o.ok() ? a.name : error);
  }
  return {};
}

// One JSON object per line: input, kind, ok, latency_us, then the answer or the error.
inline std::string format_json(const resolve::Query& q, const resolve::Outcome& o) {
  using resolve::Kind;
  std::string out =
      fmt::format("{{\"input\":{},\"kind\":{},\"ok\":{},\"latency_us\":{:.1f}",
                  json_string(query_label(q)), json_string(resolve::kind_name(q.kind)),
                  o.ok() ? "true" : "false", static_cast<double>(o.latency.count()) / 1000.0);
  if (!o.ok()) {
    return out + fmt::format(",\"error\":{{\"category\":{},\"code\":{},\"message\":{}}}}}\n",
                             json_string(o.error.category().name()), o.error.value(),
                             json_string(o.error.message()));
  }
  const resolve::Answer& a = o.answer;
  switch (q.kind) {
    case Kind::kHostname:
    case Kind::kFqdn:
      out += fmt::format(",\"name\":{}", json_string(a.name));
      break;
    case Kind::kLookup:
      out += fmt::format(",\"address\":{}", json_string(a.addresses.front()));
      break;
    case Kind::kLookupEx:
    case Kind::kReverse:
      out += fmt::format(",\"name\":{},\"aliases\":{},\"addresses\":{}", json_string(a.name),
                         json_list(a.aliases), json_list(a.addresses));
      break;
    case Kind::kServicePort:
    case Kind::kSchemePort:
    case Kind::kServiceName:
      out += fmt::format(",\"name\":{},\"aliases\":{},\"port\":{},\"proto\":{}",
                         json_string(a.name), json_list(a.aliases), a.port, json_string(a.proto));
      break;
  }
  return out + "}\n";
}

}  // namespace ub::cli
