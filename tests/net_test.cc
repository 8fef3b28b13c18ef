// lib/net: endpoint parsing, listening, connecting, socket options, descriptor limits.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <thread>

#include "net/endpoint.h"
#include "net/socket.h"

namespace ub::net {
namespace {

using namespace std::chrono_literals;

TEST(Endpoint, ParsesIpv4Ipv6AndLocalhost) {
  auto v4 = Endpoint::parse("127.0.0.1:10000");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->family(), AF_INET);
  EXPECT_EQ(v4->port(), 10000);
  EXPECT_EQ(v4->to_string(), "127.0.0.1:10000");

  auto v6 = Endpoint::parse("[::1]:0");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->family(), AF_INET6);
  EXPECT_EQ(v6->port(), 0);
  EXPECT_EQ(v6->to_string(), "[::1]:0");

  auto local = Endpoint::parse("localhost:80");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->to_string(), "127.0.0.1:80");
  EXPECT_EQ(Endpoint::parse("127.0.0.1:65535")->port(), 65535);
}

TEST(Endpoint, RejectsBadInputWithAClearError) {
  struct Case {
    const char* text;
    EndpointError expected;
  };
  for (const auto& c : std::vector<Case>{{"", EndpointError::kEmpty},
                                         {":99999", EndpointError::kBadPort},
                                         {"127.0.0.1:65536", EndpointError::kBadPort},
                                         {"127.0.0.1:-1", EndpointError::kBadPort},
                                         {"127.0.0.1:80x", EndpointError::kBadPort},
                                         {"127.0.0.1:", EndpointError::kMissingPort},
                                         {"127.0.0.1", EndpointError::kMissingPort},
                                         {":80", EndpointError::kMissingHost},
                                         {"1.2.3:80", EndpointError::kBadHost},
                                         {"www.example.com:80", EndpointError::kBadHost},
                                         {"::1:80", EndpointError::kBadBrackets},
                                         {"[::1:80", EndpointError::kBadBrackets},
                                         {"[::1]80", EndpointError::kMissingPort}}) {
    auto parsed = Endpoint::parse(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.error(), c.expected) << c.text << ": " << parsed.error().message();
    EXPECT_FALSE(parsed.error().message().empty());
  }
}

TEST(Endpoint, RoundTripsThroughSockaddr) {
  const auto e = *Endpoint::parse("[::1]:4242");
  const auto copy = Endpoint::from_sockaddr(e.sockaddr_ptr(), e.sockaddr_len());
  EXPECT_EQ(copy, e);
  EXPECT_EQ(e.with_port(7).port(), 7);
}

TEST(UniqueFd, ClosesOnDestructionAndMoves) {
  int raw = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(raw, 0);
  {
    UniqueFd a(raw);
    UniqueFd b(std::move(a));
    EXPECT_FALSE(a.valid());
    EXPECT_EQ(b.get(), raw);
  }
  EXPECT_EQ(::fcntl(raw, F_GETFD), -1) << "descriptor still open";
}

TEST(Socket, ListenOnPortZeroReadsBackTheEphemeralPort) {
  auto listener = listen_tcp(Endpoint::loopback_v4(0), 16);
  ASSERT_TRUE(listener.ok()) << listener.error().message();
  auto bound = local_endpoint(listener->get());
  ASSERT_TRUE(bound.ok());
  EXPECT_NE(bound->port(), 0);

  auto again = listen_tcp(*bound, 16);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error(), std::errc::address_in_use);
}

TEST(Socket, CreateConnectionConnectsAndSendAllDelivers) {
  auto listener = listen_tcp(Endpoint::loopback_v4(0), 16);
  ASSERT_TRUE(listener.ok());
  const auto server = *local_endpoint(listener->get());
  auto client = create_connection(server, 2s);
  ASSERT_TRUE(client.ok()) << client.error().message();
  EXPECT_FALSE(set_nodelay(client->get()));
  UniqueFd accepted(::accept(listener->get(), nullptr, nullptr));
  ASSERT_TRUE(accepted);

  const std::string big(3 << 20, 'z');  // larger than the socket buffers: needs a reader
  std::thread reader([&] {
    std::vector<char> in(big.size());
    size_t got = 0;
    while (got < in.size()) {
      const ssize_t r = ::recv(accepted.get(), in.data() + got, in.size() - got, 0);
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    EXPECT_EQ(got, big.size());
  });
  EXPECT_FALSE(send_all(client->get(), std::as_bytes(std::span(big))));
  reader.join();
}

TEST(Socket, CreateConnectionReportsRefusal) {
  auto listener = listen_tcp(Endpoint::loopback_v4(0), 16);
  ASSERT_TRUE(listener.ok());
  const auto closed_port = *local_endpoint(listener->get());
  listener->reset();
  auto client = create_connection(closed_port, 2s);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.error(), std::errc::connection_refused);
}

// A listener that never accepts, with its backlog full: the kernel drops further SYNs,
// so the connect can only end by our timeout.
TEST(Socket, CreateConnectionTimesOut) {
  auto listener = listen_tcp(Endpoint::loopback_v4(0), 0);
  ASSERT_TRUE(listener.ok());
  const auto server = *local_endpoint(listener->get());
  std::vector<UniqueFd> fillers;
  for (int i = 0; i < 8; ++i) {
    auto fd = create_connection(server, 200ms);
    if (!fd) break;
    fillers.push_back(std::move(*fd));
  }
  auto late = create_connection(server, 300ms);
  ASSERT_FALSE(late.ok()) << "the backlog never filled";
  EXPECT_EQ(late.error(), std::errc::timed_out) << late.error().message();
}

TEST(Socket, NonblockingToggles) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM, 0));
  EXPECT_FALSE(set_nonblocking(fd.get(), true));
  EXPECT_TRUE(::fcntl(fd.get(), F_GETFL) & O_NONBLOCK);
  EXPECT_FALSE(set_nonblocking(fd.get(), false));
  EXPECT_FALSE(::fcntl(fd.get(), F_GETFL) & O_NONBLOCK);
  EXPECT_TRUE(set_nonblocking(-1));
}

TEST(Socket, RaiseFdLimitReachesTheHardLimit) {
  rlimit before{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &before), 0);
  rlimit lowered = before;
  lowered.rlim_cur = std::min<rlim_t>(before.rlim_max, 256);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  auto raised = raise_fd_limit();
  ASSERT_TRUE(raised.ok());
  EXPECT_EQ(*raised, before.rlim_max);
  rlimit after{};
  ::getrlimit(RLIMIT_NOFILE, &after);
  EXPECT_EQ(after.rlim_cur, before.rlim_max);
}

}  // namespace
}  // namespace ub::net
