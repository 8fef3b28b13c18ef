// lib/load/histogram: 3 significant digits over the whole range, exact percentiles on known
// data, lossless merge, the .hgrm text format.

#include "load/histogram.h"

#include <gtest/gtest.h>

#include <random>
#include <sstream>

namespace ub::load {
namespace {

TEST(Histogram, BucketsHoldThreeSignificantDigitsAcrossTheRange) {
  size_t previous = 0;
  for (uint64_t v = 1; v < Histogram::kMaxValue; v = v * 11 / 10 + 1) {
    const size_t index = Histogram::index_of(v);
    EXPECT_GE(index, previous) << "index not monotonic at " << v;
    previous = index;
    const uint64_t lo = Histogram::lowest_equivalent(index);
    const uint64_t hi = Histogram::highest_equivalent(index);
    ASSERT_LE(lo, v);
    ASSERT_GE(hi, v);
    EXPECT_LE(static_cast<double>(hi - lo), static_cast<double>(v) / 1000.0 + 1.0)
        << "bucket too wide at " << v;
  }
}

TEST(Histogram, PercentilesOfAUniformSequence) {
  Histogram h;
  for (uint64_t v = 1; v <= 100000; ++v) h.record(v * 1000);  // 1 us .. 100 ms
  EXPECT_EQ(h.count(), 100000u);
  for (double p : {1.0, 50.0, 90.0, 99.0, 99.9, 99.99}) {
    const double expected = p / 100.0 * 100000 * 1000;
    EXPECT_NEAR(static_cast<double>(h.percentile(p)), expected, expected * 0.001) << p;
  }
  EXPECT_EQ(h.percentile(100), 100000u * 1000);
  EXPECT_EQ(h.max(), 100000u * 1000);
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_NEAR(h.mean(), 50000.5 * 1000, 1);
  EXPECT_NEAR(h.stddev(), 28867.5 * 1000, 28867.5 * 1000 * 0.001);
}

// The rank is ceil(p% of the count), exactly: p99.9 of 1..1000 is 999, not the maximum
// (floating point put 99.9% of 1000 a hair above 999).
TEST(Histogram, PercentileRanksAreExact) {
  for (uint64_t n : {1000u, 2000u}) {
    Histogram h;
    for (uint64_t v = 1; v <= n; ++v) h.record(v);  // every value its own bucket up to 2047
    EXPECT_EQ(h.percentile(99.9), n - n / 1000) << n;
    EXPECT_EQ(h.percentile(50), n / 2) << n;
    EXPECT_EQ(h.percentile(0), 1u) << n;
    EXPECT_EQ(h.percentile(100), n) << n;
  }
}

TEST(Histogram, MergeEqualsRecordingEverythingInOne) {
  std::mt19937_64 rng(7);
  Histogram a, b, all;
  for (int i = 0; i < 50000; ++i) {
    const uint64_t v = rng() % 10'000'000'000;
    (i % 3 ? a : b).record(v);
    all.record(v);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_EQ(a.min(), all.min());
  for (double p : {10.0, 50.0, 99.0, 99.999}) EXPECT_EQ(a.percentile(p), all.percentile(p)) << p;
}

TEST(Histogram, ClampsValuesAboveSixtySecondsAndCountsThem) {
  Histogram h;
  h.record(uint64_t{120'000'000'000});
  h.record(uint64_t{5});
  EXPECT_EQ(h.clamped(), 1u);
  EXPECT_EQ(h.max(), Histogram::kMaxValue);
  EXPECT_EQ(h.percentile(50), 5u);
}

TEST(Histogram, EmptyHistogramReportsZeros) {
  Histogram h;
  EXPECT_EQ(h.percentile(99), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
}

TEST(Histogram, PercentileDistributionIsHdrHistogramText) {
  Histogram h;
  for (uint64_t v = 1; v <= 1000; ++v) h.record(v * 1000);
  const std::string text = h.percentile_distribution();
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  EXPECT_NE(line.find("Value"), std::string::npos);
  EXPECT_NE(line.find("Percentile"), std::string::npos);
  std::getline(in, line);
  EXPECT_TRUE(line.empty());
  double last_value = -1, last_percentile = -1;
  int rows = 0;
  while (std::getline(in, line) && line[0] != '#') {
    std::istringstream row(line);
    double value = 0, percentile = 0;
    uint64_t count = 0;
    row >> value >> percentile >> count;
    ASSERT_FALSE(row.fail()) << line;
    EXPECT_GE(value, last_value);
    EXPECT_GE(percentile, last_percentile);
    last_value = value;
    last_percentile = percentile;
    ++rows;
  }
  EXPECT_GT(rows, 20);
  EXPECT_DOUBLE_EQ(last_percentile, 1.0);
  EXPECT_NEAR(last_value, 1000.0, 1.0);  // microseconds
  EXPECT_NE(text.find("#[Mean    ="), std::string::npos);
  EXPECT_NE(text.find("Total count    =         1000]"), std::string::npos);
}

}  // namespace
}  // namespace ub::load
