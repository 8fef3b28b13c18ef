#pragma once
// bench_echo's plan: its flags, and what they ask for once parsed and checked (back ends,
// the clients x size matrix, the load, the CPUs each side is pinned to). Every failure
// here is a usage error: nothing has run yet.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/backend_flags.h"
#include "load/load.h"
#include "net/endpoint.h"

namespace ub::bench {

// The flags as given.
struct Options {
  std::string backend = "all";
  std::string connect;
  std::string clients = "100";
  std::string sizes = "64";
  std::string duration = "5s";
  std::string warmup = "1s";
  std::string reply_timeout = "5s";
  int repetitions = 1;
  int pipeline = 1;
  double rate = 0;
  std::string mode = "closed";
  std::string client_engine = "auto";
  int client_threads = 0;
  int server_threads = 0;
  std::string server_cpus;
  std::string client_cpus;
  bool no_pin = false;
  size_t buffer_size = 16 * 1024;
  std::string json;
  std::string hgrm;
  int server_pid = 0;
  uint64_t seed = 1;
  bool sweep = false;
  std::string server_mode = "auto";
  int cpu_dma_latency_us = -1;  // -1: leave the idle states alone
  // Each back end's own settings (--uring-*, ...); set up once the app exists.
  std::unique_ptr<cli::BackendFlags> backend_flags;
};

// The flags in --help order, in two parts: what load to run (--backend ... --rate), then
// where it runs and what it writes (--client-threads ... and every back end's own flags).
// --client-engine goes between them.
void add_load_flags(CLI::App& app, Options& o);
void add_setup_flags(CLI::App& app, Options& o);

// Parsed and checked values.
struct Plan {
  std::vector<std::string> backends;  // empty with --connect
  std::optional<net::Endpoint> external;
  std::vector<uint64_t> clients;
  std::vector<uint64_t> sizes;
  std::vector<int> server_cpus;
  std::vector<int> client_cpus;
  load::LoadConfig load;
  std::string server_mode = "auto";  // auto | threads | process
  size_t fd_limit = 0;

  // A client and an in-process server each need a descriptor per connection; past the
  // limit the server runs in a child process with a descriptor table of its own.
  bool server_in_own_process(uint64_t clients) const {
    if (server_mode != "auto") return server_mode == "process";
    return clients * 2 + 256 > fd_limit;
  }
  // What runs: the back ends, or "external" for --connect.
  std::vector<std::string> targets() const {
    return external ? std::vector<std::string>{"external"} : backends;
  }
};

// Fills `plan` from `o` (all but the client engine); "" or the usage error. Prints a line
// for each back end --backend=all skips as unavailable.
std::string make_plan(const Options& o, Plan& plan);

// "0,1", or "any" when not pinned.
std::string cpu_list_text(const std::vector<int>& cpus);

}  // namespace ub::bench
