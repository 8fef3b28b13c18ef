// The epoll reactor with another wait policy is still the same reactor: a busy-polling
// variant harvesting one event per wait, and one waking on a short timeout, echo every byte
// of concurrent fragmented streams and half-closes, and stop cleanly.

#include <gtest/gtest.h>

#include "echo/epoll.h"
#include "echo_streams.h"

namespace {

using namespace ub;

class EpollWaitVariants : public ::testing::TestWithParam<echo::EpollWaitPolicy> {};

TEST_P(EpollWaitVariants, EchoesEveryStreamExactly) {
  const size_t threads_before = test::count_threads();
  auto server = echo::make_epoll_backend(GetParam());
  echo::ServerConfig config;
  config.threads = 1;
  ASSERT_FALSE(server->start(config));
  test::StreamOptions options;
  options.payload = 64 << 10;
  options.max_fragment = 3000;
  options.half_close = true;
  const auto failures = test::run_echo_streams(server->local_endpoint(), 50, options);
  EXPECT_TRUE(failures.empty()) << failures.size() << " failed, first: " << failures.front();
  const auto stats = server->stats();
  EXPECT_EQ(stats.bytes_echoed, 50u * (64u << 10));
  server->stop();
  EXPECT_EQ(test::count_threads(), threads_before);
}

INSTANTIATE_TEST_SUITE_P(Policies, EpollWaitVariants,
                         ::testing::Values(echo::EpollWaitPolicy{.max_events = 1, .timeout_ms = 0},
                                           echo::EpollWaitPolicy{.max_events = 4,
                                                                 .timeout_ms = 5}));

}  // namespace
