#include "resolve/engine.h"

#include "resolve/dns_engine.h"
#include "resolve/system_engine.h"

namespace ub::resolve {

Outcome StreamEngine::resolve(const Query& query) {
  bool given = false;
  Outcome out;
  stream(
      [&]() -> std::optional<Query> {
        if (given) return std::nullopt;
        given = true;
        return query;
      },
      [&](size_t, Outcome&& outcome) { out = std::move(outcome); }, StreamOptions{});
  return out;
}

Result<std::shared_ptr<Engine>> make_engine(const Options& options) {
  if (options.engine == "system") {
    return std::shared_ptr<Engine>(std::make_shared<SystemEngine>());
  }
  if (options.engine == "dns") {
    auto engine = DnsEngine::create(options.dns, options.timeout);
    if (!engine) return engine.error();
    return std::shared_ptr<Engine>(std::move(*engine));
  }
  return std::make_error_code(std::errc::invalid_argument);
}

Result<std::shared_ptr<Engine>> make_engine(std::string_view name) {
  Options options;
  options.engine = std::string(name);
  return make_engine(options);
}

}  // namespace ub::resolve
