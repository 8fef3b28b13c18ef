// The epoll back end: the reference every io_uring figure is measured against.
//
// - N reactor threads (config.threads; 0: one per CPU this process may run on). Each owns an
//   epoll instance, an eventfd for stop requests, and its own listening socket: all N bound
//   to the same address with SO_REUSEPORT, so the kernel spreads new connections over the
//   reactors by 4-tuple hash and a connection lives on one reactor for good (no locks, no
//   hand-off). Port 0: the first listener gets the ephemeral port, the rest bind to it.
// - Edge-triggered throughout. Every connection is registered once for
//   EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET and never modified: switching between "want read"
//   and "want write" costs no epoll_ctl. TCP only raises the write edge after a send found
//   the socket full, so EPOLLOUT costs nothing while writes succeed.
// - One buffer of config.buffer_size per connection, nothing else: recv into it, send it
//   back. A partial send keeps the rest and stops reading that connection until EPOLLOUT
//   lets it drain, then reads again at once (the data queued meanwhile raised no new edge).
//   A client that never reads costs one buffer; the rest waits in its kernel socket buffers.
// - A recv shorter than the buffer means the receive queue was empty, so the reactor does
//   not ask again for EAGAIN (nginx does the same): whatever arrives later raises a new edge.
//   A queued FIN (EPOLLRDHUP) is the exception: it is read to EOF. This saves one syscall
//   per echo.
// - Half-close: EOF from the client closes the connection once the buffer is flushed, so a
//   client that shut down its write side gets every byte back, then EOF. EPOLLERR/EPOLLHUP
//   (reset) and any send/recv error close that connection only. MSG_NOSIGNAL on send.
// - max_connections: one count over all reactors (open_connections.h), touched only at
//   accept and close. Beyond the cap a connection is accepted and closed at once.
// - EMFILE/ENFILE: queued connections are shed through the reserve descriptor
//   (fd_reserve.h), so the listener's queue drains and clients learn at once. An empty
//   queue, seen once the reserve is freed, ends the round and the reactor sleeps until the
//   next connection's edge. Only a connection that waits and cannot be shed pauses the
//   listener, retried every kAcceptRetry or as soon as this reactor closes a connection.
//   fd_exhausted counts connections shed. Open connections are served throughout.
// - How a reactor waits (events per epoll_wait, how long it sleeps when idle) is an
//   EpollWaitPolicy (epoll.h): a variant of this back end is a policy, not a copy.
// - stop(): one eventfd write per reactor; each reactor finishes its batch, closes its
//   connections and listener, records its CPU time and exits. No timeouts are involved, so
//   stop takes as long as closing the descriptors.
// - Statistics live in each reactor as relaxed atomics written only by that reactor (a plain
//   load and store, no locked read-modify-write per echo); stats() sums them.
//
// SO_REUSEPORT rather than one shared listener with EPOLLEXCLUSIVE: both cost the same per
// echo, but EPOLLEXCLUSIVE hands a new connection to the first reactor (in registration
// order) that happens to sleep in epoll_wait, so the split follows timing and the load can
// pile onto one reactor, capping the server at one core; the reuseport hash spreads it
// evenly.
//
// Needs Linux 3.9 (SO_REUSEPORT); also epoll with EPOLLRDHUP (2.6.17), eventfd (2.6.22)
// and accept4 (2.6.28).

#include "echo/epoll.h"

#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "common/thread.h"
#include "echo/fd_reserve.h"
#include "echo/listener_group.h"
#include "echo/loop_group_backend.h"
#include "echo/open_connections.h"
#include "net/socket.h"

namespace ub::echo {
namespace {

using Clock = std::chrono::steady_clock;

// How often a listener paused by descriptor exhaustion is retried.
constexpr auto kAcceptRetry = std::chrono::milliseconds(50);
// epoll_event.data tags for the two non-connection descriptors (never valid pointers).
constexpr uint64_t kListenerTag = 0;
constexpr uint64_t kWakeTag = 1;

struct Connection {
  int fd = -1;
  size_t slot = 0;  // index in Reactor::connections_
  size_t head = 0;  // unsent bytes are buffer[head, tail)
  size_t tail = 0;
  bool peer_fin = false;      // EPOLLRDHUP seen: read on until EOF even after a short read
  bool peer_done = false;     // EOF read: close once the buffer is flushed
  bool send_blocked = false;  // a send found the socket full: wait for EPOLLOUT
  std::unique_ptr<std::byte[]> buffer;
};

// One event loop thread. Everything but the counters and the thread handle is touched
// only by the reactor thread once it runs.
class alignas(64) Reactor {
 public:
  Reactor(int index, const ServerConfig& config, const EpollWaitPolicy& wait,
          std::atomic<size_t>& open_total)
      : index_(index),
        buffer_size_(config.buffer_size),
        wait_(wait),
        cap_(config.max_connections, open_total) {}

