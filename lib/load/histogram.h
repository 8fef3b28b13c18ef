#pragma once
// Latency histogram in the HdrHistogram style: log-linear buckets holding 3 significant
// decimal digits (relative error < 0.1%) from 1 ns up to 60 s, constant-time record,
// mergeable across threads and runs. Values are nanoseconds.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace ub::load {

class Histogram {
 public:
  static constexpr uint64_t kMaxValue = 60'000'000'000;  // 60 s in ns; above: clamped

  Histogram();

  void record(uint64_t value_ns) {
    if (value_ns > kMaxValue) {
      value_ns = kMaxValue;
      ++clamped_;
    }
    ++counts_[index_of(value_ns)];
    ++total_;
    sum_ += value_ns;
    if (value_ns > max_) max_ = value_ns;
    if (value_ns < min_) min_ = value_ns;
  }
  void record(std::chrono::nanoseconds value) {
    record(static_cast<uint64_t>(value.count() < 0 ? 0 : value.count()));
  }

  void merge(const Histogram& other);
  void reset();

  uint64_t count() const { return total_; }
  uint64_t clamped() const { return clamped_; }
  uint64_t min() const { return total_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return total_ ? static_cast<double>(sum_) / total_ : 0.0; }
  double stddev() const;
  // The value at or below which `percentile` (0..100) of the recorded values fall, reported
  // as the highest value equivalent to its bucket (as HdrHistogram does); 0 when empty.
  uint64_t percentile(double percentile) const;

  // HdrHistogram's percentile-distribution text (the .hgrm format that HdrHistogram's
  // plotter reads), values divided by `unit_ns` (1000: microseconds).
  std::string percentile_distribution(double unit_ns = 1000.0, int ticks_per_half = 5) const;

  // Bucket geometry, exposed for tests: values in one bucket are indistinguishable.
  static size_t index_of(uint64_t value);
  static uint64_t lowest_equivalent(size_t index);
  static uint64_t highest_equivalent(size_t index);

 private:
  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;
  uint64_t clamped_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = UINT64_MAX;
};

}  // namespace ub::load
