// The echo conformance suite: every registered back end must pass every case here.
// Run one back end with `echo_conformance_test --backend=NAME` (meson runs one test per
// back end); an unavailable back end exits 77 with its reason, which meson shows as SKIP.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "echo/backend.h"
#include "echo_streams.h"
#include "net/socket.h"

namespace ub::echo {
namespace {

using namespace std::chrono_literals;
using test::connect_or_fail;
using test::echo_once;
using test::run_echo_streams;
using test::StreamOptions;

std::vector<std::string> g_backends;  // set by main()

std::string join(const std::vector<std::string>& lines) {
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  return all;
}

// Context switches so far of process `pid`'s server threads (named "ub-..."): a thread
// asleep in its wait adds none.
uint64_t server_thread_switches(pid_t pid) {
  uint64_t total = 0;
  const std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(task_dir, ec)) {
    std::string comm;
    std::getline(std::ifstream(task.path() / "comm"), comm);
    if (comm.rfind("ub-", 0) != 0) continue;
    std::ifstream status(task.path() / "status");
    for (std::string line; std::getline(status, line);) {
      for (const char* key : {"voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:"}) {
        if (line.rfind(key, 0) == 0) total += std::stoull(line.substr(std::strlen(key)));
      }
    }
  }
  return total;
}

class EchoConformance : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<EchoBackend> start_backend(ServerConfig config = {}) {
    auto backend = make_backend(GetParam());
    EXPECT_TRUE(backend.ok()) << backend.error().message();
    if (!backend) return nullptr;
    if (config.threads == 0) config.threads = 2;
    const auto ec = (*backend)->start(config);
    EXPECT_FALSE(ec) << "start: " << ec.message();
    if (ec) return nullptr;
    return std::move(*backend);
  }

  // Polls stats() until `pred` holds or 5 s pass: counters settle asynchronously.
  template <typename Pred>
  static bool eventually(const EchoBackend& backend, Pred pred) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred(backend.stats())) return true;
      std::this_thread::sleep_for(5ms);
    }
    return pred(backend.stats());
  }
};

TEST_P(EchoConformance, EchoesPayloadsSentInRandomFragments) {
  auto server = start_backend();
  ASSERT_TRUE(server);
  for (size_t payload : {size_t{1}, size_t{64}, size_t{64} << 10, size_t{4} << 20}) {
    StreamOptions options;
    options.payload = payload;
    options.max_fragment = payload < 4096 ? payload : 9000;
    options.seed = payload;
    EXPECT_EQ(join(run_echo_streams(server->local_endpoint(), 1, options)), "")
        << "payload " << payload;
  }
}

TEST_P(EchoConformance, TwoHundredConcurrentClientsEachGetTheirOwnStream) {
  auto server = start_backend();
  ASSERT_TRUE(server);
  StreamOptions options;
  options.payload = 32 << 10;
  options.max_fragment = 700;
  EXPECT_EQ(join(run_echo_streams(server->local_endpoint(), 200, options)), "");
  EXPECT_TRUE(eventually(*server, [](const ServerStats& s) {
    return s.connections_accepted == 200 && s.connections_open == 0 &&
           s.bytes_echoed == 200u * (32u << 10);
  })) << "accepted " << server->stats().connections_accepted << ", open "
      << server->stats().connections_open << ", bytes " << server->stats().bytes_echoed;
}

TEST_P(EchoConformance, HalfClosedClientGetsEveryByteThenEof) {
  auto server = start_backend();
  ASSERT_TRUE(server);
  StreamOptions options;
  options.payload = 1 << 20;
  options.half_close = true;
  EXPECT_EQ(join(run_echo_streams(server->local_endpoint(), 4, options)), "");
}

