// The back-end registry: one row per back end, best first. Adding a back end means adding
// its row here; the conformance suite and the command-line tools pick it up from this list.

#include <functional>

#include "echo/backend.h"
#include "echo/blocking.h"
#include "echo/epoll.h"
#include "ub_config.h"
#if UB_HAVE_URING
#include "echo/uring.h"
#include "echo/uring_probe.h"
#endif

namespace ub::echo {
namespace {

struct Registration {
  const char* name;
  const char* description;
  std::function<std::string()> why_unavailable;  // empty string: available
  std::function<std::unique_ptr<EchoBackend>()> create;
};

const std::vector<Registration>& registrations() {
  static const std::vector<Registration> table = {
#if UB_HAVE_URING
      {"uring",
       "a ring per core: multishot accept + recv into a buffer ring, sends from the same "
       "buffers, batched submit/wait, DEFER_TASKRUN, SO_REUSEPORT listeners",
       [] { return probe_uring().backend_unavailable_reason(); }, make_uring_backend},
#else
      {"uring", "io_uring (multishot recv, buffer rings, batched submit/wait)",
       [] { return std::string("built without liburing"); }, nullptr},
#endif
      {"epoll", "a reactor per core, edge-triggered epoll, SO_REUSEPORT listeners",
       [] { return std::string(); }, make_epoll_backend},
      {"blocking", "accept thread + one thread per connection, blocking recv/sendall",
       [] { return std::string(); }, make_blocking_backend},
  };
  return table;
}

class EchoCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "echo"; }
  std::string message(int ev) const override {
    switch (static_cast<EchoError>(ev)) {
      case EchoError::kUnknownBackend:
        return "unknown back end";
      case EchoError::kBackendUnavailable:
        return "back end unavailable on this machine";
      case EchoError::kAlreadyStarted:
        return "back end already started";
    }
    return "unknown echo error";
  }
};

BackendInfo describe(const Registration& r) {
  std::string why = r.why_unavailable();
  return {r.name, r.description, why.empty(), std::move(why)};
}

}  // namespace

const std::error_category& echo_category() {
  static const EchoCategory category;
  return category;
}

std::vector<BackendInfo> available_backends() {
  std::vector<BackendInfo> infos;
  for (const auto& r : registrations()) infos.push_back(describe(r));
  return infos;
}

Result<BackendInfo> backend_info(std::string_view name) {
  for (const auto& r : registrations()) {
    if (name == r.name) return describe(r);
  }
  return make_error_code(EchoError::kUnknownBackend);
}

Result<std::unique_ptr<EchoBackend>> make_backend(std::string_view name) {
  for (const auto& r : registrations()) {
    if (name != r.name) continue;
    if (!r.why_unavailable().empty()) return make_error_code(EchoError::kBackendUnavailable);
    return r.create();
  }
  return make_error_code(EchoError::kUnknownBackend);
}

}  // namespace ub::echo
