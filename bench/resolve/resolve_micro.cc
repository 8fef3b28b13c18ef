// Micro benchmarks for lib/resolve's caches: a ServiceTable lookup against glibc's
// getservby*_r, which re-reads /etc/services on every call.

#include <benchmark/benchmark.h>
#include <netdb.h>
#include <netinet/in.h>

#include "resolve/services.h"
#include "resolve/url.h"

namespace {

const ub::resolve::ServiceTable& table() {
  static const ub::resolve::ServiceTable t = [] {
    auto loaded = ub::resolve::ServiceTable::load();
    return loaded ? std::move(*loaded) : ub::resolve::ServiceTable{};
  }();
  return t;
}

void BM_ServiceTableByName(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(table().by_name("pop3s", ""));
}
BENCHMARK(BM_ServiceTableByName);

void BM_GlibcGetservbyname(benchmark::State& state) {
  servent se{};
  servent* res = nullptr;
  char buf[4096];
  for (auto _ : state) {
    benchmark::DoNotOptimize(getservbyname_r("pop3s", nullptr, &se, buf, sizeof buf, &res));
  }
}
BENCHMARK(BM_GlibcGetservbyname);

void BM_ServiceTableByPort(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(table().by_port(995, "tcp"));
}
BENCHMARK(BM_ServiceTableByPort);

void BM_GlibcGetservbyport(benchmark::State& state) {
  servent se{};
  servent* res = nullptr;
  char buf[4096];
  for (auto _ : state) {
    benchmark::DoNotOptimize(getservbyport_r(htons(995), "tcp", &se, buf, sizeof buf, &res));
  }
}
BENCHMARK(BM_GlibcGetservbyport);

void BM_ServiceTableLoad(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(ub::resolve::ServiceTable::load());
}
BENCHMARK(BM_ServiceTableLoad);

void BM_UrlScheme(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(ub::resolve::url_scheme("pop3s://pop.example.com/"));
}
BENCHMARK(BM_UrlScheme);

}  // namespace

BENCHMARK_MAIN();
