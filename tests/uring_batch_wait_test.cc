// The io_uring back end's batch-wait policy: how many completions each wait asks for and
// how long it may hold a finished one (echo/uring_batch_wait.h).

#include "echo/uring_batch_wait.h"

#include <gtest/gtest.h>

namespace {

using namespace ub::echo::uring_echo;
using std::chrono::microseconds;

BatchWaitSettings settings() {
  BatchWaitSettings s;
  s.batch = 64;
  s.hold_share = 8;
  s.hold_us = 100;
  s.min_wait_supported = true;
  s.max_wait_nr = 16384;
  return s;
}

TEST(BatchWait, FewOfManyAsksForAsManyAgain) {
  // 10 receives of 1,000 connections: at most 1/8 of them, so hold for 10 again.
  EXPECT_EQ(batch_target(settings(), 10, 1000), 10u);
  EXPECT_EQ(batch_target(settings(), 125, 1000), 125u > 64u ? 64u : 125u);  // capped at batch
}

TEST(BatchWait, ManyOfFewAsksForHalf) {
  // 20 receives of 20 connections: holding would starve them; ask for half.
  EXPECT_EQ(batch_target(settings(), 20, 20), 10u);
  EXPECT_EQ(batch_target(settings(), 3, 20), 1u);
}

TEST(BatchWait, TargetStaysWithinOneAndBatch) {
  EXPECT_EQ(batch_target(settings(), 0, 1000), 1u);
  EXPECT_EQ(batch_target(settings(), 1000, 100000), 64u);
  auto s = settings();
  s.batch = 0;  // treated as 1
  EXPECT_EQ(batch_target(s, 50, 1000), 1u);
}

TEST(BatchWait, HoldShareZeroAlwaysHalves) {
  auto s = settings();
  s.hold_share = 0;
  EXPECT_EQ(batch_target(s, 10, 1000), 5u);
}

TEST(BatchWait, BatchOfOneIsAPlainWait) {
  const BatchWait w = next_wait(settings(), 1, 1000, /*sends_queued=*/5, false);
  EXPECT_EQ(w.wait_nr, 1u);
  EXPECT_EQ(w.min_wait, microseconds(0));
  EXPECT_EQ(w.timeout.count(), 0);
}

TEST(BatchWait, HoldsForTheSendsAndTheBatch) {
  const BatchWait w = next_wait(settings(), 10, 1000, 7, false);
  EXPECT_EQ(w.wait_nr, 17u);
  EXPECT_EQ(w.min_wait, microseconds(100));
  EXPECT_EQ(w.timeout.count(), 0);
}

TEST(BatchWait, NeverAsksForMoreThanTheCqHolds) {
  auto s = settings();
  s.max_wait_nr = 12;
  EXPECT_EQ(next_wait(s, 10, 1000, 7, false).wait_nr, 12u);
}

TEST(BatchWait, NoHoldWithoutKernelSupportOrWhenDisabled) {
  auto s = settings();
  s.min_wait_supported = false;
  EXPECT_EQ(next_wait(s, 10, 1000, 7, false).wait_nr, 1u);
  s = settings();
  s.hold_us = 0;
  const BatchWait w = next_wait(s, 10, 1000, 7, false);
  EXPECT_EQ(w.wait_nr, 1u);
  EXPECT_EQ(w.min_wait, microseconds(0));
}

TEST(BatchWait, StoppingPollsWithATimeout) {
  const BatchWait w = next_wait(settings(), 10, 1000, 7, true);
  EXPECT_EQ(w.wait_nr, 1u);
  EXPECT_EQ(w.min_wait, microseconds(0));
  EXPECT_EQ(w.timeout, kStopPoll);
}

}  // namespace
