#pragma once

#include <memory>

#include "echo/backend.h"

namespace ub::echo {

// How a reactor waits for events: what a variant of the epoll back end changes (a busy-poll
// variant is `{.timeout_ms = 0}`), the rest of the reactor being the same.
struct EpollWaitPolicy {
  int max_events = 256;  // events one epoll_wait harvests: at 1000 busy connections, many
  int timeout_ms = -1;   // how long an idle reactor sleeps: -1 until an event, 0 never
};

// The epoll back end: one edge-triggered reactor thread per core (config.threads), each with
// its own SO_REUSEPORT listener. See epoll.cc for the design.
std::unique_ptr<EchoBackend> make_epoll_backend(EpollWaitPolicy wait = {});

}  // namespace ub::echo
