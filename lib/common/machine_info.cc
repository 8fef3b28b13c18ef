#include "common/machine_info.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>

#include "ub_config.h"
#include "ub_version.h"

namespace ub {

MachineInfo machine_info() {
  MachineInfo m;
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  m.host_name = host;
  utsname uts{};
  if (::uname(&uts) == 0) m.kernel = uts.release;
  m.num_cpus = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos || colon + 2 > line.size()) continue;
    const auto key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    if (key == "model name" && m.cpu_model.empty()) m.cpu_model = line.substr(colon + 2);
    if (key == "cpu MHz" && m.mhz_per_cpu == 0) m.mhz_per_cpu = std::atof(line.c_str() + colon + 2);
  }
  double loads[3] = {};
  if (::getloadavg(loads, 3) == 3) m.load_avg.assign(loads, loads + 3);
  m.liburing_version = UB_LIBURING_VERSION;
  m.build_type = UB_BUILD_TYPE;
  m.git_revision = UB_GIT_REVISION;
  char date[64] = {};
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&now, &local);
  std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S%z", &local);
  m.date = date;
  return m;
}

}  // namespace ub
