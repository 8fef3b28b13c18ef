#pragma once
// bench_echo's output: the plan's opening line, the table on stdout, the warnings and
// errors on stderr, the Google Benchmark JSON file (so Debian's compare.py can diff two
// runs) and HdrHistogram .hgrm files.

#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/cpu_latency.h"
#include "echo_plan.h"
#include "gbench_json.h"
#include "load/load.h"

namespace ub::bench {

struct RunRecord {
  std::string backend;          // a back-end name, or "external" for --connect
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

// The JSON context (machine, build, load model, ...), keys in the order written.
using Context = Json;

// One row per run, then (when repeated) one row of medians per back end x clients x size.
void print_table(std::FILE* out, const std::vector<RunRecord>& runs);
std::string to_json(const Context& context, const std::vector<RunRecord>& runs);
// Writes `text` to `path`; "" or an error message.
std::string write_file(const std::string& path, const std::string& text);

// The line that opens a run: load model, window, CPUs, idle states.
void print_banner(const Options& o, const Plan& plan, const CpuLatencyRequest& idle);
// The table, then the line naming the client engine (`engine_used`) and the columns.
void print_results(const std::vector<RunRecord>& runs, const std::string& engine_used);
// On stderr: runs whose server CPU figure was replaced, and runs the client may have paced.
void print_warnings(const Plan& plan, const std::vector<RunRecord>& runs);
// The JSON context: machine, build, load, and each measured back end's details.
Context make_context(const Options& o, const Plan& plan, const std::string& engine_used,
                     const CpuLatencyRequest& idle);
// Where the histogram of run `r` goes: `base` itself for a single run, else one file per run.
std::string hgrm_path(const std::string& base, const RunRecord& r, bool many);
// Before any run: "" or why --json or --hgrm cannot be written, for every file the plan
// will write. A new file is created and removed again; an existing one is opened for
// append, so it keeps its contents until the results replace it.
std::string check_outputs(const Options& o, const Plan& plan);
// --json and --hgrm; "" or the first error.
std::string write_outputs(const Options& o, const Plan& plan, const std::string& engine_used,
                          const CpuLatencyRequest& idle, const std::vector<RunRecord>& runs);
// On stderr: runs that measured nothing and runs with errors, loudly. The exit code: 0, or
// 1 when any run measured nothing or had an error.
int print_failures(const std::vector<RunRecord>& runs);

}  // namespace ub::bench
