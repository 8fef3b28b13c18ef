// bench_resolve: bulk name resolution, names/s and client CPU per name. Modes, run
// interleaved (repetition x mode x width) so noise hits them alike:
//   gai-pool  a plain thread pool: each thread takes the next name and calls
//             getaddrinfo(AF_UNSPEC, SOCK_STREAM, AI_ADDRCONFIG), as most programs do
//   system    ub::resolve::Resolver, engine "system", lookup_ex (gethostbyname2_r x2,
//             RES_STAYOPEN), width = --threads
//   dns       ub::resolve::Resolver, engine "dns" (c-ares, our epoll loop), lookup_ex
//             (A and AAAA at once), width = --in-flight
// (--engine=system,dns is --modes without the baseline.) Every name's address set must be
// the same in every mode ("mismatches" counts those that are not). --mix adds the
// sandbox's dead, slow or NXDOMAIN names, spread evenly through the batch; then "ok/s"
// (answers that were not timeouts, over the time the last of them came) shows whether the
// never-answered names held the others back. Resolves whatever names it is given: run it
// inside scripts/dns-sandbox (alone it exits 77 unless --names-file is given explicitly).
// Output: a table, and with --json the Google Benchmark JSON layout bench_echo writes
// (bench/gbench_json.h).

#include <arpa/inet.h>
#include <fmt/core.h>
#include <netdb.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/cli.h"
#include "gbench_json.h"
#include "resolve/dns_engine.h"
#include "resolve/errors.h"
#include "resolve/resolver.h"

namespace {

using Clock = std::chrono::steady_clock;
using AddressSet = std::set<std::string>;
constexpr double kPercentiles[] = {50, 90, 99, 99.9};

struct RunResult {
  std::string mode;
  int width = 0;  // threads (gai-pool, system) or names in flight (dns)
  int repetition = 0;
  size_t names = 0;
  double seconds = 0;
  double cpu_seconds = 0;  // this process, user + system
  size_t failed = 0;
  size_t timed_out = 0;
  size_t mismatches = 0;
  double last_ok_seconds = 0;       // when the last answer that was not a timeout came
  double max_timeout_ms = 0;        // the latest a timed-out name ended (vs --timeout)
  int64_t udp_drops = -1;           // namespace-wide UDP receive errors during the run
  std::vector<int64_t> latency_ns;  // sorted
  std::vector<AddressSet> answers;

