// The blocking back end: the seed's echo server, generalised.
//
// - One accept thread waits in poll() on the (non-blocking) listener and an eventfd that
//   carries stop requests and "a connection thread finished, join it" notices.
// - One thread per connection (256 KiB stack): blocking recv into a config.buffer_size
//   buffer, send_all back. A client that never reads blocks its thread in send, so the
//   thread stops reading: the server holds at most one buffer per connection, the rest
//   stays in the kernel's socket buffers (backpressure for free).
// - max_connections: connections beyond the cap are accepted and closed at once, so the
//   client reads EOF instead of waiting in the backlog. Counted as rejected.
// - EMFILE/ENFILE: the pending connection is shed through the reserve descriptor
//   (fd_reserve.h). The listener never spins and open connections keep being
//   served; new ones are accepted again as soon as descriptors free up.
// - stop(): wakes the accept thread, shutdown(SHUT_RDWR) on every connection (unblocks its
//   recv or send at once), joins every thread, closes every descriptor.
// Needs nothing newer than Linux 2.6.27 (eventfd, accept4).

#include "echo/blocking.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "common/thread.h"
#include "echo/fd_reserve.h"
#include "net/socket.h"

namespace ub::echo {
namespace {

class BlockingBackend final : public EchoBackend {
 public:
  ~BlockingBackend() override { stop(); }

  std::string_view name() const override { return "blocking"; }

  std::error_code start(const ServerConfig& config) override {
    if (started_) return make_error_code(EchoError::kAlreadyStarted);
    config_ = config;
    auto listener = net::listen_tcp(config.listen, config.backlog);
    if (!listener) return listener.error();
    if (auto ec = net::set_nonblocking(listener->get())) return ec;
    auto bound = net::local_endpoint(listener->get());
    if (!bound) return bound.error();
    wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake_) return errno_code(errno);
    if (auto ec = reserve_.open()) return ec;
    listener_ = std::move(*listener);
    local_ = *bound;

    auto acceptor = Thread::spawn([this] { accept_loop(); }, "ub-accept");
    if (!acceptor) return acceptor.error();
    acceptor_ = std::move(*acceptor);
    started_ = true;
    return {};
  }

  net::Endpoint local_endpoint() const override { return local_; }

  void stop() override {
    if (!started_ || stopped_) return;
    stopping_.store(true);
    notify_acceptor();
    acceptor_.join();

    std::unique_lock lock(mu_);
    for (auto& [id, conn] : live_) ::shutdown(conn.fd, SHUT_RDWR);
    all_closed_.wait(lock, [this] { return live_.empty(); });
    std::vector<Thread> finished = std::move(finished_);
    lock.unlock();
    finished.clear();  // joins

    listener_.reset();
    wake_.reset();
    reserve_.close();
    stopped_ = true;
  }

  ServerStats stats() const override {
    ServerStats s;
    s.bytes_echoed = bytes_echoed_.load(std::memory_order_relaxed);
    s.connections_accepted = accepted_.load(std::memory_order_relaxed);
    s.connections_rejected = rejected_.load(std::memory_order_relaxed);
    s.accept_fd_exhausted = fd_exhausted_.load(std::memory_order_relaxed);
    std::lock_guard lock(mu_);
    s.connections_open = live_.size();
    auto connection_cpu = exited_cpu_;
    for (const auto& [id, conn] : live_) connection_cpu += conn.thread.cpu_time();
    s.thread_cpu = {{"accept", acceptor_.cpu_time()}, {"connections", connection_cpu}};
    return s;
  }

 private:
  struct Connection {
    int fd = -1;
    Thread thread;
  };

  void notify_acceptor() {
    const uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof(one));
  }

  void accept_loop() {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    while (!stopping_.load()) {
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
      if (fds[1].revents & POLLIN) {
        uint64_t count;
        [[maybe_unused]] auto n = ::read(wake_.get(), &count, sizeof(count));
        reap_finished();
      }
      if ((fds[0].revents & POLLIN) && !stopping_.load()) accept_pending();
    }
  }

  void accept_pending() {
    for (;;) {
      const int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        // accept4 fails so even with an empty queue: count only a connection shed. One per
        // wake-up: the listener stays readable while more wait, so poll() comes back.
        if ((errno == EMFILE || errno == ENFILE) &&
            reserve_.shed_one(listener_.get()) == FdReserve::Shed::kOne) {
          fd_exhausted_.fetch_add(1, std::memory_order_relaxed);
          accepted_.fetch_add(1, std::memory_order_relaxed);
          rejected_.fetch_add(1, std::memory_order_relaxed);
        }
        return;  // EAGAIN, or an error that the next poll wake-up retries
      }
      accepted_.fetch_add(1, std::memory_order_relaxed);
      (void)net::set_nodelay(fd);
      std::lock_guard lock(mu_);
      if (config_.max_connections != 0 && live_.size() >= config_.max_connections) {
        reject(fd);
        continue;
      }
      const uint64_t id = next_id_++;
      auto thread = Thread::spawn([this, id, fd] { serve(id, fd); }, "ub-conn");
      if (!thread) {
        reject(fd);
        continue;
      }
      live_.emplace(id, Connection{fd, std::move(*thread)});
    }
  }

  void reject(int fd) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    ::close(fd);
  }

  void serve(uint64_t id, int fd) {
    std::vector<std::byte> buffer(config_.buffer_size);
    for (;;) {
      const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // EOF (the client is done sending) or an error such as a reset
      if (net::send_all(fd, {buffer.data(), static_cast<size_t>(n)})) break;
      bytes_echoed_.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    }
    {
      std::lock_guard lock(mu_);
      auto it = live_.find(id);
      exited_cpu_ += this_thread_cpu_time();
      ::close(fd);
      finished_.push_back(std::move(it->second.thread));
      live_.erase(it);
      if (live_.empty()) all_closed_.notify_all();
    }
    if (!stopping_.load()) notify_acceptor();
  }

  void reap_finished() {
    std::vector<Thread> finished;
    {
      std::lock_guard lock(mu_);
      finished.swap(finished_);
    }
    finished.clear();  // joins outside the lock: the threads may be finishing their exit path
  }

  ServerConfig config_;
  net::UniqueFd listener_;
  net::UniqueFd wake_;
  FdReserve reserve_;
  net::Endpoint local_;
  Thread acceptor_;
  bool started_ = false;
  bool stopped_ = false;
  std::atomic<bool> stopping_{false};

  std::atomic<uint64_t> bytes_echoed_{0};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> fd_exhausted_{0};

  mutable std::mutex mu_;
  std::condition_variable all_closed_;
  uint64_t next_id_ = 0;                           // guarded by mu_
  std::unordered_map<uint64_t, Connection> live_;  // guarded by mu_
  std::vector<Thread> finished_;                   // guarded by mu_: exited, not yet joined
  std::chrono::nanoseconds exited_cpu_{};          // guarded by mu_
};

}  // namespace

std::unique_ptr<EchoBackend> make_blocking_backend() { return std::make_unique<BlockingBackend>(); }

}  // namespace ub::echo
