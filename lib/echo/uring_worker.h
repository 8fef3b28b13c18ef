#pragma once
// One io_uring echo ring and its thread (the back end's design: uring.cc). Set-up, the
// loop and completion dispatch are in uring.cc; the connection state machine (receive,
// send, close) in uring_stream.cc.

#include <liburing.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <system_error>
#include <vector>

#include "common/thread.h"
#include "echo/backend.h"
#include "echo/listener_group.h"
#include "echo/open_connections.h"
#include "echo/uring_acceptor.h"
#include "echo/uring_batch_wait.h"
#include "echo/uring_connection.h"
#include "echo/uring_options.h"
#include "net/unique_fd.h"
#include "uring/buffer_pool.h"
#include "uring/probe.h"
#include "uring/ring.h"

namespace ub::echo::uring_echo {

using Clock = std::chrono::steady_clock;
using BufferPool = uring::BufferPool<uring::BufferRing>;

inline constexpr uint16_t kBufferGroup = 0;
inline constexpr unsigned kSqEntries = 2048;
inline constexpr unsigned kCqEntries = 32768;
inline constexpr std::chrono::milliseconds kStopDrain{500};
inline constexpr unsigned kSqThreadIdleMs = 2;

// One ring and its thread. Counters are written only by the ring thread (relaxed load +
// store, no locked instructions per echo) and summed by stats().
class alignas(64) RingWorker {
 public:
  RingWorker(int index, const ServerConfig& config, const UringOptions& options,
             const uring::UringFeatures& features, std::atomic<size_t>& open_total,
             net::UniqueFd listener)
      : index_(index),
        opts_(options),
        budget_(std::max(config.buffer_size, options.buffer_size)),
        incremental_(options.incremental && features.incremental_buffers),
        bundle_(options.bundle && features.bundles && !incremental_),
        recv_cap_(features.recv_limit ? options.recv_cap * budget_ : 0),
        wait_settings_{options.batch, options.batch_hold_share, options.batch_wait_us,
                       features.min_wait, kCqEntries / 2},
        cap_(config.max_connections, open_total),
        acceptor_(std::move(listener), options.fixed_files, options.multishot, counters_) {}

  ~RingWorker() { join(); }

  // Starts the thread and waits until its ring is set up (or failed to be).
  std::error_code start();
  void request_stop();
  void join();
  void add_stats(ServerStats& s) const;

 private:
  void report_ready(std::error_code ec);
  void run();
  std::error_code set_up();
  void tear_down();

  size_t requests_due() const { return ops_ + acceptor_.pending(); }
  void loop();
  void after_batch();
  void handle(const io_uring_cqe& cqe);
  void arm_wake();
  void add_connection(int fd);
  void close_descriptor(int fd);

  // --- receiving -------------------------------------------------------------------------

  void arm_recv(Connection& c);
  void cancel(void* user_data);
  void cancel_recv(Connection& c);

  // Arms, keeps or cancels the connection's recv according to its budget.
  void update_recv(Connection& c);
  void on_recv(Connection& c, const io_uring_cqe& cqe);
  void take_buffers(Connection& c, const io_uring_cqe& cqe);

  // Incremental consumption: the bytes sit where the previous piece of this buffer ended
  // (the pool keeps the offsets). That relies on completions arriving in the order the
  // receives consumed: every receive runs on this thread (DEFER_TASKRUN task work), and the
  // kernel flushes deferred completions before it posts a multishot one and, once the CQ
  // overflows, queues every later completion behind the overflowed ones. (Byte-verified by
  // the uring-backend test's fragmented streams over a 16-buffer pool, and by every
  // bench_echo run.)
  void take_piece(Connection& c, const io_uring_cqe& cqe);

  // A received piece: queued for sending, or straight back if the connection is closing.
  void hold(Connection& c, uint16_t bid, uint32_t begin, uint32_t end);

  // --- sending ---------------------------------------------------------------------------

  // After a completion: a closing connection only finishes; an open one sends what it
  // holds, re-arms or pauses its receive, and finishes if that was its last work.
  void settle(Connection& c);
  void pump(Connection& c);
  void on_send(Connection& c, int res);
  ZcOp* take_zc_op(Connection& c, uint16_t bid);
  void put_zc_op(ZcOp* z);
  void on_zc_send(ZcOp& z, const io_uring_cqe& cqe);

  // --- closing ---------------------------------------------------------------------------

  void begin_close(Connection& c);
  void maybe_finish(Connection& c);
  void finish(Connection& c);
  void begin_stop();

  const int index_;
  const UringOptions opts_;
  const size_t budget_;  // unsent bytes one connection may hold before its recv stops
  const bool incremental_;
  const bool bundle_;
  const size_t recv_cap_;  // a multishot recv's total byte cap (0: none, or no kernel support)
  const BatchWaitSettings wait_settings_;
  ConnectionCap cap_;
  LoopCounters counters_;  // before acceptor_, which counts into it
  Acceptor acceptor_;

  net::UniqueFd wake_;
  Thread thread_;
  std::mutex ready_mu_;
  std::condition_variable ready_cv_;
  std::optional<std::error_code> ready_;  // set by the thread once set_up() is done

  // Ring-thread state.
  uring::Ring* ring_ = nullptr;
  uring::BufferRing* buffers_ = nullptr;
  std::optional<BufferPool> pool_;
  bool files_registered_ = false;
  Op wake_op_{OpKind::kWake};
  std::vector<Connection*> conns_;
  std::deque<Connection*> starved_;
  std::vector<ZcOp*> zc_free_;
  std::vector<ZcOp*> zc_live_;
  unsigned sends_queued_ = 0;  // sends in the next submission: their CQEs come at once
  unsigned recvs_this_batch_ = 0;
  size_t ops_ = 0;  // requests of connections and the wake poll whose final CQE is due
  bool stopping_ = false;
  Clock::time_point stop_deadline_{};

  std::atomic<pid_t> sq_tid_{0};
  std::atomic<int64_t> sq_exit_cpu_ns_{-1};
};

}  // namespace ub::echo::uring_echo
