#include "load/worker.h"

#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "common/thread.h"

namespace ub::load {
namespace {

constexpr int64_t kLateCheckEveryNs = 100'000'000;

uint64_t thread_context_switches() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return static_cast<uint64_t>(usage.ru_nvcsw + usage.ru_nivcsw);
}

}  // namespace

WorkerCore::WorkerCore(const LoadConfig& config, const std::atomic<Phase>& phase,
                       std::vector<net::UniqueFd> fds, uint64_t first_id)
    : config_(config), phase_(phase) {
  connections_.reserve(fds.size());
  for (size_t i = 0; i < fds.size(); ++i) {
    connections_.push_back(
        Connection{.fd = std::move(fds[i]),
                   .session = Session(config.message_size, config.seed * 7919 + first_id + i)});
  }
}

bool WorkerCore::advance_phase(int64_t now) {
  const Phase phase = phase_.load(std::memory_order_acquire);
  if (phase != phase_seen_) {
    if (phase_seen_ == Phase::kWarmup) {  // window opens
      measuring_ = true;
      cpu_at_start_ = this_thread_cpu_time();
      switches_at_start_ = thread_context_switches();
    }
    if (phase == Phase::kDrain) {  // window closes
      if (!measuring_) {           // the warm-up ended and the window closed in one step
        cpu_at_start_ = this_thread_cpu_time();
        switches_at_start_ = thread_context_switches();
      }
      measuring_ = false;
      result_.cpu = this_thread_cpu_time() - cpu_at_start_;
      result_.context_switches = thread_context_switches() - switches_at_start_;
      drain_deadline_ = now + config_.reply_timeout.count();
    }
    phase_seen_ = phase;
  }
  if (phase_seen_ != Phase::kDrain) return true;
  if (closing_) {
    if (now >= close_deadline_) return false;  // the rest keep their half-closed ends open
    for (const auto& c : connections_) {
      if (!c.failed) return true;  // no EOF yet
    }
    return false;
  }
  // Stream mode too: its last window of bytes (sent, not yet echoed) is verified here.
  bool outstanding = false;
  for (const auto& c : connections_) {
    if (!c.failed && (c.session.in_flight() > 0 || !c.owed.empty())) {
      outstanding = true;
      break;
    }
  }
  if (outstanding && now < drain_deadline_) return true;
  for (size_t i = 0; i < connections_.size(); ++i) {
    auto& c = connections_[i];
    if (!c.failed && (c.session.in_flight() > 0 || !c.owed.empty())) {
      result_.errors.late_replies += c.session.in_flight() + c.owed.count;
      error_sample("connection " + std::to_string(i) + ": " +
                   std::to_string(c.session.in_flight() + c.owed.count) +
                   " replies missing after the run");
      c.failed = true;
    }
  }
  // Every reply is in, yet the server may still send more (a duplicated echo, say), which
  // the run would never see if it ended now. Half-close: a server finishes the connection
  // once it has echoed everything, and any byte before its EOF is one never sent, which
  // on_received counts as a mismatch. The measurement window is already closed.
  for (auto& c : connections_) {
    if (!c.failed) (void)::shutdown(c.fd.get(), SHUT_WR);  // errors show on the read side
  }
  closing_ = true;
  close_deadline_ = now + std::min(config_.reply_timeout.count(), kCloseWaitNs);
  return true;
}

void WorkerCore::queue_initial(int64_t now) {
  if (config_.model == LoadModel::kOpen) {
    // Each connection sends every interval_ns_, phases spread evenly so the aggregate rate
    // is smooth rather than bursty.
    const double per_connection = config_.rate / config_.connections;
    interval_ns_ = static_cast<int64_t>(1e9 / per_connection);
    std::mt19937_64 rng(config_.seed);
    for (size_t i = 0; i < connections_.size(); ++i) {
      schedule_.push({now + static_cast<int64_t>(rng() % static_cast<uint64_t>(interval_ns_)), i});
    }
    return;
  }
  for (size_t i = 0; i < connections_.size(); ++i) {
    if (config_.model == LoadModel::kStream) {
      connections_[i].last_echo_ns = now;
      refill_stream(i, now);
    } else {
      for (int k = 0; k < config_.pipeline; ++k) {
        connections_[i].outbox.append(connections_[i].session, now, now);
      }
    }
  }
}

bool WorkerCore::on_received(size_t i, const std::byte* data, size_t n, int64_t now) {
  auto& c = connections_[i];
  const bool tracked = config_.model != LoadModel::kStream;
  size_t replies = 0;
  const bool ok = c.session.consume(data, n, tracked, [&](const Timing& t) {
    ++replies;
    if (measuring_ && tracked) {
      result_.rtt.record(static_cast<uint64_t>(now - t.sent_ns));
      if (config_.model == LoadModel::kOpen) {
        result_.rtt_scheduled.record(static_cast<uint64_t>(now - t.scheduled_ns));
      }
    }
  });
  c.last_echo_ns = now;
  if (measuring_) {
    result_.round_trips += replies;
    result_.bytes_received += n;
    live_round_trips_.store(result_.round_trips, std::memory_order_relaxed);
  }
  if (!ok) {
    ++result_.errors.mismatches;
    error_sample("connection " + std::to_string(i) + ": echoed byte " +
                 std::to_string(c.session.mismatch_at()) + " differs from the byte sent");
    c.failed = true;
    return false;
  }
  if (!sending()) return true;
  if (config_.model == LoadModel::kClosed) {
    for (size_t k = 0; k < replies; ++k) c.outbox.append(c.session, now, now);
  } else if (config_.model == LoadModel::kStream) {
    refill_stream(i, now);
  }
  return true;
}

