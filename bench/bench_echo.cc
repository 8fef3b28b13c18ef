// bench_echo: drives echo load at one or every back end and reports throughput, latency
// percentiles and CPU per operation, verifying every echoed byte. Back ends run in-process
// (server threads pinned apart from the client threads) or externally (--connect).

#include <fmt/core.h>
#include <fmt/format.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "cli/backend_flags.h"
#include "cli/cli.h"
#include "common/cpu_latency.h"
#include "common/cpu_ticks.h"
#include "common/machine_info.h"
#include "echo/backend.h"
#include "echo_report.h"
#include "flag_values.h"
#include "load/load.h"
#include "net/socket.h"
#include "server_runner.h"

namespace {

constexpr const char* kTool = "bench_echo";
// How long the load waits for the server to have every connection open (see on_connected).
constexpr std::chrono::milliseconds kAcceptWait{30'000};
using ub::bench::RunRecord;

struct Options {
  std::string backend = "all";
  std::string connect;
  std::string clients = "100";
  std::string sizes = "64";
  std::string duration = "5s";
  std::string warmup = "1s";
  std::string reply_timeout = "5s";
  int repetitions = 1;
  int pipeline = 1;
  double rate = 0;
  std::string mode = "closed";
  std::string client_engine = "auto";
  int client_threads = 0;
  int server_threads = 0;
  std::string server_cpus;
  std::string client_cpus;
  bool no_pin = false;
  size_t buffer_size = 16 * 1024;
  std::string json;
  std::string hgrm;
  int server_pid = 0;
  uint64_t seed = 1;
  bool sweep = false;
  std::string server_mode = "auto";
  int cpu_dma_latency_us = -1;  // -1: leave the idle states alone
  // Each back end's own settings (--uring-*, ...); set up in main() once the app exists.
  std::unique_ptr<ub::cli::BackendFlags> backend_flags;
};

// Parsed and checked values; every failure is a usage error (exit 2).
struct Plan {
  std::vector<std::string> backends;  // empty with --connect
  std::optional<ub::net::Endpoint> external;
  std::vector<uint64_t> clients;
  std::vector<uint64_t> sizes;
  std::vector<int> server_cpus;
  std::vector<int> client_cpus;
  ub::load::LoadConfig load;
  std::string server_mode = "auto";  // auto | threads | process
  size_t fd_limit = 0;

  // A client and an in-process server each need a descriptor per connection; past the
  // limit the server runs in a child process with a descriptor table of its own.
  bool server_in_own_process(uint64_t clients) const {
    if (server_mode != "auto") return server_mode == "process";
    return clients * 2 + 256 > fd_limit;
  }
};

int usage_error(const std::string& message) {
  fmt::print(stderr, "{}: {}\n", kTool, message);
  return ub::cli::kExitUsage;
}

std::vector<int> default_cpus(bool server) {
  const int n = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  if (n < 2) return {};
  std::vector<int> cpus;
  for (int c = server ? 0 : n / 2; c < (server ? n / 2 : n); ++c) cpus.push_back(c);
  return cpus;
}

// Returns "" or the usage error.
std::string make_plan(const Options& o, Plan& plan) {
  if (!o.connect.empty()) {
    auto endpoint = ub::net::Endpoint::parse(o.connect);
    if (!endpoint) return "bad --connect '" + o.connect + "': " + endpoint.error().message();
    plan.external = *endpoint;
  } else if (o.backend == "all") {
    for (const auto& b : ub::echo::available_backends()) {
      if (b.available) {
        plan.backends.push_back(b.name);
      } else {
        fmt::print(stderr, "{}: skipping back end '{}': {}\n", kTool, b.name, b.why_not);
      }
    }
  } else {
    for (size_t start = 0;;) {
      const size_t comma = o.backend.find(',', start);
      const std::string name = o.backend.substr(start, comma - start);
      auto info = ub::echo::backend_info(name);
      if (!info) return "unknown back end '" + name + "' (see echo_server --list-backends)";
      if (!info->available) return "back end '" + name + "' is unavailable: " + info->why_not;
      plan.backends.push_back(name);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (auto e = ub::bench::parse_size_list(o.clients, plan.clients); !e.empty())
    return "--clients: " + e;
  if (auto e = ub::bench::parse_size_list(o.sizes, plan.sizes); !e.empty()) return "--size: " + e;
  for (auto c : plan.clients) {
    if (c > 100000) return "--clients: at most 100000 connections";
  }
  for (auto s : plan.sizes) {
    if (s > (64u << 20)) return "--size: at most 64 MiB per message";
  }
  auto& l = plan.load;
  if (auto e = ub::bench::parse_duration(o.duration, l.duration); !e.empty())
    return "--duration: " + e;
  if (auto e = ub::bench::parse_duration(o.warmup, l.warmup); !e.empty()) return "--warmup: " + e;
  if (auto e = ub::bench::parse_duration(o.reply_timeout, l.reply_timeout); !e.empty()) {
    return "--reply-timeout: " + e;
  }
  // The client threads see the window open and close up to 10 ms late (phases are polled).
  if (l.duration < std::chrono::milliseconds(100)) return "--duration: at least 100ms";
  if (o.mode == "closed") {
    l.model = ub::load::LoadModel::kClosed;
  } else if (o.mode == "open") {
    l.model = ub::load::LoadModel::kOpen;
  } else if (o.mode == "stream") {
    l.model = ub::load::LoadModel::kStream;
  } else {
    return "--mode must be closed, open or stream";
  }
  if (o.rate > 0 && o.mode == "closed")
    l.model = ub::load::LoadModel::kOpen;  // --rate implies open
  if (l.model == ub::load::LoadModel::kOpen && o.rate <= 0) return "--mode=open needs --rate=R";
  if (!std::isfinite(o.rate)) return "--rate: not a number of round trips per second";
  if (o.rate > 0 && l.model == ub::load::LoadModel::kStream) {
    return "--rate is for the open loop; --mode=stream sends as fast as the server echoes";
  }
  for (auto c : plan.clients) {
    if (l.model != ub::load::LoadModel::kOpen) break;
    // Each connection sends once per interval: between 1 µs and a day keeps it an integer
    // count of nanoseconds the schedule can step by.
    const double interval_ns = 1e9 * static_cast<double>(c) / o.rate;
    if (interval_ns < 1e3 || interval_ns > 86400e9) {
      return fmt::format(
          "--rate: {:g}/s over {} connections is one send every {:g} ns per "
          "connection; it must be between 1 µs and a day",
          o.rate, c, interval_ns);
    }
  }
  // What the closed loop keeps in flight is allocated up front, per connection and in all.
  const uint64_t max_size = *std::max_element(plan.sizes.begin(), plan.sizes.end());
  const uint64_t max_clients = *std::max_element(plan.clients.begin(), plan.clients.end());
  const uint64_t in_flight = max_size * static_cast<uint64_t>(o.pipeline);
  if (in_flight > (64u << 20))
    return "--pipeline x --size: at most 64 MiB in flight per connection";
  if (in_flight * max_clients > (4ull << 30)) {
    return "--clients x --pipeline x --size: at most 4 GiB in flight over all connections";
  }
  l.rate = o.rate;
  l.pipeline = o.pipeline;
  if (auto engine = ub::load::client_engine(o.client_engine); !engine) {
    return fmt::format("--client-engine={}: {} (choices: {}, {})", o.client_engine,
                       engine.error().message(), ub::load::kAutoEngine,
                       fmt::join(ub::load::client_engine_names(), ", "));
  } else if (!engine->available) {
    return "--client-engine=" + o.client_engine + " is unavailable: " + engine->why_unavailable;
  }
  l.engine = o.client_engine;
  if (!o.no_pin) {
    plan.server_cpus = default_cpus(true);
    plan.client_cpus = default_cpus(false);
    if (!o.server_cpus.empty()) {
      if (auto e = ub::bench::parse_cpu_list(o.server_cpus, plan.server_cpus); !e.empty()) {
        return "--server-cpus: " + e;
      }
    }
    if (!o.client_cpus.empty()) {
      if (auto e = ub::bench::parse_cpu_list(o.client_cpus, plan.client_cpus); !e.empty()) {
        return "--client-cpus: " + e;
      }
    }
  }
  l.cpus = plan.client_cpus;
  l.threads = o.client_threads > 0 ? o.client_threads
                                   : std::max<int>(1, static_cast<int>(plan.client_cpus.size()));
  l.seed = o.seed;
  if (o.server_mode != "auto" && o.server_mode != "threads" && o.server_mode != "process") {
    return "--server-mode must be auto, threads or process";
  }
  plan.server_mode = o.server_mode;
  return "";
}

std::string cpu_list_text(const std::vector<int>& cpus) {
  if (cpus.empty()) return "any";
  std::string text;
  for (int c : cpus) text += (text.empty() ? "" : ",") + std::to_string(c);
  return text;
}

// CPU time of another process (an external server given by --server-pid), from /proc.
std::optional<std::chrono::nanoseconds> process_cpu(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  const double tick = 1e9 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  return std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(utime + stime) * tick));
}

// One run: a fresh server (or the external one), the load, the server's CPU over
// exactly the measurement window. Returns "" or a fatal error.
std::string run_once(const Options& o, const Plan& plan, const std::string& backend,
                     uint64_t clients, uint64_t size, RunRecord& record) {
  ub::load::LoadConfig config = plan.load;
  config.connections = static_cast<int>(clients);
  config.message_size = size;
  std::unique_ptr<ub::bench::ServerRunner> server;
  std::optional<std::chrono::nanoseconds> cpu_start;
  std::optional<std::chrono::nanoseconds> cpu_end;
  std::optional<std::chrono::nanoseconds> busy_start;
  std::optional<std::chrono::nanoseconds> busy_end;
  ub::load::PhaseHooks hooks;

  if (plan.external) {
    config.server = *plan.external;
    if (o.server_pid > 0) {
      hooks.on_measure_start = [&] { cpu_start = process_cpu(o.server_pid); };
      hooks.on_measure_end = [&] { cpu_end = process_cpu(o.server_pid); };
    }
  } else {
    ub::echo::ServerConfig sc;
    sc.listen = ub::net::Endpoint::loopback_v4(0);
    sc.threads = o.server_threads > 0 ? o.server_threads
                                      : std::max<int>(1, static_cast<int>(plan.server_cpus.size()));
    sc.buffer_size = o.buffer_size;
    std::string error;
    server = ub::bench::ServerRunner::start(backend, o.backend_flags->options(backend), sc,
                                            plan.server_cpus, plan.server_in_own_process(clients),
                                            error);
    if (!server) return "cannot start back end " + backend + ": " + error;
    config.server = server->endpoint();
    hooks.on_connected = [&](size_t connections) {
      const uint64_t open = server->wait_open(connections, kAcceptWait);
      if (open < connections) {
        fmt::print(stderr,
                   "\nwarning: {} clients:{}: the server had {} of {} connections open after "
                   "{} s; starting the load anyway\n",
                   backend, clients, open, connections, kAcceptWait.count() / 1000);
      }
    };
    // The server CPUs' busy ticks: the fallback when the thread clocks are inflated, usable
    // only when no client thread shares those CPUs.
    const bool dedicated = !plan.server_cpus.empty() &&
                           std::none_of(plan.server_cpus.begin(), plan.server_cpus.end(), [&](int c) {
                             return std::find(plan.client_cpus.begin(), plan.client_cpus.end(), c) !=
                                    plan.client_cpus.end();
                           });
    hooks.on_measure_start = [&, dedicated] {
      cpu_start = server->cpu();
      if (dedicated) busy_start = ub::cpus_busy_time(plan.server_cpus);
    };
    hooks.on_measure_end = [&, dedicated] {
      cpu_end = server->cpu();
      if (dedicated) busy_end = ub::cpus_busy_time(plan.server_cpus);
    };
  }

  if (::isatty(STDERR_FILENO)) {
    hooks.on_tick = [&](std::string_view phase, double seconds, uint64_t round_trips) {
      fmt::print(
          stderr, "\r{} clients:{} size:{}: {} {:.0f}s{}\x1b[K",
          record.backend.empty() ? backend : record.backend, clients, size, phase, seconds,
          phase == "measure" && seconds > 0
              ? fmt::format(", {:.0f} RT/s so far", static_cast<double>(round_trips) / seconds)
              : "");
    };
  }
  auto result = ub::load::run_load(config, hooks);
  if (server) record.server_connections_rejected = server->stop().connections_rejected;
  if (!result) return "load run failed: " + result.error().message();
  record.backend = plan.external ? "external" : backend;
  if (!plan.external) record.backend_options = o.backend_flags->describe(backend);
  record.clients = static_cast<int>(clients);
  record.size = size;
  record.model = config.model;
  record.load = std::move(*result);
  record.client_threads = record.load.threads;
  if (cpu_start && cpu_end) {
    record.server_cpu = *cpu_end - *cpu_start;
    if (server) {
      std::optional<std::chrono::nanoseconds> busy;
      if (busy_start && busy_end) busy = *busy_end - *busy_start;
      const auto figure = ub::checked_cpu_figure(*record.server_cpu, busy, record.load.elapsed,
                                                 plan.server_cpus.size());
      if (figure.clocks_inflated) {
        record.server_thread_clocks_rejected = record.server_cpu;
        record.server_cpu = figure.cpu;
        record.server_cpu_from_ticks = figure.from_ticks;
      }
    }
  }
  return "";
}

ub::bench::Context make_context(const Options& o, const Plan& plan, const std::string& engine,
                                const ub::CpuLatencyRequest& idle) {
  const auto m = ub::machine_info();
  // What the machine offers each back end measured (the io_uring probe): "<name>_details".
  std::vector<std::pair<std::string, std::string>> details;
  for (const auto& name : plan.backends) {
    auto info = ub::echo::backend_info(name);
    if (info && !info->details.empty()) details.emplace_back(name + "_details", info->details);
  }
  std::string loads = "[";
  for (size_t i = 0; i < m.load_avg.size(); ++i) {
    loads += fmt::format("{}{:.2f}", i ? "," : "", m.load_avg[i]);
  }
  loads += "]";
  ub::bench::Context context = {
      {"date", m.date},
      {"host_name", m.host_name},
      {"executable", "bench_echo"},
      {"num_cpus", std::to_string(m.num_cpus)},
      {"mhz_per_cpu", fmt::format("{:.0f}", m.mhz_per_cpu)},
      {"cpu_scaling_enabled", "false"},
      {"caches", "[]"},
      {"load_avg", loads},
      {"library_build_type", m.build_type.rfind("release", 0) == 0 ? "release" : "debug"},
      {"build_type", m.build_type},
      {"git_revision", m.git_revision},
      {"kernel", m.kernel},
      {"cpu_model", m.cpu_model},
      {"liburing_version", m.liburing_version},
      {"server_cpus", cpu_list_text(plan.server_cpus)},
      {"client_cpus", cpu_list_text(plan.client_cpus)},
      {"client_threads", std::to_string(plan.load.threads)},
      {"client_engine", engine},
      {"load_model", std::string(ub::load::to_string(plan.load.model))},
      {"pipeline", std::to_string(plan.load.pipeline)},
      {"rate", fmt::format("{}", plan.load.rate)},
      {"duration", o.duration},
      {"warmup", o.warmup},
      {"server", plan.external ? "external " + plan.external->to_string()
                               : "server mode " + plan.server_mode},
      {"cpu_idle", idle.describe()},
      {"cpu_idle_states", ub::cpu_idle_states()},
  };
  context.insert(context.end(), details.begin(), details.end());
  return context;
}

std::string hgrm_path(const std::string& base, const RunRecord& r, bool many) {
  if (!many) return base;
  const auto dot = base.rfind('.');
  const std::string stem = dot == std::string::npos ? base : base.substr(0, dot);
  return fmt::format("{}.{}.c{}.s{}.r{}.hgrm", stem, r.backend, r.clients, r.size,
                     r.repetition + 1);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_echo: echo load against one or every back end, every byte verified."};
  Options o;
  app.add_option("--backend", o.backend, "back end, comma list, or 'all' (interleaved)")
      ->capture_default_str();
  app.add_option("--connect", o.connect, "drive an external echo server at HOST:PORT instead");
  app.add_option("--clients", o.clients, "connections, or a list to sweep: 1,10,100")
      ->capture_default_str();
  app.add_option("--size", o.sizes, "message bytes, or a list to sweep: 64,1024")
      ->capture_default_str();
  app.add_option("--duration", o.duration, "measurement window per run")->capture_default_str();
  app.add_option("--warmup", o.warmup, "load before the window opens")->capture_default_str();
  app.add_option("--repetitions", o.repetitions, "runs of the whole matrix, interleaved")
      ->check(CLI::Range(1, 1000));
  app.add_option("--mode", o.mode, "closed | open | stream")->capture_default_str();
  app.add_option("--pipeline", o.pipeline, "closed loop: messages in flight per connection")
      ->check(CLI::Range(1, 4096));
  app.add_option("--rate", o.rate, "open loop: round trips/s over all connections (implies open)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--client-engine", o.client_engine,
                 fmt::format("{} | {} (auto: the first available here)", ub::load::kAutoEngine,
                             fmt::join(ub::load::client_engine_names(), " | ")))
      ->capture_default_str();
  app.add_option("--client-threads", o.client_threads, "client threads (default: client CPUs)")
      ->check(CLI::Range(1, 256));
  app.add_option("--server-threads", o.server_threads, "server threads (default: server CPUs)")
      ->check(CLI::Range(1, 256));
  app.add_option("--server-cpus", o.server_cpus, "pin the server (default: first half of CPUs)");
  app.add_option("--client-cpus", o.client_cpus, "pin the client (default: second half)");
  app.add_flag("--no-pin", o.no_pin, "do not pin threads");
  app.add_option("--server-mode", o.server_mode,
                 "threads: server in this process; process: in a forked child (own fd table); "
                 "auto: process when the fd limit cannot hold both sides")
      ->capture_default_str();
  app.add_option("--buffer-size", o.buffer_size, "server buffer per connection")
      ->check(CLI::Range(size_t{64}, size_t{64} << 20));
  app.add_option("--reply-timeout", o.reply_timeout, "a reply later than this is an error")
      ->capture_default_str();
  app.add_option("--json", o.json, "write results as Google Benchmark JSON");
  app.add_option("--hgrm", o.hgrm, "write latency histograms (HdrHistogram .hgrm)");
  app.add_option("--server-pid", o.server_pid, "with --connect: measure this process's CPU");
  app.add_option("--seed", o.seed, "payload seed");
  app.add_flag("--sweep", o.sweep, "accepted for clarity: lists in --clients/--size sweep anyway");
  app.add_option("--cpu-dma-latency-us", o.cpu_dma_latency_us,
                 "hold a PM QoS request for the whole run: idle CPUs use no state slower "
                 "to leave than this (0: they poll; costs host CPU; needs root)")
      ->check(CLI::Range(0, 100'000'000));
  o.backend_flags = std::make_unique<ub::cli::BackendFlags>(app);
  if (int rc = ub::cli::parse(app, argc, argv); rc >= 0) return rc;

  Plan plan;
  if (auto e = make_plan(o, plan); !e.empty()) return usage_error(e);
  if (auto e = o.backend_flags->finish(plan.backends); !e.empty()) return usage_error(e);
  if (!plan.external && plan.backends.empty()) return usage_error("no back end is available");
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

  // Each side needs a descriptor per connection: the client always, the server too when it
  // shares this process (otherwise it runs in a child with a table of its own).
  const uint64_t most_clients = *std::max_element(plan.clients.begin(), plan.clients.end());
  const bool shared = !plan.external && plan.server_mode == "threads";
  const size_t fds_needed = most_clients * (shared ? 2 : 1) + 256;
  auto limit = ub::net::raise_fd_limit(fds_needed * (plan.external ? 1 : 2));
  plan.fd_limit = limit ? *limit : 0;
  if (plan.fd_limit < fds_needed) {
    fmt::print(stderr,
               "{}: {} clients need {} file descriptors{} but RLIMIT_NOFILE allows {}; raise "
               "the hard limit (ulimit -Hn, as root){}\n",
               kTool, most_clients, fds_needed, shared ? " (client + server)" : "", plan.fd_limit,
               shared ? " or let the server run in its own process (--server-mode=auto)" : "");
    return 1;
  }

  std::vector<RunRecord> runs;
  std::vector<std::string> targets =
      plan.external ? std::vector<std::string>{"external"} : plan.backends;
  fmt::print(
      "bench_echo: {} loop{}, {} x {} s window after {} warm-up; server CPUs {}, client "
      "CPUs {} ({} client thread{}); {}; every echoed byte verified\n",
      ub::load::to_string(plan.load.model),
      plan.load.model == ub::load::LoadModel::kClosed
          ? fmt::format(" (pipeline {})", plan.load.pipeline)
      : plan.load.model == ub::load::LoadModel::kOpen
          ? fmt::format(" at {:.0f} RT/s", plan.load.rate)
          : "",
      o.repetitions, std::chrono::duration<double>(plan.load.duration).count(), o.warmup,
      cpu_list_text(plan.server_cpus), cpu_list_text(plan.client_cpus), plan.load.threads,
      plan.load.threads == 1 ? "" : "s", idle.describe());
  std::fflush(stdout);
  for (int rep = 0; rep < o.repetitions; ++rep) {
    for (auto clients : plan.clients) {
      for (auto size : plan.sizes) {
        for (const auto& backend : targets) {  // innermost: back ends interleave in time
          RunRecord record;
          record.repetition = rep;
          record.repetitions = o.repetitions;
          if (auto e = run_once(o, plan, backend, clients, size, record); !e.empty()) {
            fmt::print(stderr, "\n{}: {}\n", kTool, e);
            return 1;
          }
          runs.push_back(std::move(record));
        }
      }
    }
  }
  if (::isatty(STDERR_FILENO)) fmt::print(stderr, "\r\x1b[K");

  ub::bench::print_table(stdout, runs);
  const std::string engine_used =
      runs.front().load.engine + " (" + runs.front().load.engine_setup + ")";
  fmt::print(
      "client engine {}; latency is round-trip time (send to complete echo); "
      "srv_us/rt = server CPU per echo, cli_us/rt = client CPU per round trip\n",
      engine_used);

  std::fflush(stdout);  // the table before the warnings when both go to one file
  uint64_t errors = 0;
  size_t empty_runs = 0;
  for (const auto& r : runs) {
    errors += r.load.errors.total();
    empty_runs += r.load.round_trips == 0;
    if (r.server_thread_clocks_rejected) {
      fmt::print(stderr,
                 "warning: {} clients:{} size:{} rep {}: the server's thread CPU clocks read {:.1f} "
                 "CPU-s in a {:.1f} s window on {} CPU(s), more than the CPUs could give (the "
                 "kernel's per-thread accounting inflates with thousands of switching threads); "
                 "srv_us/rt {}\n",
                 r.backend, r.clients, r.size, r.repetition + 1,
                 std::chrono::duration<double>(*r.server_thread_clocks_rejected).count(),
                 r.seconds(), plan.server_cpus.size(),
                 r.server_cpu_from_ticks ? "is from the server CPUs' busy ticks in /proc/stat instead"
                                         : "is not reported");
    }
    if (r.client_busy() > 0.9 && r.model != ub::load::LoadModel::kStream) {
      fmt::print(stderr,
                 "warning: {} clients:{} size:{} rep {}: the client was busy {:.0f}% of the "
                 "window: the client, not the server, may have set the pace\n",
                 r.backend, r.clients, r.size, r.repetition + 1, 100 * r.client_busy());
    }
  }
  if (!o.json.empty()) {
    if (auto e = ub::bench::write_file(
            o.json, ub::bench::to_json(make_context(o, plan, engine_used, idle), runs));
        !e.empty()) {
      fmt::print(stderr, "{}: {}\n", kTool, e);
      return 1;
    }
  }
  if (!o.hgrm.empty()) {
    for (const auto& r : runs) {
      if (auto e = ub::bench::write_file(hgrm_path(o.hgrm, r, runs.size() > 1),
                                         r.load.rtt.percentile_distribution());
          !e.empty()) {
        fmt::print(stderr, "{}: {}\n", kTool, e);
        return 1;
      }
    }
  }
  if (empty_runs > 0) {
    fmt::print(stderr, "\n*** {} RUN(S) MEASURED NO ROUND TRIP: nothing above was measured ***\n",
               empty_runs);
    for (const auto& r : runs) {
      if (r.load.round_trips == 0) {
        fmt::print(stderr, "{} clients:{} size:{} rep {}: 0 round trips in {:.3f} s\n", r.backend,
                   r.clients, r.size, r.repetition + 1, r.seconds());
      }
    }
    if (errors == 0) return 1;
  }
  if (errors > 0) {
    fmt::print(stderr, "\n*** {} ERRORS: the figures above are not trustworthy ***\n", errors);
    for (const auto& r : runs) {
      const auto& e = r.load.errors;
      if (e.total() == 0) continue;
      fmt::print(stderr,
                 "{} clients:{} size:{} rep {}: connect {}, mismatch {}, reset {}, early EOF {}, "
                 "late {}, other {}\n",
                 r.backend, r.clients, r.size, r.repetition + 1, e.connect_failures, e.mismatches,
                 e.resets, e.early_eofs, e.late_replies, e.other);
      for (const auto& s : r.load.error_samples) fmt::print(stderr, "  {}\n", s);
    }
    return 1;
  }
  return 0;
}
