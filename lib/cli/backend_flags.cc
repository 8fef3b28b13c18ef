#include "cli/backend_flags.h"

#include <fmt/core.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace ub::cli {
namespace {

using Json = nlohmann::ordered_json;  // keys in the order written, for people reading it

// An on/off switch: "--X,!--no-X" with nothing to take.
bool is_switch(const CLI::Option& flag) {
  return flag.get_expected_min() == 0 && flag.get_lnames().size() == 2 &&
         flag.get_fnames().size() == 1;
}

std::string long_name(const CLI::Option& flag, bool negated) {
  for (const auto& n : flag.get_lnames()) {
    const bool is_negation =
        std::find(flag.get_fnames().begin(), flag.get_fnames().end(), n) != flag.get_fnames().end();
    if (is_negation == negated) return "--" + n;
  }
  return "";
}

// The flags and ablation steps of back end `backend`. A step is named after its switch less
// the back end's prefix: "no-multishot" for --no-uring-multishot.
Json describe_flags(const std::string& backend, echo::BackendOptions& options) {
  CLI::App scratch;
  Json flags = Json::array();
  Json ablation = Json::array();
  for (const CLI::Option* flag : options.add_flags(scratch)) {
    const bool toggle = is_switch(*flag);
    Json f = {{"name", long_name(*flag, false)},
              {"takes_value", !toggle},
              {"help", flag->get_description()}};
    if (toggle) {
      f["negation"] = long_name(*flag, true);
      // A switch's default is in its help text: "(default: on)".
      const bool on = flag->get_description().find("(default: on)") != std::string::npos;
      f["default"] = on;
      std::string bare = long_name(*flag, false).substr(2);
      if (bare.rfind(backend + "-", 0) == 0) bare = bare.substr(backend.size() + 1);
      ablation.push_back(on ? Json{{"name", "no-" + bare}, {"flags", {long_name(*flag, true)}}}
                            : Json{{"name", "with-" + bare}, {"flags", {long_name(*flag, false)}}});
    } else {
      f["default"] = flag->get_default_str();
    }
    flags.push_back(std::move(f));
  }
  for (const auto& v : options.extra_variants()) {
    ablation.push_back({{"name", v.name}, {"flags", v.flags}});
  }
  return {{"flags", std::move(flags)}, {"ablation", std::move(ablation)}};
}

}  // namespace

BackendFlags::BackendFlags(CLI::App& app) {
  for (const auto& info : echo::available_backends()) {
    auto options = echo::make_backend_options(info.name);
    if (!options) continue;
    auto flags = options->add_flags(app);
    entries_.push_back({info.name, std::move(options), std::move(flags)});
  }
}

std::string BackendFlags::finish(const std::vector<std::string>& selected) {
  for (auto& e : entries_) {
    const bool chosen = std::find(selected.begin(), selected.end(), e.backend) != selected.end();
    if (!chosen) {
      for (const CLI::Option* flag : e.flags) {
        if (flag->count() > 0) {
          return fmt::format("{} is a flag of back end '{}', which this run does not use",
                             flag->get_name(), e.backend);
        }
      }
      continue;
    }
    if (auto why = e.options->finish(); !why.empty()) return why;
  }
  return "";
}

const echo::BackendOptions* BackendFlags::options(std::string_view backend) const {
  for (const auto& e : entries_) {
    if (e.backend == backend) return e.options.get();
  }
  return nullptr;
}

std::string BackendFlags::describe(std::string_view backend) const {
  const auto* o = options(backend);
  return o ? o->describe() : "";
}

std::string backends_text() {
  std::string text;
  std::string details;
  for (const auto& b : echo::available_backends()) {
    if (b.available) {
      text += fmt::format("{:<10} available    {}\n", b.name, b.description);
    } else {
      text += fmt::format("{:<10} unavailable  {} ({})\n", b.name, b.why_not, b.description);
    }
    if (!b.details.empty()) details += "\n" + b.details + "\n";
  }
  return text + details;
}

std::string backends_json() {
  Json list = Json::array();
  for (const auto& b : echo::available_backends()) {
    Json row = {{"name", b.name},           {"available", b.available},
                {"why_not", b.why_not},     {"description", b.description},
                {"details", b.details},     {"flags", Json::array()},
                {"ablation", Json::array()}};
    if (auto options = echo::make_backend_options(b.name))
      row.update(describe_flags(b.name, *options));
    list.push_back(std::move(row));
  }
  return list.dump(2) + "\n";
}

}  // namespace ub::cli
