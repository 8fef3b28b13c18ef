// The io_uring back end. (The design notes and measurements are at the end of this block.)
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
//   continues in the same buffer. Small messages pack 64 to a 4 KiB buffer instead of one
//   each: fewer cold cache lines per echo (server CPU per echo -8% at 1,000 connections,
//   median of 14 pairs), and 10,000 busy connections no longer drain a 4096-buffer pool
//   (without it nearly every receive there ended in ENOBUFS and was re-armed). A buffer
//   returns to the ring when the kernel has moved past it and every piece was sent.
// - Recv bundles (6.10, IORING_RECVSEND_BUNDLE): one completion may fill several buffers
//   when data queued up, capped at the per-connection budget. The fallback when the kernel
//   lacks incremental buffers (the two do not combine here); only where the probe finds
//   IORING_FEAT_RECVSEND_BUNDLE.
// - Batched waits: each loop submits every queued SQE and waits in the same io_uring_enter
//   for the sends just queued plus a batch of new completions, then handles the whole CQ
//   batch. With DEFER_TASKRUN the kernel does not even wake the thread before the batch is
//   there ("lazy wake"); IORING_FEAT_MIN_TIMEOUT (6.12) bounds how long a finished
//   completion may wait for its batch (batch_wait_us), so a lone connection is never held
//   back. Without 6.12 the same bound is a plain timeout. The batch asked for is as many
//   receives as the last batch had while that is at most 1/8 (batch_hold_share) of the
//   ring's connections, else half of them, at most `batch`. Holding a batch then costs the
//   peers little, as most of their requests are elsewhere, and bigger batches keep the
//   kernel's TCP path warm (the old always-half policy: +7.3% server CPU per echo at 1,000
//   connections, 12 pairs). With few connections the same wait starves them (holding at
//   every load: 35-46% fewer round trips at 20 connections), hence half there.
//   Measurements: results/2026-11-25-uring-batch-hold.
// - user_data points to an Op object (the connection's recv or send op, the acceptor's,
//   a zero-copy send's), never packed bits.
// - Optional (UringOptions): direct descriptors (multishot accept straight into a sparse
//   file table, 5.19: no fget/fput per request), SQPOLL (a kernel thread submits; its CPU is
//   reported as "sqpoll-N"), zero-copy send above a size threshold (6.0: the buffer is
//   recycled only after the notification CQE), one-shot instead of multishot.
//
// Backpressure and bounds:
// - A connection may hold at most max(config.buffer_size, one buffer) bytes of unsent data,
//   in at most kMaxPiecesHeld pieces. Past either its multishot recv is cancelled; it is
//   re-armed once the queue has drained to half. A client that never reads therefore pins a
//   bounded number of buffers; the rest waits in its socket buffers, as with every other
//   back end. The piece bound matters with incremental buffers, where a 1-byte piece pins a
//   whole shared buffer: a client trickling bytes without reading pinned every buffer of
//   the pool, far under its byte budget, and stalled the ring. The byte budget itself is
//   checked after each batch, so a client that sends and never reads gets one batch of
//   multishot completions past it (54 KB for a 16 KiB budget in the test; up to the rest of
//   its socket buffer). UringOptions::recv_cap (Linux 6.17) caps each multishot recv's total
//   instead; off by default, since every cap reached costs a re-arm: capped at one budget,
//   stream mode at 16 KiB took 2x the server CPU per echo, at 4 budgets 1.46x, at 64 none.
// - ENOBUFS (the ring ran dry) ends a multishot recv: backpressure, not an error. The
//   connection waits on a list and is re-armed after a batch that returned buffers.
// - max_connections: one atomic count over all rings, touched at accept and close only.
// - EMFILE/ENFILE: io_uring's accept fails before it even looks for a connection, so the
//   acceptor does not simply re-arm (that would spin). It sheds whatever is queued (a
//   reserve descriptor is freed, the connection accepted and closed, the reserve reopened)
//   and waits for the next connection with a one-shot poll (or a 50 ms timeout when a
//   connection waits that cannot be shed: the reserve is gone), then tries again.
//   fd_exhausted counts the connections shed, not the failed accepts (an empty queue fails
//   too). With direct descriptors a full table gives ENFILE after the kernel took and
//   dropped the connection: counted, accept re-armed.
// - stop(): an eventfd write wakes each ring (a poll on the eventfd is always armed). The
//   ring shuts its listener down, cancels every request with one IORING_ASYNC_CANCEL_ANY,
//   closes every connection, drains the cancellations (at most kStopDrain), and tears
//   down the buffer ring and the ring on its own thread. 1000 connections stop in a few ms.
//
// Needs Linux 6.0 (multishot recv); probe_uring() says what this kernel has.

