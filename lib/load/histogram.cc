#include "load/histogram.h"

#include <bit>
#include <cmath>
#include <cstdio>

namespace ub::load {
namespace {

// Values below kLinear are exact; above, each power-of-two range [2^k, 2^(k+1)) is split
// into kHalf equal buckets: a relative width of at most 1/1024, i.e. 3 significant digits.
constexpr uint64_t kLinearBits = 11;
constexpr uint64_t kLinear = uint64_t{1} << kLinearBits;  // 2048
constexpr uint64_t kHalf = kLinear / 2;                    // 1024
constexpr size_t kBucketCount =
    kLinear + (64 - std::countl_zero(Histogram::kMaxValue) - kLinearBits) * kHalf;

}  // namespace

Histogram::Histogram() : counts_(kBucketCount, 0) {}

size_t Histogram::index_of(uint64_t value) {
  if (value < kLinear) return static_cast<size_t>(value);
  const int msb = 63 - std::countl_zero(value);
  const int shift = msb - static_cast<int>(kLinearBits - 1);  // >= 1
  const uint64_t sub = value >> shift;                       // in [kHalf, kLinear)
  return static_cast<size_t>(kLinear + static_cast<uint64_t>(shift - 1) * kHalf + (sub - kHalf));
}

uint64_t Histogram::lowest_equivalent(size_t index) {
  if (index < kLinear) return index;
  const uint64_t shift = (index - kLinear) / kHalf + 1;
  const uint64_t sub = (index - kLinear) % kHalf + kHalf;
  return sub << shift;
}

uint64_t Histogram::highest_equivalent(size_t index) {
  if (index < kLinear) return index;
  const uint64_t shift = (index - kLinear) / kHalf + 1;
  return lowest_equivalent(index) + (uint64_t{1} << shift) - 1;
}

void Histogram::merge(const Histogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  total_ += other.total_;
  clamped_ += other.clamped_;
  sum_ += other.sum_;
  if (other.total_) {
    max_ = std::max(max_, other.max_);
    min_ = std::min(min_, other.min_);
  }
}

void Histogram::reset() { *this = Histogram(); }

double Histogram::stddev() const {
  if (total_ == 0) return 0.0;
  const double mu = mean();
  double squares = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] == 0) continue;
    const double mid = (static_cast<double>(lowest_equivalent(i)) +
                        static_cast<double>(highest_equivalent(i))) / 2.0;
    squares += static_cast<double>(counts_[i]) * (mid - mu) * (mid - mu);
  }
  return std::sqrt(squares / static_cast<double>(total_));
}

uint64_t Histogram::percentile(double percentile) const {
  if (total_ == 0) return 0;
  percentile = std::min(std::max(percentile, 0.0), 100.0);
  // The rank, ceil(total * ppm / 1e6), in integers: in doubles 99.9 / 100 * 1000 is a hair
  // over 999 and its ceiling picks the 1000th sample (the maximum) for p99.9 of 1000. Split
  // so the product cannot overflow.
  constexpr uint64_t kMillion = 1'000'000;
  const auto ppm = static_cast<uint64_t>(std::llround(percentile * 1e4));
  auto wanted = total_ / kMillion * ppm + (total_ % kMillion * ppm + kMillion - 1) / kMillion;
  if (wanted == 0) wanted = 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= wanted) return std::min(highest_equivalent(i), max_);
  }
  return max_;
}

std::string Histogram::percentile_distribution(double unit_ns, int ticks_per_half) const {
  std::string out;
  char line[160];
  std::snprintf(line, sizeof(line), "%12s %14s %10s %14s\n\n", "Value", "Percentile",
                "TotalCount", "1/(1-Percentile)");
  out += line;
  // HdrHistogram's iteration: ticks get finer as the percentile approaches 100, halving the
  // step each time the remaining distance to 100 halves.
  double next_percentile = 0.0;
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size() && total_ > 0; ++i) {
    if (counts_[i] == 0) continue;
    seen += counts_[i];
    const double reached = 100.0 * static_cast<double>(seen) / static_cast<double>(total_);
    const double value = static_cast<double>(std::min(highest_equivalent(i), max_)) / unit_ns;
    auto emit = [&](double percentile) {
      const double fraction = percentile / 100.0;
      if (fraction < 1.0) {
        std::snprintf(line, sizeof(line), "%12.3f %2.12f %10llu %14.2f\n", value, fraction,
                      static_cast<unsigned long long>(seen), 1.0 / (1.0 - fraction));
      } else {
        std::snprintf(line, sizeof(line), "%12.3f %2.12f %10llu\n", value, fraction,
                      static_cast<unsigned long long>(seen));
      }
      out += line;
    };
    // In the last bucket the ticks approach 100% geometrically: stop once less than one
    // value is left to the next tick, and close with the 100% line.
    const bool last = seen == total_;
    while (next_percentile <= reached &&
           (!last || (100.0 - next_percentile) * static_cast<double>(total_) >= 100.0)) {
      emit(next_percentile);
      const double halvings = std::floor(std::log2(100.0 / (100.0 - next_percentile))) + 1;
      next_percentile += 100.0 / (ticks_per_half * std::pow(2.0, halvings));
    }
    if (last) emit(100.0);
  }
  std::snprintf(line, sizeof(line), "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n",
                mean() / unit_ns, stddev() / unit_ns);
  out += line;
  std::snprintf(line, sizeof(line), "#[Max     = %12.3f, Total count    = %12llu]\n",
                static_cast<double>(max_) / unit_ns, static_cast<unsigned long long>(total_));
  out += line;
  std::snprintf(line, sizeof(line), "#[Buckets = %12zu, SubBuckets     = %12llu]\n",
                (counts_.size() - kLinear) / kHalf + 1, static_cast<unsigned long long>(kLinear));
  out += line;
  return out;
}

}  // namespace ub::load
