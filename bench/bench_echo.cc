// bench_echo: drives echo load at one or every back end and reports throughput, latency
// percentiles and CPU per operation, verifying every echoed byte. Back ends run in-process
// (server threads pinned apart from the client threads) or externally (--connect).
// The plan is in echo_plan.*, the runs in echo_run.*, the output in echo_report.*.

#include <fmt/core.h>
#include <signal.h>

#include <cstdio>

#include "cli/cli.h"
#include "common/cpu_latency.h"
#include "echo_plan.h"
#include "echo_report.h"
#include "echo_run.h"
#include "load/load.h"

namespace {

constexpr const char* kTool = "bench_echo";
using ub::bench::Options;

int usage_error(const std::string& message) {
  fmt::print(stderr, "{}: {}\n", kTool, message);
  return ub::cli::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_echo: echo load against one or every back end, every byte verified."};
  Options o;
  ub::bench::add_load_flags(app, o);
  ub::bench::add_setup_flags(app, o);
  if (int rc = ub::cli::parse(app, argc, argv); rc >= 0) return rc;

  ub::bench::Plan plan;
  if (auto e = ub::bench::make_plan(o, plan); !e.empty()) return usage_error(e);
  if (auto e = o.backend_flags->finish(plan.backends); !e.empty()) return usage_error(e);
  if (!plan.external && plan.backends.empty()) return usage_error("no back end is available");
  if (auto e = ub::bench::check_outputs(o, plan); !e.empty()) return usage_error(e);
  signal(SIGPIPE, SIG_IGN);
  ub::CpuLatencyRequest idle;
  if (o.cpu_dma_latency_us >= 0) {
    auto held = ub::CpuLatencyRequest::hold(o.cpu_dma_latency_us);
    if (!held) {
      fmt::print(stderr, "{}: cannot hold a request on /dev/cpu_dma_latency: {}\n", kTool,
                 held.error().message());
      return 1;
    }
    idle = std::move(*held);
  }
  if (auto e = ub::bench::reserve_descriptors(plan); !e.empty()) {
    fmt::print(stderr, "{}: {}\n", kTool, e);
    return 1;
  }

  ub::bench::print_banner(o, plan, idle);
  std::vector<ub::bench::RunRecord> runs;
  if (auto e = ub::bench::run_all(o, plan, runs); !e.empty()) {
    fmt::print(stderr, "\n{}: {}\n", kTool, e);
    return 1;
  }
  const std::string engine_used =
      runs.front().load.engine + " (" + runs.front().load.engine_setup + ")";
  ub::bench::print_results(runs, engine_used);
  ub::bench::print_warnings(plan, runs);
  if (auto e = ub::bench::write_outputs(o, plan, engine_used, idle, runs); !e.empty()) {
    fmt::print(stderr, "{}: {}\n", kTool, e);
    return 1;
  }
  return ub::bench::print_failures(runs);
}
