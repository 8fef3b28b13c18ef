// bench_resolve: bulk name resolution, names/s and client CPU per name, by thread count.
// Modes, run interleaved (mode x threads x repetition) so noise hits them alike:
//   gai-pool  a plain thread pool: each thread takes the next name and calls
//             getaddrinfo(AF_UNSPEC, SOCK_STREAM, AI_ADDRCONFIG), as most programs do
//   system    ub::resolve::Resolver, lookup_ex (gethostbyname2_r x2, RES_STAYOPEN)
// Every name's address set must be the same in every mode ("mismatches" counts those
// that are not). Resolves whatever names it is given: run it inside scripts/dns-sandbox
// (alone it exits 77 unless --names-file is given explicitly). Output: a table, and with
// --json the Google Benchmark JSON layout bench_echo writes (compare.py reads both).

#include <arpa/inet.h>
#include <fmt/core.h>
#include <netdb.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cli_util.h"
#include "resolve/resolver.h"

namespace {

using Clock = std::chrono::steady_clock;
using AddressSet = std::set<std::string>;
constexpr double kPercentiles[] = {50, 90, 99, 99.9};

struct RunResult {
  std::string mode;
  int threads = 0;
  int repetition = 0;
  size_t names = 0;
  double seconds = 0;
  double cpu_seconds = 0;  // this process, user + system
  size_t failed = 0;
  size_t mismatches = 0;
  std::vector<int64_t> latency_ns;  // sorted
  std::vector<AddressSet> answers;

  double names_per_s() const { return seconds > 0 ? static_cast<double>(names) / seconds : 0; }
  double cpu_us_per_name() const {
    return names ? cpu_seconds * 1e6 / static_cast<double>(names) : 0;
  }
  double percentile_us(double p) const {
    if (latency_ns.empty()) return 0;
    const auto i = static_cast<size_t>(p / 100.0 * static_cast<double>(latency_ns.size() - 1));
    return static_cast<double>(latency_ns[i]) / 1000.0;
  }
  std::string name() const { return fmt::format("resolve/{}/threads:{}", mode, threads); }
};

double process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

AddressSet gai_addresses(const std::string& name, bool* ok) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* res = nullptr;
  AddressSet out;
  *ok = getaddrinfo(name.c_str(), nullptr, &hints, &res) == 0;
  for (addrinfo* p = res; p != nullptr; p = p->ai_next) {
    char text[INET6_ADDRSTRLEN];
    const void* a =
        p->ai_family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(p->ai_addr)->sin_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(p->ai_addr)->sin6_addr);
    out.insert(inet_ntop(p->ai_family, a, text, sizeof text));
  }
  if (res != nullptr) freeaddrinfo(res);
  return out;
}

