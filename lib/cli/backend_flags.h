#pragma once
// Every echo back end's own flags on one CLI11 app, and after parsing, the settings of the
// back ends chosen. echo_server and bench_echo use it instead of naming back ends; a new
// back end's flags appear in their --help, their result files and scripts/sweep's ablation
// through its registry row alone.

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "echo/backend.h"

namespace ub::cli {

class BackendFlags {
 public:
  // Adds every registered back end's flags to `app`.
  explicit BackendFlags(CLI::App& app);

  // After app.parse(): "" or the usage error: a flag given for a back end not in
  // `selected`, or a value its back end refuses.
  std::string finish(const std::vector<std::string>& selected);

  // The back end's settings for make_backend(); nullptr when it has none.
  const echo::BackendOptions* options(std::string_view backend) const;
  // Its settings in one line ("" when it has none), for result files.
  std::string describe(std::string_view backend) const;

 private:
  struct Entry {
    std::string backend;
    std::unique_ptr<echo::BackendOptions> options;
    std::vector<CLI::Option*> flags;
  };
  std::vector<Entry> entries_;
};

// --list-backends: one line per back end (availability, description, why not), then each
// back end's details (the io_uring probe).
std::string backends_text();
// --list-backends --json: [{"name", "available", "why_not", "description", "details",
// "flags": [{"name", "negation", "takes_value", "default", "help"}], "ablation": [{"name",
// "flags"}]}]: what scripts/sweep reads instead of knowing back ends. "ablation" is every
// on/off switch flipped from its default, then the back end's own extra variants.
std::string backends_json();

}  // namespace ub::cli
