// ServerStats across ServerRunner's fork: every field survives the JSON round trip, thread
// roles included, and text that is not a ServerStats is refused rather than read as zeros.

#include "server_stats_json.h"

#include <gtest/gtest.h>

#include <limits>

namespace {

using ub::bench::decode_stats;
using ub::bench::encode_stats;
using ub::echo::ServerStats;

ServerStats sample() {
  ServerStats s;
  s.connections_accepted = 10'001;
  s.connections_open = 9'000;
  s.connections_rejected = 17;
  s.accept_fd_exhausted = 3;
  s.bytes_echoed = std::numeric_limits<uint64_t>::max();  // no loss through a double
  s.thread_cpu = {{"accept", std::chrono::nanoseconds(1)},
                  {"reactor-0", std::chrono::nanoseconds(123'456'789'012)},
                  {"sqpoll \"kernel\" \\ thread", std::chrono::nanoseconds(0)}};
  return s;
}

TEST(ServerStatsJson, RoundTripsEveryField) {
  const ServerStats in = sample();
  const auto out = decode_stats(encode_stats(in));
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->connections_accepted, in.connections_accepted);
  EXPECT_EQ(out->connections_open, in.connections_open);
  EXPECT_EQ(out->connections_rejected, in.connections_rejected);
  EXPECT_EQ(out->accept_fd_exhausted, in.accept_fd_exhausted);
  EXPECT_EQ(out->bytes_echoed, in.bytes_echoed);
  ASSERT_EQ(out->thread_cpu.size(), in.thread_cpu.size());
  for (size_t i = 0; i < in.thread_cpu.size(); ++i) {
    EXPECT_EQ(out->thread_cpu[i].role, in.thread_cpu[i].role) << i;
    EXPECT_EQ(out->thread_cpu[i].cpu, in.thread_cpu[i].cpu) << i;
  }
  EXPECT_EQ(out->total_cpu(), in.total_cpu());
}

TEST(ServerStatsJson, EmptyStatsRoundTrip) {
  const auto out = decode_stats(encode_stats(ServerStats{}));
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->connections_accepted, 0u);
  EXPECT_TRUE(out->thread_cpu.empty());
}

TEST(ServerStatsJson, RefusesWhatIsNotServerStats) {
  EXPECT_FALSE(decode_stats(""));
  EXPECT_FALSE(decode_stats("not json"));
  EXPECT_FALSE(decode_stats("{}"));
  EXPECT_FALSE(decode_stats("[1,2]"));
  // A field missing, or of the wrong type.
  auto j = ub::bench::stats_to_json(sample());
  j.erase("accept_fd_exhausted");
  EXPECT_FALSE(ub::bench::stats_from_json(j));
  j = ub::bench::stats_to_json(sample());
  j["thread_cpu"][0]["role"] = 5;
  EXPECT_FALSE(ub::bench::stats_from_json(j));
  j = ub::bench::stats_to_json(sample());
  j["bytes_echoed"] = "many";
  EXPECT_FALSE(ub::bench::stats_from_json(j));
}

}  // namespace
