#pragma once
// Python's repr() of a bytes object (b'...'), so our tools print exactly what the seed's
// Python programs print.

#include <cstddef>
#include <span>
#include <string>

namespace ub::cli {

inline std::string python_bytes_repr(std::span<const std::byte> data) {
  bool has_single = false;
  bool has_double = false;
  for (auto b : data) {
    has_single |= b == std::byte{'\''};
    has_double |= b == std::byte{'"'};
  }
  const char quote = (has_single && !has_double) ? '"' : '\'';
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "b";
  out += quote;
  for (auto b : data) {
    const auto c = static_cast<unsigned char>(b);
    if (c == static_cast<unsigned char>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += quote;
  return out;
}

}  // namespace ub::cli
