#pragma once
// Threads with a chosen stack size (thread-per-connection servers and load clients run
// thousands of them) and per-thread CPU clocks (how every CPU-per-operation figure is made).

#include <pthread.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string_view>

#include "common/result.h"

namespace ub {

// CPU time consumed so far by the calling thread.
std::chrono::nanoseconds this_thread_cpu_time();

// CPU time of another thread of this process by kernel thread id, for threads that are not
// a Thread (the kernel's SQPOLL thread); zero if it is gone.
std::chrono::nanoseconds tid_cpu_time(pid_t tid);

// The kernel thread id of this process's thread named `name` (/proc/self/task/*/comm),
// 0 if there is none.
pid_t find_thread_by_name(std::string_view name);

// The calling thread's kernel thread id.
pid_t this_thread_tid();

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
  // CPU time of this thread: live while it runs, and once its body has returned the value
  // it recorded then (an exited thread's clock reads 0, and a joined one has none); zero
  // if it was never started.
  std::chrono::nanoseconds cpu_time() const;

 private:
  // Shared with the running thread, so a Thread may move while its body runs.
  struct Shared {
    std::function<void()> body;
    std::atomic<int64_t> exit_cpu_ns{-1};  // -1: still running
  };
  static void* run_body(void* arg);

  pthread_t handle_{};
  bool started_ = false;
  std::shared_ptr<Shared> shared_;
};

}  // namespace ub
