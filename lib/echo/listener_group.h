#pragma once
// What the event-loop back ends (epoll, io_uring) share: one SO_REUSEPORT listener per
// event-loop thread, the default thread count, and the per-thread counters behind stats().

#include <atomic>
#include <cstdint>
#include <vector>

#include "common/result.h"
#include "echo/backend.h"
#include "net/endpoint.h"
#include "net/unique_fd.h"

namespace ub::echo {

// The CPUs this process may run on: the default number of event-loop threads.
int usable_cpus();

struct ListenerGroup {
  net::Endpoint endpoint;                // where the group listens (port 0 resolved)
  std::vector<net::UniqueFd> listeners;  // one per event-loop thread
};

// `count` listeners on config.listen, bound with SO_REUSEPORT so the kernel spreads new
// connections over them by 4-tuple hash, with TCP_NODELAY set on each so accepted sockets
// inherit it. A taken port fails with EADDRINUSE like everywhere else (a plain bind is
// tried first: SO_REUSEPORT alone would silently join another server's group).
Result<ListenerGroup> open_listener_group(const ServerConfig& config, int count);

// Counters written by one event-loop thread and read by stats() from others: a relaxed
// load and store compile to plain moves, where fetch_add would be a locked instruction on
// every echo.
struct LoopCounters {
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> open{0};
  std::atomic<uint64_t> rejected{0};
  std::atomic<uint64_t> fd_exhausted{0};
  std::atomic<uint64_t> bytes_echoed{0};

  static void add(std::atomic<uint64_t>& counter, uint64_t n = 1) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  static void subtract_one(std::atomic<uint64_t>& counter) {
    counter.store(counter.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  }
  // A connection accepted only to be closed at once for want of descriptors.
  void count_shed() {
    add(fd_exhausted);
    add(accepted);
    add(rejected);
  }
  void add_to(ServerStats& s) const {
    s.connections_accepted += accepted.load(std::memory_order_relaxed);
    s.connections_open += open.load(std::memory_order_relaxed);
    s.connections_rejected += rejected.load(std::memory_order_relaxed);
    s.accept_fd_exhausted += fd_exhausted.load(std::memory_order_relaxed);
    s.bytes_echoed += bytes_echoed.load(std::memory_order_relaxed);
  }
};

}  // namespace ub::echo
