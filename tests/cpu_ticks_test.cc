// lib/common/cpu_ticks: per-CPU busy time from /proc/stat, and the check that catches
// inflated thread CPU clocks.

#include "common/cpu_ticks.h"

#include <gtest/gtest.h>

#include <chrono>

namespace ub {
namespace {

using namespace std::chrono_literals;

// user nice system idle iowait irq softirq steal guest guest_nice
constexpr std::string_view kStat =
    "cpu  300 10 200 5000 40 5 60 7 0 0\n"
    "cpu0 100 0 50 2500 20 2 30 3 0 0\n"
    "cpu1 200 10 150 2500 20 3 30 4 0 0\n"
    "intr 12345 0 0\n"
    "ctxt 999\n";

TEST(CpuTicks, BusyIsUserNiceSystemIrqSoftirqOfTheChosenCpus) {
  // cpu0: 100 + 0 + 50 + 2 + 30 = 182 ticks; idle, iowait and steal are not busy.
  EXPECT_EQ(parse_cpus_busy(kStat, {0}, 100), 1820ms);
  EXPECT_EQ(parse_cpus_busy(kStat, {1}, 100), std::chrono::milliseconds(10 * (200 + 10 + 150 + 3 + 30)));
  EXPECT_EQ(parse_cpus_busy(kStat, {0, 1}, 100), std::chrono::milliseconds(10 * (182 + 393)));
  EXPECT_EQ(parse_cpus_busy(kStat, {}, 100), std::chrono::milliseconds(10 * (300 + 10 + 200 + 5 + 60)));
}

TEST(CpuTicks, AMissingCpuOrAMalformedLineIsNoFigure) {
  EXPECT_FALSE(parse_cpus_busy(kStat, {2}, 100));
  EXPECT_FALSE(parse_cpus_busy(kStat, {0, 7}, 100));
  EXPECT_FALSE(parse_cpus_busy("cpu0 1 2 x\n", {0}, 100));
  EXPECT_FALSE(parse_cpus_busy("", {0}, 100));
  EXPECT_FALSE(parse_cpus_busy(kStat, {0}, 0));
}

TEST(CpuTicks, ThisMachinesStatHasEveryCpuItCanRunOn) {
  auto all = cpus_busy_time({});
  ASSERT_TRUE(all);
  auto first = cpus_busy_time({0});
  ASSERT_TRUE(first);
  EXPECT_LE(*first, *all);
}

TEST(CpuTicks, PlausibleThreadClocksAreKept) {
  const auto f = checked_cpu_figure(950ms, 990ms, 1s, 1);
  ASSERT_TRUE(f.cpu);
  EXPECT_EQ(*f.cpu, 950ms);
  EXPECT_FALSE(f.clocks_inflated);
  EXPECT_FALSE(f.from_ticks);
  // Two CPUs may give up to two CPU-seconds per second.
  EXPECT_FALSE(checked_cpu_figure(1900ms, std::nullopt, 1s, 2).clocks_inflated);
}

TEST(CpuTicks, InflatedThreadClocksFallBackToTicksOrToNothing) {
  // 14 CPU-s in a 1 s window on one CPU (what the blocking back end's 10,000 threads read).
  auto f = checked_cpu_figure(14s, 980ms, 1s, 1);
  ASSERT_TRUE(f.cpu);
  EXPECT_EQ(*f.cpu, 980ms);
  EXPECT_TRUE(f.clocks_inflated);
  EXPECT_TRUE(f.from_ticks);
  f = checked_cpu_figure(14s, std::nullopt, 1s, 1);
  EXPECT_FALSE(f.cpu);
  EXPECT_TRUE(f.clocks_inflated);
}

}  // namespace
}  // namespace ub
