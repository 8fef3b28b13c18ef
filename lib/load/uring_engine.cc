// The io_uring client engine. Per thread: one ring (SINGLE_ISSUER|DEFER_TASKRUN where the
// kernel has it), a multishot recv per connection drawing from a provided-buffer ring, and
// sends queued as SQEs. Each loop iteration submits everything queued and waits in one
// io_uring_enter, then handles the whole batch of completions: with many connections a
// round trip costs a fraction of a system call instead of a recv and a send.
// Needs Linux 6.0 (multishot recv, buffer rings); 6.1 for DEFER_TASKRUN.

#include <sys/socket.h>

#include <algorithm>
#include <bit>
#include <cerrno>

#include "load/engines.h"
#include "ub_config.h"
#if UB_HAVE_URING
#include "net/socket.h"
#include "uring/probe.h"
#include "uring/ring.h"
#endif

namespace ub::load {
namespace {

constexpr const char* kDescription =
    "a ring per thread: multishot recv into a buffer ring, sends as SQEs, one "
    "submit-and-wait per batch, DEFER_TASKRUN";

#if UB_HAVE_URING

constexpr uint16_t kBufferGroup = 1;
constexpr size_t kMaxBufferBytes = 64 << 20;

enum class OpKind : uint8_t { kRecv, kSend };

struct Op {
  OpKind kind;
  uint32_t connection;
};

struct UringConnection {
  Op recv_op;
  Op send_op;
  std::vector<std::byte> sending;  // the bytes of the send in flight (stable while it runs)
  size_t sending_done = 0;
  bool send_in_flight = false;
};

unsigned round_up_pow2(size_t n) {
  return static_cast<unsigned>(std::bit_ceil(std::max<size_t>(n, 1)));
}

class UringEngine {
 public:
  explicit UringEngine(WorkerCore& core) : core_(core), conns_(core.connections()) {}

  std::error_code init() {
    const size_t n = conns_.size();
    const unsigned sq = std::min(round_up_pow2(2 * n + 64), 4096u);
    const unsigned cq = std::min(round_up_pow2(4 * n + 256), 65536u);
    if (auto ec = ring_.init(sq, cq)) return ec;
    const size_t outstanding =
        core_.config().message_size * static_cast<size_t>(std::max(core_.config().pipeline, 1));
    const size_t size = std::clamp<size_t>(std::bit_ceil(outstanding), 4096, 64 << 10);
    unsigned count = std::min(round_up_pow2(2 * n + 64), 32768u);
    while (count > 64 && count * size > kMaxBufferBytes) count /= 2;
    if (auto ec = buffers_.init(ring_, kBufferGroup, count, size)) return ec;
    core_.result().engine_setup = "setup " + ring_.setup_flags_text() +
                                  (ring_.ring_fd_registered() ? ", registered ring fd" : "") +
                                  ", multishot recv, " + std::to_string(count) + "x" +
                                  std::to_string(size) + " buffer ring";
    state_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      // io_uring honours O_NONBLOCK by failing with -EAGAIN instead of waiting for room:
      // in blocking mode a send that finds the socket full is parked by the kernel instead.
      (void)net::set_nonblocking(conns_[i].fd.get(), false);
      state_[i].recv_op = {OpKind::kRecv, static_cast<uint32_t>(i)};
      state_[i].send_op = {OpKind::kSend, static_cast<uint32_t>(i)};
    }
    return {};
  }

  void run() {
    int64_t now = now_ns();
    for (size_t i = 0; i < conns_.size(); ++i) arm_recv(i);
    core_.queue_initial(now);
    for (size_t i = 0; i < conns_.size(); ++i) start_send(i);

    std::vector<size_t> touched;
    while (core_.advance_phase(now)) {
      const int64_t budget = core_.wait_budget_ns(now);
      __kernel_timespec timeout{budget / 1'000'000'000, budget % 1'000'000'000};
      io_uring_cqe* first = nullptr;
      io_uring_submit_and_wait_timeout(ring_.get(), &first, 1, &timeout, nullptr);
      now = now_ns();
      unsigned head;
      unsigned seen = 0;
      io_uring_cqe* cqe;
      io_uring_for_each_cqe(ring_.get(), head, cqe) {
        ++seen;
        handle(cqe, now);
      }
      io_uring_cq_advance(ring_.get(), seen);
      buffers_.commit();

      touched.clear();
      core_.due_sends(now, touched);
      for (size_t i : touched) start_send(i);
      touched.clear();
      core_.check_late(now, touched);
      for (size_t i : touched) ::shutdown(conns_[i].fd.get(), SHUT_RDWR);
    }
  }

