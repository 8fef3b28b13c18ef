#pragma once
// The echo server back-end interface. A back end owns its listening socket(s) and event
// loop threads; the virtual calls here happen only at start, stop and stats time, never
// per echo. Back ends register in registry.cc, best first; settings of their own come as a
// BackendOptions (backend_options.h), settings every back end shares in ServerConfig.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/result.h"
#include "echo/backend_options.h"
#include "net/endpoint.h"

namespace ub::echo {

struct ServerConfig {
  net::Endpoint listen;                // port 0: the kernel picks; read back via local_endpoint()
  int threads = 0;                     // event-loop threads; 0: one per core (blocking: unused)
  int backlog = 4096;                  // listen backlog (the kernel caps it at somaxconn)
  size_t max_connections = 0;          // 0: no cap. Beyond the cap: accepted, then closed at once
  size_t buffer_size = 16 * 1024;      // per-connection echo buffer: the server-side bound on
                                       // what one connection can make the server hold
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
  std::string details;  // what this machine offers it, in one line (the io_uring probe), or ""
};

// Every back end this build knows, best first, with availability on this machine.
std::vector<BackendInfo> available_backends();
// The entry for `name`, or kUnknownBackend.
Result<BackendInfo> backend_info(std::string_view name);
// The back end's own settings at their defaults, ready for their flags; nullptr when it has
// none (or is unknown).
std::unique_ptr<BackendOptions> make_backend_options(std::string_view name);
// A fresh back end. `options`: nullptr for the defaults, else what make_backend_options()
// gave for the same name. kUnknownBackend, or kBackendUnavailable (backend_info says why):
// never a silent substitute.
Result<std::unique_ptr<EchoBackend>> make_backend(std::string_view name,
                                                  const BackendOptions* options = nullptr);

}  // namespace ub::echo

template <>
struct std::is_error_code_enum<ub::echo::EchoError> : std::true_type {};
