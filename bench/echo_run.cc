#include "echo_run.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

#include "common/cpu_ticks.h"
#include "net/socket.h"
#include "server_runner.h"

namespace ub::bench {
namespace {

// How long the load waits for the server to have every connection open (see on_connected).
constexpr std::chrono::milliseconds kAcceptWait{30'000};

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

}  // namespace

std::string reserve_descriptors(Plan& plan) {
  // Each side needs a descriptor per connection: the client always, the server too when it
  // shares this process (otherwise it runs in a child with a table of its own).
  const uint64_t most_clients = *std::max_element(plan.clients.begin(), plan.clients.end());
  const bool shared = !plan.external && plan.server_mode == "threads";
  const size_t fds_needed = most_clients * (shared ? 2 : 1) + 256;
  auto limit = net::raise_fd_limit(fds_needed * (plan.external ? 1 : 2));
  plan.fd_limit = limit ? *limit : 0;
  if (plan.fd_limit >= fds_needed) return "";
  return fmt::format(
      "{} clients need {} file descriptors{} but RLIMIT_NOFILE allows {}; raise the hard "
      "limit (ulimit -Hn, as root){}",
      most_clients, fds_needed, shared ? " (client + server)" : "", plan.fd_limit,
      shared ? " or let the server run in its own process (--server-mode=auto)" : "");
}

std::string run_once(const Options& o, const Plan& plan, const std::string& backend,
                     uint64_t clients, uint64_t size, RunRecord& record) {
  load::LoadConfig config = plan.load;
  config.connections = static_cast<int>(clients);
  config.message_size = size;
  std::unique_ptr<ServerRunner> server;
  std::optional<std::chrono::nanoseconds> cpu_start;
  std::optional<std::chrono::nanoseconds> cpu_end;
  std::optional<std::chrono::nanoseconds> busy_start;
  std::optional<std::chrono::nanoseconds> busy_end;
  load::PhaseHooks hooks;

  if (plan.external) {
    config.server = *plan.external;
    if (o.server_pid > 0) {
      hooks.on_measure_start = [&] { cpu_start = process_cpu(o.server_pid); };
      hooks.on_measure_end = [&] { cpu_end = process_cpu(o.server_pid); };
    }
  } else {
    echo::ServerConfig sc;
    sc.listen = net::Endpoint::loopback_v4(0);
    sc.threads = o.server_threads > 0 ? o.server_threads
                                      : std::max<int>(1, static_cast<int>(plan.server_cpus.size()));
    sc.buffer_size = o.buffer_size;
    std::string error;
    server = ServerRunner::start(backend, o.backend_flags->options(backend), sc, plan.server_cpus,
                                 plan.server_in_own_process(clients), error);
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
    const bool dedicated =
        !plan.server_cpus.empty() &&
        std::none_of(plan.server_cpus.begin(), plan.server_cpus.end(), [&](int c) {
          return std::find(plan.client_cpus.begin(), plan.client_cpus.end(), c) !=
                 plan.client_cpus.end();
        });
    hooks.on_measure_start = [&, dedicated] {
      cpu_start = server->cpu();
      if (dedicated) busy_start = cpus_busy_time(plan.server_cpus);
    };
    hooks.on_measure_end = [&, dedicated] {
      cpu_end = server->cpu();
      if (dedicated) busy_end = cpus_busy_time(plan.server_cpus);
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
  auto result = load::run_load(config, hooks);
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
      const auto figure = checked_cpu_figure(*record.server_cpu, busy, record.load.elapsed,
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

std::string run_all(const Options& o, const Plan& plan, std::vector<RunRecord>& runs) {
  const auto targets = plan.targets();
  for (int rep = 0; rep < o.repetitions; ++rep) {
    for (auto clients : plan.clients) {
      for (auto size : plan.sizes) {
        for (const auto& backend : targets) {  // innermost: back ends interleave in time
          RunRecord record;
          record.repetition = rep;
          record.repetitions = o.repetitions;
          if (auto e = run_once(o, plan, backend, clients, size, record); !e.empty()) return e;
          runs.push_back(std::move(record));
        }
      }
    }
  }
  if (::isatty(STDERR_FILENO)) fmt::print(stderr, "\r\x1b[K");
  return "";
}

}  // namespace ub::bench
