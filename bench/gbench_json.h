#pragma once
// The Google Benchmark JSON layout bench_echo and bench_resolve write (so Debian's
// compare.py and scripts/ read both): {"context": {machine, build, the tool's settings},
// "benchmarks": [one entry per run]}. Keys keep the order they were added in; text that
// is not UTF-8 (a file name, say) goes out with U+FFFD in place of the bad bytes.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace ub::bench {

using Json = nlohmann::ordered_json;

// Google Benchmark's own context keys (date, host_name, executable, num_cpus, mhz_per_cpu,
// cpu_scaling_enabled, caches, load_avg, library_build_type), then the build and machine
// (build_type, git_revision, kernel, cpu_model, liburing_version).
Json machine_context(std::string_view executable);

// `value` rounded to `decimals` places: what the table shows, without float noise.
double rounded(double value, int decimals);

// One run's standard fields.
struct GbenchRun {
  std::string name;                // also run_name; same name, same family_index
  std::optional<int> repetitions;  // written when set
  int repetition_index = 0;
  int threads = 1;
  uint64_t iterations = 0;
  Json before_times = Json::object();  // the tool's fields between iterations and real_time
  double real_time_ns = 0;
  double cpu_time_ns = 0;
};

class GbenchJson {
 public:
  explicit GbenchJson(Json context);
  // Appends the run's standard fields (name ... time_unit) and returns its entry, for the
  // tool's own fields to follow.
  Json& add(const GbenchRun& run);
  // The whole document, indented by two, ending in a newline.
  std::string text() const;

 private:
  Json doc_;
  std::map<std::string, int> families_;
};

}  // namespace ub::bench
