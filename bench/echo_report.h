#pragma once
// bench_echo's output: the table on stdout, the Google Benchmark JSON file (so Debian's
// compare.py can diff two runs) and HdrHistogram .hgrm files.

#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "load/load.h"

namespace ub::bench {

struct RunRecord {
  std::string backend;  // a back-end name, or "external" for --connect
  std::string backend_options;  // the back end's own settings in one line ("" if none)
  int clients = 0;
  size_t size = 0;
  int repetition = 0;
  int repetitions = 1;
  int client_threads = 1;
  load::LoadModel model = load::LoadModel::kClosed;
  load::LoadResult load;
  std::optional<std::chrono::nanoseconds> server_cpu;  // over the window; unknown externally
  // Set when the server's thread CPU clocks read more than its CPUs could give: what they
  // read; server_cpu is then the CPUs' busy ticks (server_cpu_from_ticks) or unknown.
  std::optional<std::chrono::nanoseconds> server_thread_clocks_rejected;
  bool server_cpu_from_ticks = false;
  uint64_t server_connections_rejected = 0;

  std::string name() const;  // "echo/uring/clients:1000/size:64"
  double seconds() const;
  double rt_per_s() const;
  double mb_per_s() const;
  std::optional<double> server_us_per_echo() const;
  double client_us_per_rt() const;
  // Share of the client threads' time spent on CPU: near 1, the client was the bottleneck.
  double client_busy() const;
};

// "key": "value" pairs written into the JSON context (machine, build, load model, ...).
using Context = std::vector<std::pair<std::string, std::string>>;

// One row per run, then (when repeated) one row of medians per back end x clients x size.
void print_table(std::FILE* out, const std::vector<RunRecord>& runs);
std::string to_json(const Context& context, const std::vector<RunRecord>& runs);
// Writes `text` to `path`; "" or an error message.
std::string write_file(const std::string& path, const std::string& text);

}  // namespace ub::bench