TEST_P(EchoConformance, ClientResetMidStreamDoesNotDisturbOthers) {
  auto server = start_backend();
  ASSERT_TRUE(server);
  std::vector<std::string> failures;
  std::thread streams([&] {
    StreamOptions options;
    options.payload = 2 << 20;
    failures = run_echo_streams(server->local_endpoint(), 20, options);
  });
  for (int i = 0; i < 20; ++i) {
    auto fd = connect_or_fail(server->local_endpoint());
    ASSERT_TRUE(fd);
    const std::string junk(200 << 10, 'r');
    (void)net::send_all(fd.get(), std::as_bytes(std::span(junk)));
    linger abort_on_close{1, 0};  // close() sends RST instead of FIN
    ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof(abort_on_close));
  }
  streams.join();
  EXPECT_EQ(join(failures), "");
  auto fresh = connect_or_fail(server->local_endpoint());
  EXPECT_EQ(echo_once(fresh.get(), "still serving"), "");
}

// What a client that never reads can make the server hold: its own socket buffers (the
// kernel's autotuning ceiling, net.ipv4.tcp_rmem/tcp_wmem maxima) plus the back end's one
// buffer per connection, plus the client's socket buffers, which the test pins small. If
// the server buffered without bound, the client could push all 64 MiB.
size_t read_sysctl_max(const char* path) {
  std::ifstream in(path);
  size_t min = 0, def = 0, max = 0;
  in >> min >> def >> max;
  return max;
}

TEST_P(EchoConformance, ClientThatNeverReadsCannotMakeTheServerBufferWithoutBound) {
  ServerConfig config;
  auto server = start_backend(config);
  ASSERT_TRUE(server);
  constexpr size_t kTotal = 64 << 20;
  auto fd = connect_or_fail(server->local_endpoint());
  ASSERT_TRUE(fd);
  ASSERT_FALSE(net::set_nonblocking(fd.get()));
  const int client_buffer = 128 << 10;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &client_buffer, sizeof(client_buffer));
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &client_buffer, sizeof(client_buffer));
  int snd = 0, rcv = 0;
  socklen_t len = sizeof(int);
  ::getsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &snd, &len);
  ::getsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcv, &len);
  const size_t bound = static_cast<size_t>(snd + rcv) +
                       read_sysctl_max("/proc/sys/net/ipv4/tcp_rmem") +
                       read_sysctl_max("/proc/sys/net/ipv4/tcp_wmem") + config.buffer_size;
  ASSERT_LT(bound, kTotal) << "socket buffers on this machine are too large for this test";
  auto byte_at = [](size_t i) { return static_cast<char>((i * 131 + (i >> 12)) & 0xff); };
  std::vector<char> chunk(64 << 10);
  auto fill = [&](size_t from, size_t n) {
    for (size_t k = 0; k < n; ++k) chunk[k] = byte_at(from + k);
  };

  // Phase 1: write without reading until no progress for 500 ms (at most 30 s).
  size_t sent = 0;
  auto last_progress = std::chrono::steady_clock::now();
  const auto give_up = last_progress + 30s;
  while (sent < kTotal && std::chrono::steady_clock::now() - last_progress < 500ms &&
         std::chrono::steady_clock::now() < give_up) {
    const size_t n = std::min(chunk.size(), kTotal - sent);
    fill(sent, n);
    const ssize_t w = ::send(fd.get(), chunk.data(), n, MSG_NOSIGNAL);
    if (w > 0) {
      sent += static_cast<size_t>(w);
      last_progress = std::chrono::steady_clock::now();
    } else {
      ASSERT_TRUE(w < 0 && errno == EAGAIN) << std::strerror(errno);
      pollfd pfd{fd.get(), POLLOUT, 0};
      ::poll(&pfd, 1, 50);
    }
  }
  EXPECT_LE(sent, bound) << "the server took " << sent << " bytes from a client that never "
                         << "reads; the bound (socket buffers + one buffer) is " << bound;
  RecordProperty("bytes_accepted_from_never_reading_client", std::to_string(sent));

  // Phase 2: read everything back while sending the rest; the stream must be intact.
  size_t received = 0;
  std::vector<char> in(256 << 10);
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (received < kTotal && std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{fd.get(), static_cast<short>(POLLIN | (sent < kTotal ? POLLOUT : 0)), 0};
    ::poll(&pfd, 1, 100);
    if ((pfd.revents & POLLOUT) && sent < kTotal) {
      const size_t n = std::min(chunk.size(), kTotal - sent);
      fill(sent, n);
      const ssize_t w = ::send(fd.get(), chunk.data(), n, MSG_NOSIGNAL);
      if (w > 0) sent += static_cast<size_t>(w);
    }
    if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t r = ::recv(fd.get(), in.data(), in.size(), 0);
      ASSERT_GT(r, 0) << "connection ended after " << received << " bytes";
      for (ssize_t k = 0; k < r; ++k) {
        ASSERT_EQ(in[static_cast<size_t>(k)], byte_at(received + static_cast<size_t>(k)))
            << "byte " << received + static_cast<size_t>(k);
      }
      received += static_cast<size_t>(r);
    }
  }
  EXPECT_EQ(received, kTotal);
}

