#include "server_runner.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "server_stats_json.h"

namespace ub::bench {
namespace {

using Json = nlohmann::ordered_json;

// The child's messages, each a length and then JSON: at start-up {"error", "message",
// "port"}, then for every request and at exit its ServerStats (server_stats_json.h).
constexpr uint32_t kMaxMessage = 16u << 20;

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
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool send_message(int fd, const std::string& text) {
  const auto n = static_cast<uint32_t>(text.size());
  return write_all(fd, &n, sizeof(n)) && write_all(fd, text.data(), text.size());
}

std::optional<std::string> receive_message(int fd) {
  uint32_t n = 0;
  if (!read_all(fd, &n, sizeof(n)) || n > kMaxMessage) return std::nullopt;
  std::string text(n, '\0');
  if (!read_all(fd, text.data(), n)) return std::nullopt;
  return text;
}

// The child: serve until the parent says 'q' or goes away.
[[noreturn]] void child_main(const std::string& name, const echo::BackendOptions* options,
                             const echo::ServerConfig& config, const std::vector<int>& cpus, int in,
                             int out) {
  ::signal(SIGINT, SIG_IGN);  // Ctrl-C on the terminal is for the parent to handle
  pin_self(cpus);
  auto backend = echo::make_backend(name, options);
  std::error_code ec = backend ? (*backend)->start(config) : backend.error();
  if (ec) {
    send_message(
        out,
        Json{{"error", ec.value() ? ec.value() : EINVAL}, {"message", ec.message()}, {"port", 0}}
            .dump());
    ::_exit(1);
  }
  send_message(
      out,
      Json{{"error", 0}, {"message", ""}, {"port", (*backend)->local_endpoint().port()}}.dump());
  for (char command = 0; read_all(in, &command, 1) && command == 'c';) {
    if (!send_message(out, encode_stats((*backend)->stats()))) break;
  }
  (*backend)->stop();
  send_message(out, encode_stats((*backend)->stats()));
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
  const auto started_text = receive_message(runner->from_child_.get());
  const auto started = started_text ? Json::parse(*started_text, nullptr, false) : Json();
  if (!started.is_object() || started.value("error", -1) != 0) {
    error = started.is_object() ? started.value("message", std::string("unknown error"))
                                : "the server process died while starting";
    runner->stop();
    return nullptr;
  }
  runner->endpoint_ = config.listen.with_port(started.value("port", uint16_t{0}));
  return runner;
}

ServerRunner::~ServerRunner() { stop(); }

std::optional<echo::ServerStats> ServerRunner::current() {
  if (stopped_) return std::nullopt;
  if (backend_) return backend_->stats();
  if (!write_all(to_child_.get(), "c", 1)) return std::nullopt;
  const auto text = receive_message(from_child_.get());
  return text ? decode_stats(*text) : std::nullopt;
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
  if (write_all(to_child_.get(), "q", 1)) {
    const auto text = receive_message(from_child_.get());
    if (auto last = text ? decode_stats(*text) : std::nullopt) final_ = std::move(*last);
  }
  to_child_.reset();
  int status = 0;
  ::waitpid(child_, &status, 0);
  child_ = -1;
  return final_;
}

}  // namespace ub::bench
