#pragma once
// The client-engine table (registry.cc). An engine is an I/O loop that runs one thread's
// connections until the core says the run is over; everything else (the load model, the
// accounting, verification) is the core's. Each engine's own file defines its row, and only
// that file knows what the engine needs from the build or the kernel.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "load/worker.h"

namespace ub::load {

struct Engine {
  const char* name;
  const char* description;
  std::function<std::string()> why_unavailable;  // empty string: available
  std::function<void(WorkerCore&)> run;          // called only when available
};

Engine uring_engine();
Engine epoll_engine();

// Every engine, best first.
const std::vector<Engine>& engines();
// The row for `name`, or nullptr. "auto": the first available (nullptr if none is).
const Engine* find_engine(std::string_view name);

}  // namespace ub::load
