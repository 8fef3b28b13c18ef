#pragma once
// Engine: how queries are answered. Two shapes:
//  - a blocking engine ("system") answers one query per resolve() call; the Resolver
//    calls it on its worker threads, many at once, and enforces the deadlines;
//  - a streaming engine ("dns") keeps many queries in flight from one thread: it returns
//    itself from as_stream_engine(), and the Resolver hands it whole streams instead
//    (no worker threads); it enforces the deadlines itself.

#include <memory>
#include <string_view>

#include "common/result.h"
#include "resolve/options.h"
#include "resolve/query.h"

namespace ub::resolve {

class StreamEngine;

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string_view name() const = 0;
  // Runs once on each worker thread before its first query (per-thread resolver state).
  virtual void thread_init() {}
  // Answers `query`; fills error and answer, not latency. Thread-safe. May block, possibly
  // for longer than any deadline: the Resolver, not the engine, enforces deadlines.
  virtual Outcome resolve(const Query& query) = 0;
  virtual StreamEngine* as_stream_engine() { return nullptr; }
};

class StreamEngine : public Engine {
 public:
  // Answers every query `source` gives exactly once through `sink` (same contract as
  // Resolver::stream: latency filled in, Error::kTimedOut at the deadline, source and sink
  // called on this thread only, a throwing source or sink propagates and leaves the
  // engine usable). Several threads may run streams at once.
  virtual StreamStats stream(const Source& source, const Sink& sink,
                             const StreamOptions& options) = 0;
  // One query as a stream of one.
  Outcome resolve(const Query& query) override;
  StreamEngine* as_stream_engine() override { return this; }
};

// The engine `options.engine` names: "system" (glibc on the calling thread, see
// system_engine.h) or "dns" (c-ares, see dns_engine.h, configured by options.dns and
// options.timeout). Unknown names fail with std::errc::invalid_argument; a "dns" engine
// whose c-ares channel cannot be set up fails with the reason.
Result<std::shared_ptr<Engine>> make_engine(const Options& options);
Result<std::shared_ptr<Engine>> make_engine(std::string_view name);

}  // namespace ub::resolve
