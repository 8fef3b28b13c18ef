#pragma once
// A back end's own settings: its command-line flags, their check, and the line that
// describes them in result files. The registry makes one per back end that has settings;
// the front ends (echo_server, bench_echo) put every back end's flags on their CLI11 app
// through cli::BackendFlags, so they name no back end themselves.

#include <memory>
#include <string>
#include <vector>

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace ub::echo {

class BackendOptions {
 public:
  // A named set of flags worth measuring against the defaults (an ablation step) that is
  // not just one switch flipped, e.g. {"no-batch", {"--uring-batch=1"}}.
  struct Variant {
    std::string name;
    std::vector<std::string> flags;
  };

  virtual ~BackendOptions() = default;
  // Adds this back end's flags to `app`, in a group of their own; returns them (a front end
  // refuses them when the back end they belong to is not selected).
  virtual std::vector<CLI::Option*> add_flags(CLI::App& app) = 0;
  // After parsing: "" or what is wrong, one line naming the flag.
  virtual std::string finish() = 0;
  // The settings in one line, for result files: "multishot,no-sqpoll,buffers=4096x4096".
  virtual std::string describe() const = 0;
  // Ablation steps beyond flipping each on/off switch (which cli::BackendFlags derives).
  virtual std::vector<Variant> extra_variants() const { return {}; }
};

}  // namespace ub::echo