  double names_per_s() const { return seconds > 0 ? static_cast<double>(names) / seconds : 0; }
  double ok_per_s() const {
    return last_ok_seconds > 0 ? static_cast<double>(names - timed_out) / last_ok_seconds : 0;
  }
  double cpu_us_per_name() const {
    return names ? cpu_seconds * 1e6 / static_cast<double>(names) : 0;
  }
  double percentile_us(double p) const {
    if (latency_ns.empty()) return 0;
    const auto i = static_cast<size_t>(p / 100.0 * static_cast<double>(latency_ns.size() - 1));
    return static_cast<double>(latency_ns[i]) / 1000.0;
  }
  std::string name() const {
    return fmt::format("resolve/{}/{}:{}", mode, mode == "dns" ? "in_flight" : "threads", width);
  }
};

double process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// RcvbufErrors from /proc/net/snmp (this network namespace: NSD's drops and ours); -1 if
// unreadable.
int64_t udp_receive_errors() {
  std::ifstream in("/proc/net/snmp");
  std::string header, values;
  while (std::getline(in, header) && std::getline(in, values)) {
    if (header.rfind("Udp:", 0) != 0) continue;
    std::istringstream h(header), v(values);
    std::string key, value;
    while (h >> key && v >> value) {
      if (key == "RcvbufErrors") return std::stoll(value);
    }
  }
  return -1;
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
  const auto start = Clock::now();
  std::atomic<int64_t> last_ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < r.width; ++t) {
    threads.emplace_back([&] {
      for (size_t i; (i = next++) < names.size();) {
        const auto begin = Clock::now();
        bool ok = false;
        r.answers[i] = gai_addresses(names[i], &ok);
        const auto end = Clock::now();
        latency[i] = (end - begin).count();
        if (!ok) ++failed;
        int64_t at = (end - start).count();
        for (int64_t seen = last_ok.load();
             at > seen && !last_ok.compare_exchange_weak(seen, at);) {
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  r.failed = failed;
  r.last_ok_seconds = static_cast<double>(last_ok.load()) / 1e9;
  r.latency_ns = std::move(latency);
}

// Through the Resolver's streaming API, unordered, recording when each answer came.
void run_resolver(ub::resolve::Resolver& resolver, const std::vector<std::string>& names,
                  RunResult& r) {
  r.answers.assign(names.size(), {});
  r.latency_ns.resize(names.size());
  size_t next = 0;
  const auto start = Clock::now();
  Clock::duration last_ok{};
  resolver.stream(
      [&]() -> std::optional<ub::resolve::Query> {
        if (next == names.size()) return std::nullopt;
        return ub::resolve::Query::lookup_ex(names[next++]);
      },
      [&](size_t i, ub::resolve::Outcome&& o) {
        r.latency_ns[i] = o.latency.count();
        if (!o.ok()) ++r.failed;
        if (o.error == ub::resolve::Error::kTimedOut) {
          ++r.timed_out;
          r.max_timeout_ms =
              std::max(r.max_timeout_ms, static_cast<double>(o.latency.count()) / 1e6);
        } else {
          last_ok = Clock::now() - start;
        }
        r.answers[i].insert(o.answer.addresses.begin(), o.answer.addresses.end());
      },
      {.window = std::max<size_t>(4096, names.size()), .ordered = false});
  r.last_ok_seconds = std::chrono::duration<double>(last_ok).count();
}

std::string json_report(const std::vector<RunResult>& runs, const std::string& names_file,
                        const std::string& dns_setup) {
  using ub::bench::Json;
  using ub::bench::rounded;
  Json context = {{"benchmark", "bench_resolve"}, {"names_file", names_file}};
  const Json machine = ub::bench::machine_context("bench_resolve");
  for (const auto& [key, value] : machine.items()) context[key] = value;
  context["dns_engine"] = dns_setup;
  context["sandbox"] = std::getenv("UB_DNS_SANDBOX") ? std::getenv("UB_DNS_SANDBOX") : "";
  ub::bench::GbenchJson doc(std::move(context));
  for (const RunResult& r : runs) {
    ub::bench::GbenchRun run;
    run.name = r.name();
    run.repetition_index = r.repetition;
    // A pool's width is its threads; the dns engine is one thread with `in_flight` names.
    run.threads = r.mode == "dns" ? 1 : r.width;
    run.iterations = r.names;
    if (r.mode == "dns") run.before_times["in_flight"] = r.width;
    // real_time: wall ns per name (inverse throughput); cpu_time: client CPU ns per name.
    run.real_time_ns = r.names ? r.seconds * 1e9 / static_cast<double>(r.names) : 0.0;
    run.cpu_time_ns = r.cpu_us_per_name() * 1000.0;
    Json& b = doc.add(run);
    b["mode"] = r.mode;
    b["names_per_s"] = rounded(r.names_per_s(), 1);
    b["seconds"] = rounded(r.seconds, 6);
    b["ok_per_s"] = rounded(r.ok_per_s(), 1);
    for (double p : kPercentiles) b[fmt::format("p{}_us", p)] = rounded(r.percentile_us(p), 3);
    b["client_cpu_us_per_name"] = rounded(r.cpu_us_per_name(), 3);
    b["timed_out"] = r.timed_out;
    b["max_timeout_ms"] = rounded(r.max_timeout_ms, 3);
    b["udp_drops"] = r.udp_drops;
    b["errors"] = r.failed;
    b["mismatches"] = r.mismatches;
  }
  return doc.text();
}

// The manifest's names of the given kinds (DEAD, SLOW, NXDOMAIN), from the sandbox.
std::vector<std::string> manifest_names(const std::vector<std::string>& kinds) {
  std::vector<std::string> out;
  const char* dir = std::getenv("UB_DNS_SANDBOX_DIR");
  if (dir == nullptr) return out;
  std::ifstream in(std::string(dir) + "/manifest.tsv");
  std::string line;
  while (std::getline(in, line)) {
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    const std::string kind = line.substr(0, tab);
    std::string name = line.substr(tab + 1);
    name = name.substr(0, name.find('\t'));
    for (const auto& k : kinds) {
      std::string upper = k;
      std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
      if (kind == upper) out.push_back(name);
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Bulk name resolution: names/s and client CPU per name, against a plain pool."};
  std::string names_file;
  std::vector<std::string> modes = {"gai-pool", "system", "dns"};
  std::vector<std::string> engines;
  std::vector<int> thread_counts = {16};
  std::vector<int> in_flight = {256};
  std::vector<std::string> mix;
  int repetitions = 3;
  size_t limit = 0;
  double timeout_s = 5;
  ub::resolve::DnsOptions dns;
  std::string json_path;
  app.add_option("--names-file", names_file,
                 "one name per line (default: $UB_DNS_SANDBOX_DIR/names.txt)");
  app.add_option("--modes", modes, "gai-pool, system, dns")->delimiter(',')->capture_default_str();
  app.add_option("--engine", engines, "resolver engines only (system, dns): sets --modes")
      ->delimiter(',')
      ->check(CLI::IsMember({"system", "dns"}));
  app.add_option("--threads", thread_counts, "gai-pool/system: thread counts, e.g. 1,4,16,64")
      ->delimiter(',')
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--in-flight", in_flight, "dns: names in flight, e.g. 64,256,1000")
      ->delimiter(',')
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  app.add_option("--repetitions", repetitions, "interleaved repetitions")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app.add_option("--limit", limit, "use only the first N names (0: all)");
  app.add_option("--mix", mix, "add the sandbox's dead, slow and/or nxdomain names, spread out")
      ->delimiter(',')
      ->check(CLI::IsMember({"dead", "slow", "nxdomain"}));
  app.add_option("--timeout", timeout_s, "system, dns: deadline per name, seconds")
      ->check(ub::cli::Seconds(0.001, 3600.0))
      ->capture_default_str();
  app.add_option("--tries", dns.tries, "dns: times each question is sent")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  app.add_option("--rate", dns.rate, "dns: DNS questions per second (0: no limit)")
      ->check(ub::cli::FiniteRange(0, 1e9, "questions per second"));
  app.add_option("--server", dns.servers, "dns: servers (default: resolv.conf's)")
      ->delimiter(',')
      ->check(CLI::Validator(
          [](std::string& s) {
            return ub::resolve::valid_dns_server(s) ? std::string() : "bad server: " + s;
          },
          "SERVER"));
  app.add_option("--json", json_path, "write Google Benchmark JSON here");
  if (int rc = ub::cli::parse(app, argc, argv); rc >= 0) return rc;
  if (!engines.empty()) modes = engines;
  for (const auto& m : modes) {
    if (m != "gai-pool" && m != "system" && m != "dns") {
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
  if (!mix.empty()) {
    const auto extra = manifest_names(mix);
    if (extra.empty()) {
      fmt::print(stderr, "bench_resolve: --mix: no such names in the sandbox's manifest\n");
      return ub::cli::kExitUsage;
    }
    // Spread evenly: one extra name after every names/extra ordinary ones.
    std::vector<std::string> mixed;
    const size_t step = std::max<size_t>(1, names.size() / extra.size());
    size_t e = 0;
    for (size_t i = 0; i < names.size(); ++i) {
      mixed.push_back(names[i]);
      if ((i + 1) % step == 0 && e < extra.size()) mixed.push_back(extra[e++]);
    }
    while (e < extra.size()) mixed.push_back(extra[e++]);
    names = std::move(mixed);
  }

  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  std::string dns_setup;
  std::vector<RunResult> runs;
  for (int rep = 0; rep < repetitions; ++rep) {
    for (const auto& mode : modes) {
      for (int width : mode == "dns" ? in_flight : thread_counts) {
        RunResult r;
        r.mode = mode;
        r.width = width;
        r.repetition = rep;
        r.names = names.size();
        std::unique_ptr<ub::resolve::Resolver> resolver;
        if (mode != "gai-pool") {  // set-up stays outside the measurement
          ub::resolve::Options o;
          o.engine = mode;
          o.timeout = timeout;
          o.dns = dns;
          (mode == "dns" ? o.dns.in_flight : o.threads) = width;
          auto created = ub::resolve::Resolver::create(o);
          if (!created) {
            fmt::print(stderr, "bench_resolve: {} engine: {}\n", mode, created.error().message());
            return 1;
          }
          resolver = std::move(*created);
        }
        const int64_t drops0 = udp_receive_errors();
        const double cpu0 = process_cpu_seconds();
        const auto start = Clock::now();
        if (resolver) {
          run_resolver(*resolver, names, r);
        } else {
          run_gai_pool(names, r);
        }
        r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        r.cpu_seconds = process_cpu_seconds() - cpu0;
        const int64_t drops1 = udp_receive_errors();
        if (drops0 >= 0 && drops1 >= 0) r.udp_drops = drops1 - drops0;
        if (mode == "dns" && dns_setup.empty()) {
          // What the engine ended up with: servers, socket buffer granted, first try.
          if (auto* d = dynamic_cast<ub::resolve::DnsEngine*>(&resolver->engine())) {
            dns_setup =
                fmt::format("servers {}, SO_RCVBUF {} KiB, first try {} ms x {} tries, rate {}",
                            d->servers(), d->receive_buffer() / 1024, d->try_timeout().count(),
                            dns.tries, dns.rate > 0 ? fmt::format("{}/s", dns.rate) : "unlimited");
          }
        }
        std::sort(r.latency_ns.begin(), r.latency_ns.end());
        runs.push_back(std::move(r));
      }
    }
  }
  // Identical answers: every run against the first.
  for (auto& r : runs) {
    for (size_t i = 0; i < names.size(); ++i) r.mismatches += r.answers[i] != runs[0].answers[i];
  }

  if (!dns_setup.empty()) fmt::print("dns engine: {}\n", dns_setup);
  fmt::print(
      "{:<9} {:>6} {:>4} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>6} {:>7} {:>6} {:>5}\n",
      "mode", "width", "rep", "names", "names/s", "ok/s", "p50us", "p99us", "p99.9us", "cpu_us/nm",
      "errors", "timeout", "drops", "mism");
  for (const auto& r : runs) {
    fmt::print(
        "{:<9} {:>6} {:>4} {:>7} {:>9.0f} {:>9.0f} {:>9.1f} {:>9.1f} {:>9.1f} {:>10.1f} {:>6} "
        "{:>7} {:>6} {:>5}\n",
        r.mode, r.width, r.repetition, r.names, r.names_per_s(), r.ok_per_s(), r.percentile_us(50),
        r.percentile_us(99), r.percentile_us(99.9), r.cpu_us_per_name(), r.failed, r.timed_out,
        r.udp_drops, r.mismatches);
  }
  // Medians per mode x width, and each mode's ratio to the others at their best width.
  std::map<std::pair<std::string, int>, std::vector<const RunResult*>> groups;
  for (const auto& r : runs) groups[{r.mode, r.width}].push_back(&r);
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  fmt::print("\nmedians:\n");
  std::map<std::string, double> best;
  for (const auto& [key, group] : groups) {
    std::vector<double> nps, cpu, ok, timeout_ms;
    for (const auto* r : group) {
      nps.push_back(r->names_per_s());
      cpu.push_back(r->cpu_us_per_name());
      ok.push_back(r->ok_per_s());
      timeout_ms.push_back(r->max_timeout_ms);
    }
    best[key.first] = std::max(best[key.first], median(nps));
    fmt::print("{:<9} {:>9} {:>6}: {:>8.0f} names/s, {:>8.0f} ok/s, {:>6.1f} cpu_us/name",
               key.first, key.first == "dns" ? "in-flight" : "threads", key.second, median(nps),
               median(ok), median(cpu));
    if (median(timeout_ms) > 0) fmt::print(", timeouts end by {:.0f} ms", median(timeout_ms));
    fmt::print("\n");
  }
  for (const auto& [a, rate_a] : best) {
    for (const auto& [b, rate_b] : best) {
      if (a != b && rate_b > 0 && (a == "dns" || (a == "system" && b == "gai-pool"))) {
        fmt::print("best {} / best {} = {:.2f}x names/s\n", a, b, rate_a / rate_b);
      }
    }
  }
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << json_report(runs, names_file, dns_setup);
    if (!out) {
      fmt::print(stderr, "bench_resolve: cannot write '{}'\n", json_path);
      return 1;
    }
  }
  size_t bad = 0;
  for (const auto& r : runs) bad += r.mismatches;
  return bad == 0 ? 0 : 1;
}
