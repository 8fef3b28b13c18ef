// lib/load against real and faulty servers: zero errors against every back end with each
// client engine of the registry and each load model, and every kind of fault counted when
// a server misbehaves.

#include "load/load.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "echo/backend.h"
#include "load/worker.h"
#include "net/socket.h"

namespace ub::load {
namespace {

using namespace std::chrono_literals;

// A deliberately broken echo server: one thread, poll() over every connection.
class FaultyServer {
 public:
  enum class Fault { kCorrupt, kHangUp, kSilent, kNeverReads };

  explicit FaultyServer(Fault fault) : fault_(fault) {
    listener_ = std::move(*net::listen_tcp(net::Endpoint::loopback_v4(0), 1024));
    endpoint_ = *net::local_endpoint(listener_.get());
    thread_ = std::thread([this] { serve(); });
  }
  ~FaultyServer() {
    stop_ = true;
    thread_.join();
  }
  net::Endpoint endpoint() const { return endpoint_; }

 private:
  void serve() {
    std::vector<net::UniqueFd> conns;
    uint64_t echoed = 0;
    while (!stop_) {
      std::vector<pollfd> pfds{{listener_.get(), POLLIN, 0}};
      if (fault_ != Fault::kNeverReads) {
        for (auto& c : conns) pfds.push_back({c.get(), POLLIN, 0});
      }
      if (::poll(pfds.data(), pfds.size(), 20) <= 0) continue;
      if (pfds[0].revents & POLLIN) conns.emplace_back(::accept(listener_.get(), nullptr, nullptr));
      for (size_t k = 1; k < pfds.size(); ++k) {
        if (!(pfds[k].revents & POLLIN) || !conns[k - 1]) continue;
        char buffer[65536];
        const ssize_t n = ::recv(conns[k - 1].get(), buffer, sizeof(buffer), 0);
        if (n <= 0) {
          conns[k - 1].reset();
          continue;
        }
        if (fault_ == Fault::kHangUp) {
          conns[k - 1].reset();
          continue;
        }
        if (fault_ == Fault::kSilent) continue;
        for (ssize_t i = 0; i < n; ++i, ++echoed) {
          if (echoed % 5000 == 4999) buffer[i] ^= 0x20;  // one byte in 5000 goes bad
        }
        (void)net::send_all(conns[k - 1].get(), {reinterpret_cast<std::byte*>(buffer),
                                                 static_cast<size_t>(n)});
      }
    }
  }

