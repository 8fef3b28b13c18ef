#pragma once
// WorkerPool: the Resolver's threads. Internal to lib/resolve.
//
// A blocking glibc lookup cannot be cancelled, so a query whose server never answers holds
// its thread until glibc gives up (resolv.conf timeout x attempts, 10 s by default, twice
// for two families). The pool keeps its throughput anyway: when the Resolver reports a
// task as stalled (running far longer than its peers), the pool starts a replacement
// thread, up to `max_extra` of them, so `threads` workers stay available for the rest of
// the batch. The stalled thread is abandoned, not killed: when glibc finally returns it
// drops the answer if the deadline already passed, and retires if the pool is over size.
// Threads share the pool's state through a shared_ptr, so a thread still inside glibc can
// outlive the pool (and the Resolver) safely. The pool joins every thread that has
// finished by its end, so glibc has freed their per-thread resolver state before the
// process exits; only those still stalled in glibc are detached.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "common/result.h"
#include "resolve/engine.h"
#include "resolve/query.h"

namespace ub::resolve::detail {

using Clock = std::chrono::steady_clock;

struct Completion {
  size_t index = 0;
  Outcome outcome;
};

// Where one stream()'s answers go: filled by workers, drained by the stream's caller.
struct Job {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Completion> done;
  bool waiting = false;  // the caller sleeps until done.size() >= wake_at
  size_t wake_at = 1;
};

enum TaskState : int { kQueued, kRunning, kDone, kExpired, kCancelled };

// One query on its way through the pool, shared by its Job's caller and its worker. The
// state moves once out of kRunning, by compare-exchange: to kDone by the worker (which
// then posts the answer) or to kExpired by the caller (which posts the timeout), never
// both.
struct Task {
  Query query;
  size_t index = 0;
  std::shared_ptr<Job> job;
  std::atomic<int> state{kQueued};
  std::atomic<int64_t> started_ns{0};  // Clock time the worker began; set before kRunning
  bool stall_reported = false;         // touched by the Job's caller only
  bool stalled = false;                // guarded by the pool's mutex
};

struct PoolStats {
  int target = 0;             // threads asked for
  int live = 0;               // threads alive, stalled ones included
  int stalled = 0;            // threads on a query reported as stalled
  uint64_t spawned = 0;       // threads started since creation
  uint64_t replacements = 0;  // of which started to stand in for stalled ones
};

class WorkerPool {
 public:
  // Starts `threads` workers; fails if not even one thread can be started.
  static Result<std::unique_ptr<WorkerPool>> create(std::shared_ptr<Engine> engine, int threads,
                                                    int max_extra);
  // Stops idle workers (waits up to ~2 s for non-stalled ones, then joins them); stalled
  // ones are detached and retire later.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void submit(std::vector<std::shared_ptr<Task>>& tasks);
  // `task` has run too long: count its thread out and start a stand-in if allowed.
  void report_stall(const std::shared_ptr<Task>& task);
  PoolStats stats() const;

  struct State;

 private:
  explicit WorkerPool(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace ub::resolve::detail
