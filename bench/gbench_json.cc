#include "gbench_json.h"

#include <cmath>

#include "common/machine_info.h"

namespace ub::bench {

double rounded(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

Json machine_context(std::string_view executable) {
  const auto m = machine_info();
  Json loads = Json::array();
  for (double l : m.load_avg) loads.push_back(rounded(l, 2));
  return {
      {"date", m.date},
      {"host_name", m.host_name},
      {"executable", executable},
      {"num_cpus", m.num_cpus},
      {"mhz_per_cpu", std::llround(m.mhz_per_cpu)},
      // A string, as every committed result has it (scripts/report prints it as written).
      {"cpu_scaling_enabled", "false"},
      {"caches", Json::array()},
      {"load_avg", std::move(loads)},
      {"library_build_type", m.build_type.rfind("release", 0) == 0 ? "release" : "debug"},
      {"build_type", m.build_type},
      {"git_revision", m.git_revision},
      {"kernel", m.kernel},
      {"cpu_model", m.cpu_model},
      {"liburing_version", m.liburing_version},
  };
}

GbenchJson::GbenchJson(Json context)
    : doc_{{"context", std::move(context)}, {"benchmarks", Json::array()}} {}

Json& GbenchJson::add(const GbenchRun& run) {
  const int family = families_.emplace(run.name, static_cast<int>(families_.size())).first->second;
  Json entry = {
      {"name", run.name},     {"family_index", family},  {"per_family_instance_index", 0},
      {"run_name", run.name}, {"run_type", "iteration"},
  };
  if (run.repetitions) entry["repetitions"] = *run.repetitions;
  entry["repetition_index"] = run.repetition_index;
  entry["threads"] = run.threads;
  entry["iterations"] = run.iterations;
  for (const auto& [key, value] : run.before_times.items()) entry[key] = value;
  entry["real_time"] = rounded(run.real_time_ns, 3);
  entry["cpu_time"] = rounded(run.cpu_time_ns, 3);
  entry["time_unit"] = "ns";
  auto& benchmarks = doc_["benchmarks"];
  benchmarks.push_back(std::move(entry));
  return benchmarks.back();
}

std::string GbenchJson::text() const {
  return doc_.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace ub::bench