  Fault fault_;
  net::UniqueFd listener_;
  net::Endpoint endpoint_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

LoadConfig quick_config(const net::Endpoint& server, const std::string& engine) {
  LoadConfig config;
  config.server = server;
  config.connections = 20;
  config.message_size = 100;
  config.engine = engine;
  config.threads = 2;
  config.warmup = 50ms;
  config.duration = 300ms;
  config.reply_timeout = 2s;
  return config;
}

// Why client engine `name` cannot run here (the registry's reason), or "".
std::string engine_unavailable(const std::string& name) {
  auto info = client_engine(name);
  if (!info) return name + ": " + info.error().message();
  return info->available ? "" : name + " client engine: " + info->why_unavailable;
}

class LoadAgainstBackends : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {
 protected:
  void SetUp() override {
    const auto& [name, engine] = GetParam();
    auto info = echo::backend_info(name);
    if (!info || !info->available) GTEST_SKIP() << name << " unavailable";
    if (auto why = engine_unavailable(engine); !why.empty()) GTEST_SKIP() << why;
    server_ = std::move(*echo::make_backend(name));
    ASSERT_FALSE(server_->start({}));
  }
  std::unique_ptr<echo::EchoBackend> server_;
};

TEST_P(LoadAgainstBackends, ClosedLoopPipelinedRunIsErrorFreeAndAccounted) {
  auto config = quick_config(server_->local_endpoint(), std::get<1>(GetParam()));
  config.pipeline = 4;
  bool opened = false, closed = false;
  size_t connected = 0;
  uint64_t echoed_before_load = 1;
  PhaseHooks hooks;
  // Runs once every connection is open and before the first byte is sent.
  hooks.on_connected = [&](size_t n) {
    connected = n;
    echoed_before_load = server_->stats().bytes_echoed;
  };
  hooks.on_measure_start = [&] { opened = true; };
  hooks.on_measure_end = [&] { closed = true; };
  auto result = run_load(config, hooks);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(opened && closed);
  EXPECT_EQ(connected, static_cast<size_t>(config.connections));
  EXPECT_EQ(echoed_before_load, 0u);
  EXPECT_EQ(result->errors.total(), 0u) << (result->error_samples.empty() ? "" : result->error_samples[0]);
  EXPECT_GT(result->round_trips, 100u);
  EXPECT_EQ(result->rtt.count(), result->round_trips);
  // Bytes count when they arrive, round trips when a message is complete: the window's two
  // edges may cut at most every message in flight (a server may echo a message in pieces).
  const auto whole = static_cast<int64_t>(result->round_trips * config.message_size);
  const auto in_flight = static_cast<int64_t>(config.connections) * config.pipeline *
                         static_cast<int64_t>(config.message_size);
  EXPECT_LE(std::abs(static_cast<int64_t>(result->bytes_received) - whole), in_flight);
  EXPECT_GT(result->client_cpu.count(), 0);
  EXPECT_EQ(result->engine, std::get<1>(GetParam()));
}

TEST_P(LoadAgainstBackends, OpenLoopRecordsCorrectedAndUncorrectedLatency) {
  auto config = quick_config(server_->local_endpoint(), std::get<1>(GetParam()));
  config.model = LoadModel::kOpen;
  config.rate = 2000;
  auto result = run_load(config);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->errors.total(), 0u);
  // 2000 RT/s over a 0.3 s window: about 600 round trips.
  EXPECT_GT(result->round_trips, 300u);
  EXPECT_LT(result->round_trips, 1200u);
  EXPECT_EQ(result->rtt_scheduled.count(), result->round_trips);
  EXPECT_GE(result->rtt_scheduled.percentile(50), result->rtt.percentile(50));
}

TEST_P(LoadAgainstBackends, StreamModeMovesVerifiedBytes) {
  auto config = quick_config(server_->local_endpoint(), std::get<1>(GetParam()));
  config.model = LoadModel::kStream;
  config.message_size = 16384;
  auto result = run_load(config);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->errors.total(), 0u) << (result->error_samples.empty() ? "" : result->error_samples[0]);
  EXPECT_GT(result->bytes_received, 1u << 20);
}

INSTANTIATE_TEST_SUITE_P(All, LoadAgainstBackends,
                         ::testing::Combine(::testing::Values("uring", "epoll", "blocking"),
                                            ::testing::ValuesIn(client_engine_names())),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + std::get<1>(info.param);
                         });

class LoadAgainstFaults : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (auto why = engine_unavailable(GetParam()); !why.empty()) GTEST_SKIP() << why;
  }
};

TEST_P(LoadAgainstFaults, CorruptedEchoesAreCountedAsMismatches) {
  FaultyServer server(FaultyServer::Fault::kCorrupt);
  auto result = run_load(quick_config(server.endpoint(), GetParam()));
  ASSERT_TRUE(result.ok());
  EXPECT_GT(result->errors.mismatches, 0u);
  ASSERT_FALSE(result->error_samples.empty());
  EXPECT_NE(result->error_samples[0].find("differs"), std::string::npos);
}

TEST_P(LoadAgainstFaults, AServerThatHangsUpIsCountedAsEarlyEof) {
  FaultyServer server(FaultyServer::Fault::kHangUp);
  auto result = run_load(quick_config(server.endpoint(), GetParam()));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->errors.early_eofs + result->errors.resets, 20u);
  EXPECT_EQ(result->round_trips, 0u);
}

TEST_P(LoadAgainstFaults, ASilentServerIsCountedAsLateReplies) {
  FaultyServer server(FaultyServer::Fault::kSilent);
  auto config = quick_config(server.endpoint(), GetParam());
  config.reply_timeout = 100ms;
  auto result = run_load(config);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->errors.late_replies, 20u);
}

