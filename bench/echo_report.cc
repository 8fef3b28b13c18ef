#include "echo_report.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <tuple>

#include "echo/backend.h"

namespace ub::bench {
namespace {

double us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

constexpr double kPercentiles[] = {50, 90, 99, 99.9, 99.99};

void print_header(std::FILE* out) {
  fmt::print(out,
             "{:<9} {:>7} {:>6} {:>4} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} "
             "{:>7}\n",
             "backend", "clients", "size", "rep", "RT/s", "MB/s", "p50us", "p90us", "p99us",
             "p99.9us", "p99.99us", "max_us", "srv_us/rt", "cli_us/rt", "errors");
}

}  // namespace

std::string RunRecord::name() const {
  return fmt::format("echo/{}/clients:{}/size:{}", backend, clients, size);
}
double RunRecord::seconds() const { return std::chrono::duration<double>(load.elapsed).count(); }
double RunRecord::rt_per_s() const {
  return seconds() > 0 ? static_cast<double>(load.round_trips) / seconds() : 0;
}
double RunRecord::mb_per_s() const {
  return seconds() > 0 ? static_cast<double>(load.bytes_received) / 1e6 / seconds() : 0;
}
std::optional<double> RunRecord::server_us_per_echo() const {
  if (!server_cpu || load.round_trips == 0) return std::nullopt;
  return static_cast<double>(server_cpu->count()) / 1000.0 / static_cast<double>(load.round_trips);
}
double RunRecord::client_us_per_rt() const {
  if (load.round_trips == 0) return 0;
  return static_cast<double>(load.client_cpu.count()) / 1000.0 /
         static_cast<double>(load.round_trips);
}
double RunRecord::client_busy() const {
  const double wall = static_cast<double>(load.elapsed.count()) * client_threads;
  return wall > 0 ? static_cast<double>(load.client_cpu.count()) / wall : 0;
}

void print_table(std::FILE* out, const std::vector<RunRecord>& runs) {
  print_header(out);
  for (const auto& r : runs) {
    const auto& h = r.load.rtt;
    const auto srv = r.server_us_per_echo();
    // Stream mode measures throughput only: no latency columns.
    auto lat = [&](double p) {
      if (r.model == load::LoadModel::kStream) return std::string("-");
      return fmt::format("{:.1f}", us(p >= 100 ? h.max() : h.percentile(p)));
    };
    fmt::print(out,
               "{:<9} {:>7} {:>6} {:>4} {:>10.0f} {:>8.2f} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} "
               "{:>9} {:>9.2f} {:>7}\n",
               r.backend, r.clients, r.size, r.repetition + 1, r.rt_per_s(), r.mb_per_s(), lat(50),
               lat(90), lat(99), lat(99.9), lat(99.99), lat(100),
               srv ? fmt::format("{:.2f}", *srv) : "n/a", r.client_us_per_rt(),
               r.load.errors.total());
    if (r.model == load::LoadModel::kOpen) {
      const auto& c = r.load.rtt_scheduled;
      fmt::print(out,
                 "{:<9} {:>7} {:>6} {:>4} {:>10} {:>8} {:>8.1f} {:>8.1f} {:>8.1f} {:>8.1f} "
                 "{:>8.1f} {:>8.1f}   (corrected: from the scheduled send)\n",
                 "", "", "", "", "", "", us(c.percentile(50)), us(c.percentile(90)),
                 us(c.percentile(99)), us(c.percentile(99.9)), us(c.percentile(99.99)),
                 us(c.max()));
    }
  }
  // Medians over repetitions, per back end x clients x size.
  std::map<std::tuple<int, size_t, std::string>, std::vector<const RunRecord*>> groups;
  bool repeated = false;
  for (const auto& r : runs) {
    groups[{r.clients, r.size, r.backend}].push_back(&r);
    repeated |= r.repetitions > 1;
  }
  if (!repeated) return;
  fmt::print(out, "\nmedians over repetitions (RT/s min-max in brackets):\n");
  fmt::print(out, "{:<9} {:>7} {:>6} {:>10} {:>21} {:>8} {:>8} {:>9} {:>9} {:>7}\n", "backend",
             "clients", "size", "RT/s", "[min-max]", "p50us", "p99us", "srv_us/rt", "cli_us/rt",
             "errors");
  for (const auto& [key, group] : groups) {
    std::vector<double> rts, p50, p99, srv, cli;
    uint64_t errors = 0;
    for (const auto* r : group) {
      rts.push_back(r->rt_per_s());
      p50.push_back(us(r->load.rtt.percentile(50)));
      p99.push_back(us(r->load.rtt.percentile(99)));
      if (auto s = r->server_us_per_echo()) srv.push_back(*s);
      cli.push_back(r->client_us_per_rt());
      errors += r->load.errors.total();
    }
    const auto [lo, hi] = std::minmax_element(rts.begin(), rts.end());
    fmt::print(out, "{:<9} {:>7} {:>6} {:>10.0f} {:>21} {:>8.1f} {:>8.1f} {:>9} {:>9.2f} {:>7}\n",
               std::get<2>(key), std::get<0>(key), std::get<1>(key), median(rts),
               fmt::format("[{:.0f}-{:.0f}]", *lo, *hi), median(p50), median(p99),
               srv.empty() ? "n/a" : fmt::format("{:.2f}", median(srv)), median(cli), errors);
  }
}

std::string to_json(const Context& context, const std::vector<RunRecord>& runs) {
  GbenchJson doc(context);
  for (const auto& r : runs) {
    const auto& h = r.load.rtt;
    // real_time: wall ns per round trip (inverse throughput); cpu_time: server CPU ns per
    // echo when known, else client CPU ns per round trip. compare.py diffs both.
    const auto srv = r.server_us_per_echo();
    GbenchRun run;
    run.name = r.name();
    run.repetitions = r.repetitions;
    run.repetition_index = r.repetition;
    run.threads = r.client_threads;
    run.iterations = r.load.round_trips;
    run.real_time_ns = r.load.round_trips ? static_cast<double>(r.load.elapsed.count()) /
                                                static_cast<double>(r.load.round_trips)
                                          : 0;
    run.cpu_time_ns = (srv ? *srv : r.client_us_per_rt()) * 1000.0;
    Json& b = doc.add(run);
    b["backend"] = r.backend;
    b["clients"] = r.clients;
    b["size"] = r.size;
    if (!r.backend_options.empty()) b["backend_options"] = r.backend_options;
    b["load_model"] = std::string(load::to_string(r.model));
    b["client_engine"] = r.load.engine;
    b["rt_per_s"] = rounded(r.rt_per_s(), 1);
    b["mb_per_s"] = rounded(r.mb_per_s(), 3);
    b["seconds"] = rounded(r.seconds(), 6);
    for (double p : kPercentiles) b[fmt::format("p{}_us", p)] = rounded(us(h.percentile(p)), 3);
    b["max_us"] = rounded(us(h.max()), 3);
    b["mean_us"] = rounded(h.mean() / 1000.0, 3);
    if (r.model == load::LoadModel::kOpen) {
      const auto& c = r.load.rtt_scheduled;
      for (double p : kPercentiles) {
        b[fmt::format("corrected_p{}_us", p)] = rounded(us(c.percentile(p)), 3);
      }
      b["corrected_max_us"] = rounded(us(c.max()), 3);
    }
    if (srv) b["server_cpu_us_per_echo"] = rounded(*srv, 4);
    if (r.server_cpu) {
      b["server_cpu_source"] = r.server_cpu_from_ticks ? "cpu busy ticks" : "thread cpu clocks";
    }
    if (r.server_thread_clocks_rejected) {
      b["server_thread_clocks_rejected_s"] =
          rounded(std::chrono::duration<double>(*r.server_thread_clocks_rejected).count(), 3);
    }
    b["client_cpu_us_per_rt"] = rounded(r.client_us_per_rt(), 4);
    b["client_busy"] = rounded(r.client_busy(), 4);
    b["client_ctx_switches_per_rt"] =
        rounded(r.load.round_trips ? static_cast<double>(r.load.client_context_switches) /
                                         static_cast<double>(r.load.round_trips)
                                   : 0.0,
                4);
    const auto& e = r.load.errors;
    b["errors"] = e.total();
    b["errors_connect"] = e.connect_failures;
    b["errors_mismatch"] = e.mismatches;
    b["errors_reset"] = e.resets;
    b["errors_early_eof"] = e.early_eofs;
    b["errors_late"] = e.late_replies;
    b["errors_other"] = e.other;
  }
  return doc.text();
}

std::string write_file(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) return fmt::format("cannot write {}: {}", path, std::strerror(errno));
  file << text;
  file.close();
  if (!file) return fmt::format("cannot write {}: {}", path, std::strerror(errno));
  return "";
}

