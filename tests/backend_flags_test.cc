// cli::BackendFlags and --list-backends --json: every back end's own flags reach a front end
// through the registry alone, are refused for a back end not selected, and are described
// well enough for scripts/sweep to derive an ablation without knowing the back end.

#include "cli/backend_flags.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "echo/uring_options.h"

namespace ub::cli {
namespace {

// Parses `args` (after a program name) into a fresh app with every back end's flags.
struct Parsed {
  CLI::App app;
  BackendFlags flags{app};
  std::string parse_error;

  explicit Parsed(std::vector<std::string> args) {
    std::vector<char*> argv;
    std::string program = "test";
    argv.push_back(program.data());
    for (auto& a : args) argv.push_back(a.data());
    try {
      app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError& e) {
      parse_error = e.what();
    }
  }
};

TEST(BackendFlags, EveryBackendWithSettingsHasItsFlagsOnTheApp) {
  Parsed p({});
  ASSERT_EQ(p.parse_error, "");
  for (const auto& b : echo::available_backends()) {
    auto options = echo::make_backend_options(b.name);
    if (!options) {
      EXPECT_EQ(p.flags.options(b.name), nullptr) << b.name;
      EXPECT_EQ(p.flags.describe(b.name), "") << b.name;
      continue;
    }
    ASSERT_NE(p.flags.options(b.name), nullptr) << b.name;
    EXPECT_EQ(p.flags.describe(b.name), options->describe()) << b.name << ": not the defaults";
    CLI::App scratch;
    for (const CLI::Option* flag : options->add_flags(scratch)) {
      EXPECT_NO_THROW(p.app.get_option(flag->get_name())) << flag->get_name();
    }
  }
}

TEST(BackendFlags, AFlagOfABackendNotSelectedIsRefused) {
  Parsed p({"--uring-batch=7"});
  ASSERT_EQ(p.parse_error, "");
  const std::string error = p.flags.finish({"epoll"});
  EXPECT_NE(error.find("--uring-batch"), std::string::npos) << error;
  EXPECT_NE(error.find("uring"), std::string::npos) << error;
}

TEST(BackendFlags, SelectedBackendGetsTheParsedSettings) {
  Parsed p({"--no-uring-multishot", "--uring-buffers=1024x8192", "--uring-batch=7"});
  ASSERT_EQ(p.parse_error, "");
  ASSERT_EQ(p.flags.finish({"epoll", "uring"}), "");
  const auto* options = dynamic_cast<const echo::UringFlags*>(p.flags.options("uring"));
  ASSERT_NE(options, nullptr);
  EXPECT_FALSE(options->options().multishot);
  EXPECT_EQ(options->options().buffer_count, 1024u);
  EXPECT_EQ(options->options().buffer_size, 8192u);
  EXPECT_EQ(options->options().batch, 7u);
  const std::string line = p.flags.describe("uring");
  EXPECT_NE(line.find("no-multishot"), std::string::npos) << line;
  EXPECT_NE(line.find("buffers=1024x8192"), std::string::npos) << line;
}

TEST(BackendFlags, BadValuesAreRefusedByTheirBackend) {
  for (const char* bad : {"--uring-buffers=1000x4096", "--uring-buffers=4096x32",
                          "--uring-buffers=4096", "--uring-buffers=65536x4096"}) {
    Parsed p({bad});
    ASSERT_EQ(p.parse_error, "") << bad;
    const std::string error = p.flags.finish({"uring"});
    EXPECT_NE(error.find("--uring-buffers"), std::string::npos) << bad << ": " << error;
  }
}

TEST(UringOptions, ValidateNamesTheBufferPoolRule) {
  echo::UringOptions o;
  EXPECT_EQ(o.validate(), "");
  o.buffer_count = 3;
  EXPECT_NE(o.validate(), "");
  o.buffer_count = 4096;
  o.buffer_size = 2u << 20;
  EXPECT_NE(o.validate(), "");
}

TEST(BackendsJson, ListsEveryBackendWithItsFlagsAndAblation) {
  const auto list = nlohmann::json::parse(backends_json());
  ASSERT_TRUE(list.is_array());
  const auto infos = echo::available_backends();
  ASSERT_EQ(list.size(), infos.size());
  for (size_t i = 0; i < infos.size(); ++i) {
    const auto& row = list[i];
    EXPECT_EQ(row["name"], infos[i].name);
    EXPECT_EQ(row["available"], infos[i].available);
    auto options = echo::make_backend_options(infos[i].name);
    if (!options) {
      EXPECT_TRUE(row["flags"].empty()) << infos[i].name;
      continue;
    }
    CLI::App scratch;
    const auto flags = options->add_flags(scratch);
    ASSERT_EQ(row["flags"].size(), flags.size()) << infos[i].name;
    size_t switches = 0;
    for (const auto& f : row["flags"]) {
      const std::string name = f["name"];
      EXPECT_NO_THROW(scratch.get_option(name)) << name;
      if (!f["takes_value"]) {
        ++switches;
        EXPECT_TRUE(f["default"].is_boolean()) << name;
        EXPECT_EQ(f["negation"], "--no-" + name.substr(2)) << name;
      }
    }
    // One ablation step per switch, then the back end's extras.
    EXPECT_EQ(row["ablation"].size(), switches + options->extra_variants().size());
    for (const auto& step : row["ablation"]) {
      for (const auto& flag : step["flags"]) {
        const std::string text = flag;
        EXPECT_NO_THROW(scratch.get_option(text.substr(0, text.find('='))))
            << step["name"] << ": " << text;
      }
    }
  }
}

TEST(BackendsJson, UringSwitchesAreNamedWithoutTheirPrefix) {
  const auto list = nlohmann::json::parse(backends_json());
  for (const auto& row : list) {
    if (row["name"] != "uring") continue;
    std::vector<std::string> names;
    for (const auto& step : row["ablation"]) names.push_back(step["name"]);
    EXPECT_NE(std::find(names.begin(), names.end(), "no-multishot"), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), "with-sqpoll"), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), "no-batch"), names.end());
    return;
  }
  FAIL() << "no uring row";
}

}  // namespace
}  // namespace ub::cli
