#include "common/cpu_ticks.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace ub {
namespace {

// The fields after "cpuN": user nice system idle iowait irq softirq steal ...
constexpr size_t kUser = 0, kNice = 1, kSystem = 2, kIrq = 5, kSoftirq = 6;

std::optional<uint64_t> busy_ticks_of_line(std::string_view rest) {
  uint64_t fields[7] = {};
  for (size_t i = 0; i < 7; ++i) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), fields[i]);
    if (ec != std::errc()) return std::nullopt;
    rest.remove_prefix(static_cast<size_t>(end - rest.data()));
  }
  return fields[kUser] + fields[kNice] + fields[kSystem] + fields[kIrq] + fields[kSoftirq];
}

}  // namespace

std::optional<std::chrono::nanoseconds> parse_cpus_busy(std::string_view proc_stat,
                                                        const std::vector<int>& cpus,
                                                        long ticks_per_second) {
  if (ticks_per_second <= 0) return std::nullopt;
  uint64_t ticks = 0;
  size_t found = 0;
  while (!proc_stat.empty()) {
    const size_t eol = proc_stat.find('\n');
    std::string_view line = proc_stat.substr(0, eol);
    proc_stat.remove_prefix(eol == std::string_view::npos ? proc_stat.size() : eol + 1);
    if (line.substr(0, 3) != "cpu") continue;
    line.remove_prefix(3);
    const bool total = !line.empty() && line.front() == ' ';
    int cpu = -1;
    if (!total) {
      auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), cpu);
      if (ec != std::errc()) continue;
      line.remove_prefix(static_cast<size_t>(end - line.data()));
    }
    const bool wanted = cpus.empty() ? total
                                     : !total && std::find(cpus.begin(), cpus.end(), cpu) != cpus.end();
    if (!wanted) continue;
    auto busy = busy_ticks_of_line(line);
    if (!busy) return std::nullopt;
    ticks += *busy;
    ++found;
  }
  if (found != (cpus.empty() ? 1 : cpus.size())) return std::nullopt;
  return std::chrono::nanoseconds(static_cast<int64_t>(ticks * (1'000'000'000 / ticks_per_second)));
}

std::optional<std::chrono::nanoseconds> cpus_busy_time(const std::vector<int>& cpus) {
  std::ifstream in("/proc/stat");
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return parse_cpus_busy(text.str(), cpus, ::sysconf(_SC_CLK_TCK));
}

CpuFigure checked_cpu_figure(std::chrono::nanoseconds thread_clocks,
                             std::optional<std::chrono::nanoseconds> busy_ticks,
                             std::chrono::nanoseconds wall, size_t cpu_count) {
  const double possible = static_cast<double>(wall.count()) * static_cast<double>(cpu_count) * 1.05;
  if (cpu_count == 0 || static_cast<double>(thread_clocks.count()) <= possible) {
    return {thread_clocks, false, false};
  }
  if (!busy_ticks) return {std::nullopt, true, false};
  return {busy_ticks, true, true};
}

}  // namespace ub
