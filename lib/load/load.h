#pragma once
// The load generator: drives an echo server with many connections from a few client
// threads, checks every echoed byte, and measures round trips, latency and CPU. Connection
// set-up and warm-up never enter the figures.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/result.h"
#include "load/histogram.h"
#include "net/endpoint.h"

namespace ub::load {

enum class LoadModel {
  kClosed,  // each connection keeps `pipeline` messages in flight
  kOpen,    // `rate` round trips/s over all connections, each message sent when it is due
  kStream,  // each connection keeps its pipe full; throughput only
};

std::string_view to_string(LoadModel model);

// The client engines (the I/O loop each client thread runs), from the table in registry.cc.
struct EngineInfo {
  std::string name;  // what LoadConfig::engine and LoadResult::engine hold: "uring", "epoll"
  std::string description;
  bool available = false;
  std::string why_unavailable;  // set when !available: "built without liburing", ...
};
// As LoadConfig::engine: the first engine available here, in the table's order.
inline constexpr std::string_view kAutoEngine = "auto";
// Every engine's name, best first; cheap (nothing is probed).
std::vector<std::string> client_engine_names();
// Every engine, best first, with whether it can run here.
std::vector<EngineInfo> client_engines();
// The engine `name` selects (kAutoEngine: the first available), or kUnknownEngine, or
// kEngineUnavailable when "auto" finds none.
Result<EngineInfo> client_engine(std::string_view name);

enum class LoadError { kUnknownEngine = 1, kEngineUnavailable };
const std::error_category& load_category();
inline std::error_code make_error_code(LoadError e) {
  return {static_cast<int>(e), load_category()};
}

struct LoadConfig {
  net::Endpoint server;
  int connections = 1;
  size_t message_size = 64;
  LoadModel model = LoadModel::kClosed;
  int pipeline = 1;  // closed loop: messages in flight per connection
  // Open loop: round trips/s in total; each connection sends every 1 µs to 1 day.
  double rate = 0;
  std::string engine{kAutoEngine};  // a client_engine_names() entry, or kAutoEngine
  int threads = 1;                  // client threads; connections are spread over them
  std::vector<int> cpus;            // pin client thread i to cpus[i % size]; empty: no pinning
  std::chrono::nanoseconds warmup = std::chrono::seconds(1);
  std::chrono::nanoseconds duration = std::chrono::seconds(5);
  std::chrono::nanoseconds reply_timeout = std::chrono::seconds(5);     // older: a late reply
  std::chrono::nanoseconds connect_timeout = std::chrono::seconds(60);  // for all connections
  uint64_t seed = 1;
};

struct ErrorCounts {
  uint64_t connect_failures = 0;
  uint64_t mismatches = 0;    // an echoed byte differs from the byte sent
  uint64_t resets = 0;        // ECONNRESET / EPIPE
  uint64_t early_eofs = 0;    // the server closed with replies outstanding
  uint64_t late_replies = 0;  // a reply still missing reply_timeout after its send
  uint64_t other = 0;         // any other socket error

  uint64_t total() const {
    return connect_failures + mismatches + resets + early_eofs + late_replies + other;
  }
  void add(const ErrorCounts& o);
};

struct LoadResult {
  std::string engine;                  // the name of the engine that ran (never auto)
  int threads = 0;                     // that ran: one per connection at most
  std::string engine_setup;            // how it was set up (io_uring flags that won)
  std::chrono::nanoseconds elapsed{};  // the measurement window
  uint64_t round_trips = 0;            // replies completed inside the window
  uint64_t bytes_received = 0;         // echoed bytes received inside the window
  Histogram rtt;                       // from the actual send to the complete reply
  Histogram rtt_scheduled;             // open loop: from the scheduled send (coordinated omission)
  std::chrono::nanoseconds client_cpu{};  // client threads' CPU inside the window
  uint64_t client_context_switches = 0;   // voluntary + involuntary, inside the window
  ErrorCounts errors;
  std::vector<std::string> error_samples;  // the first few errors, described
};

// Called on the coordinating thread just as the measurement window opens and closes (e.g.
// to snapshot the server's CPU clocks over exactly the same window).
struct PhaseHooks {
  // Once every connection is open and before any byte is sent, with the number open: a
  // connect completes when the kernel queues it, not when the server accepts it, so a
  // server still accepting (a thread-per-connection server spawning its threads) would
  // meet the load with part of its clients unserved. bench_echo waits here until the
  // server reports them all open.
  std::function<void(size_t connections)> on_connected;
  std::function<void()> on_measure_start;
  std::function<void()> on_measure_end;
  // About once a second: "warmup" or "measure", seconds into that phase, and the round
  // trips completed so far in the window (for a live progress line).
  std::function<void(std::string_view phase, double seconds, uint64_t round_trips)> on_tick;
};

// Connects every connection (paced, retried), warms up, measures, drains (every sent byte
// back), half-closes and reads to EOF (extra bytes are mismatches), closes.
// Errors from the run are in the result; a returned error means the run could not start
// (bad configuration: EINVAL; an unknown or unavailable engine: a LoadError).
Result<LoadResult> run_load(const LoadConfig& config, const PhaseHooks& hooks = {});

}  // namespace ub::load

template <>
struct std::is_error_code_enum<ub::load::LoadError> : std::true_type {};
