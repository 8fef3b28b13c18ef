#pragma once
// TokenBucket: at most `rate` tokens per second on average, bursts up to `burst` tokens.
// Internal to lib/resolve (the "dns" engine's --rate). Not thread-safe.

#include <algorithm>
#include <chrono>

namespace ub::resolve::detail {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // rate <= 0: unlimited (take() always succeeds).
  TokenBucket(double rate, double burst, Clock::time_point now)
      : rate_(rate), burst_(std::max(burst, 1.0)), tokens_(std::max(burst, 1.0)), last_(now) {}

  bool unlimited() const { return rate_ <= 0; }

  // Takes `n` tokens if there are that many now (n larger than the burst is taken once the
  // bucket is full, so nothing waits forever).
  bool take(double n, Clock::time_point now) {
    if (unlimited() || n <= 0) return true;
    refill(now);
    const double need = std::min(n, burst_);
    if (tokens_ < need) return false;
    tokens_ -= n;
    return true;
  }

  // When take(n) will next succeed.
  Clock::time_point ready_at(double n, Clock::time_point now) {
    if (unlimited()) return now;
    refill(now);
    const double missing = std::min(n, burst_) - tokens_;
    if (missing <= 0) return now;
    return now + std::chrono::duration_cast<Clock::duration>(
                     std::chrono::duration<double>(missing / rate_));
  }

 private:
  void refill(Clock::time_point now) {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
  }

  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace ub::resolve::detail
