#include "common/thread.h"

#include <dirent.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <utility>

namespace ub {
namespace {

std::chrono::nanoseconds read_clock(clockid_t clock) {
  timespec ts{};
  if (::clock_gettime(clock, &ts) != 0) return {};
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

}  // namespace

std::chrono::nanoseconds this_thread_cpu_time() { return read_clock(CLOCK_THREAD_CPUTIME_ID); }

std::chrono::nanoseconds tid_cpu_time(pid_t tid) {
  // The per-thread CPU clock id the kernel derives from a tid (CPUCLOCK_SCHED, per thread).
  return read_clock(static_cast<clockid_t>((~static_cast<unsigned>(tid) << 3) | 6u));
}

pid_t this_thread_tid() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

pid_t find_thread_by_name(std::string_view name) {
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr) return 0;
  pid_t found = 0;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
    std::string line;
    if (std::getline(comm, line) && line == name) found = static_cast<pid_t>(std::atoi(e->d_name));
  }
  ::closedir(dir);
  return found;
}

void* Thread::run_body(void* arg) {
  std::shared_ptr<Shared> shared(*static_cast<std::shared_ptr<Shared>*>(arg));
  delete static_cast<std::shared_ptr<Shared>*>(arg);
  shared->body();
  shared->body = nullptr;  // its captures go on this thread, and count towards its CPU
  shared->exit_cpu_ns.store(this_thread_cpu_time().count(), std::memory_order_release);
  return nullptr;
}

Thread::Thread(Thread&& other) noexcept
    : handle_(other.handle_),
      started_(std::exchange(other.started_, false)),
      shared_(std::move(other.shared_)) {}

Thread& Thread::operator=(Thread&& other) noexcept {
  if (this != &other) {
    join();
    handle_ = other.handle_;
    started_ = std::exchange(other.started_, false);
    shared_ = std::move(other.shared_);
  }
  return *this;
}

Thread::~Thread() { join(); }

Result<Thread> Thread::spawn(std::function<void()> body, const char* name, size_t stack_size) {
  Thread thread;
  thread.shared_ = std::make_shared<Shared>();
  thread.shared_->body = std::move(body);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, stack_size);
  auto* handoff = new std::shared_ptr<Shared>(thread.shared_);
  const int rc = pthread_create(&thread.handle_, &attr, run_body, handoff);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    delete handoff;
    return errno_code(rc);
  }
  thread.started_ = true;
  char short_name[16] = {};
  for (size_t i = 0; i < 15 && name[i] != '\0'; ++i) short_name[i] = name[i];
  pthread_setname_np(thread.handle_, short_name);
  return thread;
}

void Thread::join() {
  if (started_) {
    pthread_join(handle_, nullptr);
    started_ = false;
  }
}

std::chrono::nanoseconds Thread::cpu_time() const {
  if (!shared_) return {};
  const int64_t at_exit = shared_->exit_cpu_ns.load(std::memory_order_acquire);
  if (at_exit >= 0) return std::chrono::nanoseconds(at_exit);
  if (!started_) return {};
  clockid_t clock{};
  const auto live =
      pthread_getcpuclockid(handle_, &clock) == 0 ? read_clock(clock) : std::chrono::nanoseconds{};
  // It may have exited in between, when its clock already read 0.
  const int64_t exited = shared_->exit_cpu_ns.load(std::memory_order_acquire);
  return exited >= 0 ? std::chrono::nanoseconds(exited) : live;
}

}  // namespace ub
