#pragma once
// The EchoBackend shell the event-loop back ends (epoll, io_uring) share: one loop per
// thread, each on its own listener of a SO_REUSEPORT group, started together, stopped
// together, their counters summed. A back end supplies the configuration check and its
// loop; a Loop has start() (runs its thread; an error if its set-up failed),
// request_stop(), join() and add_stats(ServerStats&).

#include <atomic>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "common/result.h"
#include "echo/backend.h"
#include "echo/listener_group.h"

namespace ub::echo {

template <typename Loop>
class LoopGroupBackend : public EchoBackend {
 public:
  ~LoopGroupBackend() override { stop(); }

  std::error_code start(const ServerConfig& config) final {
    std::lock_guard lock(mu_);
    if (started_) return make_error_code(EchoError::kAlreadyStarted);
    if (auto ec = check(config)) return ec;
    if (auto ec = open_loops(config)) {
      shut_down();
      loops_.clear();
      return ec;
    }
    started_ = true;
    return {};
  }

  net::Endpoint local_endpoint() const final { return local_; }

  void stop() final {
    std::lock_guard lock(mu_);
    if (!started_ || stopped_) return;
    shut_down();
    stopped_ = true;
  }

  ServerStats stats() const final {
    std::lock_guard lock(mu_);  // stop() joins under it: no loop is read while it goes
    ServerStats s;
    for (const auto& loop : loops_) loop->add_stats(s);
    return s;
  }

 protected:
  // A configuration this back end cannot run, refused before anything is opened.
  virtual std::error_code check(const ServerConfig& config) = 0;
  // The loop for listener `index` of the group, not started yet. `open_total` counts the
  // open connections of every loop (for config.max_connections).
  virtual Result<std::unique_ptr<Loop>> make_loop(int index, const ServerConfig& config,
                                                  net::UniqueFd listener,
                                                  std::atomic<size_t>& open_total) = 0;

 private:
  std::error_code open_loops(const ServerConfig& config) {
    auto group = open_listener_group(config, config.threads > 0 ? config.threads : usable_cpus());
    if (!group) return group.error();
    local_ = group->endpoint;
    for (size_t i = 0; i < group->listeners.size(); ++i) {
      auto loop = make_loop(static_cast<int>(i), config, std::move(group->listeners[i]),
                            open_total_);
      if (!loop) return loop.error();
      loops_.push_back(std::move(*loop));
    }
    for (auto& loop : loops_) {
      if (auto ec = loop->start()) return ec;
    }
    return {};
  }

  void shut_down() {
    for (auto& loop : loops_) loop->request_stop();
    for (auto& loop : loops_) loop->join();
  }

  mutable std::mutex mu_;
  bool started_ = false;
  bool stopped_ = false;
  net::Endpoint local_;
  std::atomic<size_t> open_total_{0};       // before loops_: the loops refer to it
  std::vector<std::unique_ptr<Loop>> loops_;
};

}  // namespace ub::echo
