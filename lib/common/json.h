#pragma once
// JSON string literals for the hand-written JSON the tools emit (JSON lines, Google
// Benchmark files): escapes quotes, backslashes and control characters.

#include <fmt/core.h>

#include <string>
#include <string_view>

namespace ub {

// `s` as a quoted JSON string.
inline std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += fmt::format("\\u{:04x}", u);
        } else {
          out += c;  // UTF-8 passes through; invalid bytes are the input's own
        }
    }
  }
  return out + "\"";
}

}  // namespace ub
