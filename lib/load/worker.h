#pragma once
// What every client engine's thread shares: the phase clock, the sessions, the load model
// (what to send when) and the accounting. An engine owns only its I/O loop and its own
// per-connection I/O state, and calls on_received / top_up / due_sends / check_late without
// knowing the load model; nothing here makes a system call per message.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <queue>
#include <string>
#include <vector>

#include "load/load.h"
#include "load/session.h"
#include "net/unique_fd.h"

namespace ub::load {

enum class Phase : int { kWarmup, kMeasure, kDrain };

inline int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// A connection's bytes queued for the kernel. The core appends messages; an engine either
// sends from pending_data() and reports what the kernel took with consume() (a partial
// send), or moves every pending byte into a buffer of its own with take() (a send whose
// buffer must stay put while it runs). The cursor lives here, not in an engine, because the
// open loop's outbox limit counts only the bytes not yet handed over.
class Outbox {
 public:
  bool empty() const { return sent_ == bytes_.size(); }
  size_t pending_bytes() const { return bytes_.size() - sent_; }
  const std::byte* pending_data() const { return bytes_.data() + sent_; }

  void append(Session& session, int64_t scheduled_ns, int64_t now_ns, bool track = true) {
    session.append_message(bytes_, scheduled_ns, now_ns, track);
  }
  // The kernel took the next n pending bytes.
  void consume(size_t n) {
    sent_ += n;
    if (sent_ == bytes_.size()) clear();
  }
  // Swaps the queued bytes into `out` (its old contents are dropped, its capacity reused for
  // the next messages) and returns the offset in `out` where the pending ones begin.
  size_t take(std::vector<std::byte>& out) {
    out.swap(bytes_);
    const size_t at = sent_;
    clear();
    return at;
  }
  // Drops the bytes already handed over once there are at least `threshold` of them, so an
  // outbox the kernel never quite empties does not grow.
  void compact(size_t threshold) {
    if (sent_ < threshold) return;
    bytes_.erase(bytes_.begin(), bytes_.begin() + static_cast<ptrdiff_t>(sent_));
    sent_ = 0;
  }

 private:
  void clear() {
    bytes_.clear();
    sent_ = 0;
  }

  std::vector<std::byte> bytes_;
  size_t sent_ = 0;  // bytes_[0, sent_) are with the kernel
};

// What the core keeps per connection; each engine keeps its own I/O state beside it,
// indexed the same way.
struct Connection {
  net::UniqueFd fd;
  Session session;
  Outbox outbox{};
  bool failed = false;
  // Stream mode: when echoed bytes last arrived (or the stream began). Its messages carry
  // no timings, so a stalled server shows as bytes outstanding and no progress since then.
  int64_t last_echo_ns = 0;
  // Open loop: messages that are due but not yet in the outbox, because the outbox already
  // held kOpenOutboxLimit bytes. A connection's sends fall due at a fixed interval, so the
  // backlog is the first one's due time and a count: a client that falls behind owes
  // messages in constant memory instead of growing a buffer or a list of due times.
  struct Owed {
    int64_t first_due = 0;
    uint64_t count = 0;
    bool empty() const { return count == 0; }
  } owed{};
};

// Per-thread results, merged by the coordinator.
struct WorkerResult {
  uint64_t round_trips = 0;
  uint64_t bytes_received = 0;
  Histogram rtt;
  Histogram rtt_scheduled;
  std::chrono::nanoseconds cpu{};
  uint64_t context_switches = 0;
  ErrorCounts errors;
  std::vector<std::string> error_samples;
  std::string engine_setup;  // e.g. the io_uring setup flags that won
};

class WorkerCore {
 public:
  static constexpr size_t kMaxSamples = 5;
  static constexpr size_t kStreamWindow = 256 << 10;     // stream mode: unechoed bytes in flight
  static constexpr size_t kOpenOutboxLimit = 256 << 10;  // open loop: queued bytes per connection
  // After the drain: how long half-closed connections may take to send EOF (at most
  // reply_timeout). Bytes arriving meanwhile are checked; a server still silent then may
  // simply keep half-closed connections open, so waiting ends there without an error.
  static constexpr int64_t kCloseWaitNs = 500'000'000;

  WorkerCore(const LoadConfig& config, const std::atomic<Phase>& phase,
             std::vector<net::UniqueFd> fds, uint64_t first_id);

  std::vector<Connection>& connections() { return connections_; }
  // Round trips in the window so far; read by the coordinator while the thread runs.
  uint64_t live_round_trips() const { return live_round_trips_.load(std::memory_order_relaxed); }
  WorkerResult& result() { return result_; }
  const LoadConfig& config() const { return config_; }

  // Reads the shared phase; records CPU at the window edges. Once the window has closed,
  // waits for every reply (or its timeout), then half-closes the healthy connections and
  // waits briefly for their EOF, so bytes the server sends after the last reply are still
  // read and checked. Returns false when that is over: the engine's loop should end.
  bool advance_phase(int64_t now);
  bool sending() const { return phase_seen_ != Phase::kDrain; }

  // Queues the first messages of every connection (closed loop: `pipeline` each).
  void queue_initial(int64_t now);
  // Echoed bytes arrived on connection i: verify, account, queue what the model sends next.
  // Returns false if the connection failed (the engine closes it).
  bool on_received(size_t i, const std::byte* data, size_t n, int64_t now);
  // Queues every message due by `now` (the open loop's schedule; other models have none);
  // `touched` gets the connections with new bytes to send. Returns the next due time
  // (INT64_MAX if none).
  int64_t due_sends(int64_t now, std::vector<size_t>& touched);
  // Connection i's outbox has gone to the kernel: queues what the load model still owes it
  // (open loop: messages that fell due while the outbox held kOpenOutboxLimit bytes; no
  // other model owes any). Returns whether it queued anything.
  bool top_up(size_t i, int64_t now);
  // Late replies: connections whose oldest outstanding reply is older than reply_timeout
  // fail; in stream mode, connections with unechoed bytes and no echo for reply_timeout.
  // Call every ~100 ms; cheap.
  void check_late(int64_t now, std::vector<size_t>& failed);
  // A socket error or EOF on connection i. An EOF with nothing outstanding after the
  // window (the server closing a half-closed connection) is the normal end, not an error.
  void fail(size_t i, int err);
  // Nanoseconds until the next periodic duty (late check or due send), for the wait timeout.
  int64_t wait_budget_ns(int64_t now) const;

 private:
  // Stream mode: tops up connection i's outbox if the window allows.
  void refill_stream(size_t i, int64_t now);
  void error_sample(std::string text);

  const LoadConfig& config_;
  const std::atomic<Phase>& phase_;
  Phase phase_seen_ = Phase::kWarmup;
  bool measuring_ = false;
  int64_t drain_deadline_ = 0;
  bool closing_ = false;  // drained: healthy connections half-closed, awaiting EOF
  int64_t close_deadline_ = 0;
  int64_t next_late_check_ = 0;
  std::chrono::nanoseconds cpu_at_start_{};
  uint64_t switches_at_start_ = 0;
  std::vector<Connection> connections_;
  WorkerResult result_;
  std::atomic<uint64_t> live_round_trips_{0};  // mirrors result_.round_trips (plain stores)
  // Open loop schedule: (due time, connection), earliest first.
  using Due = std::pair<int64_t, size_t>;
  std::priority_queue<Due, std::vector<Due>, std::greater<Due>> schedule_;
  int64_t interval_ns_ = 0;
};

}  // namespace ub::load
