// lib/echo/listener_group: the SO_REUSEPORT listener group the event-loop back ends share.

#include <gtest/gtest.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <chrono>
#include <set>

#include "echo/listener_group.h"
#include "net/socket.h"

namespace ub::echo {
namespace {

using namespace std::chrono_literals;

TEST(ListenerGroup, PortZeroGivesEveryListenerTheSamePort) {
  ServerConfig config;
  config.listen = net::Endpoint::loopback_v4(0);
  auto group = open_listener_group(config, 3);
  ASSERT_TRUE(group.ok()) << group.error().message();
  ASSERT_EQ(group->listeners.size(), 3u);
  EXPECT_NE(group->endpoint.port(), 0);
  for (const auto& fd : group->listeners) {
    auto bound = net::local_endpoint(fd.get());
    ASSERT_TRUE(bound.ok());
    EXPECT_EQ(bound->port(), group->endpoint.port());
  }
}

TEST(ListenerGroup, ATakenPortFailsInsteadOfJoiningAnotherGroup) {
  ServerConfig config;
  config.listen = net::Endpoint::loopback_v4(0);
  auto first = open_listener_group(config, 2);
  ASSERT_TRUE(first.ok());
  config.listen = first->endpoint;
  auto second = open_listener_group(config, 2);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error(), std::errc::address_in_use);
}

TEST(ListenerGroup, AcceptedSocketsInheritNoDelay) {
  ServerConfig config;
  config.listen = net::Endpoint::loopback_v4(0);
  auto group = open_listener_group(config, 1);
  ASSERT_TRUE(group.ok());
  auto client = net::create_connection(group->endpoint, 2s);
  ASSERT_TRUE(client.ok());
  net::UniqueFd accepted(::accept(group->listeners[0].get(), nullptr, nullptr));
  ASSERT_TRUE(accepted);
  int nodelay = 0;
  socklen_t len = sizeof(nodelay);
  ASSERT_EQ(::getsockopt(accepted.get(), IPPROTO_TCP, TCP_NODELAY, &nodelay, &len), 0);
  EXPECT_NE(nodelay, 0);
}

TEST(ListenerGroup, CountersAddUp) {
  LoopCounters counters;
  LoopCounters::add(counters.accepted, 3);
  LoopCounters::add(counters.open, 2);
  LoopCounters::subtract_one(counters.open);
  LoopCounters::add(counters.bytes_echoed, 640);
  ServerStats stats;
  counters.add_to(stats);
  counters.add_to(stats);
  EXPECT_EQ(stats.connections_accepted, 6u);
  EXPECT_EQ(stats.connections_open, 2u);
  EXPECT_EQ(stats.bytes_echoed, 1280u);
  EXPECT_EQ(stats.connections_rejected, 0u);
}

TEST(ListenerGroup, UsableCpusIsPositive) { EXPECT_GE(usable_cpus(), 1); }

}  // namespace
}  // namespace ub::echo