#include "echo/uring.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/thread.h"
#include "echo/listener_group.h"
#include "echo/loop_group_backend.h"
#include "net/socket.h"
#include "uring/probe.h"
#include "uring/ring.h"

namespace ub::echo {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr uint16_t kBufferGroup = 0;
constexpr unsigned kMaxIov = 8;  // buffers gathered into one sendmsg
constexpr size_t kMaxPiecesHeld = 4 * kMaxIov;  // unsent pieces one connection may hold
constexpr unsigned kSqEntries = 2048;
constexpr unsigned kCqEntries = 32768;
constexpr auto kAcceptRetry = 50ms;
constexpr auto kStopDrain = 500ms;
constexpr unsigned kSqThreadIdleMs = 2;

// CPU time of another thread of this process by kernel thread id (the SQPOLL thread is not
// a pthread): the per-thread CPU clock id the kernel derives from a tid.
std::chrono::nanoseconds tid_cpu_time(pid_t tid) {
  const clockid_t clock = static_cast<clockid_t>((~static_cast<unsigned>(tid) << 3) | 6u);
  timespec ts{};
  if (::clock_gettime(clock, &ts) != 0) return {};
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// The SQPOLL thread the kernel started for the calling thread's ring ("iou-sqp-<tid>").
pid_t find_sqpoll_thread() {
  const std::string wanted = "iou-sqp-" + std::to_string(::syscall(SYS_gettid));
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr) return 0;
  pid_t found = 0;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
    std::string name;
    if (std::getline(comm, name) && name == wanted) found = static_cast<pid_t>(std::atoi(e->d_name));
  }
  ::closedir(dir);
  return found;
}

enum class OpKind : uint8_t { kAccept, kAcceptRetry, kWake, kRecv, kSend, kZcSend };

struct Connection;

struct Op {
  OpKind kind;
  Connection* conn = nullptr;
};

// A zero-copy send: its result CQE and its notification CQE both carry this op. The buffer
// may be reused only after the notification.
struct ZcOp : Op {
  uint16_t bid = 0;
};

// Unsent bytes [begin, end) of provided buffer `bid`.
struct Chunk {
  uint16_t bid;
  uint32_t begin;
  uint32_t end;
};

// FIFO of chunks: a few inline slots (a busy echo connection rarely holds more than one
// buffer), spilling to the heap when a slow reader queues more.
class ChunkQueue {
 public:
  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }
  Chunk& operator[](size_t i) { return data()[(head_ + i) & (capacity_ - 1)]; }
  Chunk& front() { return (*this)[0]; }
  void pop_front() {
    head_ = (head_ + 1) & (capacity_ - 1);
    --count_;
  }
  void push_back(const Chunk& c) {
    if (count_ == capacity_) grow();
    (*this)[count_++] = c;
  }

 private:
  static constexpr size_t kInline = 4;
  Chunk* data() { return heap_ ? heap_.get() : inline_; }
  void grow() {
    auto bigger = std::make_unique<Chunk[]>(capacity_ * 2);
    for (size_t i = 0; i < count_; ++i) bigger[i] = (*this)[i];
    heap_ = std::move(bigger);
    head_ = 0;
    capacity_ *= 2;
  }
  Chunk inline_[kInline];
  std::unique_ptr<Chunk[]> heap_;
  size_t capacity_ = kInline;
  size_t head_ = 0;
  size_t count_ = 0;
};

struct Connection {
  explicit Connection(int descriptor) : fd(descriptor) {}
  Op recv_op{OpKind::kRecv, this};
  Op send_op{OpKind::kSend, this};
  int fd;            // socket descriptor, or the direct-descriptor slot
  size_t index = 0;  // in RingWorker::conns_
  ChunkQueue queue;  // received, not yet sent
  size_t held = 0;   // bytes in queue
  ZcOp* zc_in_flight = nullptr;
  uint8_t ops = 0;  // requests whose final CQE is still due (recv, send)
  bool recv_armed = false;
  bool send_busy = false;
  bool cancel_sent = false;  // the armed recv is being cancelled (over budget or closing)
  bool starved = false;      // recv ended with ENOBUFS: waits for buffers
  bool peer_done = false;    // EOF read: close once everything is sent
  bool closing = false;
  msghdr msg{};
  iovec iov[kMaxIov];
};

// One ring and its thread. Counters are written only by the ring thread (relaxed load +
// store, no locked instructions per echo) and summed by stats().
class alignas(64) RingWorker {
 public:
  RingWorker(int index, const ServerConfig& config, const UringOptions& options,
             const uring::UringFeatures& features, std::atomic<size_t>& open_total,
             net::UniqueFd listener)
      : index_(index),
        opts_(options),
        max_connections_(config.max_connections),
        budget_(std::max(config.buffer_size, options.buffer_size)),
        incremental_(options.incremental && features.incremental_buffers),
        bundle_(options.bundle && features.bundles && !incremental_),
        min_wait_supported_(features.min_wait),
        recv_cap_(features.recv_limit ? options.recv_cap * budget_ : 0),
        open_total_(open_total),
        listener_(std::move(listener)) {}

