#include "echo_plan.h"

#include <fmt/core.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "echo/backend.h"
#include "flag_values.h"
#include "load/load.h"

namespace ub::bench {
namespace {

// The open loop's highest rate: one send per microsecond on each of 100,000 connections.
constexpr double kMaxRate = 1e11;

std::vector<int> default_cpus(bool server) {
  const int n = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  if (n < 2) return {};
  std::vector<int> cpus;
  for (int c = server ? 0 : n / 2; c < (server ? n / 2 : n); ++c) cpus.push_back(c);
  return cpus;
}

}  // namespace

void add_load_flags(CLI::App& app, Options& o) {
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
  // make_plan() checks the range: CLI11 would say it in two lines, and DBL_MAX in full.
  app.add_option("--rate", o.rate, "open loop: round trips/s over all connections (implies open)")
      ->type_name("FLOAT:NONNEGATIVE");
  app.add_option("--client-engine", o.client_engine,
                 fmt::format("{} | {} (auto: the first available here)", load::kAutoEngine,
                             fmt::join(load::client_engine_names(), " | ")))
      ->capture_default_str();
}

void add_setup_flags(CLI::App& app, Options& o) {
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
  o.backend_flags = std::make_unique<cli::BackendFlags>(app);
}

std::string make_plan(const Options& o, Plan& plan) {
  if (!o.connect.empty()) {
    auto endpoint = net::Endpoint::parse(o.connect);
    if (!endpoint) return "bad --connect '" + o.connect + "': " + endpoint.error().message();
    plan.external = *endpoint;
  } else if (o.backend == "all") {
    for (const auto& b : echo::available_backends()) {
      if (b.available) {
        plan.backends.push_back(b.name);
      } else {
        fmt::print(stderr, "bench_echo: skipping back end '{}': {}\n", b.name, b.why_not);
      }
    }
  } else {
    for (size_t start = 0;;) {
      const size_t comma = o.backend.find(',', start);
      const std::string name = o.backend.substr(start, comma - start);
      auto info = echo::backend_info(name);
      if (!info) return "unknown back end '" + name + "' (see echo_server --list-backends)";
      if (!info->available) return "back end '" + name + "' is unavailable: " + info->why_not;
      plan.backends.push_back(name);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (auto e = parse_size_list(o.clients, plan.clients); !e.empty()) return "--clients: " + e;
  if (auto e = parse_size_list(o.sizes, plan.sizes); !e.empty()) return "--size: " + e;
  for (auto c : plan.clients) {
    if (c > 100000) return "--clients: at most 100000 connections";
  }
  for (auto s : plan.sizes) {
    if (s > (64u << 20)) return "--size: at most 64 MiB per message";
  }
  auto& l = plan.load;
  if (auto e = parse_duration(o.duration, l.duration); !e.empty()) return "--duration: " + e;
  if (auto e = parse_duration(o.warmup, l.warmup); !e.empty()) return "--warmup: " + e;
  if (auto e = parse_duration(o.reply_timeout, l.reply_timeout); !e.empty()) {
    return "--reply-timeout: " + e;
  }
  // Zero would count every reply late.
  if (l.reply_timeout.count() <= 0) return "--reply-timeout: must be more than 0 (e.g. 5s)";
  // The client threads see the window open and close up to 10 ms late (phases are polled).
  if (l.duration < std::chrono::milliseconds(100)) return "--duration: at least 100ms";
  if (!std::isfinite(o.rate) || o.rate < 0 || o.rate > kMaxRate) {
    return fmt::format("--rate: must be from 0 to {:g} round trips per second", kMaxRate);
  }
  if (o.mode == "closed") {
    l.model = load::LoadModel::kClosed;
  } else if (o.mode == "open") {
    l.model = load::LoadModel::kOpen;
  } else if (o.mode == "stream") {
    l.model = load::LoadModel::kStream;
  } else {
    return "--mode must be closed, open or stream";
  }
  if (o.rate > 0 && o.mode == "closed") l.model = load::LoadModel::kOpen;  // --rate implies open
  if (l.model == load::LoadModel::kOpen && o.rate <= 0) return "--mode=open needs --rate=R";
  if (o.rate > 0 && l.model == load::LoadModel::kStream) {
    return "--rate is for the open loop; --mode=stream sends as fast as the server echoes";
  }
  for (auto c : plan.clients) {
    if (l.model != load::LoadModel::kOpen) break;
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
  if (!o.no_pin) {
    plan.server_cpus = default_cpus(true);
    plan.client_cpus = default_cpus(false);
    if (!o.server_cpus.empty()) {
      if (auto e = parse_cpu_list(o.server_cpus, plan.server_cpus); !e.empty()) {
        return "--server-cpus: " + e;
      }
    }
    if (!o.client_cpus.empty()) {
      if (auto e = parse_cpu_list(o.client_cpus, plan.client_cpus); !e.empty()) {
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
  l.rate = o.rate;
  l.pipeline = o.pipeline;
  if (auto engine = load::client_engine(o.client_engine); !engine) {
    return fmt::format("--client-engine={}: {} (choices: {}, {})", o.client_engine,
                       engine.error().message(), load::kAutoEngine,
                       fmt::join(load::client_engine_names(), ", "));
  } else if (!engine->available) {
    return "--client-engine=" + o.client_engine + " is unavailable: " + engine->why_unavailable;
  }
  l.engine = o.client_engine;
  return "";
}

std::string cpu_list_text(const std::vector<int>& cpus) {
  if (cpus.empty()) return "any";
  std::string text;
  for (int c : cpus) text += (text.empty() ? "" : ",") + std::to_string(c);
  return text;
}

}  // namespace ub::bench