void run_gai_pool(const std::vector<std::string>& names, RunResult& r) {
  std::atomic<size_t> next{0};
  std::atomic<size_t> failed{0};
  std::vector<int64_t> latency(names.size());
  r.answers.assign(names.size(), {});
  std::vector<std::thread> threads;
  for (int t = 0; t < r.threads; ++t) {
    threads.emplace_back([&] {
      for (size_t i; (i = next++) < names.size();) {
        const auto start = Clock::now();
        bool ok = false;
        r.answers[i] = gai_addresses(names[i], &ok);
        latency[i] = (Clock::now() - start).count();
        if (!ok) ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  r.failed = failed;
  r.latency_ns = std::move(latency);
}

void run_system(ub::resolve::Resolver& resolver, const std::vector<std::string>& names,
                RunResult& r) {
  std::vector<ub::resolve::Query> queries;
  queries.reserve(names.size());
  for (const auto& n : names) queries.push_back(ub::resolve::Query::lookup_ex(n));
  const auto out = resolver.resolve(queries);
  r.answers.assign(names.size(), {});
  r.latency_ns.resize(names.size());
  for (size_t i = 0; i < out.size(); ++i) {
    r.latency_ns[i] = out[i].latency.count();
    if (!out[i].ok()) ++r.failed;
    r.answers[i].insert(out[i].answer.addresses.begin(), out[i].answer.addresses.end());
  }
}

std::string json_report(const std::vector<RunResult>& runs, const std::string& names_file) {
  std::string out = "{\n  \"context\": {\n";
  out += fmt::format("    \"benchmark\": \"bench_resolve\",\n    \"names_file\": \"{}\",\n",
                     names_file);
  out += fmt::format("    \"num_cpus\": {},\n", std::thread::hardware_concurrency());
  out += fmt::format("    \"sandbox\": \"{}\"\n  }},\n  \"benchmarks\": [\n",
                     std::getenv("UB_DNS_SANDBOX") ? std::getenv("UB_DNS_SANDBOX") : "");
  std::map<std::string, int> family;
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunResult& r = runs[i];
    const int fam = family.emplace(r.name(), static_cast<int>(family.size())).first->second;
    out += "    {\n";
    out += fmt::format("      \"name\": \"{}\",\n      \"family_index\": {},\n", r.name(), fam);
    out += fmt::format("      \"per_family_instance_index\": 0,\n      \"run_name\": \"{}\",\n",
                       r.name());
    out += fmt::format("      \"run_type\": \"iteration\",\n      \"repetition_index\": {},\n",
                       r.repetition);
    out += fmt::format("      \"threads\": {},\n      \"iterations\": {},\n", r.threads, r.names);
    // real_time: wall ns per name (inverse throughput); cpu_time: client CPU ns per name.
    out += fmt::format("      \"real_time\": {:.3f},\n      \"cpu_time\": {:.3f},\n",
                       r.names ? r.seconds * 1e9 / static_cast<double>(r.names) : 0.0,
                       r.cpu_us_per_name() * 1000.0);
    out += fmt::format("      \"time_unit\": \"ns\",\n      \"mode\": \"{}\",\n", r.mode);
    out += fmt::format("      \"names_per_s\": {:.1f},\n      \"seconds\": {:.6f},\n",
                       r.names_per_s(), r.seconds);
    for (double p : kPercentiles) {
      out += fmt::format("      \"p{}_us\": {:.3f},\n", p, r.percentile_us(p));
    }
    out += fmt::format("      \"client_cpu_us_per_name\": {:.3f},\n", r.cpu_us_per_name());
    out += fmt::format("      \"errors\": {},\n      \"mismatches\": {}\n", r.failed, r.mismatches);
    out += i + 1 < runs.size() ? "    },\n" : "    }\n";
  }
  return out + "  ]\n}\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Bulk name resolution: names/s and client CPU per name, against a plain pool."};
  std::string names_file;
  std::vector<std::string> modes = {"gai-pool", "system"};
  std::vector<int> thread_counts = {16};
  int repetitions = 3;
  size_t limit = 0;
  double timeout_s = 5;
  std::string json_path;
  app.add_option("--names-file", names_file,
                 "one name per line (default: $UB_DNS_SANDBOX_DIR/names.txt)");
  app.add_option("--modes", modes, "gai-pool, system")->delimiter(',')->capture_default_str();
  app.add_option("--threads", thread_counts, "thread counts, e.g. 1,4,16,64")
      ->delimiter(',')
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--repetitions", repetitions, "interleaved repetitions")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--limit", limit, "use only the first N names (0: all)");
  app.add_option("--timeout", timeout_s, "system mode: deadline per name, seconds")
      ->check(CLI::Range(0.001, 3600.0));
  app.add_option("--json", json_path, "write Google Benchmark JSON here");
  if (int rc = ub::cli::parse(app, argc, argv); rc >= 0) return rc;
  for (const auto& m : modes) {
    if (m != "gai-pool" && m != "system") {
      fmt::print(stderr, "bench_resolve: unknown mode '{}'\n", m);
      return ub::cli::kExitUsage;
    }
  }
  if (names_file.empty()) {
    const char* dir = std::getenv("UB_DNS_SANDBOX_DIR");
    if (dir == nullptr) {
      fmt::print(stderr,
                 "bench_resolve: SKIP: not inside scripts/dns-sandbox and no --names-file; "
                 "refusing to send a benchmark's queries to this machine's resolver\n");
      return 77;
    }
    names_file = std::string(dir) + "/names.txt";
  }
  std::vector<std::string> names;
  {
    std::ifstream in(names_file);
    if (!in) {
      fmt::print(stderr, "bench_resolve: cannot read '{}'\n", names_file);
      return ub::cli::kExitUsage;
    }
    for (std::string line; std::getline(in, line) && (limit == 0 || names.size() < limit);) {
      if (!line.empty()) names.push_back(line);
    }
  }

  std::vector<RunResult> runs;
  std::map<size_t, const std::vector<AddressSet>*> reference;  // first run's answers
  for (int rep = 0; rep < repetitions; ++rep) {
    for (int threads : thread_counts) {
      for (const auto& mode : modes) {
        RunResult r;
        r.mode = mode;
        r.threads = threads;
        r.repetition = rep;
        r.names = names.size();
        std::unique_ptr<ub::resolve::Resolver> resolver;
        if (mode == "system") {  // pool start-up stays outside the measurement
          ub::resolve::Options o;
          o.threads = threads;
          o.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
          auto created = ub::resolve::Resolver::create(o);
          if (!created) {
            fmt::print(stderr, "bench_resolve: {}\n", created.error().message());
            return 1;
          }
          resolver = std::move(*created);
        }
        const double cpu0 = process_cpu_seconds();
        const auto start = Clock::now();
        if (mode == "system") {
          run_system(*resolver, names, r);
        } else {
          run_gai_pool(names, r);
        }
        r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        r.cpu_seconds = process_cpu_seconds() - cpu0;
        std::sort(r.latency_ns.begin(), r.latency_ns.end());
        runs.push_back(std::move(r));
      }
    }
  }
  // Identical answers: every run against the first.
  for (auto& r : runs) {
    for (size_t i = 0; i < names.size(); ++i) r.mismatches += r.answers[i] != runs[0].answers[i];
  }

  fmt::print("{:<9} {:>7} {:>4} {:>7} {:>10} {:>9} {:>9} {:>9} {:>10} {:>6} {:>10}\n", "mode",
             "threads", "rep", "names", "names/s", "p50us", "p99us", "p99.9us", "cpu_us/nm",
             "errors", "mismatches");
  for (const auto& r : runs) {
    fmt::print(
        "{:<9} {:>7} {:>4} {:>7} {:>10.0f} {:>9.1f} {:>9.1f} {:>9.1f} {:>10.1f} {:>6} {:>10}\n",
        r.mode, r.threads, r.repetition, r.names, r.names_per_s(), r.percentile_us(50),
        r.percentile_us(99), r.percentile_us(99.9), r.cpu_us_per_name(), r.failed, r.mismatches);
  }
  // Medians per mode x threads, and system's ratio to the plain pool.
  std::map<std::pair<int, std::string>, std::vector<const RunResult*>> groups;
  for (const auto& r : runs) groups[{r.threads, r.mode}].push_back(&r);
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  fmt::print("\nmedians:\n");
  std::map<int, std::map<std::string, double>> rate;
  for (const auto& [key, group] : groups) {
    std::vector<double> nps, cpu;
    for (const auto* r : group) {
      nps.push_back(r->names_per_s());
      cpu.push_back(r->cpu_us_per_name());
    }
    rate[key.first][key.second] = median(nps);
    fmt::print("{:<9} threads {:>4}: {:>8.0f} names/s, {:>6.1f} cpu_us/name\n", key.second,
               key.first, median(nps), median(cpu));
  }
  for (const auto& [threads, by_mode] : rate) {
    if (by_mode.count("gai-pool") && by_mode.count("system") && by_mode.at("gai-pool") > 0) {
      fmt::print("threads {:>4}: system / gai-pool = {:.2f}x names/s\n", threads,
                 by_mode.at("system") / by_mode.at("gai-pool"));
    }
  }
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << json_report(runs, names_file);
    if (!out) {
      fmt::print(stderr, "bench_resolve: cannot write '{}'\n", json_path);
      return 1;
    }
  }
  size_t bad = 0;
  for (const auto& r : runs) bad += r.mismatches;
  return bad == 0 ? 0 : 1;
}