  ~RingWorker() { join(); }

  // Starts the thread and waits until its ring is set up (or failed to be).
  std::error_code start() {
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

  void request_stop() {
    if (!wake_) return;
    const uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof(one));
  }

  void join() {
    thread_.join();
    wake_.reset();
  }

  void add_stats(ServerStats& s) const {
    counters_.add_to(s);
    const int64_t exit_cpu = exit_cpu_ns_.load(std::memory_order_relaxed);
    const auto cpu = exit_cpu >= 0 ? std::chrono::nanoseconds(exit_cpu) : thread_.cpu_time();
    s.thread_cpu.push_back({"ring-" + std::to_string(index_), cpu});
    const pid_t sq = sq_tid_.load(std::memory_order_relaxed);
    if (sq != 0) {
      const int64_t sq_exit = sq_exit_cpu_ns_.load(std::memory_order_relaxed);
      s.thread_cpu.push_back({"sqpoll-" + std::to_string(index_),
                              sq_exit >= 0 ? std::chrono::nanoseconds(sq_exit) : tid_cpu_time(sq)});
    }
  }

 private:
  void report_ready(std::error_code ec) {
    std::lock_guard lock(ready_mu_);
    ready_ = ec;
    ready_cv_.notify_all();
  }

  void run() {
    {
      uring::Ring ring;
      uring::BufferRing buffers;
      ring_ = &ring;
      buffers_ = &buffers;
      const std::error_code ec = set_up();
      if (ec) {
        tear_down();
      } else {
        report_ready({});
        loop();
        tear_down();
      }
      ring_ = nullptr;
      buffers_ = nullptr;
      if (ec) report_ready(ec);
    }  // the buffer ring, then the ring, go on this thread (SINGLE_ISSUER owns them)
    exit_cpu_ns_.store(this_thread_cpu_time().count(), std::memory_order_relaxed);
  }

