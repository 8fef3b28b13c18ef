#pragma once
// How long the io_uring back end's loop waits, and for how many completions.
//
// Each loop submits every queued SQE and waits in the same io_uring_enter for the sends it
// just queued (they complete inside that enter, and their CQEs count towards wait_nr) plus
// a batch of new completions. With DEFER_TASKRUN the kernel does not even wake the thread
// before the batch is in; the min-wait (IORING_FEAT_MIN_TIMEOUT, 6.12) bounds how long a
// finished completion waits for its batch, so a lone connection is never held back.
//
// The batch asked for is as many receives as the last batch had while they were at most
// 1/hold_share of the ring's connections (holding then costs the peers little: most of
// their requests are elsewhere), else half of them so the batch can shrink to what arrives,
// at most `batch`. With a batch of one it is a plain wait for one completion: a min-wait
// arms an hrtimer per wait, and programming timers costs VM exits. Measurements:
// results/2026-11-25-uring-batch-hold.

#include <algorithm>
#include <chrono>
#include <cstddef>

namespace ub::echo::uring_echo {

struct BatchWaitSettings {
  unsigned batch = 64;              // the largest batch asked for (UringOptions::batch)
  unsigned hold_share = 8;          // UringOptions::batch_hold_share; 0: always half
  unsigned hold_us = 100;           // the min-wait (UringOptions::batch_wait_us); 0: never hold
  bool min_wait_supported = false;  // the kernel has IORING_FEAT_MIN_TIMEOUT
  unsigned max_wait_nr = 16384;     // never ask for more than the CQ can hold
};

struct BatchWait {
  unsigned wait_nr = 1;
  std::chrono::microseconds min_wait{0};  // 0: none
  std::chrono::nanoseconds timeout{0};    // 0: none
};

// While stopping: poll for the last completions, never sleep past this.
inline constexpr std::chrono::milliseconds kStopPoll{10};

// The new completions the next wait asks for, from the last batch's receives.
inline unsigned batch_target(const BatchWaitSettings& s, unsigned last_recvs, size_t connections) {
  const bool few_of_many = s.hold_share > 0 && size_t{last_recvs} * s.hold_share <= connections;
  return std::clamp(few_of_many ? last_recvs : last_recvs / 2, 1u, std::max(s.batch, 1u));
}

// The next wait: `sends_queued` sends go in with this submit.
inline BatchWait next_wait(const BatchWaitSettings& s, unsigned last_recvs, size_t connections,
                           unsigned sends_queued, bool stopping) {
  BatchWait w;
  if (stopping) {
    w.timeout = kStopPoll;
    return w;
  }
  const unsigned target = batch_target(s, last_recvs, connections);
  if (target > 1 && s.hold_us > 0 && s.min_wait_supported) {
    w.wait_nr = std::min(sends_queued + target, s.max_wait_nr);
    w.min_wait = std::chrono::microseconds(s.hold_us);
  }
  return w;
}

}  // namespace ub::echo::uring_echo
