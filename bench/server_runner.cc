#include "server_runner.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

namespace ub::bench {
namespace {

// What the child reports: at start-up, then for every request.
struct Report {
  int32_t error = 0;  // errno-style; 0: ok
  uint16_t port = 0;
  int64_t cpu_ns = 0;
  uint64_t accepted = 0;
  uint64_t open = 0;
  uint64_t rejected = 0;
  uint64_t bytes_echoed = 0;
  char message[160] = {};
};

void pin_self(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (cpus.empty()) {
    for (int c = 0; c < ::sysconf(_SC_NPROCESSORS_ONLN) && c < CPU_SETSIZE; ++c) CPU_SET(c, &set);
  } else {
    for (int c : cpus) CPU_SET(c, &set);
  }
  ::sched_setaffinity(0, sizeof(set), &set);
}

bool read_all(int fd, void* data, size_t n) {
  auto* p = static_cast<char*>(data);
  while (n > 0) {
    const ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool write_all(int fd, const void* data, size_t n) {
  return ::write(fd, data, n) == static_cast<ssize_t>(n);  // pipes: small writes are atomic
}

Report report_of(const echo::ServerStats& s) {
  Report r;
  r.cpu_ns = s.total_cpu().count();
  r.accepted = s.connections_accepted;
  r.open = s.connections_open;
  r.rejected = s.connections_rejected;
  r.bytes_echoed = s.bytes_echoed;
  return r;
}

// The child: serve until the parent says 'q' or goes away.
[[noreturn]] void child_main(const std::string& name, const echo::BackendOptions* options,
                             const echo::ServerConfig& config, const std::vector<int>& cpus,
                             int in, int out) {
  ::signal(SIGINT, SIG_IGN);  // Ctrl-C on the terminal is for the parent to handle
  pin_self(cpus);
  auto backend = echo::make_backend(name, options);
  Report started;
  std::error_code ec = backend ? (*backend)->start(config) : backend.error();
  if (ec) {
    started.error = ec.value() ? ec.value() : EINVAL;
    std::snprintf(started.message, sizeof(started.message), "%s", ec.message().c_str());
    write_all(out, &started, sizeof(started));
    ::_exit(1);
  }
  started.port = (*backend)->local_endpoint().port();
  write_all(out, &started, sizeof(started));
  for (char command = 0; read_all(in, &command, 1) && command == 'c';) {
    const Report now = report_of((*backend)->stats());
    if (!write_all(out, &now, sizeof(now))) break;
  }
  (*backend)->stop();
  const Report last = report_of((*backend)->stats());
  write_all(out, &last, sizeof(last));
  ::_exit(0);
}

}  // namespace

std::unique_ptr<ServerRunner> ServerRunner::start(const std::string& backend,
                                                  const echo::BackendOptions* options,
                                                  const echo::ServerConfig& config,
                                                  const std::vector<int>& cpus, bool own_process,
                                                  std::string& error) {
  std::unique_ptr<ServerRunner> runner(new ServerRunner);
  if (!own_process) {
    auto made = echo::make_backend(backend, options);
    if (!made) {
      error = made.error().message();
      return nullptr;
    }
    runner->backend_ = std::move(*made);
    pin_self(cpus);  // the back end's threads inherit this mask when they are created
    const auto ec = runner->backend_->start(config);
    pin_self({});
    if (ec) {
      error = ec.message();
      return nullptr;
    }
    runner->endpoint_ = runner->backend_->local_endpoint();
    return runner;
  }

  int down[2], up[2];
  if (::pipe2(down, O_CLOEXEC) != 0 || ::pipe2(up, O_CLOEXEC) != 0) {
    error = std::strerror(errno);
    return nullptr;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    error = std::string("fork: ") + std::strerror(errno);
    return nullptr;
  }
  if (pid == 0) {
    ::close(down[1]);
    ::close(up[0]);
    child_main(backend, options, config, cpus, down[0], up[1]);
  }
  ::close(down[0]);
  ::close(up[1]);
  runner->child_ = pid;
  runner->to_child_.reset(down[1]);
  runner->from_child_.reset(up[0]);
  Report started;
  if (!read_all(runner->from_child_.get(), &started, sizeof(started)) || started.error != 0) {
    error = started.error ? started.message : "the server process died while starting";
    runner->stop();
    return nullptr;
  }
  runner->endpoint_ = config.listen.with_port(started.port);
  return runner;
}

ServerRunner::~ServerRunner() { stop(); }

std::optional<echo::ServerStats> ServerRunner::current() {
  if (stopped_) return std::nullopt;
  if (backend_) return backend_->stats();
  Report now;
  if (!write_all(to_child_.get(), "c", 1) || !read_all(from_child_.get(), &now, sizeof(now))) {
    return std::nullopt;
  }
  echo::ServerStats s;
  s.connections_accepted = now.accepted;
  s.connections_open = now.open;
  s.connections_rejected = now.rejected;
  s.bytes_echoed = now.bytes_echoed;
  s.thread_cpu = {{"server process", std::chrono::nanoseconds(now.cpu_ns)}};
  return s;
}

std::chrono::nanoseconds ServerRunner::cpu() {
  const auto now = current();
  return now ? now->total_cpu() : final_.total_cpu();
}

uint64_t ServerRunner::wait_open(uint64_t connections, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  uint64_t open = 0;
  for (;;) {
    const auto now = current();
    open = now ? now->connections_open : 0;
    if (!now || open >= connections || std::chrono::steady_clock::now() >= deadline) return open;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

echo::ServerStats ServerRunner::stop() {
  if (stopped_) return final_;
  stopped_ = true;
  if (backend_) {
    backend_->stop();
    final_ = backend_->stats();
    return final_;
  }
  if (child_ <= 0) return final_;
  Report last;
  if (write_all(to_child_.get(), "q", 1) && read_all(from_child_.get(), &last, sizeof(last))) {
    final_.connections_accepted = last.accepted;
    final_.connections_rejected = last.rejected;
    final_.bytes_echoed = last.bytes_echoed;
    final_.thread_cpu = {{"server process", std::chrono::nanoseconds(last.cpu_ns)}};
  }
  to_child_.reset();
  int status = 0;
  ::waitpid(child_, &status, 0);
  child_ = -1;
  return final_;
}

}  // namespace ub::bench
