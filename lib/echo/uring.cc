// The io_uring back end: one ring per thread, set up, run and stopped here; what each
// request is (uring_connection.h), when a buffer goes back (uring/buffer_pool.h), how long
// a wait holds (uring_batch_wait.h) and the listener's side (uring_acceptor.h) have their
// own files.
//
// Techniques, the kernel each needs, and why:
// - One ring per thread (config.threads; 0: one per usable CPU), each with its own
//   SO_REUSEPORT listener (3.9): no locks, no hand-off, connections spread by 4-tuple hash.
// - SINGLE_ISSUER|DEFER_TASKRUN (6.1), falling back to COOP_TASKRUN (5.19), then none:
//   completion work runs only when this thread waits, in one batch, with no IPIs. The ring
//   is created on its own thread because SINGLE_ISSUER binds it to the creating task.
// - Registered ring fd (5.18): no fdget/fdput on each io_uring_enter.
// - Multishot accept (5.19) and multishot recv (6.0) into a provided-buffer ring (5.19,
//   hand-rolled for liburing 2.3): one SQE per connection, not one per message; the kernel
//   picks the buffer, so an idle connection pins no memory.
// - The echo is sent from the buffer it was received into; the buffer goes back to the ring
//   only when its send completes (zero copies in user space, no per-connection buffer).
//   One send in flight per connection keeps the byte order; what arrives meanwhile is
//   queued and goes out in one sendmsg (up to kMaxIov buffers). MSG_WAITALL lets the kernel
//   finish a short send itself; a short send that still comes back is continued.
// - Incrementally consumed buffers (6.12, IOU_PBUF_RING_INC, constants in uring/ring.h):
//   a receive takes only the bytes it fills, so the next receive (of any connection)
//   continues in the same buffer. Small messages pack many to a buffer instead of one each:
//   fewer cold cache lines per echo, and 10,000 busy connections do not drain the pool.
// - Recv bundles (6.10, IORING_RECVSEND_BUNDLE): one completion may fill several buffers
//   when data queued up, capped at the per-connection budget. The fallback when the kernel
//   lacks incremental buffers (the two do not combine here); only where the probe finds
//   IORING_FEAT_RECVSEND_BUNDLE.
// - Batched waits: every queued SQE is submitted in the io_uring_enter that waits for a
//   batch of completions, held only while holding costs the peers little.
// - Optional (UringOptions): direct descriptors (multishot accept straight into a sparse
//   file table, 5.19: no fget/fput per request), SQPOLL (a kernel thread submits; its CPU is
//   reported as "sqpoll-N"), zero-copy send above a size threshold (6.0: the buffer is
//   recycled only after the notification CQE), one-shot instead of multishot.
// What each technique is worth: scripts/uring-ablation, results/README.md.
//
// Backpressure and bounds:
// - A connection may hold at most max(config.buffer_size, one buffer) bytes of unsent data,
//   in at most kMaxPiecesHeld pieces. Past either its multishot recv is cancelled; it is
//   re-armed once the queue has drained to half. A client that never reads therefore pins a
//   bounded number of buffers; the rest waits in its socket buffers, as with every other
//   back end. The piece bound matters with incremental buffers, where a 1-byte piece pins a
//   whole shared buffer: a client trickling bytes without reading would pin the whole pool
//   far under its byte budget. The byte budget is checked after each batch, so a client
//   that sends and never reads gets one batch of multishot completions past it.
//   UringOptions::recv_cap (Linux 6.17) caps each multishot recv's total instead; off by
//   default, since every cap reached costs a re-arm.
// - ENOBUFS (the ring ran dry) ends a multishot recv: backpressure, not an error. The
//   connection waits on a list and is re-armed after a batch that returned buffers.
// - max_connections: one count over all rings (open_connections.h), at accept and close.
// - stop(): an eventfd write wakes each ring (a poll on the eventfd is always armed). The
//   ring shuts its listener down, cancels every request with one IORING_ASYNC_CANCEL_ANY,
//   closes every connection, drains the cancellations (at most kStopDrain), and tears
//   down the buffer ring and the ring on its own thread.
//
// Needs Linux 6.0 (multishot recv); probe_uring() says what this kernel has.

#include "echo/uring.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>

#include "echo/loop_group_backend.h"
#include "echo/uring_worker.h"

namespace ub::echo {
namespace uring_echo {

using namespace std::chrono_literals;

std::error_code RingWorker::start() {
  wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_) return errno_code(errno);
  const std::string name = "ub-ring-" + std::to_string(index_);
  auto thread = Thread::spawn([this] { run(); }, name.c_str());
  if (!thread) return thread.error();
  thread_ = std::move(*thread);
  std::unique_lock lock(ready_mu_);
  ready_cv_.wait(lock, [this] { return ready_.has_value(); });
  return *ready_;
}

void RingWorker::request_stop() {
  if (!wake_) return;
  const uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof(one));
}

