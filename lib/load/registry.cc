// The client-engine registry: one row per engine, best first. Adding an engine means its
// file (which defines its row), its declaration in engines.h, a line in the table here and
// one in lib/meson.build; bench_echo's --client-engine and the load tests read this table.

#include "load/engines.h"
#include "load/load.h"

namespace ub::load {
namespace {

class LoadCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "load"; }
  std::string message(int ev) const override {
    switch (static_cast<LoadError>(ev)) {
      case LoadError::kUnknownEngine:
        return "unknown client engine";
      case LoadError::kEngineUnavailable:
        return "client engine unavailable on this machine";
    }
    return "unknown load error";
  }
};

EngineInfo describe(const Engine& e) {
  std::string why = e.why_unavailable();
  return {e.name, e.description, why.empty(), std::move(why)};
}

}  // namespace

const std::vector<Engine>& engines() {
  static const std::vector<Engine> table = {uring_engine(), epoll_engine()};
  return table;
}

const Engine* find_engine(std::string_view name) {
  for (const auto& e : engines()) {
    if (name == kAutoEngine ? e.why_unavailable().empty() : name == e.name) return &e;
  }
  return nullptr;
}

const std::error_category& load_category() {
  static const LoadCategory category;
  return category;
}

std::vector<std::string> client_engine_names() {
  std::vector<std::string> names;
  for (const auto& e : engines()) names.emplace_back(e.name);
  return names;
}

std::vector<EngineInfo> client_engines() {
  std::vector<EngineInfo> infos;
  for (const auto& e : engines()) infos.push_back(describe(e));
  return infos;
}

Result<EngineInfo> client_engine(std::string_view name) {
  if (const Engine* e = find_engine(name)) return describe(*e);
  return make_error_code(name == kAutoEngine ? LoadError::kEngineUnavailable
                                             : LoadError::kUnknownEngine);
}

}  // namespace ub::load
