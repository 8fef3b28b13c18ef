#pragma once
// The client engines' I/O loops. Each runs one thread's connections until the core says
// the run is over.

#include "load/worker.h"
#include "ub_config.h"

// The io_uring client engine is built with liburing.
#define UB_URING_CLIENT UB_HAVE_URING

namespace ub::load {

void run_epoll_engine(WorkerCore& core);
#if UB_URING_CLIENT
void run_uring_engine(WorkerCore& core);
#endif

}  // namespace ub::load