void RingWorker::join() {
  thread_.join();
  wake_.reset();
}

void RingWorker::add_stats(ServerStats& s) const {
  counters_.add_to(s);
  s.thread_cpu.push_back({"ring-" + std::to_string(index_), thread_.cpu_time()});
  const pid_t sq = sq_tid_.load(std::memory_order_relaxed);
  if (sq != 0) {
    const int64_t sq_exit = sq_exit_cpu_ns_.load(std::memory_order_relaxed);
    s.thread_cpu.push_back({"sqpoll-" + std::to_string(index_),
                            sq_exit >= 0 ? std::chrono::nanoseconds(sq_exit) : tid_cpu_time(sq)});
  }
}

void RingWorker::report_ready(std::error_code ec) {
  std::lock_guard lock(ready_mu_);
  ready_ = ec;
  ready_cv_.notify_all();
}

void RingWorker::run() {
  uring::Ring ring;
  uring::BufferRing buffers;
  ring_ = &ring;
  buffers_ = &buffers;
  const std::error_code ec = set_up();
  if (!ec) {
    report_ready({});
    loop();
  }
  tear_down();
  pool_.reset();
  ring_ = nullptr;
  buffers_ = nullptr;
  if (ec) report_ready(ec);
  // The buffer ring, then the ring, go on this thread (SINGLE_ISSUER owns them).
}

std::error_code RingWorker::set_up() {
  uring::RingSetup setup;
  setup.entries = kSqEntries;
  setup.cq_entries = kCqEntries;
  setup.defer_taskrun = opts_.defer_taskrun;
  setup.register_ring_fd = opts_.register_ring_fd;
  setup.sqpoll = opts_.sqpoll;
  setup.sq_thread_idle_ms = kSqThreadIdleMs;
  if (auto ec = ring_->init(setup)) return ec;
  if (opts_.sqpoll) {
    // The SQ thread ("iou-sqp-<tid of the ring's creator>") names itself when it first
    // runs: give it a moment (bounded).
    const std::string sq_name = "iou-sqp-" + std::to_string(this_thread_tid());
    pid_t sq = 0;
    for (int i = 0; i < 200 && sq == 0; ++i) {
      sq = find_thread_by_name(sq_name);
      if (sq == 0) std::this_thread::sleep_for(1ms);
    }
    sq_tid_.store(sq, std::memory_order_relaxed);
  }
  if (auto ec = buffers_->init(*ring_, kBufferGroup, opts_.buffer_count, opts_.buffer_size,
                               /*track_order=*/bundle_, incremental_)) {
    return ec;
  }
  pool_.emplace(*buffers_, opts_.buffer_count, static_cast<uint32_t>(opts_.buffer_size),
                incremental_, opts_.zc_send);
  if (opts_.fixed_files) {
    // The kernel caps a file table at RLIMIT_NOFILE; the table bounds the connections.
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    const unsigned slots =
        static_cast<unsigned>(std::clamp<rlim_t>(limit.rlim_cur, 64, rlim_t{1} << 20));
    if (int rc = io_uring_register_files_sparse(ring_->get(), slots); rc < 0) {
      return errno_code(rc);
    }
    files_registered_ = true;
  }
  arm_wake();
  if (auto ec = acceptor_.start(*ring_)) return ec;
  // Fail start() now, not later, if the kernel rejects what we asked for.
  if (int rc = io_uring_submit(ring_->get()); rc < 0) return errno_code(rc);
  return {};
}

void RingWorker::tear_down() {
  for (Connection* c : conns_) {
    if (!opts_.fixed_files && c->fd >= 0) ::close(c->fd);
    delete c;
  }
  conns_.clear();
  if (files_registered_) io_uring_unregister_files(ring_->get());  // closes every slot
  files_registered_ = false;
  for (ZcOp* z : zc_free_) delete z;
  zc_free_.clear();
  for (ZcOp* z : zc_live_) delete z;
  zc_live_.clear();
  acceptor_.close();
  const pid_t sq = sq_tid_.load(std::memory_order_relaxed);
  if (sq != 0) sq_exit_cpu_ns_.store(tid_cpu_time(sq).count(), std::memory_order_relaxed);
}

void RingWorker::loop() {
  unsigned last_recvs = 1;
  for (;;) {
    const BatchWait wait =
        next_wait(wait_settings_, last_recvs, conns_.size(), sends_queued_, stopping_);
    sends_queued_ = 0;
    const int rc = ring_->submit_and_wait(wait.wait_nr, wait.min_wait, wait.timeout);
    if (rc < 0 && rc != -EINTR && rc != -ETIME && rc != -EBUSY && rc != -EAGAIN) {
      break;  // EBADF/EFAULT/EINVAL: a bug; leave rather than spin
    }
    recvs_this_batch_ = 0;
    unsigned head;
    unsigned seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(ring_->get(), head, cqe) {
      ++seen;
      handle(*cqe);
    }
    io_uring_cq_advance(ring_->get(), seen);
    if (seen > 0) last_recvs = recvs_this_batch_;
    after_batch();
    if (stopping_ && (requests_due() == 0 || Clock::now() >= stop_deadline_)) break;
  }
}

