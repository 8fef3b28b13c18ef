#pragma once
// Resolver: many lookups at once, each with a deadline: on a pool of worker threads over a
// blocking engine ("system"), or from the caller's thread by a streaming engine ("dns",
// many queries in flight on a c-ares channel; see engine.h).
//
//   auto resolver = Resolver::create({.threads = 16});
//   std::vector<Outcome> out = (*resolver)->resolve(queries);   // same order as queries
//   (*resolver)->stream(source, sink);                          // bounded memory
//
// Every query gets its own deadline (Options::timeout, counted from when a worker, or the
// streaming engine, starts it, not from submission): past it the query ends with
// Error::kTimedOut, whatever the engine is still doing, and it never holds back the rest of
// the batch (see worker_pool.h for how a thread stuck in glibc is replaced). On the pool,
// deadlines are checked every `tick` (timeout / 20, between 2 and 50 ms), so a timeout is
// reported up to one tick late; the "dns" engine wakes at each deadline itself.
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
#include "resolve/options.h"
#include "resolve/query.h"
#include "resolve/worker_pool.h"

namespace ub::resolve {

class Resolver {
 public:
  using Source = resolve::Source;
  using Sink = resolve::Sink;

  static Result<std::unique_ptr<Resolver>> create(const Options& options = {});
  static Result<std::unique_ptr<Resolver>> create(std::shared_ptr<Engine> engine,
                                                  const Options& options);

  std::vector<Outcome> resolve(std::span<const Query> queries);
  Outcome resolve_one(const Query& query);
  StreamStats stream(const Source& source, const Sink& sink, const StreamOptions& options = {});

  const Options& options() const { return options_; }
  std::string_view engine_name() const { return engine_->name(); }
  Engine& engine() const { return *engine_; }
  // The worker pool's; all zero for a streaming engine (it has no pool).
  detail::PoolStats pool_stats() const { return pool_ ? pool_->stats() : detail::PoolStats{}; }

 private:
  Resolver(std::shared_ptr<Engine> engine, std::unique_ptr<detail::WorkerPool> pool,
           const Options& options)
      : engine_(std::move(engine)), pool_(std::move(pool)), options_(options) {}

  std::shared_ptr<Engine> engine_;
  std::unique_ptr<detail::WorkerPool> pool_;  // null for a streaming engine
  Options options_;
};

}  // namespace ub::resolve