void print_banner(const Options& o, const Plan& plan, const CpuLatencyRequest& idle) {
  fmt::print(
      "bench_echo: {} loop{}, {} x {} s window after {} warm-up; server CPUs {}, client "
      "CPUs {} ({} client thread{}); {}; every echoed byte verified\n",
      load::to_string(plan.load.model),
      plan.load.model == load::LoadModel::kClosed
          ? fmt::format(" (pipeline {})", plan.load.pipeline)
      : plan.load.model == load::LoadModel::kOpen ? fmt::format(" at {:.0f} RT/s", plan.load.rate)
                                                  : "",
      o.repetitions, std::chrono::duration<double>(plan.load.duration).count(), o.warmup,
      cpu_list_text(plan.server_cpus), cpu_list_text(plan.client_cpus), plan.load.threads,
      plan.load.threads == 1 ? "" : "s", idle.describe());
  std::fflush(stdout);
}

void print_results(const std::vector<RunRecord>& runs, const std::string& engine_used) {
  print_table(stdout, runs);
  fmt::print(
      "client engine {}; latency is round-trip time (send to complete echo); "
      "srv_us/rt = server CPU per echo, cli_us/rt = client CPU per round trip\n",
      engine_used);
  std::fflush(stdout);  // the table before the warnings when both go to one file
}