void RingWorker::after_batch() {
  buffers_->commit();
  // Buffers came back: as many connections that ran dry as there are buffers may
  // receive again (each takes at least one).
  for (unsigned n = pool_->free(); n > 0 && !starved_.empty() && !stopping_; --n) {
    Connection* c = starved_.front();
    starved_.pop_front();
    c->starved = false;
    update_recv(*c);
  }
}

void RingWorker::handle(const io_uring_cqe& cqe) {
  auto* op = static_cast<Op*>(io_uring_cqe_get_data(&cqe));
  if (op == nullptr) return;  // cancel and close requests: nothing to do
  switch (op->kind) {
    case OpKind::kRecv:
      on_recv(*op->conn, cqe);
      break;
    case OpKind::kSend:
      on_send(*op->conn, cqe.res);
      break;
    case OpKind::kZcSend:
      on_zc_send(*static_cast<ZcOp*>(op), cqe);
      break;
    case OpKind::kAccept:
      if (const int fd = acceptor_.on_accept(cqe, stopping_); fd >= 0) add_connection(fd);
      break;
    case OpKind::kAcceptRetry:
      acceptor_.on_retry(stopping_);
      break;
    case OpKind::kWake:
      --ops_;
      begin_stop();
      break;
  }
}

void RingWorker::arm_wake() {
  io_uring_sqe* sqe = ring_->sqe();
  io_uring_prep_poll_add(sqe, wake_.get(), POLLIN);
  io_uring_sqe_set_data(sqe, &wake_op_);
  ++ops_;
}

void RingWorker::add_connection(int fd) {
  LoopCounters::add(counters_.accepted);
  if (stopping_) {  // accepted just before the stop: nothing will serve it
    close_descriptor(fd);
    return;
  }
  if (!cap_.try_take()) {
    LoopCounters::add(counters_.rejected);
    close_descriptor(fd);
    return;
  }
  auto* c = new Connection(fd);
  c->slot = conns_.size();
  conns_.push_back(c);
  LoopCounters::add(counters_.open);
  arm_recv(*c);
}

void RingWorker::close_descriptor(int fd) {
  if (opts_.fixed_files) {
    io_uring_sqe* sqe = ring_->sqe();
    io_uring_prep_close_direct(sqe, static_cast<unsigned>(fd));
    io_uring_sqe_set_data(sqe, nullptr);
  } else {
    ::close(fd);
  }
}

void RingWorker::begin_stop() {
  stopping_ = true;
  stop_deadline_ = Clock::now() + kStopDrain;
  acceptor_.shut_down();
  io_uring_sqe* sqe = ring_->sqe();
  io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
  io_uring_sqe_set_data(sqe, nullptr);
  for (Connection* c : conns_) {
    c->closing = true;
    // Shut down, not closed: sends and receives this batch queued still name the
    // descriptor and go in at the next submit. Closed now, its number could be reused by
    // another thread's open in between and a client's echo written there. Shut down, they
    // fail at once; finish() or tear_down() closes it.
    if (!opts_.fixed_files && c->fd >= 0) ::shutdown(c->fd, SHUT_RDWR);
  }
  starved_.clear();
  for (Connection* c : conns_) c->starved = false;
}

}  // namespace uring_echo

namespace {

using uring_echo::RingWorker;

class UringBackend final : public LoopGroupBackend<RingWorker> {
 public:
  explicit UringBackend(const UringOptions& options) : options_(options) {}
  std::string_view name() const override { return "uring"; }

 private:
  std::error_code check(const ServerConfig& config) override {
    if (!uring::probe_uring().backend_unavailable_reason().empty()) {
      return make_error_code(EchoError::kBackendUnavailable);
    }
    if (config.buffer_size == 0 || !options_.validate().empty()) return errno_code(EINVAL);
    return {};
  }

  // Accepted sockets inherit TCP_NODELAY from their listener: no setsockopt per accept
  // (which direct descriptors could not even do).
  Result<std::unique_ptr<RingWorker>> make_loop(int index, const ServerConfig& config,
                                                net::UniqueFd listener,
                                                std::atomic<size_t>& open_total) override {
    return std::make_unique<RingWorker>(index, config, options_, uring::probe_uring(), open_total,
                                        std::move(listener));
  }

  const UringOptions options_;
};

}  // namespace

std::unique_ptr<EchoBackend> make_uring_backend(const UringOptions& options) {
  return std::make_unique<UringBackend>(options);
}

}  // namespace ub::echo
