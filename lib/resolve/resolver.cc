#include "resolve/resolver.h"

#include <algorithm>
#include <unordered_map>

#include "resolve/delivery.h"
#include "resolve/errors.h"

namespace ub::resolve {
namespace {

using detail::Clock;
using detail::Completion;
using detail::Job;
using detail::Task;

constexpr size_t kSubmitChunk = 64;     // hand work to the pool before the window is full
constexpr size_t kMaxWakeBatch = 64;    // the caller wakes for this many answers (or a tick)
constexpr double kLatencyWeight = 0.1;  // EWMA weight of the newest latency
constexpr int kStallFactor = 10;
constexpr int kMaxThreads = 4096;

int64_t ns(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

// Marks tasks that never started as cancelled, so workers skip them, when a stream ends
// early (its source or sink threw).
struct CancelOnExit {
  std::unordered_map<size_t, std::shared_ptr<Task>>& tasks;
  ~CancelOnExit() {
    for (auto& [index, task] : tasks) {
      int expected = detail::kQueued;
      task->state.compare_exchange_strong(expected, detail::kCancelled);
    }
  }
};

}  // namespace

Result<std::unique_ptr<Resolver>> Resolver::create(const Options& options) {
  auto engine = make_engine(options);
  if (!engine) return engine.error();
  return create(std::move(*engine), options);
}

Result<std::unique_ptr<Resolver>> Resolver::create(std::shared_ptr<Engine> engine,
                                                   const Options& options) {
  if (!engine || options.threads < 1 || options.threads > kMaxThreads ||
      options.timeout.count() <= 0 || options.max_extra_threads < 0 ||
      options.stall_after.count() < 0 || options.min_stall.count() <= 0) {
    return std::make_error_code(std::errc::invalid_argument);
  }
  if (engine->as_stream_engine() != nullptr) {
    return std::unique_ptr<Resolver>(new Resolver(std::move(engine), nullptr, options));
  }
  auto pool = detail::WorkerPool::create(engine, options.threads, options.max_extra_threads);
  if (!pool) return pool.error();
  return std::unique_ptr<Resolver>(new Resolver(std::move(engine), std::move(*pool), options));
}

std::vector<Outcome> Resolver::resolve(std::span<const Query> queries) {
  std::vector<Outcome> out(queries.size());
  size_t next = 0;
  StreamOptions so;
  so.ordered = false;  // answers land in place; nothing waits for order
  so.window = std::max<size_t>({so.window, static_cast<size_t>(options_.threads) * 64,
                                static_cast<size_t>(options_.dns.in_flight) * 2});
  stream(
      [&]() -> std::optional<Query> {
        if (next == queries.size()) return std::nullopt;
        return queries[next++];
      },
      [&](size_t index, Outcome&& outcome) { out[index] = std::move(outcome); }, so);
  return out;
}

Outcome Resolver::resolve_one(const Query& query) {
  return std::move(resolve(std::span<const Query>(&query, 1)).front());
}

StreamStats Resolver::stream(const Source& source, const Sink& sink, const StreamOptions& so) {
  if (StreamEngine* engine = engine_->as_stream_engine()) return engine->stream(source, sink, so);
  const size_t window = std::max<size_t>(1, so.window);
  const int64_t timeout_ns = ns(options_.timeout);
  const auto tick = std::clamp<Clock::duration>(options_.timeout / 20, std::chrono::milliseconds(2),
                                                std::chrono::milliseconds(50));
  auto job = std::make_shared<Job>();
  std::unordered_map<size_t, std::shared_ptr<Task>> in_flight;
  CancelOnExit cancel_on_exit{in_flight};
  detail::Delivery delivery(sink, so.ordered);
  size_t issued = 0;
  bool source_done = false;
  double avg_latency_ns = 0;
  std::vector<std::shared_ptr<Task>> batch;
  std::vector<Completion> done;

  auto stall_ns = [&]() -> int64_t {
    if (options_.stall_after.count() > 0) return ns(options_.stall_after);
    const int64_t floor = ns(options_.min_stall);
    // Before any answer, allow for a cold cache upstream: a tenth of the timeout, <= 250 ms.
    const int64_t guess =
        avg_latency_ns > 0 ? static_cast<int64_t>(avg_latency_ns * kStallFactor)
                           : std::min<int64_t>(timeout_ns / 10, ns(std::chrono::milliseconds(250)));
    return std::clamp<int64_t>(guess, floor, std::max(floor, timeout_ns));
  };

  auto deliver = [&](size_t index, Outcome&& outcome) {
    if (outcome.error != Error::kTimedOut) {
      const double latency = static_cast<double>(outcome.latency.count());
      avg_latency_ns = avg_latency_ns == 0
                           ? latency
                           : (1 - kLatencyWeight) * avg_latency_ns + kLatencyWeight * latency;
    }
    delivery.deliver(index, std::move(outcome));
  };

  // Times out running tasks past their deadline and reports long-running ones as stalled.
  auto check_deadlines = [&](Clock::time_point now) {
    const int64_t now_ns = ns(now.time_since_epoch());
    const int64_t stall = stall_ns();
    for (auto it = in_flight.begin(); it != in_flight.end();) {
      Task& task = *it->second;
      if (task.state.load() != detail::kRunning) {
        ++it;
        continue;
      }
      const int64_t elapsed = now_ns - task.started_ns.load(std::memory_order_relaxed);
      if (elapsed >= timeout_ns) {
        int expected = detail::kRunning;
        if (task.state.compare_exchange_strong(expected, detail::kExpired)) {
          if (!task.stall_reported) pool_->report_stall(it->second);  // still stuck in there
          Outcome outcome;
          outcome.error = make_error_code(Error::kTimedOut);
          outcome.latency = std::chrono::nanoseconds(elapsed);
          const size_t index = it->first;
          it = in_flight.erase(it);
          deliver(index, std::move(outcome));
          continue;
        }
      } else if (elapsed >= stall && !task.stall_reported) {
        task.stall_reported = true;
        pool_->report_stall(it->second);
      }
      ++it;
    }
  };

  auto next_tick = Clock::now() + tick;
  for (;;) {
    while (!source_done && issued - delivery.delivered() < window) {
      std::optional<Query> query = source();
      if (!query) {
        source_done = true;
        break;
      }
      auto task = std::make_shared<Task>();
      task->query = std::move(*query);
      task->index = issued++;
      task->job = job;
      in_flight.emplace(task->index, task);
      batch.push_back(std::move(task));
      if (batch.size() >= kSubmitChunk) pool_->submit(batch);
    }
    pool_->submit(batch);
    if (source_done && delivery.delivered() == issued) break;
    {
      std::unique_lock lock(job->mu);
      job->wake_at = std::clamp<size_t>(in_flight.size() / 4, 1, kMaxWakeBatch);
      job->waiting = true;
      job->cv.wait_until(lock, next_tick, [&] { return job->done.size() >= job->wake_at; });
      job->waiting = false;
      done.swap(job->done);
    }
    for (auto& completion : done) {
      in_flight.erase(completion.index);
      deliver(completion.index, std::move(completion.outcome));
    }
    done.clear();
    if (const auto now = Clock::now(); now >= next_tick) {
      check_deadlines(now);
      next_tick = now + tick;
    }
  }
  return delivery.stats();
}

}  // namespace ub::resolve