 private:
  void arm_recv(size_t i) {
    if (conns_[i].failed) return;
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_recv_multishot(sqe, conns_[i].fd.get(), nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kBufferGroup;
    io_uring_sqe_set_data(sqe, &state_[i].recv_op);
  }

  void start_send(size_t i) {
    auto& c = conns_[i];
    auto& s = state_[i];
    if (c.failed || s.send_in_flight) return;
    if (s.sending_done == s.sending.size()) {
      if (c.outbox.empty()) return;
      s.sending_done = c.outbox.take(s.sending);
    }
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_send(sqe, c.fd.get(), s.sending.data() + s.sending_done,
                       s.sending.size() - s.sending_done, MSG_NOSIGNAL);
    io_uring_sqe_set_data(sqe, &s.send_op);
    s.send_in_flight = true;
  }

  void fail(size_t i, int err) {
    core_.fail(i, err);
    ::shutdown(conns_[i].fd.get(), SHUT_RDWR);  // ends the multishot recv
  }

  void handle(io_uring_cqe* cqe, int64_t now) {
    const auto* op = static_cast<const Op*>(io_uring_cqe_get_data(cqe));
    const size_t i = op->connection;
    auto& c = conns_[i];
    if (op->kind == OpKind::kRecv) {
      if (cqe->flags & IORING_CQE_F_BUFFER) {
        const unsigned id = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        if (cqe->res > 0 && !c.failed &&
            !core_.on_received(i, buffers_.buffer(id), static_cast<size_t>(cqe->res), now)) {
          ::shutdown(c.fd.get(), SHUT_RDWR);
        }
        buffers_.recycle(id);
      }
      if (c.failed) return;
      if (cqe->res == 0) {
        fail(i, 0);
        return;
      }
      if (cqe->res < 0 && cqe->res != -ENOBUFS) {
        fail(i, -cqe->res);
        return;
      }
      // Out of buffers (backpressure, not an error) or the kernel ended the multishot.
      if (!(cqe->flags & IORING_CQE_F_MORE)) arm_recv(i);
      start_send(i);  // what on_received queued, if no send is running
      return;
    }
    auto& s = state_[i];
    s.send_in_flight = false;
    if (c.failed) return;
    if (cqe->res < 0) {
      fail(i, -cqe->res);
      return;
    }
    s.sending_done += static_cast<size_t>(cqe->res);
    if (s.sending_done == s.sending.size()) {
      s.sending.clear();
      s.sending_done = 0;
      core_.top_up(i, now);
    }
    start_send(i);
  }

  WorkerCore& core_;
  std::vector<Connection>& conns_;
  std::vector<UringConnection> state_;
  uring::Ring ring_;
  uring::BufferRing buffers_;
};

void run_uring_engine(WorkerCore& core) {
  UringEngine engine(core);
  if (auto ec = engine.init()) {
    for (size_t i = 0; i < core.connections().size(); ++i) core.fail(i, ec.value());
    return;
  }
  engine.run();
}

// What the engine uses: a ring, a provided-buffer ring and multishot recv.
std::string why_unavailable() {
  const auto& f = uring::probe_uring();
  if (!f.ring_ok) return f.ring_error;
  if (!f.buffer_rings) return "no provided-buffer rings (needs Linux 5.19)";
  if (!f.multishot_recv) return "no multishot recv (needs Linux 6.0)";
  return "";
}
#endif  // UB_HAVE_URING

}  // namespace

Engine uring_engine() {
#if UB_HAVE_URING
  return {"uring", kDescription, why_unavailable, run_uring_engine};
#else
  return {"uring", kDescription, [] { return std::string("built without liburing"); },
          [](WorkerCore&) {}};
#endif
}

}  // namespace ub::load
