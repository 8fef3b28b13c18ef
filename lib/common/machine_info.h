#pragma once
// What a result file records about where it was measured, so any figure can be traced to
// its machine, kernel, build and revision.

#include <string>
#include <vector>

namespace ub {

struct MachineInfo {
  std::string host_name;
  std::string kernel;       // uname -r
  std::string cpu_model;    // /proc/cpuinfo "model name"
  int num_cpus = 0;
  double mhz_per_cpu = 0;
  std::vector<double> load_avg;
  std::string liburing_version;  // "" when built without liburing
  std::string build_type;        // meson buildtype (+ sanitizers)
  std::string git_revision;      // git describe --always --dirty at build time
  std::string date;              // ISO 8601, local time
};

MachineInfo machine_info();

}  // namespace ub
