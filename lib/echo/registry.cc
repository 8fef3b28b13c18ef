// The back-end registry: one row per back end, best first. Adding a back end means adding
// its row here; the conformance suite, the command-line tools (with the back end's own
// flags) and scripts/sweep pick it up from this list.

#include <functional>

#include "echo/backend.h"
#include "echo/blocking.h"
#include "echo/epoll.h"
#include "echo/uring_options.h"
#include "ub_config.h"
#if UB_HAVE_URING
#include "echo/uring.h"
#include "uring/probe.h"
#endif

namespace ub::echo {
namespace {

struct Registration {
  const char* name;
  const char* description;
  std::function<std::string()> why_unavailable;  // empty string: available
  std::function<std::string()> details;          // what the machine offers it; may be null
  std::function<std::unique_ptr<BackendOptions>()> make_options;  // null: no settings of its own
  // Gets nullptr (the defaults) or what make_options gave.
  std::function<std::unique_ptr<EchoBackend>(const BackendOptions*)> create;
};

// The options a front end got from make_backend_options(), as the back end's own type.
template <typename Options>
const Options* own(const BackendOptions* options) {
  return options == nullptr ? nullptr : &dynamic_cast<const Options&>(*options);
}

std::string uring_details() {
#if UB_HAVE_URING
  return to_string(uring::probe_uring());
#else
  return "io_uring: built without liburing";
#endif
}

const std::vector<Registration>& registrations() {
  static const std::vector<Registration> table = {
      {"uring",
       "a ring per core: multishot accept + recv into a buffer ring, sends from the same "
       "buffers, batched submit/wait, DEFER_TASKRUN, SO_REUSEPORT listeners",
#if UB_HAVE_URING
       [] { return uring::probe_uring().backend_unavailable_reason(); }, uring_details,
       [] { return std::make_unique<UringFlags>(); },
       [](const BackendOptions* o) {
         const auto* flags = own<UringFlags>(o);
         return make_uring_backend(flags ? flags->options() : UringOptions{});
       }},
#else
       [] { return std::string("built without liburing"); }, uring_details,
       [] { return std::make_unique<UringFlags>(); }, nullptr},
#endif
      {"epoll", "a reactor per core, edge-triggered epoll, SO_REUSEPORT listeners",
       [] { return std::string(); }, nullptr, nullptr,
       [](const BackendOptions*) { return make_epoll_backend(); }},
      {"blocking", "accept thread + one thread per connection, blocking recv/sendall",
       [] { return std::string(); }, nullptr, nullptr,
       [](const BackendOptions*) { return make_blocking_backend(); }},
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
  return {r.name, r.description, why.empty(), std::move(why), r.details ? r.details() : ""};
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

std::unique_ptr<BackendOptions> make_backend_options(std::string_view name) {
  for (const auto& r : registrations()) {
    if (name == r.name) return r.make_options ? r.make_options() : nullptr;
  }
  return nullptr;
}

Result<std::unique_ptr<EchoBackend>> make_backend(std::string_view name,
                                                  const BackendOptions* options) {
  for (const auto& r : registrations()) {
    if (name != r.name) continue;
    if (!r.why_unavailable().empty()) return make_error_code(EchoError::kBackendUnavailable);
    return r.create(options);
  }
  return make_error_code(EchoError::kUnknownBackend);
}

}  // namespace ub::echo
