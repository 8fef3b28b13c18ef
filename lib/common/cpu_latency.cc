#include "common/cpu_latency.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <fstream>
#include <string>

namespace ub {

Result<CpuLatencyRequest> CpuLatencyRequest::hold(int max_us) {
  if (max_us < 0) return std::make_error_code(std::errc::invalid_argument);
  CpuLatencyRequest request;
  request.fd_.reset(::open("/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC));
  if (!request.fd_) return errno_code(errno);
  // The interface takes a binary 32-bit value (an ASCII hex string also works).
  const int32_t value = max_us;
  if (::write(request.fd_.get(), &value, sizeof value) != static_cast<ssize_t>(sizeof value)) {
    return errno_code(errno);
  }
  request.max_us_ = max_us;
  return request;
}

std::string CpuLatencyRequest::describe() const {
  if (!held()) return "default idle states";
  return "cpu_dma_latency <= " + std::to_string(max_us_) + " us" +
         (max_us_ == 0 ? " (idle CPUs poll)" : "");
}

std::string cpu_idle_states() {
  std::string text;
  for (int i = 0;; ++i) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cpuidle/state" + std::to_string(i);
    std::ifstream name_file(dir + "/name");
    std::ifstream latency_file(dir + "/latency");
    std::string name;
    std::string latency;
    if (!std::getline(name_file, name) || !std::getline(latency_file, latency)) break;
    if (!text.empty()) text += ", ";
    text += name + " " + latency + "us";
  }
  return text.empty() ? "unknown" : text;
}

}  // namespace ub