  ~Reactor() { join(); }

  std::error_code init(net::UniqueFd listener) {
    listener_ = std::move(listener);
    if (auto ec = net::set_nonblocking(listener_.get())) return ec;
    epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_) return errno_code(errno);
    wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake_) return errno_code(errno);
    if (auto ec = reserve_.open()) return ec;
    if (auto ec = watch(listener_.get(), EPOLLIN | EPOLLET, kListenerTag)) return ec;
    if (auto ec = watch(wake_.get(), EPOLLIN, kWakeTag)) return ec;
    return {};
  }

  std::error_code start() {
    const std::string name = "ub-reactor-" + std::to_string(index_);
    auto thread = Thread::spawn([this] { run(); }, name.c_str());
    if (!thread) return thread.error();
    thread_ = std::move(*thread);
    return {};
  }

  void request_stop() {
    const uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof(one));
  }

  // Joins the thread (which has closed the listener and the connections) and closes the
  // rest. Call after request_stop().
  void join() {
    thread_.join();
    epoll_.reset();
    wake_.reset();
    reserve_.close();
    listener_.reset();
  }

  void add_stats(ServerStats& s) const {
    counters_.add_to(s);
    s.thread_cpu.push_back({"reactor-" + std::to_string(index_), thread_.cpu_time()});
  }

 private:
  std::error_code watch(int fd, uint32_t events, uint64_t tag) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = tag;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return errno_code(errno);
    return {};
  }

  void run() {
    std::vector<epoll_event> events(static_cast<size_t>(std::max(wait_.max_events, 1)));
    const int retry_ms = static_cast<int>(kAcceptRetry.count());
    bool stopping = false;
    while (!stopping) {
      int timeout_ms = wait_.timeout_ms;
      if (accept_paused_ && (timeout_ms < 0 || timeout_ms > retry_ms)) timeout_ms = retry_ms;
      const int n =
          ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), timeout_ms);
      if (n < 0) {
        if (errno == EINTR) continue;
        break;  // EBADF/EINVAL: a bug; leave rather than spin
      }
      for (int i = 0; i < n; ++i) {
        const uint64_t tag = events[i].data.u64;
        if (tag == kListenerTag) {
          accept_pending();
        } else if (tag == kWakeTag) {
          stopping = true;
        } else {
          on_connection_event(*static_cast<Connection*>(events[i].data.ptr), events[i].events);
        }
      }
      if (accept_paused_ && (fds_freed_ || Clock::now() >= accept_retry_at_)) accept_pending();
    }
    while (!connections_.empty()) close_connection(*connections_.back());
    listener_.reset();
  }

  void accept_pending() {
    accept_paused_ = false;
    fds_freed_ = false;
    // The reserve comes first: without it the next EMFILE could not be shed.
    reserve_.ensure();
    for (;;) {
      const int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) {
        add_connection(fd);
        continue;
      }
      const int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      if (err == EINTR || err == ECONNABORTED) continue;
      if (err == EMFILE || err == ENFILE) {
        // accept4 fails so before it looks at the queue: the queue may well be empty.
        const FdReserve::Shed shed = reserve_.shed_one(listener_.get());
        if (shed == FdReserve::Shed::kOne) counters_.count_shed();
        if (shed == FdReserve::Shed::kOne || shed == FdReserve::Shed::kRetry) continue;
        // Nothing queued: the next connection raises a new edge. No timer, no retries.
        if (shed == FdReserve::Shed::kQueueEmpty) return;
      }
      // A connection waits that cannot be shed (no reserve), out of memory, or an
      // unexpected error: the edge is consumed, so retry on a timer rather than wait for a
      // new connection.
      accept_paused_ = true;
      accept_retry_at_ = Clock::now() + kAcceptRetry;
      return;
    }
  }

  void add_connection(int fd) {
    LoopCounters::add(counters_.accepted);
    if (!cap_.try_take()) {
      reject(fd);
      return;
    }
    auto conn = std::make_unique<Connection>();
    conn->fd = fd;
    conn->buffer.reset(new (std::nothrow) std::byte[buffer_size_]);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = conn.get();
    if (!conn->buffer || ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
      cap_.give_back();
      reject(fd);
      return;
    }
    // Data that arrived before the registration is reported by the first epoll_wait.
    conn->slot = connections_.size();
    connections_.push_back(std::move(conn));
    LoopCounters::add(counters_.open);
  }

  void reject(int fd) {
    LoopCounters::add(counters_.rejected);
    ::close(fd);
  }

  void on_connection_event(Connection& c, uint32_t events) {
    // HUP: both directions are shut (a reset); ERR: a pending socket error. Nothing more
    // can be delivered either way.
    if (events & (EPOLLERR | EPOLLHUP)) {
      close_connection(c);
      return;
    }
    if (events & EPOLLRDHUP) c.peer_fin = true;
    if (c.send_blocked) {
      if (!(events & EPOLLOUT)) return;  // still full: new input waits until the output drains
      c.send_blocked = false;
    } else if (!(events & (EPOLLIN | EPOLLRDHUP))) {
      return;  // writable, nothing to write: the first report after EPOLL_CTL_ADD, typically
    }
    serve(c);
  }

  // Flushes the buffer, then reads and echoes until the receive queue is empty, the socket
  // is full, or the connection ends.
  void serve(Connection& c) {
    bool queue_may_hold_more = true;
    for (;;) {
      while (c.head < c.tail) {
        const ssize_t n = ::send(c.fd, c.buffer.get() + c.head, c.tail - c.head, MSG_NOSIGNAL);
        if (n < 0) {
          if (errno == EINTR) continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK) {
            c.send_blocked = true;
            return;
          }
          close_connection(c);  // EPIPE, ECONNRESET: this connection only
          return;
        }
        c.head += static_cast<size_t>(n);
        LoopCounters::add(counters_.bytes_echoed, static_cast<uint64_t>(n));
      }
      if (c.peer_done) {
        close_connection(c);  // half-close: everything echoed, now the client reads EOF
        return;
      }
      if (!queue_may_hold_more && !c.peer_fin) return;
      c.head = c.tail = 0;
      const ssize_t n = ::recv(c.fd, c.buffer.get(), buffer_size_, 0);
      if (n > 0) {
        c.tail = static_cast<size_t>(n);
        queue_may_hold_more = c.tail == buffer_size_;
      } else if (n == 0) {
        c.peer_done = true;
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return;
      } else if (errno != EINTR) {
        close_connection(c);
        return;
      }
    }
  }

  void close_connection(Connection& c) {
    // An explicit DEL: close() alone leaves the registration alive while a forked child
    // still holds the descriptor, and its events would name a freed Connection.
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    cap_.give_back();
    LoopCounters::subtract_one(counters_.open);
    fds_freed_ = true;
    swap_remove(connections_, c.slot);  // frees c
  }

  const int index_;
  const size_t buffer_size_;
  const EpollWaitPolicy wait_;
  ConnectionCap cap_;

  net::UniqueFd listener_;
  net::UniqueFd epoll_;
  net::UniqueFd wake_;
  FdReserve reserve_;
  Thread thread_;
  std::vector<std::unique_ptr<Connection>> connections_;
  bool accept_paused_ = false;
  bool fds_freed_ = false;  // a connection closed since the listener paused
  Clock::time_point accept_retry_at_{};

  LoopCounters counters_;
};

class EpollBackend final : public LoopGroupBackend<Reactor> {
 public:
  explicit EpollBackend(const EpollWaitPolicy& wait) : wait_(wait) {}
  std::string_view name() const override { return "epoll"; }

 private:
  std::error_code check(const ServerConfig& config) override {
    return config.buffer_size == 0 ? errno_code(EINVAL) : std::error_code{};
  }

  Result<std::unique_ptr<Reactor>> make_loop(int index, const ServerConfig& config,
                                             net::UniqueFd listener,
                                             std::atomic<size_t>& open_total) override {
    auto reactor = std::make_unique<Reactor>(index, config, wait_, open_total);
    if (auto ec = reactor->init(std::move(listener))) return ec;
    return reactor;
  }

  const EpollWaitPolicy wait_;
};

}  // namespace

std::unique_ptr<EchoBackend> make_epoll_backend(EpollWaitPolicy wait) {
  return std::make_unique<EpollBackend>(wait);
}

}  // namespace ub::echo
