// The epoll client engine. Level-triggered EPOLLIN on every connection and one recv() per
// readiness into a buffer larger than anything outstanding, so a ping-pong round trip costs
// one recv and one send, with epoll_pwait2 amortised over all ready connections. EPOLLOUT
// is armed only while a send is short (the kernel's send buffer is full), so epoll_ctl
// calls stay off the hot path. Needs Linux 5.11 (epoll_pwait2: sub-millisecond timeouts
// for the open-loop schedule).

#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "load/engines.h"

namespace ub::load {
namespace {

constexpr int kMaxEvents = 256;

// The engine's own per-connection state, indexed like core.connections().
struct EpollConnection {
  bool want_write = false;  // EPOLLOUT armed
};

// Hands the outbox to the kernel, letting the core top it up as it empties. Returns false
// if the connection failed.
bool flush(WorkerCore& core, int epfd, size_t i, EpollConnection& e) {
  auto& c = core.connections()[i];
  for (;;) {
    // The clock is read only when something is owed: this is the hot path.
    if (c.outbox.empty() && (c.owed.empty() || !core.top_up(i, now_ns()))) break;
    const ssize_t n = ::send(c.fd.get(), c.outbox.pending_data(), c.outbox.pending_bytes(),
                             MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.outbox.consume(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      if (!e.want_write) {
        epoll_event ev{EPOLLIN | EPOLLOUT, {.u64 = i}};
        ::epoll_ctl(epfd, EPOLL_CTL_MOD, c.fd.get(), &ev);
        e.want_write = true;
      }
      return true;
    }
    core.fail(i, errno);
    return false;
  }
  if (e.want_write) {
    epoll_event ev{EPOLLIN, {.u64 = i}};
    ::epoll_ctl(epfd, EPOLL_CTL_MOD, c.fd.get(), &ev);
    e.want_write = false;
  }
  return true;
}

void close_connection(WorkerCore& core, int epfd, size_t i) {
  auto& c = core.connections()[i];
  if (!c.fd) return;
  ::epoll_ctl(epfd, EPOLL_CTL_DEL, c.fd.get(), nullptr);
  c.fd.reset();
}

void run_epoll_engine(WorkerCore& core) {
  net::UniqueFd epfd(::epoll_create1(EPOLL_CLOEXEC));
  auto& conns = core.connections();
  const size_t per_message = core.config().message_size;
  const size_t outstanding = per_message * static_cast<size_t>(std::max(core.config().pipeline, 1));
  std::vector<std::byte> buffer(std::max<size_t>(outstanding + 4096, 64 << 10));
  std::vector<EpollConnection> state(conns.size());

  core.result().engine_setup = "level-triggered EPOLLIN, epoll_pwait2";
  int64_t now = now_ns();
  for (size_t i = 0; i < conns.size(); ++i) {
    epoll_event ev{EPOLLIN, {.u64 = i}};
    if (::epoll_ctl(epfd.get(), EPOLL_CTL_ADD, conns[i].fd.get(), &ev) != 0) core.fail(i, errno);
  }
  core.queue_initial(now);
  for (size_t i = 0; i < conns.size(); ++i) {
    if (!conns[i].failed && !flush(core, epfd.get(), i, state[i]))
      close_connection(core, epfd.get(), i);
  }

  epoll_event events[kMaxEvents];
  std::vector<size_t> touched;
  while (core.advance_phase(now)) {
    const int64_t budget = core.wait_budget_ns(now);
    const timespec timeout{budget / 1'000'000'000, budget % 1'000'000'000};
    const int n = ::epoll_pwait2(epfd.get(), events, kMaxEvents, &timeout, nullptr);
    now = now_ns();
    for (int e = 0; e < n; ++e) {
      const size_t i = events[e].data.u64;
      auto& c = conns[i];
      if (c.failed) continue;
      if (events[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        const ssize_t r = ::recv(c.fd.get(), buffer.data(), buffer.size(), MSG_DONTWAIT);
        if (r > 0) {
          if (!core.on_received(i, buffer.data(), static_cast<size_t>(r), now)) {
            close_connection(core, epfd.get(), i);
            continue;
          }
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
          core.fail(i, r == 0 ? 0 : errno);
          close_connection(core, epfd.get(), i);
          continue;
        }
      }
      if (!c.outbox.empty() && !flush(core, epfd.get(), i, state[i]))
        close_connection(core, epfd.get(), i);
    }
    touched.clear();
    core.due_sends(now, touched);
    for (size_t i : touched) {
      if (!conns[i].failed && !flush(core, epfd.get(), i, state[i]))
        close_connection(core, epfd.get(), i);
    }
    touched.clear();
    core.check_late(now, touched);
    for (size_t i : touched) close_connection(core, epfd.get(), i);
  }
}

}  // namespace

Engine epoll_engine() {
  return {"epoll",
          "level-triggered EPOLLIN, one recv per readiness, EPOLLOUT armed only while a send is "
          "short, epoll_pwait2",
          [] { return std::string(); }, run_epoll_engine};
}

}  // namespace ub::load
