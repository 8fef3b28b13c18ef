#pragma once
// A PM QoS request on /dev/cpu_dma_latency: while the request is held, cpuidle keeps every
// CPU out of idle states whose exit latency exceeds the requested bound; 0 leaves only the
// polling state, so an idle CPU spins instead of halting. The kernel drops the request when
// its file descriptor closes, so the machine is back to normal when the holder (or the
// process) ends. This is how latency tools (cyclictest, tuned's latency-performance profile)
// keep wake-ups cheap: on a VM whose idle state is a halt that exits to the host (this
// project's test machines: cpuidle-haltpoll with guest_halt_poll_ns=0), every idle->wake
// costs ~25 µs, which caps one ping-pong connection near 17k round trips/s whatever the
// server does. Opt-in only: polling idle CPUs burn host CPU.

#include <string>

#include "common/result.h"
#include "net/unique_fd.h"

namespace ub {

class CpuLatencyRequest {
 public:
  CpuLatencyRequest() = default;  // holds nothing

  // Requests idle-exit latency <= `max_us` µs for every CPU. Needs write access to
  // /dev/cpu_dma_latency (root).
  static Result<CpuLatencyRequest> hold(int max_us);

  bool held() const { return fd_.valid(); }
  int max_us() const { return max_us_; }
  // "cpu_dma_latency <= 0 us (idle CPUs poll)", or "default idle states" when none is held.
  std::string describe() const;

 private:
  net::UniqueFd fd_;
  int max_us_ = -1;
};

// The idle states this machine offers ("POLL 0us, haltpoll idle 1us"), from
// /sys/devices/system/cpu/cpu0/cpuidle; "unknown" when cpuidle is absent.
std::string cpu_idle_states();

}  // namespace ub
