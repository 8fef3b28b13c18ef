// echo_server: runs one echo back end until SIGINT/SIGTERM, then prints a summary.

#include <fmt/core.h>
#include <signal.h>

#include <cstdio>

#include "cli/backend_flags.h"
#include "cli/cli.h"
#include "echo/backend.h"
#include "net/socket.h"

namespace {

constexpr const char* kTool = "echo_server";

int list_backends(bool json) {
  fmt::print("{}", json ? ub::cli::backends_json() : ub::cli::backends_text());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Echo server: every byte received is sent back on the same connection."};
  std::string backend_name = "blocking";
  std::string listen = "127.0.0.1:10000";
  bool list = false;
  ub::echo::ServerConfig config;
  app.add_option("--backend", backend_name, "back end (see --list-backends)");
  bool json = false;
  app.add_flag("--list-backends", list, "list back ends, their availability and why not");
  app.add_flag("--json", json, "with --list-backends: as JSON, with every back end's flags");
  app.add_option("--listen", listen, "address to listen on: HOST:PORT, [V6]:PORT, port 0 = any")
      ->capture_default_str();
  app.add_option("--threads", config.threads, "event-loop threads, 0 = one per core")
      ->check(CLI::Range(0, 1024));
  app.add_option("--max-connections", config.max_connections,
                 "cap on open connections, 0 = none; beyond it connections are closed at once")
      ->check(ub::cli::NotNegative());
  app.add_option("--buffer-size", config.buffer_size, "per-connection buffer in bytes")
      ->check(CLI::Range(size_t{1}, size_t{64} << 20));
  app.add_option("--backlog", config.backlog, "listen backlog")->check(CLI::Range(1, 1 << 20));
  ub::cli::BackendFlags backend_flags(app);
  if (int rc = ub::cli::parse(app, argc, argv); rc >= 0) return rc;
  if (list) return list_backends(json);
  if (auto e = backend_flags.finish({backend_name}); !e.empty()) {
    fmt::print(stderr, "{}: {}\n", kTool, e);
    return ub::cli::kExitUsage;
  }

  auto endpoint = ub::cli::parse_endpoint(kTool, listen);
  if (!endpoint) return ub::cli::kExitUsage;
  config.listen = *endpoint;

  auto backend = ub::echo::make_backend(backend_name, backend_flags.options(backend_name));
  if (!backend) {
    auto info = ub::echo::backend_info(backend_name);
    if (info) {
      fmt::print(stderr, "{}: back end '{}' is unavailable: {}\n", kTool, backend_name,
                 info->why_not);
    } else {
      fmt::print(stderr, "{}: unknown back end '{}' (see --list-backends)\n", kTool, backend_name);
    }
    return ub::cli::kExitUsage;
  }
  (void)ub::net::raise_fd_limit();  // best effort: the hard limit is the ceiling either way

  // Block the stop signals before any server thread exists, so they all inherit the mask
  // and only sigwait() below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  if (auto ec = (*backend)->start(config)) {
    fmt::print(stderr, "{}: cannot listen on {}: {}\n", kTool, config.listen.to_string(),
               ec.message());
    return ub::cli::kExitUsage;
  }
  const std::string settings = backend_flags.describe(backend_name);
  fmt::print("listening on {} (backend {}{})\n", (*backend)->local_endpoint().to_string(),
             backend_name, settings.empty() ? "" : ": " + settings);
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  (*backend)->stop();
  const auto stats = (*backend)->stats();
  fmt::print("stopped by {}: {} connections ({} rejected), {} bytes echoed, {:.3f} s server CPU\n",
             signal_number == SIGINT ? "SIGINT" : "SIGTERM", stats.connections_accepted,
             stats.connections_rejected, stats.bytes_echoed,
             std::chrono::duration<double>(stats.total_cpu()).count());
  return 0;
}
