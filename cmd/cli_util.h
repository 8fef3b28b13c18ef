#pragma once
// Shared by the command-line tools: CLI11 parsing with the project's exit codes
// (0 help, 2 bad usage) and Endpoint flag validation.

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <optional>
#include <string>

#include "net/endpoint.h"

namespace ub::cli {

inline constexpr int kExitUsage = 2;

// Parses argv; returns -1 to go on, or the exit code to return from main().
inline int parse(CLI::App& app, int argc, char** argv) {
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

}  // namespace ub::cli