  std::error_code set_up() {
    uring::RingSetup setup;
    setup.entries = kSqEntries;
    setup.cq_entries = kCqEntries;
    setup.defer_taskrun = opts_.defer_taskrun;
    setup.register_ring_fd = opts_.register_ring_fd;
    setup.sqpoll = opts_.sqpoll;
    setup.sq_thread_idle_ms = kSqThreadIdleMs;
    if (auto ec = ring_->init(setup)) return ec;
    if (opts_.sqpoll) {
      // The SQ thread names itself when it first runs: give it a moment (bounded).
      pid_t sq = 0;
      for (int i = 0; i < 200 && sq == 0; ++i) {
        sq = find_sqpoll_thread();
        if (sq == 0) std::this_thread::sleep_for(1ms);
      }
      sq_tid_.store(sq, std::memory_order_relaxed);
    }
    if (auto ec = buffers_->init(*ring_, kBufferGroup, opts_.buffer_count, opts_.buffer_size,
                                 /*track_order=*/bundle_, incremental_)) {
      return ec;
    }
    free_buffers_ = opts_.buffer_count;
    if (incremental_) {
      consumed_.assign(opts_.buffer_count, 0);
      pieces_.assign(opts_.buffer_count, 0);
      kernel_done_.assign(opts_.buffer_count, 0);
    }
#ifndef NDEBUG
    in_ring_.assign(opts_.buffer_count, 1);
#endif
    if (opts_.zc_send) {
      zc_pending_.assign(opts_.buffer_count, 0);
      zc_orphaned_.assign(opts_.buffer_count, 0);
    }
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
    reserve_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!reserve_) return errno_code(errno);
    arm_wake();
    arm_accept();
    // Fail start() now, not later, if the kernel rejects what we asked for.
    if (int rc = io_uring_submit(ring_->get()); rc < 0) return errno_code(rc);
    return {};
  }

  void tear_down() {
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
    listener_.reset();
    reserve_.reset();
    const pid_t sq = sq_tid_.load(std::memory_order_relaxed);
    if (sq != 0) sq_exit_cpu_ns_.store(tid_cpu_time(sq).count(), std::memory_order_relaxed);
  }

  void loop() {
    unsigned last_recvs = 1;
    for (;;) {
      // Under load: wait for the sends just queued (they complete inside this enter and
      // their CQEs count towards wait_nr) plus a batch of new completions (batch_target);
      // with DEFER_TASKRUN the kernel does not even wake this thread before they are in.
      // The min-wait (kernel 6.12) bounds how long a finished completion waits for its
      // batch, and covers a send that did not complete at once (its CQE missing from the
      // count). At light load (a batch of one) a plain wait for one completion: a min-wait
      // means an hrtimer per wait, and programming timers costs VM exits here (39 vs 30 µs
      // of server CPU per echo at one connection); the price is an extra, non-sleeping
      // enter when sends completed inline.
      unsigned wait_nr = 1;
      std::chrono::microseconds min_wait{0};
      std::chrono::nanoseconds timeout{0};
      const unsigned target = batch_target(last_recvs);
      if (target > 1 && opts_.batch_wait_us > 0 && min_wait_supported_) {
        wait_nr = sends_queued_ + target;
        min_wait = std::chrono::microseconds(opts_.batch_wait_us);
      }
      if (stopping_) {
        wait_nr = 1;
        timeout = 10ms;
      }
      sends_queued_ = 0;
      const int rc = ring_->submit_and_wait(std::min(wait_nr, kCqEntries / 2), min_wait, timeout);
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
      if (stopping_ && (ops_ == 0 || Clock::now() >= stop_deadline_)) break;
    }
  }

  // How many new completions the next wait asks for, given the last batch's receives (see
  // "Batched waits" above): as many again while they were at most 1/batch_hold_share of
  // this ring's connections, else half, so the batch asked for can shrink to what arrives.
  unsigned batch_target(unsigned last_recvs) const {
    const bool few_of_many = opts_.batch_hold_share > 0 &&
                             size_t{last_recvs} * opts_.batch_hold_share <= conns_.size();
    return std::clamp(few_of_many ? last_recvs : last_recvs / 2, 1u, std::max(opts_.batch, 1u));
  }

  void after_batch() {
    buffers_->commit();
    // Buffers came back: as many connections that ran dry as there are buffers may
    // receive again (each takes at least one).
    for (unsigned n = free_buffers_; n > 0 && !starved_.empty() && !stopping_; --n) {
      Connection* c = starved_.front();
      starved_.pop_front();
      c->starved = false;
      update_recv(*c);
    }
  }

  void handle(const io_uring_cqe& cqe) {
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
        on_accept(cqe);
        break;
      case OpKind::kAcceptRetry:
        --ops_;
        if (!stopping_) arm_accept();
        break;
      case OpKind::kWake:
        --ops_;
        begin_stop();
        break;
    }
  }

  // --- accepting -------------------------------------------------------------------------

  void arm_wake() {
    io_uring_sqe* sqe = ring_->sqe();
    io_uring_prep_poll_add(sqe, wake_.get(), POLLIN);
    io_uring_sqe_set_data(sqe, &wake_op_);
    ++ops_;
  }

  void arm_accept() {
    io_uring_sqe* sqe = ring_->sqe();
    const int fd = listener_.get();
    if (opts_.fixed_files) {
      if (opts_.multishot) {
        io_uring_prep_multishot_accept_direct(sqe, fd, nullptr, nullptr, 0);
      } else {
        io_uring_prep_accept_direct(sqe, fd, nullptr, nullptr, 0, IORING_FILE_INDEX_ALLOC);
        // liburing 2.3 stores index + 1, which wraps ALLOC to 0 ("no direct descriptor"):
        // the accept would return a plain fd that later requests take for a table slot.
        sqe->file_index = IORING_FILE_INDEX_ALLOC;
      }
    } else if (opts_.multishot) {
      io_uring_prep_multishot_accept(sqe, fd, nullptr, nullptr, SOCK_CLOEXEC);
    } else {
      io_uring_prep_accept(sqe, fd, nullptr, nullptr, SOCK_CLOEXEC);
    }
    io_uring_sqe_set_data(sqe, &accept_op_);
    accept_cancel_sent_ = false;
    ++ops_;
  }

  // io_uring's accept reads RLIMIT_NOFILE when it is armed; a multishot accept keeps that
  // value. One getrlimit per accepted connection keeps a later, lower limit honoured.
  static bool over_fd_limit(int fd) {
    rlimit limit{};
    return ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && static_cast<rlim_t>(fd) >= limit.rlim_cur;
  }

  void on_accept(const io_uring_cqe& cqe) {
    const bool more = cqe.flags & IORING_CQE_F_MORE;
    if (!more) --ops_;
    if (cqe.res >= 0) {
      if (!opts_.fixed_files && over_fd_limit(cqe.res)) {
        // The limit was lowered since the accept was armed (the kernel checks the limit it
        // read then): shed this one and re-arm, so the kernel enforces the new limit.
        LoopCounters::add(counters_.fd_exhausted);
        LoopCounters::add(counters_.accepted);
        LoopCounters::add(counters_.rejected);
        ::close(cqe.res);
        if (more && !accept_cancel_sent_) {
          cancel(&accept_op_);
          accept_cancel_sent_ = true;
        }
      } else {
        add_connection(cqe.res);
      }
      if (!more && !stopping_) arm_accept();
      return;
    }
    if (stopping_) return;
    if (cqe.res == -EMFILE || cqe.res == -ENFILE) {
      if (opts_.fixed_files) {
        // The table was full: the kernel accepted the connection and dropped it.
        LoopCounters::add(counters_.fd_exhausted);
        LoopCounters::add(counters_.accepted);
        LoopCounters::add(counters_.rejected);
      } else {
        // Not counted here: this accept failed before it looked at the queue, which may be
        // empty. shed_pending() counts the connections it sheds.
        if (!more) wait_to_accept_again(shed_pending());
        return;
      }
    }
    if (!more) arm_accept();
  }

  // Out of descriptors: accepts and closes every queued connection with the reserve
  // descriptor's slot, so those clients learn at once; counts fd_exhausted for each.
  // False: a connection may still wait that could not be shed (no reserve to give, or
  // the accept failed), so waiting for POLLIN would wake at once.
  bool shed_pending() {
    if (!reserve_) reserve_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!reserve_) return !net::connection_waiting(listener_.get());
    // io_uring's accept wants a blocking listener; this synchronous one must not block.
    (void)net::set_nonblocking(listener_.get(), true);
    bool stuck = false;
    for (int i = 0; i < 4096; ++i) {
      reserve_.reset();
      const int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      const int err = errno;
      if (fd >= 0) {
        LoopCounters::add(counters_.fd_exhausted);
        LoopCounters::add(counters_.accepted);
        LoopCounters::add(counters_.rejected);
        ::close(fd);
      }
      reserve_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      if (fd < 0 && (err == EAGAIN || err == EWOULDBLOCK)) break;  // queue empty
      if (!reserve_ || (fd < 0 && err != EINTR && err != ECONNABORTED)) {
        stuck = true;
        break;
      }
    }
    (void)net::set_nonblocking(listener_.get(), false);
    return !stuck || !net::connection_waiting(listener_.get());
  }

  // Re-arming accept at once would fail at once (the descriptor is allocated before the
  // queue is looked at): wait for a connection to arrive, or a while if one waits that
  // cannot be shed.
  void wait_to_accept_again(bool can_shed) {
    io_uring_sqe* sqe = ring_->sqe();
    if (can_shed) {
      io_uring_prep_poll_add(sqe, listener_.get(), POLLIN);
    } else {
      accept_retry_ts_ = {0, std::chrono::nanoseconds(kAcceptRetry).count()};
      io_uring_prep_timeout(sqe, &accept_retry_ts_, 0, 0);
    }
    io_uring_sqe_set_data(sqe, &accept_retry_op_);
    ++ops_;
  }

  void add_connection(int fd) {
    LoopCounters::add(counters_.accepted);
    if (stopping_) {  // accepted just before the stop: nothing will serve it
      close_descriptor(fd);
      return;
    }
    if (max_connections_ != 0 &&
        open_total_.fetch_add(1, std::memory_order_relaxed) >= max_connections_) {
      open_total_.fetch_sub(1, std::memory_order_relaxed);
      LoopCounters::add(counters_.rejected);
      close_descriptor(fd);
      return;
    }
    auto* c = new Connection(fd);
    c->index = conns_.size();
    conns_.push_back(c);
    LoopCounters::add(counters_.open);
    arm_recv(*c);
  }

  void close_descriptor(int fd) {
    if (opts_.fixed_files) {
      io_uring_sqe* sqe = ring_->sqe();
      io_uring_prep_close_direct(sqe, static_cast<unsigned>(fd));
      io_uring_sqe_set_data(sqe, nullptr);
    } else {
      ::close(fd);
    }
  }

  // --- receiving -------------------------------------------------------------------------

  void arm_recv(Connection& c) {
    io_uring_sqe* sqe = ring_->sqe();
    // A bundle's length caps the bytes one completion may take: the connection's budget.
    const unsigned len = bundle_ ? static_cast<unsigned>(budget_) : 0;
    if (opts_.multishot) {
      io_uring_prep_recv_multishot(sqe, c.fd, nullptr, len, 0);
      if (recv_cap_ != 0) {
        const size_t room = recv_cap_ - std::min(c.held, recv_cap_ - 1);
        uring::set_recv_multishot_limit(sqe, static_cast<uint32_t>(room));
      }
    } else {
      io_uring_prep_recv(sqe, c.fd, nullptr, len, 0);
    }
    sqe->flags |= IOSQE_BUFFER_SELECT | (opts_.fixed_files ? IOSQE_FIXED_FILE : 0);
    sqe->buf_group = kBufferGroup;
    if (bundle_) sqe->ioprio |= uring::kRecvSendBundle;
    io_uring_sqe_set_data(sqe, &c.recv_op);
    c.recv_armed = true;
    c.cancel_sent = false;
    ++c.ops;
    ++ops_;
  }

  void cancel(void* user_data) {
    io_uring_sqe* sqe = ring_->sqe();
    io_uring_prep_cancel(sqe, user_data, 0);
    io_uring_sqe_set_data(sqe, nullptr);
  }

  void cancel_recv(Connection& c) {
    cancel(&c.recv_op);
    c.cancel_sent = true;
  }

  // Arms, keeps or cancels the connection's recv according to its budget.
  void update_recv(Connection& c) {
    if (c.closing || c.peer_done || stopping_) return;
    if (c.recv_armed) {
      if ((c.held >= budget_ || c.queue.size() >= kMaxPiecesHeld) && !c.cancel_sent) {
        cancel_recv(c);
      }
      return;
    }
    if (c.starved) return;
    if (c.held <= budget_ / 2 && c.queue.size() <= kMaxPiecesHeld / 2) arm_recv(c);
  }

  void on_recv(Connection& c, const io_uring_cqe& cqe) {
    if (!(cqe.flags & IORING_CQE_F_MORE)) {
      c.recv_armed = false;
      --c.ops;
      --ops_;
    }
    if (cqe.res > 0) {
      ++recvs_this_batch_;
      if (incremental_) {
        take_piece(c, cqe);
      } else {
        take_buffers(c, cqe);
      }
    } else if (incremental_) {
      // Nothing was read, so nothing of the buffer was consumed; the kernel keeps it.
    } else if (cqe.flags & IORING_CQE_F_BUFFER) {
      const auto bid = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
      note_taken(bid);
      --free_buffers_;  // a buffer with nothing in it: straight back
      recycle(bid);
    }
    if (cqe.res == 0) {
      c.peer_done = true;  // EOF; a half-closed client still gets everything back
    } else if (cqe.res == -ENOBUFS) {
      if (!c.closing && !c.starved && !c.recv_armed) {
        c.starved = true;
        starved_.push_back(&c);
      }
    } else if (cqe.res < 0 && cqe.res != -ECANCELED) {
      begin_close(c);  // ECONNRESET and friends
    }
    settle(c);
  }

  void take_buffers(Connection& c, const io_uring_cqe& cqe) {
    const unsigned first = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
    // Before the loop: recycling `first` below would move it to a new position.
    const uint32_t first_pos = bundle_ ? buffers_->position_of(first) : 0;
    size_t left = static_cast<size_t>(cqe.res);
    for (unsigned k = 0; left > 0; ++k) {
      uring::BufferRing::Piece piece{first, left};
      if (bundle_) piece = buffers_->piece_at(first_pos + k);
      const size_t len = std::min(left, piece.length);
      const auto bid = static_cast<uint16_t>(piece.id);
      note_taken(bid);
      --free_buffers_;
      hold(c, bid, 0, static_cast<uint32_t>(len));
      left -= len;
    }
  }

  // A received piece: queued for sending, or straight back if the connection is closing.
  void hold(Connection& c, uint16_t bid, uint32_t begin, uint32_t end) {
    if (c.closing) {
      release(bid);
      return;
    }
    c.queue.push_back({bid, begin, end});
    c.held += end - begin;
  }

  // Incremental consumption: the bytes sit where the previous piece of this buffer ended.
  // That relies on completions arriving in the order the receives consumed: every receive
  // runs on this thread (DEFER_TASKRUN task work), and the kernel flushes deferred
  // completions before it posts a multishot one and, once the CQ overflows, queues every
  // later completion behind the overflowed ones. (Byte-verified by the uring-backend test's
  // fragmented streams over a 16-buffer pool, and by every bench_echo run.) The buffer
  // goes back to the ring once the kernel has moved past it (no kCqeBufMore) and every
  // piece of it has been sent.
  void take_piece(Connection& c, const io_uring_cqe& cqe) {
    const auto bid = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    const uint32_t begin = consumed_[bid];
    const auto len = static_cast<uint32_t>(cqe.res);
    assert(begin + len <= buffers_->buffer_size() && !kernel_done_[bid]);
    consumed_[bid] = begin + len;
    if (!(cqe.flags & uring::kCqeBufMore)) {
      note_taken(bid);
      --free_buffers_;
      kernel_done_[bid] = 1;
    }
    ++pieces_[bid];
    hold(c, bid, begin, begin + len);
  }

  // --- sending ---------------------------------------------------------------------------

  // After a completion: a closing connection only finishes; an open one sends what it
  // holds, re-arms or pauses its receive, and finishes if that was its last work.
  void settle(Connection& c) {
    if (!c.closing) {
      pump(c);
      update_recv(c);
    }
    maybe_finish(c);
  }

  void pump(Connection& c) {
    if (c.send_busy || c.queue.empty() || c.closing) return;
    io_uring_sqe* sqe = ring_->sqe();
    const unsigned fixed = opts_.fixed_files ? IOSQE_FIXED_FILE : 0;
    const size_t n = std::min<size_t>(c.queue.size(), kMaxIov);
    if (n == 1) {
      Chunk& ch = c.queue.front();
      std::byte* data = buffers_->buffer(ch.bid) + ch.begin;
      const size_t len = ch.end - ch.begin;
      if (opts_.zc_send && len >= opts_.zc_threshold) {
        ZcOp* z = take_zc_op(c, ch.bid);
        io_uring_prep_send_zc(sqe, c.fd, data, len, MSG_NOSIGNAL | MSG_WAITALL, 0);
        io_uring_sqe_set_data(sqe, z);
        c.zc_in_flight = z;
      } else {
        io_uring_prep_send(sqe, c.fd, data, len, MSG_NOSIGNAL | MSG_WAITALL);
        io_uring_sqe_set_data(sqe, &c.send_op);
      }
    } else {
      for (size_t i = 0; i < n; ++i) {
        Chunk& ch = c.queue[i];
        c.iov[i].iov_base = buffers_->buffer(ch.bid) + ch.begin;
        c.iov[i].iov_len = ch.end - ch.begin;
      }
      c.msg.msg_iov = c.iov;
      c.msg.msg_iovlen = n;
      io_uring_prep_sendmsg(sqe, c.fd, &c.msg, MSG_NOSIGNAL | MSG_WAITALL);
      io_uring_sqe_set_data(sqe, &c.send_op);
    }
    sqe->flags |= fixed;
    c.send_busy = true;
    ++c.ops;
    ++ops_;
    ++sends_queued_;
  }

  void on_send(Connection& c, int res) {
    c.send_busy = false;
    --c.ops;
    --ops_;
    if (res < 0) {
      begin_close(c);  // EPIPE, ECONNRESET, ECANCELED at stop
      maybe_finish(c);
      return;
    }
    LoopCounters::add(counters_.bytes_echoed, static_cast<uint64_t>(res));
    size_t left = static_cast<size_t>(res);
    c.held -= left;
    while (left > 0 && !c.queue.empty()) {
      Chunk& front = c.queue.front();
      const size_t avail = front.end - front.begin;
      if (left < avail) {
        front.begin += static_cast<uint32_t>(left);  // a short send: the rest goes next
        break;
      }
      left -= avail;
      release(front.bid);
      c.queue.pop_front();
    }
    settle(c);
  }

  ZcOp* take_zc_op(Connection& c, uint16_t bid) {
    ZcOp* z;
    if (zc_free_.empty()) {
      z = new ZcOp;
      z->kind = OpKind::kZcSend;
    } else {
      z = zc_free_.back();
      zc_free_.pop_back();
    }
    z->conn = &c;
    z->bid = bid;
    ++zc_pending_[bid];  // the notification's hold on the buffer, dropped in on_zc_send
    zc_live_.push_back(z);
    return z;
  }

  void put_zc_op(ZcOp* z) {
    zc_live_.erase(std::find(zc_live_.begin(), zc_live_.end(), z));
    zc_free_.push_back(z);
  }

  void on_zc_send(ZcOp& z, const io_uring_cqe& cqe) {
    if (cqe.flags & IORING_CQE_F_NOTIF) {
      --ops_;
      drop_zc_hold(z.bid);
      put_zc_op(&z);
      return;
    }
    Connection& c = *z.conn;
    c.zc_in_flight = nullptr;
    if (cqe.flags & IORING_CQE_F_MORE) {
      ++ops_;  // the notification is still to come
    } else {
      drop_zc_hold(z.bid);
      put_zc_op(&z);
    }
    on_send(c, cqe.res);
  }

  void drop_zc_hold(uint16_t bid) {
    if (--zc_pending_[bid] == 0 && zc_orphaned_[bid]) {
      zc_orphaned_[bid] = 0;
      recycle(bid);
    }
  }

  // The connection is done with a buffer (incremental: with one piece of it); the kernel
  // may still be (zero-copy send, or more pieces to fill).
  void release(uint16_t bid) {
    if (incremental_) {
      if (--pieces_[bid] > 0 || !kernel_done_[bid]) return;
      consumed_[bid] = 0;
      kernel_done_[bid] = 0;
    }
    if (opts_.zc_send && zc_pending_[bid] > 0) {
      zc_orphaned_[bid] = 1;
      return;
    }
    recycle(bid);
  }

  void recycle(uint16_t bid) {
#ifndef NDEBUG
    assert(!in_ring_[bid] && "buffer recycled twice");
    in_ring_[bid] = 1;
#endif
    buffers_->recycle(bid);
    ++free_buffers_;
  }

  // Debug builds check the buffer bookkeeping: every buffer is in the ring or held, never
  // both (a buffer in the ring twice would be handed to two receives at once).
  void note_taken([[maybe_unused]] uint16_t bid) {
#ifndef NDEBUG
    assert(in_ring_[bid] && "kernel handed out a buffer we hold");
    in_ring_[bid] = 0;
#endif
  }

  // --- closing ---------------------------------------------------------------------------

  void begin_close(Connection& c) {
    if (c.closing) return;
    c.closing = true;
    if (c.recv_armed && !c.cancel_sent) cancel_recv(c);
    if (c.send_busy) cancel(c.zc_in_flight ? static_cast<void*>(c.zc_in_flight) : &c.send_op);
    if (c.starved) {
      starved_.erase(std::find(starved_.begin(), starved_.end(), &c));
      c.starved = false;
    }
  }

  void maybe_finish(Connection& c) {
    if (c.closing) {
      if (c.ops == 0) finish(c);
    } else if (c.peer_done && c.queue.empty() && c.ops == 0) {
      finish(c);  // half-close: everything echoed, now the client reads EOF
    }
  }

  void finish(Connection& c) {
    while (!c.queue.empty()) {
      release(c.queue.front().bid);
      c.queue.pop_front();
    }
    if (c.fd >= 0) close_descriptor(c.fd);
    if (max_connections_ != 0) open_total_.fetch_sub(1, std::memory_order_relaxed);
    LoopCounters::subtract_one(counters_.open);
    const size_t slot = c.index;
    if (slot != conns_.size() - 1) {
      conns_[slot] = conns_.back();
      conns_[slot]->index = slot;
    }
    conns_.pop_back();
    delete &c;
  }

  void begin_stop() {
    stopping_ = true;
    stop_deadline_ = Clock::now() + kStopDrain;
    // Not listening any more: new connections are refused from here on, and the accept
    // request ends.
    ::shutdown(listener_.get(), SHUT_RDWR);
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

  const int index_;
  const UringOptions opts_;
  const size_t max_connections_;
  const size_t budget_;  // unsent bytes one connection may hold before its recv stops
  const bool incremental_;  // buffers consumed incrementally: pieces_ / consumed_ / done_
  const bool bundle_;
  const bool min_wait_supported_;
  const size_t recv_cap_;  // a multishot recv's total byte cap (0: none, or no kernel support)
  std::atomic<size_t>& open_total_;

  net::UniqueFd listener_;
  net::UniqueFd wake_;
  net::UniqueFd reserve_;
  Thread thread_;
  std::mutex ready_mu_;
  std::condition_variable ready_cv_;
  std::optional<std::error_code> ready_;  // set by the thread once set_up() is done

  // Ring-thread state.
  uring::Ring* ring_ = nullptr;
  uring::BufferRing* buffers_ = nullptr;
  bool files_registered_ = false;
  Op accept_op_{OpKind::kAccept};
  bool accept_cancel_sent_ = false;
  Op accept_retry_op_{OpKind::kAcceptRetry};
  Op wake_op_{OpKind::kWake};
  __kernel_timespec accept_retry_ts_{};
  std::vector<Connection*> conns_;
  std::deque<Connection*> starved_;
  std::vector<ZcOp*> zc_free_;
  std::vector<ZcOp*> zc_live_;
  std::vector<uint32_t> zc_pending_;  // per buffer: zero-copy notifications still due
  std::vector<uint8_t> zc_orphaned_;  // per buffer: sent and released, waiting for those
  unsigned free_buffers_ = 0;  // in the ring (incremental: including the one being filled)
  std::vector<uint32_t> consumed_;    // incremental, per buffer: bytes the kernel filled
  std::vector<uint32_t> pieces_;      // incremental, per buffer: pieces not yet sent
  std::vector<uint8_t> kernel_done_;  // incremental, per buffer: the kernel moved past it
#ifndef NDEBUG
  std::vector<uint8_t> in_ring_;  // per buffer: 1 while the kernel may hand it out
#endif
  unsigned sends_queued_ = 0;     // sends in the next submission: their CQEs come at once
  unsigned recvs_this_batch_ = 0;
  size_t ops_ = 0;  // requests whose final CQE is still due
  bool stopping_ = false;
  Clock::time_point stop_deadline_{};

  LoopCounters counters_;
  std::atomic<int64_t> exit_cpu_ns_{-1};
  std::atomic<pid_t> sq_tid_{0};
  std::atomic<int64_t> sq_exit_cpu_ns_{-1};
};

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
    return std::make_unique<RingWorker>(index, config, options_, uring::probe_uring(),
                                        open_total, std::move(listener));
  }

  const UringOptions options_;
};

}  // namespace

std::unique_ptr<EchoBackend> make_uring_backend(const UringOptions& options) {
  return std::make_unique<UringBackend>(options);
}

}  // namespace ub::echo
