#pragma once
// Shared by the command-line tools and benchmarks: CLI11 parsing with the project's exit codes
// (0 help, 2 bad usage, one line on stderr), Endpoint flag validation and flag validators
// (finite numbers, unsigned counts).

#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <optional>
#include <string>

#include "net/endpoint.h"

namespace ub::cli {

inline constexpr int kExitUsage = 2;

// Parses argv; returns -1 to go on, or the exit code to return from main(). A usage error is
// one line on stderr ("--flag: why"), as every other usage error of the tools is.
inline int parse(CLI::App& app, int argc, char** argv) {
  // One line, named like the tool's other usage errors: "echo_server: --port: ...".
  std::string tool = argc > 0 ? argv[0] : "";
  tool = tool.substr(tool.rfind('/') + 1);
  app.failure_message([tool](const CLI::App*, const CLI::Error& e) {
    return (tool.empty() ? "" : tool + ": ") + e.what() + "\n";
  });
  try {
    app.parse(argc, argv);
    return -1;
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
}

// Parses HOST:PORT or prints "<tool>: bad address 'X': why" and returns nullopt.
inline std::optional<net::Endpoint> parse_endpoint(const char* tool, const std::string& text) {
  auto endpoint = net::Endpoint::parse(text);
  if (endpoint) return *endpoint;
  fmt::print(stderr, "{}: bad address '{}': {}\n", tool, text, endpoint.error().message());
  return std::nullopt;
}

// A finite number from `min` to `max`, for a flag counting `what` ("seconds"). CLI::Range
// alone lets "nan" through (every comparison with NaN is false), and NaN or a huge value is
// undefined behaviour in the integer cast that usually follows.
inline CLI::Validator FiniteRange(double min, double max, std::string what) {
  return CLI::Validator(
      [min, max, what](std::string& input) {
        double value = 0;
        if (CLI::detail::lexical_cast(input, value) && std::isfinite(value) && value >= min &&
            value <= max) {
          return std::string();
        }
        return fmt::format("'{}' is not a number of {} from {} to {}", input, what, min, max);
      },
      fmt::format("NUMBER in [{} - {}]", min, max));
}

// For a 64-bit unsigned flag (size_t, uint64_t) without a Range of its own: CLI11 reads
// those with strtoull, which takes "-1" for 2^64 - 1, so "-1" would pass as "no limit". (A
// 32-bit unsigned flag refuses a negative already: the value does not fit.)
inline CLI::Validator NotNegative() {
  return CLI::Validator(
      [](std::string& input) {
        const size_t first = input.find_first_not_of(" \t");
        if (first != std::string::npos && input[first] == '-') {
          return fmt::format("'{}' is negative: must be 0 or more", input);
        }
        return std::string();
      },
      "");
}

// A flag in seconds that becomes a std::chrono duration.
inline CLI::Validator Seconds(double min_s, double max_s) {
  return FiniteRange(min_s, max_s, "seconds");
}

}  // namespace ub::cli
