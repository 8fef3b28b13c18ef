// The coordinator: connects, spreads connections over client threads, opens and closes the
// measurement window, merges what the threads measured.

#include "load/load.h"

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <cmath>
#include <memory>
#include <thread>

#include "common/thread.h"
#include "load/connect.h"
#include "load/engines.h"
#include "load/worker.h"
#include "net/socket.h"

namespace ub::load {

std::string_view to_string(LoadModel model) {
  switch (model) {
    case LoadModel::kClosed:
      return "closed";
    case LoadModel::kOpen:
      return "open";
    case LoadModel::kStream:
      return "stream";
  }
  return "?";
}

void ErrorCounts::add(const ErrorCounts& o) {
  connect_failures += o.connect_failures;
  mismatches += o.mismatches;
  resets += o.resets;
  early_eofs += o.early_eofs;
  late_replies += o.late_replies;
  other += o.other;
}

namespace {

void pin_to(pthread_t thread, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(thread, sizeof(set), &set);
}

}  // namespace

Result<LoadResult> run_load(const LoadConfig& config, const PhaseHooks& hooks) {
  if (config.connections < 1 || config.threads < 1 || config.message_size < 1 ||
      config.pipeline < 1) {
    return errno_code(EINVAL);
  }
  if (config.model == LoadModel::kOpen) {
    // A send interval per connection the schedule can step by in whole nanoseconds.
    const double interval_ns = 1e9 * static_cast<double>(config.connections) / config.rate;
    if (!(config.rate > 0) || !std::isfinite(config.rate) || !(interval_ns >= 1e3) ||
        interval_ns > 86400e9) {
      return errno_code(EINVAL);
    }
  }
  const Engine* engine = find_engine(config.engine);
  if (engine == nullptr) {
    return make_error_code(config.engine == kAutoEngine ? LoadError::kEngineUnavailable
                                                        : LoadError::kUnknownEngine);
  }
  if (!engine->why_unavailable().empty()) return make_error_code(LoadError::kEngineUnavailable);
  LoadResult result;
  result.engine = engine->name;

  auto connected =
      connect_many(config.server, static_cast<size_t>(config.connections), config.connect_timeout);
  result.errors.connect_failures = connected.failures;
  if (connected.failures > 0) {
    result.error_samples.push_back(std::to_string(connected.failures) +
                                   " connections failed: " + connected.first_error);
  }

  if (hooks.on_connected) hooks.on_connected(connected.fds.size());

  // Deal connections to threads round-robin, so every thread carries the same load.
  const size_t threads = std::min<size_t>(static_cast<size_t>(config.threads),
                                          std::max<size_t>(connected.fds.size(), 1));
  std::vector<std::vector<net::UniqueFd>> shares(threads);
  result.threads = static_cast<int>(threads);
  for (size_t i = 0; i < connected.fds.size(); ++i) {
    shares[i % threads].push_back(std::move(connected.fds[i]));
  }

  std::atomic<Phase> phase{Phase::kWarmup};
  std::vector<std::unique_ptr<WorkerCore>> cores;
  std::vector<Thread> workers;
  uint64_t first_id = 0;
  for (size_t t = 0; t < threads; ++t) {
    const size_t share = shares[t].size();
    cores.push_back(std::make_unique<WorkerCore>(config, phase, std::move(shares[t]), first_id));
    first_id += share;
  }
  for (size_t t = 0; t < threads; ++t) {
    WorkerCore* core = cores[t].get();
    auto worker = Thread::spawn([core, engine] { engine->run(*core); }, "ub-client", 1 << 20);
    if (!worker) {
      phase.store(Phase::kDrain);
      return worker.error();  // joined on the way out
    }
    if (!config.cpus.empty()) pin_to(worker->native_handle(), config.cpus[t % config.cpus.size()]);
    workers.push_back(std::move(*worker));
  }

  // Sleeps through a phase, ticking about once a second.
  auto wait_phase = [&](std::string_view name, std::chrono::nanoseconds length) {
    const auto begin = std::chrono::steady_clock::now();
    const auto end = begin + length;
    for (auto now = begin; now < end; now = std::chrono::steady_clock::now()) {
      std::this_thread::sleep_for(
          std::min<std::chrono::nanoseconds>(end - now, std::chrono::seconds(1)));
      if (!hooks.on_tick) continue;
      uint64_t round_trips = 0;
      for (const auto& core : cores) round_trips += core->live_round_trips();
      hooks.on_tick(name,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count(),
                    round_trips);
    }
  };
  wait_phase("warmup", config.warmup);
  if (hooks.on_measure_start) hooks.on_measure_start();
  const auto window_start = std::chrono::steady_clock::now();
  phase.store(Phase::kMeasure, std::memory_order_release);
  wait_phase("measure", config.duration);
  phase.store(Phase::kDrain, std::memory_order_release);
  result.elapsed = std::chrono::steady_clock::now() - window_start;
  if (hooks.on_measure_end) hooks.on_measure_end();
  workers.clear();  // joins: each thread drains its outstanding replies first

  for (auto& core : cores) {
    auto& r = core->result();
    result.round_trips += r.round_trips;
    result.bytes_received += r.bytes_received;
    result.rtt.merge(r.rtt);
    result.rtt_scheduled.merge(r.rtt_scheduled);
    result.client_cpu += r.cpu;
    result.client_context_switches += r.context_switches;
    if (result.engine_setup.empty()) result.engine_setup = r.engine_setup;
    result.errors.add(r.errors);
    for (auto& s : r.error_samples) {
      if (result.error_samples.size() < WorkerCore::kMaxSamples) result.error_samples.push_back(s);
    }
  }
  return result;
}

}  // namespace ub::load