void print_warnings(const Plan& plan, const std::vector<RunRecord>& runs) {
  for (const auto& r : runs) {
    if (r.server_thread_clocks_rejected) {
      fmt::print(
          stderr,
          "warning: {} clients:{} size:{} rep {}: the server's thread CPU clocks read {:.1f} "
          "CPU-s in a {:.1f} s window on {} CPU(s), more than the CPUs could give (the "
          "kernel's per-thread accounting inflates with thousands of switching threads); "
          "srv_us/rt {}\n",
          r.backend, r.clients, r.size, r.repetition + 1,
          std::chrono::duration<double>(*r.server_thread_clocks_rejected).count(), r.seconds(),
          plan.server_cpus.size(),
          r.server_cpu_from_ticks ? "is from the server CPUs' busy ticks in /proc/stat instead"
                                  : "is not reported");
    }
    if (r.client_busy() > 0.9 && r.model != load::LoadModel::kStream) {
      fmt::print(stderr,
                 "warning: {} clients:{} size:{} rep {}: the client was busy {:.0f}% of the "
                 "window: the client, not the server, may have set the pace\n",
                 r.backend, r.clients, r.size, r.repetition + 1, 100 * r.client_busy());
    }
  }
}

Context make_context(const Options& o, const Plan& plan, const std::string& engine_used,
                     const CpuLatencyRequest& idle) {
  Context context = machine_context("bench_echo");
  context["server_cpus"] = cpu_list_text(plan.server_cpus);
  context["client_cpus"] = cpu_list_text(plan.client_cpus);
  context["client_threads"] = plan.load.threads;
  context["client_engine"] = engine_used;
  context["load_model"] = std::string(load::to_string(plan.load.model));
  context["pipeline"] = plan.load.pipeline;
  // A whole rate as an integer, as it was typed.
  const double rate = plan.load.rate;
  if (rate == std::floor(rate) && std::fabs(rate) < 1e15) {
    context["rate"] = static_cast<int64_t>(rate);
  } else {
    context["rate"] = rate;
  }
  context["duration"] = o.duration;
  context["warmup"] = o.warmup;
  context["server"] =
      plan.external ? "external " + plan.external->to_string() : "server mode " + plan.server_mode;
  context["cpu_idle"] = idle.describe();
  context["cpu_idle_states"] = cpu_idle_states();
  // What the machine offers each back end measured (the io_uring probe): "<name>_details".
  for (const auto& name : plan.backends) {
    auto info = echo::backend_info(name);
    if (info && !info->details.empty()) context[name + "_details"] = info->details;
  }
  return context;
}

