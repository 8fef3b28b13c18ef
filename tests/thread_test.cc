// ub::Thread records its CPU time when its body returns, so an exited or joined thread
// still reports what it used; the per-tid helpers find and read other threads.

#include "common/thread.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;

void burn(std::chrono::nanoseconds cpu) {
  const auto start = ub::this_thread_cpu_time();
  volatile uint64_t x = 0;
  while (ub::this_thread_cpu_time() - start < cpu) x = x + 1;
}

TEST(Thread, CpuTimeSurvivesExitAndJoin) {
  auto thread = ub::Thread::spawn([] { burn(20ms); }, "ub-test-burn");
  ASSERT_TRUE(thread);
  thread->join();
  EXPECT_FALSE(thread->joinable());
  EXPECT_GE(thread->cpu_time(), 20ms);
  ub::Thread moved = std::move(*thread);
  EXPECT_GE(moved.cpu_time(), 20ms);
}

TEST(Thread, LiveCpuTimeWhileRunning) {
  std::atomic<bool> burned{false};
  std::atomic<bool> release{false};
  auto thread = ub::Thread::spawn(
      [&] {
        burn(10ms);
        burned = true;
        while (!release) std::this_thread::sleep_for(1ms);
      },
      "ub-test-live");
  ASSERT_TRUE(thread);
  while (!burned) std::this_thread::sleep_for(1ms);
  EXPECT_GE(thread->cpu_time(), 10ms);
  release = true;
}

TEST(Thread, NeverStartedReportsZero) {
  ub::Thread none;
  EXPECT_EQ(none.cpu_time().count(), 0);
}

TEST(Thread, FindsAThreadByNameAndReadsItsClock) {
  std::atomic<pid_t> tid{0};
  std::atomic<bool> release{false};
  auto thread = ub::Thread::spawn(
      [&] {
        tid = ub::this_thread_tid();
        burn(5ms);
        while (!release) std::this_thread::sleep_for(1ms);
      },
      "ub-test-named");
  ASSERT_TRUE(thread);
  while (tid == 0) std::this_thread::sleep_for(1ms);
  pid_t found = 0;
  for (int i = 0; i < 1000 && found == 0; ++i) {  // the name is set just after the start
    found = ub::find_thread_by_name("ub-test-named");
    if (found == 0) std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(found, tid.load());
  EXPECT_GT(ub::tid_cpu_time(found).count(), 0);
  EXPECT_EQ(ub::find_thread_by_name("no-such-thread"), 0);
  release = true;
}

}  // namespace