void WorkerCore::refill_stream(size_t i, int64_t now) {
  auto& c = connections_[i];
  const uint64_t size = c.session.message_size();
  for (;;) {
    const uint64_t unechoed = c.session.unechoed_bytes();
    if (!sending() || (unechoed > 0 && unechoed + size > kStreamWindow)) break;
    c.outbox.append(c.session, now, now, /*track=*/false);
  }
}

int64_t WorkerCore::due_sends(int64_t now, std::vector<size_t>& touched) {
  while (!schedule_.empty() && schedule_.top().first <= now) {
    auto [due, i] = schedule_.top();
    schedule_.pop();
    auto& c = connections_[i];
    if (c.failed || !sending()) continue;
    if (c.owed.count++ == 0) c.owed.first_due = due;
    if (top_up(i, now)) touched.push_back(i);
    schedule_.push({due + interval_ns_, i});
  }
  return schedule_.empty() || !sending() ? INT64_MAX : schedule_.top().first;
}

bool WorkerCore::top_up(size_t i, int64_t now) {
  auto& c = connections_[i];
  if (c.owed.empty()) return false;  // only the open loop owes messages
  bool queued = false;
  // Once the kernel has taken the limit's worth, drop those bytes: the move is of at most
  // the limit's bytes, and an outbox the kernel never quite empties does not grow.
  c.outbox.compact(kOpenOutboxLimit);
  // Owed messages still go out while draining: they were due inside the window.
  while (!c.owed.empty() && !c.failed && c.outbox.pending_bytes() < kOpenOutboxLimit) {
    c.outbox.append(c.session, c.owed.first_due, now);
    c.owed.first_due += interval_ns_;
    --c.owed.count;
    queued = true;
  }
  return queued;
}

void WorkerCore::check_late(int64_t now, std::vector<size_t>& failed) {
  if (now < next_late_check_) return;
  next_late_check_ = now + kLateCheckEveryNs;
  const bool stream = config_.model == LoadModel::kStream;
  const int64_t limit = config_.reply_timeout.count();
  for (size_t i = 0; i < connections_.size(); ++i) {
    auto& c = connections_[i];
    if (c.failed || (c.session.in_flight() == 0 && c.owed.empty())) continue;
    // The oldest thing this connection waits for: a reply, or a message it could not even
    // send yet (owed since its scheduled time: the offered rate is not being sustained).
    // Stream messages have no timings: there it is the last progress of the echo, so a
    // server that stalls or stops echoing partway fails instead of just lowering MB/s.
    int64_t oldest = INT64_MAX;
    if (stream) {
      oldest = c.last_echo_ns;
    } else if (c.session.in_flight() > 0) {
      oldest = c.session.oldest().sent_ns;
    }
    if (!c.owed.empty()) oldest = std::min(oldest, c.owed.first_due);
    if (now - oldest > limit) {
      result_.errors.late_replies += c.session.in_flight() + c.owed.count;
      const std::string what =
          stream ? std::to_string(c.session.unechoed_bytes()) + " bytes unechoed, none back"
                 : std::string("no reply");
      error_sample("connection " + std::to_string(i) + ": " + what + " within " +
                   std::to_string(limit / 1'000'000) + " ms");
      c.failed = true;
      failed.push_back(i);
    }
  }
}

void WorkerCore::fail(size_t i, int err) {
  auto& c = connections_[i];
  if (c.failed) return;
  c.failed = true;
  if (err == 0) {
    // EOF: fine once nothing is outstanding and we are done; otherwise the server hung up.
    if (!sending() && c.session.in_flight() == 0) return;
    ++result_.errors.early_eofs;
    error_sample("connection " + std::to_string(i) + ": server closed the connection");
    return;
  }
  if (err == ECONNRESET || err == EPIPE) {
    ++result_.errors.resets;
  } else {
    ++result_.errors.other;
  }
  error_sample("connection " + std::to_string(i) + ": " + std::strerror(err));
}

int64_t WorkerCore::wait_budget_ns(int64_t now) const {
  int64_t budget = std::max<int64_t>(next_late_check_ - now, 0);
  if (!schedule_.empty() && sending()) {
    budget = std::min(budget, std::max<int64_t>(schedule_.top().first - now, 0));
  }
  // Phase changes are polled, so never sleep long: 10 ms bounds their lag when idle.
  return std::min<int64_t>(budget, 10'000'000);
}

void WorkerCore::error_sample(std::string text) {
  if (result_.error_samples.size() < kMaxSamples) result_.error_samples.push_back(std::move(text));
}

}  // namespace ub::load