// Stream messages carry no timings: the check is that echoed bytes keep arriving.
TEST_P(LoadAgainstFaults, ASilentServerIsCountedAsLateRepliesInStreamMode) {
  FaultyServer server(FaultyServer::Fault::kSilent);
  auto config = quick_config(server.endpoint(), GetParam());
  config.model = LoadModel::kStream;
  config.message_size = 16384;
  config.reply_timeout = 100ms;
  auto result = run_load(config);
  ASSERT_TRUE(result.ok());
  // Every connection fails with its whole window (16 messages of 16 KiB) unechoed.
  EXPECT_EQ(result->errors.late_replies, 20u * (WorkerCore::kStreamWindow / 16384));
  EXPECT_EQ(result->errors.total(), result->errors.late_replies);
  ASSERT_FALSE(result->error_samples.empty());
  EXPECT_NE(result->error_samples[0].find("unechoed"), std::string::npos);
}

// Resident memory of this process (VmRSS), in bytes.
size_t resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

// Open loop far beyond what the server takes (it never reads): the client owes the
// messages it cannot send instead of queueing their bytes, so memory stays bounded (it
// used to grow by rate x size, 480 MB here, and the copying starved the whole client), and
// the backlog is reported as late replies.
TEST_P(LoadAgainstFaults, OpenLoopBacklogIsOwedNotBuffered) {
  FaultyServer server(FaultyServer::Fault::kNeverReads);
  auto config = quick_config(server.endpoint(), GetParam());
  config.connections = 4;
  config.threads = 1;
  config.model = LoadModel::kOpen;
  config.rate = 40000;
  config.message_size = 16 << 10;
  config.duration = 700ms;
  config.reply_timeout = 300ms;
  const size_t before = resident_bytes();
  size_t at_window_end = 0;
  PhaseHooks hooks;  // runs while the client threads still hold their queues
  hooks.on_measure_end = [&] { at_window_end = resident_bytes(); };
  auto result = run_load(config, hooks);
  ASSERT_TRUE(result.ok());
  // 40,000/s x 0.75 s x 16 KiB = 480 MB offered; the socket buffers hold a few MB.
  EXPECT_LT(at_window_end - std::min(before, at_window_end), size_t{64} << 20);
  EXPECT_GT(result->errors.late_replies, 1000u);
  EXPECT_EQ(result->round_trips, 0u);
}

TEST(Load, NobodyListeningIsConnectFailures) {
  auto listener = net::listen_tcp(net::Endpoint::loopback_v4(0), 1);
  const auto closed = *net::local_endpoint(listener->get());
  listener->reset();
  auto config = quick_config(closed, "epoll");
  config.connections = 3;
  auto result = run_load(config);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->errors.connect_failures, 3u);
  EXPECT_EQ(result->round_trips, 0u);
}

TEST(Load, RejectsNonsenseConfiguration) {
  LoadConfig config;
  config.connections = 0;
  EXPECT_FALSE(run_load(config).ok());
  config.connections = 1;
  config.model = LoadModel::kOpen;  // without a rate
  EXPECT_FALSE(run_load(config).ok());
}

// The registry: every engine has a name, a description and, if it cannot run, a reason;
// "auto" is the first available one; other names are refused, by run_load too.
TEST(LoadEngines, RegistryNamesAutoAndRefusesUnknownNames) {
  const auto engines = client_engines();
  ASSERT_FALSE(engines.empty());
  EXPECT_EQ(engines.size(), client_engine_names().size());
  const EngineInfo* first_available = nullptr;
  for (const auto& e : engines) {
    EXPECT_FALSE(e.name.empty());
    EXPECT_FALSE(e.description.empty()) << e.name;
    EXPECT_EQ(e.available, e.why_unavailable.empty()) << e.name;
    if (e.available && first_available == nullptr) first_available = &e;
  }
  ASSERT_NE(first_available, nullptr) << "epoll at least runs everywhere";
  auto picked = client_engine(kAutoEngine);
  ASSERT_TRUE(picked.ok());
  EXPECT_EQ(picked->name, first_available->name);

  auto unknown = client_engine("kqueue");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error(), LoadError::kUnknownEngine);
  EXPECT_EQ(unknown.error().message(), "unknown client engine");
  LoadConfig config;
  config.engine = "kqueue";
  auto run = run_load(config);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.error(), LoadError::kUnknownEngine);
  for (const auto& e : engines) {
    if (e.available) continue;
    config.engine = e.name;
    auto refused = run_load(config);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error(), LoadError::kEngineUnavailable);
  }
}

// A test per engine; one that cannot run here skips with its reason.
INSTANTIATE_TEST_SUITE_P(Engines, LoadAgainstFaults, ::testing::ValuesIn(client_engine_names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace ub::load