TEST_P(EchoConformance, StopWithAThousandOpenConnectionsIsQuickAndLeavesNothingBehind) {
  const size_t threads_before = test::count_threads();
  const size_t fds_before = test::count_open_fds();
  auto server = start_backend();
  ASSERT_TRUE(server);
  std::vector<net::UniqueFd> clients;
  for (int i = 0; i < 1000; ++i) {
    auto fd = connect_or_fail(server->local_endpoint());
    ASSERT_TRUE(fd) << "connection " << i;
    clients.push_back(std::move(fd));
  }
  for (size_t i = 0; i < clients.size(); i += 97) {
    EXPECT_EQ(echo_once(clients[i].get(), "ping"), "") << "client " << i;
  }
  EXPECT_TRUE(eventually(*server, [](const ServerStats& s) { return s.connections_open == 1000; }))
      << "open: " << server->stats().connections_open;

  const auto begin = std::chrono::steady_clock::now();
  server->stop();
  const auto took = std::chrono::steady_clock::now() - begin;
  RecordProperty("stop_ms", std::to_string(
                                std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  // A hang guard, not a benchmark: the contract is "well under a second"; 5 s only catches
  // a stop that waits for clients to leave.
  EXPECT_LT(took, 5s);
  EXPECT_EQ(test::count_threads(), threads_before);
  EXPECT_EQ(test::count_open_fds(), fds_before + clients.size());
  EXPECT_TRUE(test::peer_closes(clients.front().get(), 2s)) << "client not told of the stop";
  clients.clear();
  server.reset();
  EXPECT_EQ(test::count_open_fds(), fds_before);
}

TEST_P(EchoConformance, ServesIpv6Loopback) {
  auto probe = net::listen_tcp(net::Endpoint::loopback_v6(0), 1);
  if (!probe) GTEST_SKIP() << "no IPv6 loopback on this machine: " << probe.error().message();
  probe->reset();
  ServerConfig config;
  config.listen = net::Endpoint::loopback_v6(0);
  auto server = start_backend(config);
  ASSERT_TRUE(server);
  EXPECT_EQ(server->local_endpoint().family(), AF_INET6);
  StreamOptions options;
  options.payload = 100000;
  EXPECT_EQ(join(run_echo_streams(server->local_endpoint(), 10, options)), "");
}

// Defined behaviour at the cap: connections beyond max_connections are accepted and closed
// at once (the client reads EOF), counted as rejected; room frees when a client leaves.
TEST_P(EchoConformance, ConnectionsBeyondTheCapAreClosedAtOnce) {
  ServerConfig config;
  config.max_connections = 3;
  auto server = start_backend(config);
  ASSERT_TRUE(server);
  std::vector<net::UniqueFd> admitted;
  for (int i = 0; i < 3; ++i) {
    admitted.push_back(connect_or_fail(server->local_endpoint()));
    EXPECT_EQ(echo_once(admitted.back().get(), "hello"), "");
  }
  auto excess = connect_or_fail(server->local_endpoint());
  EXPECT_TRUE(test::peer_closes(excess.get(), 5s)) << "the 4th connection was not closed";
  EXPECT_GE(server->stats().connections_rejected, 1u);
  for (auto& fd : admitted) EXPECT_EQ(echo_once(fd.get(), "still here"), "");

  admitted.pop_back();
  ASSERT_TRUE(eventually(*server, [](const ServerStats& s) { return s.connections_open == 2; }));
  auto late = connect_or_fail(server->local_endpoint());
  EXPECT_EQ(echo_once(late.get(), "room again"), "");
}

TEST_P(EchoConformance, StatsCountConnectionsBytesAndCpu) {
  auto server = start_backend();
  ASSERT_TRUE(server);
  {
    std::vector<net::UniqueFd> clients;
    for (int i = 0; i < 5; ++i) {
      clients.push_back(connect_or_fail(server->local_endpoint()));
      EXPECT_EQ(echo_once(clients.back().get(), std::string(1000, 'x')), "");
    }
    EXPECT_TRUE(eventually(*server, [](const ServerStats& s) { return s.connections_open == 5; }));
  }
  EXPECT_TRUE(eventually(*server, [](const ServerStats& s) {
    return s.connections_open == 0 && s.connections_accepted == 5 && s.bytes_echoed == 5000;
  })) << "open " << server->stats().connections_open << " accepted "
      << server->stats().connections_accepted << " bytes " << server->stats().bytes_echoed;
  const auto stats = server->stats();
  EXPECT_FALSE(stats.thread_cpu.empty());
  EXPECT_GT(stats.total_cpu().count(), 0);
}

TEST_P(EchoConformance, PortZeroGivesAnEphemeralPortAndAPortInUseIsAnError) {
  auto server = start_backend();
  ASSERT_TRUE(server);
  EXPECT_NE(server->local_endpoint().port(), 0);

  auto holder = net::listen_tcp(net::Endpoint::loopback_v4(0), 16);  // no SO_REUSEPORT
  ASSERT_TRUE(holder.ok());
  const auto taken = net::local_endpoint(holder->get());
  ASSERT_TRUE(taken.ok());
  auto second = make_backend(GetParam());
  ASSERT_TRUE(second.ok());
  ServerConfig config;
  config.listen = *taken;
  const size_t threads_before = test::count_threads();
  EXPECT_EQ((*second)->start(config), std::errc::address_in_use);
  EXPECT_EQ(test::count_threads(), threads_before) << "a failed start left threads running";
}

TEST_P(EchoConformance, StopIsIdempotentAndStartTwiceIsAnError) {
  auto server = start_backend();
  ASSERT_TRUE(server);
  EXPECT_TRUE(server->start({}));
  server->stop();
  server->stop();
  auto fd = net::create_connection(server->local_endpoint(), 1s);
  EXPECT_FALSE(fd.ok()) << "still accepting after stop()";
}

// Out of file descriptors: the server sheds the excess connections at once and keeps
// serving the ones it has; once descriptors free up it accepts again. The server runs in
// a child process whose RLIMIT_NOFILE leaves room for only a few connections.
TEST_P(EchoConformance, RunningOutOfDescriptorsShedsNewConnectionsAndKeepsServing) {
  int to_parent[2];
  int to_child[2];
  ASSERT_EQ(::pipe(to_parent), 0);
  ASSERT_EQ(::pipe(to_child), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(to_parent[0]);
    ::close(to_child[1]);
    auto backend = make_backend(GetParam());
    ServerConfig config;
    config.threads = 1;
    if (!backend || (*backend)->start(config)) ::_exit(3);
    // New descriptors take the lowest free number below the limit: leave six free.
    int limit = 0;
    for (int free_slots = 0; free_slots < 6; ++limit) {
      if (::fcntl(limit, F_GETFD) < 0) ++free_slots;
    }
    const rlimit tight{static_cast<rlim_t>(limit), static_cast<rlim_t>(limit)};
    if (::setrlimit(RLIMIT_NOFILE, &tight) != 0) ::_exit(4);
    const uint16_t port = (*backend)->local_endpoint().port();
    if (::write(to_parent[1], &port, sizeof(port)) != sizeof(port)) ::_exit(5);
    // 's': report accept_fd_exhausted; 'q' (or EOF): report it, stop, exit.
    for (char command = 's'; command == 's';) {
      if (::read(to_child[0], &command, 1) != 1) command = 'q';
      if (command == 'q') (*backend)->stop();
      const uint64_t exhausted = (*backend)->stats().accept_fd_exhausted;
      if (::write(to_parent[1], &exhausted, sizeof(exhausted)) != sizeof(exhausted)) ::_exit(6);
    }
    ::_exit(0);
  }
  ::close(to_parent[1]);
  ::close(to_child[0]);
  uint16_t port = 0;
  ASSERT_EQ(::read(to_parent[0], &port, sizeof(port)), static_cast<ssize_t>(sizeof(port)))
      << "the server child failed to start";
  const auto server = net::Endpoint::loopback_v4(port);

  std::vector<net::UniqueFd> served;
  int shed = 0;
  for (int i = 0; i < 20; ++i) {
    auto fd = connect_or_fail(server);
    ASSERT_TRUE(fd);
    const std::string message = "client " + std::to_string(i);
    (void)net::send_all(fd.get(), std::as_bytes(std::span(message)));
    pollfd pfd{fd.get(), POLLIN, 0};
    ASSERT_EQ(::poll(&pfd, 1, 5000), 1) << "connection " << i << " neither served nor shed";
    char buffer[64];
    const ssize_t r = ::recv(fd.get(), buffer, sizeof(buffer), 0);
    if (r > 0) {
      EXPECT_EQ(std::string(buffer, static_cast<size_t>(r)), message);
      served.push_back(std::move(fd));
    } else {
      ++shed;
    }
  }
  EXPECT_GE(served.size(), 1u);
  EXPECT_GE(shed, 1) << "all 20 connections were served: the descriptor limit did not bite";

  // At the limit with nothing queued the server must sleep: no timer retries, and no
  // shedding attempts counted that shed nothing. One count per connection shed.
  const uint64_t switches_before = server_thread_switches(child);
  std::this_thread::sleep_for(500ms);
  const uint64_t idle_switches = server_thread_switches(child) - switches_before;
  // A 50 ms retry timer would wake them ten times; a stray wake-up or two is not a spin.
  EXPECT_LE(idle_switches, 4u) << "the server's threads kept waking at the descriptor limit";
  ASSERT_EQ(::write(to_child[1], "s", 1), 1);
  uint64_t exhausted = 0;
  ASSERT_EQ(::read(to_parent[0], &exhausted, sizeof(exhausted)),
            static_cast<ssize_t>(sizeof(exhausted)));
  EXPECT_EQ(exhausted, static_cast<uint64_t>(shed))
      << "stats().accept_fd_exhausted must count each shed connection once";
  for (auto& fd : served) EXPECT_EQ(echo_once(fd.get(), "still served"), "");

  served.clear();  // frees descriptors in the server
  bool accepted_again = false;
  for (int attempt = 0; attempt < 50 && !accepted_again; ++attempt) {
    auto fd = connect_or_fail(server);
    accepted_again = fd && echo_once(fd.get(), "back") == "";
    if (!accepted_again) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(accepted_again) << "the server did not accept again once descriptors freed up";

  ASSERT_EQ(::write(to_child[1], "q", 1), 1);
  EXPECT_EQ(::read(to_parent[0], &exhausted, sizeof(exhausted)),
            static_cast<ssize_t>(sizeof(exhausted)));
  EXPECT_GE(exhausted, static_cast<uint64_t>(shed))
      << "stats().accept_fd_exhausted did not count the shed connections";
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  ::close(to_parent[0]);
  ::close(to_child[1]);
}

INSTANTIATE_TEST_SUITE_P(Backends, EchoConformance, ::testing::ValuesIn(g_backends),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace ub::echo

// --backend=NAME runs one back end (exit 77 = skip when it is unavailable or not built);
// without it, every available back end runs.
// The list must be known before InitGoogleTest(), which expands the parameter generators.
int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--backend=", 10) == 0) only = argv[i] + 10;
  }
  if (!only.empty()) {
    auto info = ub::echo::backend_info(only);
    if (!info) {
      std::printf("SKIP: back end '%s' is not in this build\n", only.c_str());
      return 77;
    }
    if (!info->available) {
      std::printf("SKIP: back end '%s' is unavailable: %s\n", only.c_str(), info->why_not.c_str());
      return 77;
    }
    ub::echo::g_backends = {only};
  } else {
    for (const auto& b : ub::echo::available_backends()) {
      if (b.available) ub::echo::g_backends.push_back(b.name);
    }
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
