#include "server_stats_json.h"

namespace ub::bench {
namespace {

using Json = nlohmann::ordered_json;

// Five counters and the per-thread CPU: a new field changes the size and stops the build
// here, so it cannot be dropped across the fork unnoticed.
static_assert(sizeof(echo::ServerStats) ==
                  5 * sizeof(uint64_t) + sizeof(std::vector<echo::ThreadCpu>),
              "ServerStats changed: encode the new field in stats_to_json/stats_from_json");

}  // namespace

Json stats_to_json(const echo::ServerStats& stats) {
  Json threads = Json::array();
  for (const auto& t : stats.thread_cpu)
    threads.push_back({{"role", t.role}, {"cpu_ns", t.cpu.count()}});
  return {
      {"connections_accepted", stats.connections_accepted},
      {"connections_open", stats.connections_open},
      {"connections_rejected", stats.connections_rejected},
      {"accept_fd_exhausted", stats.accept_fd_exhausted},
      {"bytes_echoed", stats.bytes_echoed},
      {"thread_cpu", std::move(threads)},
  };
}

std::optional<echo::ServerStats> stats_from_json(const Json& j) {
  try {
    echo::ServerStats s;
    j.at("connections_accepted").get_to(s.connections_accepted);
    j.at("connections_open").get_to(s.connections_open);
    j.at("connections_rejected").get_to(s.connections_rejected);
    j.at("accept_fd_exhausted").get_to(s.accept_fd_exhausted);
    j.at("bytes_echoed").get_to(s.bytes_echoed);
    for (const auto& t : j.at("thread_cpu")) {
      s.thread_cpu.push_back({t.at("role").get<std::string>(),
                              std::chrono::nanoseconds(t.at("cpu_ns").get<int64_t>())});
    }
    return s;
  } catch (const Json::exception&) {
    return std::nullopt;
  }
}

std::string encode_stats(const echo::ServerStats& stats) { return stats_to_json(stats).dump(); }

std::optional<echo::ServerStats> decode_stats(std::string_view text) {
  auto j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return stats_from_json(j);
}

}  // namespace ub::bench
