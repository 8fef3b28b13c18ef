#pragma once
// Threads with a chosen stack size (thread-per-connection servers and load clients run
// thousands of them) and per-thread CPU clocks (how every CPU-per-operation figure is made).

#include <pthread.h>

#include <chrono>
#include <functional>

#include "common/result.h"

namespace ub {

// CPU time consumed so far by the calling thread.
std::chrono::nanoseconds this_thread_cpu_time();

// A joinable pthread. Joins on destruction if still joinable.
class Thread {
 public:
  static constexpr size_t kDefaultStack = 256 * 1024;

  Thread() = default;
  Thread(Thread&& other) noexcept;
  Thread& operator=(Thread&& other) noexcept;
  Thread(const Thread&) = delete;
  Thread& operator=(const Thread&) = delete;
  ~Thread();

  // Starts `body` on a new thread named `name` (at most 15 characters are kept).
  static Result<Thread> spawn(std::function<void()> body, const char* name,
                              size_t stack_size = kDefaultStack);

  bool joinable() const { return started_; }
  pthread_t native_handle() const { return handle_; }
  void join();
  // CPU time of this (still running or not yet joined) thread; zero if unavailable.
  std::chrono::nanoseconds cpu_time() const;

 private:
  pthread_t handle_{};
  bool started_ = false;
};

}  // namespace ub