std::string hgrm_path(const std::string& base, const RunRecord& r, bool many) {
  if (!many) return base;
  const auto dot = base.rfind('.');
  const std::string stem = dot == std::string::npos ? base : base.substr(0, dot);
  return fmt::format("{}.{}.c{}.s{}.r{}.hgrm", stem, r.backend, r.clients, r.size,
                     r.repetition + 1);
}

namespace {

// Whether `path` can be written, without changing what is there; "" or why not.
std::string probe_writable(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) ::unlink(path.c_str());
  }
  if (fd < 0) return fmt::format("cannot write {}: {}", path, std::strerror(errno));
  ::close(fd);
  return "";
}

}  // namespace

std::string check_outputs(const Options& o, const Plan& plan) {
  if (!o.json.empty()) {
    if (auto e = probe_writable(o.json); !e.empty()) return "--json: " + e;
  }
  if (o.hgrm.empty()) return "";
  // The files write_outputs() will name, one per run.
  const auto targets = plan.targets();
  const bool many = static_cast<size_t>(o.repetitions) * plan.clients.size() * plan.sizes.size() *
                        targets.size() >
                    1;
  RunRecord r;
  for (r.repetition = 0; r.repetition < o.repetitions; ++r.repetition) {
    for (auto clients : plan.clients) {
      for (auto size : plan.sizes) {
        for (const auto& backend : targets) {
          r.backend = backend;
          r.clients = static_cast<int>(clients);
          r.size = size;
          if (auto e = probe_writable(hgrm_path(o.hgrm, r, many)); !e.empty())
            return "--hgrm: " + e;
        }
      }
    }
  }
  return "";
}

std::string write_outputs(const Options& o, const Plan& plan, const std::string& engine_used,
                          const CpuLatencyRequest& idle, const std::vector<RunRecord>& runs) {
  if (!o.json.empty()) {
    if (auto e = write_file(o.json, to_json(make_context(o, plan, engine_used, idle), runs));
        !e.empty()) {
      return e;
    }
  }
  if (!o.hgrm.empty()) {
    for (const auto& r : runs) {
      if (auto e = write_file(hgrm_path(o.hgrm, r, runs.size() > 1),
                              r.load.rtt.percentile_distribution());
          !e.empty()) {
        return e;
      }
    }
  }
  return "";
}

int print_failures(const std::vector<RunRecord>& runs) {
  uint64_t errors = 0;
  size_t empty_runs = 0;
  for (const auto& r : runs) {
    errors += r.load.errors.total();
    empty_runs += r.load.round_trips == 0;
  }
  if (empty_runs > 0) {
    fmt::print(stderr, "\n*** {} RUN(S) MEASURED NO ROUND TRIP: nothing above was measured ***\n",
               empty_runs);
    for (const auto& r : runs) {
      if (r.load.round_trips == 0) {
        fmt::print(stderr, "{} clients:{} size:{} rep {}: 0 round trips in {:.3f} s\n", r.backend,
                   r.clients, r.size, r.repetition + 1, r.seconds());
      }
    }
    if (errors == 0) return 1;
  }
  if (errors > 0) {
    fmt::print(stderr, "\n*** {} ERRORS: the figures above are not trustworthy ***\n", errors);
    for (const auto& r : runs) {
      const auto& e = r.load.errors;
      if (e.total() == 0) continue;
      fmt::print(stderr,
                 "{} clients:{} size:{} rep {}: connect {}, mismatch {}, reset {}, early EOF {}, "
                 "late {}, other {}\n",
                 r.backend, r.clients, r.size, r.repetition + 1, e.connect_failures, e.mismatches,
                 e.resets, e.early_eofs, e.late_replies, e.other);
      for (const auto& s : r.load.error_samples) fmt::print(stderr, "  {}\n", s);
    }
    return 1;
  }
  return 0;
}

}  // namespace ub::bench
