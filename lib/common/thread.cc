#include "common/thread.h"

#include <time.h>

#include <memory>
#include <utility>

namespace ub {
namespace {

std::chrono::nanoseconds read_clock(clockid_t clock) {
  timespec ts{};
  if (::clock_gettime(clock, &ts) != 0) return {};
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

void* run_body(void* arg) {
  std::unique_ptr<std::function<void()>> body(static_cast<std::function<void()>*>(arg));
  (*body)();
  return nullptr;
}

}  // namespace

std::chrono::nanoseconds this_thread_cpu_time() { return read_clock(CLOCK_THREAD_CPUTIME_ID); }

Thread::Thread(Thread&& other) noexcept
    : handle_(other.handle_), started_(std::exchange(other.started_, false)) {}

Thread& Thread::operator=(Thread&& other) noexcept {
  if (this != &other) {
    join();
    handle_ = other.handle_;
    started_ = std::exchange(other.started_, false);
  }
  return *this;
}

Thread::~Thread() { join(); }

Result<Thread> Thread::spawn(std::function<void()> body, const char* name, size_t stack_size) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, stack_size);
  auto* heap_body = new std::function<void()>(std::move(body));
  Thread thread;
  const int rc = pthread_create(&thread.handle_, &attr, run_body, heap_body);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    delete heap_body;
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
  if (!started_) return {};
  clockid_t clock{};
  if (pthread_getcpuclockid(handle_, &clock) != 0) return {};
  return read_clock(clock);
}

}  // namespace ub
