#include "resolve/engine.h"

#include "resolve/system_engine.h"

namespace ub::resolve {

Result<std::shared_ptr<Engine>> make_engine(std::string_view name) {
  if (name == "system") return std::shared_ptr<Engine>(std::make_shared<SystemEngine>());
  return std::make_error_code(std::errc::invalid_argument);
}

}  // namespace ub::resolve
