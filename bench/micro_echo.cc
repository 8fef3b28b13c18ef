// Micro benchmarks of the pieces every echo figure depends on: the latency histogram's
// record, the client's per-message work (queue + verify), and one loopback round trip
// through each back end over a plain blocking socket.

#include <benchmark/benchmark.h>
#include <sys/socket.h>

#include <random>

#include "echo/backend.h"
#include "load/histogram.h"
#include "load/session.h"
#include "net/socket.h"

namespace {

void BM_HistogramRecord(benchmark::State& state) {
  ub::load::Histogram histogram;
  std::mt19937_64 rng(1);
  std::vector<uint64_t> values(4096);
  for (auto& v : values) v = 1000 + rng() % 10'000'000;
  size_t i = 0;
  for (auto _ : state) {
    histogram.record(values[i++ & 4095]);
  }
  benchmark::DoNotOptimize(histogram.count());
}
BENCHMARK(BM_HistogramRecord);

// The client engine's own cost per round trip, without any I/O: build a message, then
// verify its echo.
void BM_SessionQueueAndVerify(benchmark::State& state) {
  const auto size = static_cast<size_t>(state.range(0));
  ub::load::Session session(size, 3);
  std::vector<std::byte> out;
  out.reserve(size);
  uint64_t completed = 0;
  for (auto _ : state) {
    out.clear();
    session.append_message(out, 0, 0);
    session.consume(out.data(), out.size(), true, [&](const ub::load::Timing&) { ++completed; });
  }
  if (completed != static_cast<uint64_t>(state.iterations())) state.SkipWithError("verify failed");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}
BENCHMARK(BM_SessionQueueAndVerify)->Arg(64)->Arg(1024)->Arg(16384);

void BM_LoopbackRoundTrip(benchmark::State& state, std::string backend_name) {
  auto backend = ub::echo::make_backend(backend_name);
  if (!backend) {
    state.SkipWithError(("back end unavailable: " + backend_name).c_str());
    return;
  }
  ub::echo::ServerConfig config;
  config.threads = 1;
  if ((*backend)->start(config)) {
    state.SkipWithError("start failed");
    return;
  }
  auto fd = ub::net::create_connection((*backend)->local_endpoint(), std::chrono::seconds(5));
  if (!fd) {
    state.SkipWithError("connect failed");
    return;
  }
  (void)ub::net::set_nodelay(fd->get());
  char message[64] = "ping";
  char reply[64];
  for (auto _ : state) {
    if (::send(fd->get(), message, sizeof(message), 0) != sizeof(message)) {
      state.SkipWithError("send failed");
      break;
    }
    size_t got = 0;
    while (got < sizeof(reply)) {
      const ssize_t n = ::recv(fd->get(), reply + got, sizeof(reply) - got, 0);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    if (got != sizeof(reply)) {
      state.SkipWithError("short echo");
      break;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  for (const auto& info : ub::echo::available_backends()) {
    if (!info.available) continue;
    benchmark::RegisterBenchmark(("BM_LoopbackRoundTrip/" + info.name).c_str(),
                                 BM_LoopbackRoundTrip, info.name)
        ->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
