#pragma once
// Busy time of chosen CPUs from /proc/stat, and which of two CPU figures to believe.
//
// Every CPU-per-operation figure in this project comes from per-thread CPU clocks. They
// can lie: with thousands of threads switching on one CPU (the blocking back end at 10,000
// connections), the kernel's per-task runtime on this project's VMs adds up to ~14 CPU-s
// per second on a process pinned to one CPU (CLOCK_PROCESS_CPUTIME_ID says the same, so
// it is the kernel's accounting, not ours). /proc/stat's per-CPU busy ticks are sampled
// by the timer tick and cannot exceed the wall time; they also count whatever else ran on
// those CPUs, so they are the fallback, not the default.

#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

namespace ub {

// user + nice + system + irq + softirq time of `cpus` (all CPUs when empty), from the
// text of /proc/stat. nullopt when a CPU is missing or a line is malformed.
std::optional<std::chrono::nanoseconds> parse_cpus_busy(std::string_view proc_stat,
                                                        const std::vector<int>& cpus,
                                                        long ticks_per_second);

// The same, read from /proc/stat now.
std::optional<std::chrono::nanoseconds> cpus_busy_time(const std::vector<int>& cpus);

struct CpuFigure {
  std::optional<std::chrono::nanoseconds> cpu;  // nullopt: inflated and nothing to fall back on
  bool clocks_inflated = false;                 // the thread clocks exceeded what the CPUs could give
  bool from_ticks = false;                      // `cpu` is the CPUs' busy ticks
};

// Thread-clock CPU time over a window of `wall` on `cpu_count` CPUs. More than the CPUs
// could have given (5% slack for reading clocks and ticks at slightly different moments)
// means the clocks are inflated: the busy ticks of those CPUs are used instead when the
// caller has them (pass nullopt when the CPUs are shared with something else measured).
CpuFigure checked_cpu_figure(std::chrono::nanoseconds thread_clocks,
                             std::optional<std::chrono::nanoseconds> busy_ticks,
                             std::chrono::nanoseconds wall, size_t cpu_count);

}  // namespace ub
