#include "flag_values.h"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace ub::bench {
namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t end = text.find(sep, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

bool parse_u64(const std::string& text, uint64_t& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size() && !text.empty();
}

}  // namespace

std::string parse_duration(const std::string& text, std::chrono::nanoseconds& out) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  const std::string unit(end);
  double scale = 0;
  if (unit == "s" || unit.empty()) scale = 1e9;
  if (unit == "ms") scale = 1e6;
  if (unit == "us") scale = 1e3;
  if (unit == "m" || unit == "min") scale = 60e9;
  if (end == text.c_str() || scale == 0 || !std::isfinite(value) || value < 0 ||
      value * scale > 86400e9) {
    return "'" + text + "' is not a duration (e.g. 5s, 200ms, 0.5s)";
  }
  out = std::chrono::nanoseconds(static_cast<int64_t>(value * scale));
  return "";
}

std::string parse_size_list(const std::string& text, std::vector<uint64_t>& out) {
  out.clear();
  for (const auto& part : split(text, ',')) {
    uint64_t value = 0;
    if (!parse_u64(part, value) || value == 0) {
      return "'" + text + "' is not a list of positive integers (e.g. 1,10,100)";
    }
    out.push_back(value);
  }
  return "";
}

std::string parse_cpu_list(const std::string& text, std::vector<int>& out) {
  out.clear();
  const auto cpus = static_cast<uint64_t>(::sysconf(_SC_NPROCESSORS_ONLN));
  const std::string bad = "'" + text + "' is not a CPU list (e.g. 0, 0-1, 0,2) of CPUs 0-" +
                          std::to_string(cpus - 1);
  for (const auto& part : split(text, ',')) {
    const auto dash = part.find('-');
    uint64_t first = 0, last = 0;
    if (dash == std::string::npos) {
      if (!parse_u64(part, first)) return bad;
      last = first;
    } else if (!parse_u64(part.substr(0, dash), first) || !parse_u64(part.substr(dash + 1), last)) {
      return bad;
    }
    if (first > last || last >= cpus) return bad;
    for (uint64_t c = first; c <= last; ++c) out.push_back(static_cast<int>(c));
  }
  return "";
}

}  // namespace ub::bench
