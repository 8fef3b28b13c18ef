#pragma once
// The echo server back-end interface. A back end owns its listening socket(s) and event
// loop threads; the virtual calls here happen only at start, stop and stats time, never
// per echo. Back ends register in registry.cc, best first.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/result.h"
#include "net/endpoint.h"

namespace ub::echo {

// The io_uring back end's techniques, each switchable so its effect can be measured
// (results/uring-ablation.md). The defaults are the fastest correct combination measured on
// the project's 2-vCPU VMs; a technique the kernel lacks (probe_uring()) is left out, not
// an error. Other back ends ignore these.
struct UringOptions {
  bool multishot = true;         // multishot accept and recv (else one shot, re-armed each time)
  bool defer_taskrun = true;     // try SINGLE_ISSUER|DEFER_TASKRUN before COOP_TASKRUN
  bool register_ring_fd = true;  // io_uring_register_ring_fd
  bool fixed_files = false;      // direct descriptors: accepted sockets live in the ring's table
  bool sqpoll = false;           // a kernel thread polls the submission queue
  bool bundle = true;            // recv bundles: one completion may fill several buffers
  bool incremental = true;       // receives fill buffers back to back (then no bundles)
  bool zc_send = false;          // zero-copy send for sends of zc_threshold bytes or more
  size_t zc_threshold = 16 * 1024;
  unsigned buffer_count = 4096;  // provided buffers per ring (a power of two, <= 32768)
  size_t buffer_size = 4096;     // bytes per provided buffer
  unsigned batch = 256;          // most completions one wait asks for (1: wake on every one)
  unsigned batch_wait_us = 100;  // longest a finished completion waits for its batch
  unsigned batch_hold_share = 8;  // ask for a whole last batch while it was <= 1/N of the
                                  // connections, else half of it (0: always half)
  // A multishot recv ends after N byte budgets (--buffer-size) less what the connection
  // holds (Linux 6.17; 0: no cap). Bounds what a client that never reads pulls into the
  // pool in one batch, but each end costs a re-arm: at 1, stream mode took 2x the CPU.
  unsigned recv_cap = 0;
};

// "multishot,defer_taskrun,...,buffers=4096x4096,batch=256/100us,hold=1/8": for result
// files.
inline std::string to_string(const UringOptions& o) {
  std::string s;
  auto add = [&s](const char* name, bool on) {
    s += (s.empty() ? "" : ",") + std::string(on ? "" : "no-") + name;
  };
  add("multishot", o.multishot);
  add("defer_taskrun", o.defer_taskrun);
  add("register_ring_fd", o.register_ring_fd);
  add("fixed_files", o.fixed_files);
  add("sqpoll", o.sqpoll);
  add("bundle", o.bundle);
  add("incremental", o.incremental);
  add("zc_send", o.zc_send);
  if (o.zc_send) s += ">=" + std::to_string(o.zc_threshold);
  s += ",buffers=" + std::to_string(o.buffer_count) + "x" + std::to_string(o.buffer_size);
  s += ",batch=" + std::to_string(o.batch) + "/" + std::to_string(o.batch_wait_us) + "us";
  s += ",hold=1/" + std::to_string(o.batch_hold_share);
  if (o.recv_cap != 0) s += ",recv_cap=" + std::to_string(o.recv_cap);
  return s;
}

struct ServerConfig {
  net::Endpoint listen;                // port 0: the kernel picks; read back via local_endpoint()
  int threads = 0;                     // event-loop threads; 0: one per core (blocking: unused)
  int backlog = 4096;                  // listen backlog (the kernel caps it at somaxconn)
  size_t max_connections = 0;          // 0: no cap. Beyond the cap: accepted, then closed at once
  size_t buffer_size = 16 * 1024;      // per-connection echo buffer: the server-side bound on
                                       // what one connection can make the server hold
  UringOptions uring;                  // the io_uring back end's techniques
};

struct ThreadCpu {
  std::string role;  // "accept", "connections", "reactor-0", ...
  std::chrono::nanoseconds cpu{};
};

struct ServerStats {
  uint64_t connections_accepted = 0;  // every accepted connection, rejected ones included
  uint64_t connections_open = 0;
  uint64_t connections_rejected = 0;  // closed at once: over max_connections or no thread
  uint64_t accept_fd_exhausted = 0;   // accepts that hit EMFILE/ENFILE (connection shed)
  uint64_t bytes_echoed = 0;          // bytes written back to clients
  std::vector<ThreadCpu> thread_cpu;  // per server thread (or role), CPU time since start

  std::chrono::nanoseconds total_cpu() const {
    std::chrono::nanoseconds sum{};
    for (const auto& t : thread_cpu) sum += t.cpu;
    return sum;
  }
};

class EchoBackend {
 public:
  virtual ~EchoBackend() = default;
  virtual std::string_view name() const = 0;
  // Binds and starts serving. Fails (and leaves nothing running) if the address cannot be
  // bound. Call at most once.
  virtual std::error_code start(const ServerConfig& config) = 0;
  // The bound address (the ephemeral port when config.listen had port 0).
  virtual net::Endpoint local_endpoint() const = 0;
  // Stops accepting, closes every connection, joins every thread. Bounded in time whatever
  // the clients do; idempotent. The destructor calls it.
  virtual void stop() = 0;
  virtual ServerStats stats() const = 0;
};

enum class EchoError { kUnknownBackend = 1, kBackendUnavailable, kAlreadyStarted };
const std::error_category& echo_category();
inline std::error_code make_error_code(EchoError e) { return {static_cast<int>(e), echo_category()}; }

struct BackendInfo {
  std::string name;
  std::string description;
  bool available = false;
  std::string why_not;  // set when unavailable: the reason, e.g. "io_uring_setup: EPERM"
};

// Every back end this build knows, best first, with availability on this machine.
std::vector<BackendInfo> available_backends();
// The entry for `name`, or kUnknownBackend.
Result<BackendInfo> backend_info(std::string_view name);
// A fresh back end. kUnknownBackend, or kBackendUnavailable (backend_info says why):
// never a silent substitute.
Result<std::unique_ptr<EchoBackend>> make_backend(std::string_view name);

}  // namespace ub::echo

template <>
struct std::is_error_code_enum<ub::echo::EchoError> : std::true_type {};
