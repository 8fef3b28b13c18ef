#pragma once

#include <memory>

#include "echo/backend.h"

namespace ub::echo {

// The epoll back end: one edge-triggered reactor thread per core (config.threads), each with
// its own SO_REUSEPORT listener. See epoll.cc for the design.
std::unique_ptr<EchoBackend> make_epoll_backend();

}  // namespace ub::echo
