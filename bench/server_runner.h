#pragma once
// Runs an echo back end for bench_echo, either on threads of this process or in a forked
// child process. A child has its own descriptor table: 10,000 connections need 10,000
// server descriptors besides the client's 10,000, more than one process may hold here.
// Either way the server's threads are pinned to `cpus` and its CPU time is read from its
// own per-thread clocks.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "echo/backend.h"
#include "net/unique_fd.h"

namespace ub::bench {

class ServerRunner {
 public:
  // Returns nullptr and sets `error` when the back end cannot start. `options`: the back
  // end's own settings (nullptr: its defaults), as for echo::make_backend().
  static std::unique_ptr<ServerRunner> start(const std::string& backend,
                                             const echo::BackendOptions* options,
                                             const echo::ServerConfig& config,
                                             const std::vector<int>& cpus, bool own_process,
                                             std::string& error);
  ~ServerRunner();

  net::Endpoint endpoint() const { return endpoint_; }
  bool own_process() const { return child_ > 0; }
  std::chrono::nanoseconds cpu();  // server CPU so far
  // Waits until the server reports `connections` open or `timeout` passes; returns the
  // number open when it stopped waiting.
  uint64_t wait_open(uint64_t connections, std::chrono::milliseconds timeout);
  echo::ServerStats stop();        // stops the server; its final counters

 private:
  ServerRunner() = default;
  std::optional<echo::ServerStats> current();  // nullopt once stopped or the child is gone

  std::unique_ptr<echo::EchoBackend> backend_;  // in-process
  pid_t child_ = -1;                            // own process
  net::UniqueFd to_child_;
  net::UniqueFd from_child_;
  net::Endpoint endpoint_;
  bool stopped_ = false;
  echo::ServerStats final_;
};

}  // namespace ub::bench
