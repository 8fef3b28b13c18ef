#pragma once
// Resolver: many lookups at once, on a pool of worker threads, each with a deadline.
//
//   auto resolver = Resolver::create({.threads = 16});
//   std::vector<Outcome> out = (*resolver)->resolve(queries);   // same order as queries
//   (*resolver)->stream(source, sink);                          // bounded memory
//
// Every query gets its own deadline (Options::timeout, counted from when a worker starts
// it, not from submission): past it the query ends with Error::kTimedOut, whatever the
// engine is still doing, and it never holds back the rest of the batch (see worker_pool.h
// for how a thread stuck in glibc is replaced). Deadlines are checked every `tick`
// (timeout / 20, between 2 and 50 ms), so a timeout is reported up to one tick late.
//
// A Resolver may be used from several threads at once; each resolve()/stream() call runs
// on its caller's thread, which also calls the source and sink (so they need no locking).

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "resolve/engine.h"
#include "resolve/query.h"
#include "resolve/worker_pool.h"

namespace ub::resolve {

struct Options {
  std::string engine = "system";
  int threads = 16;
  std::chrono::milliseconds timeout{5000};
  // A query running this long counts as stalled and its thread is replaced. 0 = adaptive:
  // ten times the recent average latency, at least `min_stall`, at most the timeout.
  std::chrono::milliseconds stall_after{0};
  std::chrono::milliseconds min_stall{20};
  int max_extra_threads = 64;  // stand-ins for stalled threads, at most this many at once
};

struct StreamOptions {
  // Queries taken from the source but not yet given to the sink, at most. Bounds memory.
  size_t window = 4096;
  // Deliver in input order (a slow query then holds back later answers, and once `window`
  // answers wait behind it, the input too); otherwise in completion order.
  bool ordered = true;
};

struct StreamStats {
  size_t queries = 0;
  size_t failed = 0;     // outcomes with an error, timeouts included
  size_t timed_out = 0;  // Error::kTimedOut
};

class Resolver {
 public:
  using Source = std::function<std::optional<Query>()>;               // nullopt: no more queries
  using Sink = std::function<void(size_t index, Outcome&& outcome)>;  // index: input position

  static Result<std::unique_ptr<Resolver>> create(const Options& options = {});
  static Result<std::unique_ptr<Resolver>> create(std::shared_ptr<Engine> engine,
                                                  const Options& options);

  std::vector<Outcome> resolve(std::span<const Query> queries);
  Outcome resolve_one(const Query& query);
  StreamStats stream(const Source& source, const Sink& sink, const StreamOptions& options = {});

  const Options& options() const { return options_; }
  std::string_view engine_name() const { return engine_->name(); }
  detail::PoolStats pool_stats() const { return pool_->stats(); }

 private:
  Resolver(std::shared_ptr<Engine> engine, std::unique_ptr<detail::WorkerPool> pool,
           const Options& options)
      : engine_(std::move(engine)), pool_(std::move(pool)), options_(options) {}

  std::shared_ptr<Engine> engine_;
  std::unique_ptr<detail::WorkerPool> pool_;
  Options options_;
};

}  // namespace ub::resolve
