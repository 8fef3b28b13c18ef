#pragma once

#include <memory>

#include "echo/backend.h"
#include "echo/uring_options.h"

namespace ub::echo {

// The io_uring back end: one ring per thread (config.threads), each with its own
// SO_REUSEPORT listener, techniques chosen by `options`. See uring.cc for the design.
// Check probe_uring().backend_unavailable_reason() first (the registry does).
std::unique_ptr<EchoBackend> make_uring_backend(const UringOptions& options);

}  // namespace ub::echo
