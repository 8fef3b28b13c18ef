#pragma once
// Engine: how one query is answered. The Resolver calls resolve() on its worker threads,
// many at once; an engine may block (the "system" engine blocks inside glibc).

#include <memory>
#include <string_view>

#include "common/result.h"
#include "resolve/query.h"

namespace ub::resolve {

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string_view name() const = 0;
  // Runs once on each worker thread before its first query (per-thread resolver state).
  virtual void thread_init() {}
  // Answers `query`; fills error and answer, not latency. Thread-safe. May block, possibly
  // for longer than any deadline: the Resolver, not the engine, enforces deadlines.
  virtual Outcome resolve(const Query& query) = 0;
};

// "system": glibc on the calling thread (see system_engine.h). Unknown names fail with
// std::errc::invalid_argument.
Result<std::shared_ptr<Engine>> make_engine(std::string_view name);

}  // namespace ub::resolve
