#pragma once
// How the resolve tool prints an answer: the seed's text formats (Python's str/repr of the
// same values) and JSON lines. Header-only; used by cmd/resolve.cc and its tests.

#include <fmt/core.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "cli/python_repr.h"
#include "resolve/errors.h"
#include "resolve/query.h"

namespace ub::cli {

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

// One JSON object per line: input, kind, ok, latency_us (to 0.1 us), then the answer or the
// error. Always valid UTF-8 and valid JSON: names read from a file can hold any bytes, and
// what is not UTF-8 becomes U+FFFD.
inline std::string format_json(const resolve::Query& q, const resolve::Outcome& o) {
  using resolve::Kind;
  using Json = nlohmann::ordered_json;  // the fields in the order written
  Json line = {{"input", query_label(q)},
               {"kind", resolve::kind_name(q.kind)},
               {"ok", o.ok()},
               {"latency_us", std::round(static_cast<double>(o.latency.count()) / 100.0) / 10.0}};
  const resolve::Answer& a = o.answer;
  if (!o.ok()) {
    line["error"] = {{"category", o.error.category().name()},
                     {"code", o.error.value()},
                     {"message", o.error.message()}};
  } else {
    switch (q.kind) {
      case Kind::kHostname:
      case Kind::kFqdn:
        line["name"] = a.name;
        break;
      case Kind::kLookup:
        line["address"] = a.addresses.front();
        break;
      case Kind::kLookupEx:
      case Kind::kReverse:
        line["name"] = a.name;
        line["aliases"] = a.aliases;
        line["addresses"] = a.addresses;
        break;
      case Kind::kServicePort:
      case Kind::kSchemePort:
      case Kind::kServiceName:
        line["name"] = a.name;
        line["aliases"] = a.aliases;
        line["port"] = a.port;
        line["proto"] = a.proto;
        break;
    }
  }
  return line.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace ub::cli
