#pragma once

#include <memory>

#include "echo/backend.h"

namespace ub::echo {

std::unique_ptr<EchoBackend> make_blocking_backend();

}  // namespace ub::echo
