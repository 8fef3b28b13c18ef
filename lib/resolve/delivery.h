#pragma once
// Delivery: hands a stream's answers to its sink, in input order or as they come, and
// counts them. Internal to lib/resolve; shared by the thread pool path and the engines
// that run whole streams, so both order, window and count answers the same way.

#include <cstddef>
#include <map>

#include "resolve/options.h"

namespace ub::resolve::detail {

class Delivery {
 public:
  Delivery(const Sink& sink, bool ordered) : sink_(sink), ordered_(ordered) {}

  // Takes the answer to query `index` (each index exactly once). Ordered: the sink sees it
  // once every earlier index has been delivered. A throwing sink propagates.
  void deliver(size_t index, Outcome&& outcome);

  // Answers given to the sink so far (in ordered mode, held ones do not count): the stream
  // may have `window` queries between what it took from the source and this.
  size_t delivered() const { return delivered_; }
  const StreamStats& stats() const { return stats_; }

 private:
  const Sink& sink_;
  bool ordered_;
  size_t delivered_ = 0;
  std::map<size_t, Outcome> held_;  // ordered mode: answered, waiting for earlier ones
  StreamStats stats_;
};

}  // namespace ub::resolve::detail
