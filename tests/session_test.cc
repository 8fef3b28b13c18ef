// lib/load/session: the client's byte-for-byte check of echoes, however they are split; and
// the core's Outbox, which both engines hand to the kernel their own way.

#include "load/session.h"

#include <gtest/gtest.h>

#include "load/worker.h"

namespace ub::load {
namespace {

std::vector<std::byte> queue(Session& s, int messages, int64_t t0 = 100) {
  std::vector<std::byte> out;
  for (int m = 0; m < messages; ++m) s.append_message(out, t0 + m, t0 + m);
  return out;
}

TEST(Session, AcceptsAnExactEchoSplitAnywhere) {
  for (size_t split : {size_t{1}, size_t{3}, size_t{7}, size_t{64}, size_t{100}}) {
    Session s(50, 9);
    const auto sent = queue(s, 4);
    std::vector<int64_t> completed;
    for (size_t at = 0; at < sent.size(); at += split) {
      const size_t n = std::min(split, sent.size() - at);
      ASSERT_TRUE(s.consume(sent.data() + at, n, true,
                            [&](const Timing& t) { completed.push_back(t.sent_ns); }))
          << "split " << split << " at " << at;
    }
    EXPECT_EQ(completed, (std::vector<int64_t>{100, 101, 102, 103})) << "split " << split;
    EXPECT_EQ(s.in_flight(), 0u);
  }
}

TEST(Session, ConsecutiveMessagesDifferSoReorderingIsCaught) {
  Session s(16, 3);
  const auto sent = queue(s, 2);
  ASSERT_EQ(sent.size(), 32u);
  EXPECT_FALSE(std::equal(sent.begin(), sent.begin() + 16, sent.begin() + 16));
  // Deliver message 1 where message 0 belongs.
  EXPECT_FALSE(s.consume(sent.data() + 16, 16, true, [](const Timing&) {}));
  EXPECT_EQ(s.mismatch_at(), 0u);
}

TEST(Session, ReportsTheOffsetOfACorruptedByte) {
  Session s(64, 5);
  auto sent = queue(s, 3);
  sent[100] ^= std::byte{0x40};
  int completed = 0;
  EXPECT_FALSE(s.consume(sent.data(), sent.size(), true, [&](const Timing&) { ++completed; }));
  EXPECT_EQ(s.mismatch_at(), 100u);
  EXPECT_EQ(completed, 1);
}

TEST(Session, RejectsBytesThatWereNeverSent) {
  Session s(8, 1);
  const auto sent = queue(s, 1);
  EXPECT_TRUE(s.consume(sent.data(), sent.size(), true, [](const Timing&) {}));
  EXPECT_FALSE(s.consume(sent.data(), 1, true, [](const Timing&) {}));
}

TEST(Session, TinyMessagesCarryTheSequenceInWhatBytesThereAre) {
  Session s(1, 2);
  const auto sent = queue(s, 3);
  EXPECT_NE(sent[0], sent[1]);
  EXPECT_TRUE(s.consume(sent.data(), 3, true, [](const Timing&) {}));
}

TEST(Session, KeepsTimingsOfManyOutstandingMessages) {
  Session s(10, 4);
  const auto sent = queue(s, 1000, 0);  // grows the timing ring several times
  EXPECT_EQ(s.in_flight(), 1000u);
  int64_t expected = 0;
  bool in_order = true;
  ASSERT_TRUE(s.consume(sent.data(), sent.size(), true,
                        [&](const Timing& t) { in_order &= t.scheduled_ns == expected++; }));
  EXPECT_TRUE(in_order);
  EXPECT_EQ(expected, 1000);
}

// Partial sends (epoll) and whole takes (io_uring) see the same bytes, in order, once.
TEST(Outbox, PartialSendsAndTakesHandOverEveryByteOnce) {
  Session reference(10, 3);
  const auto expected = queue(reference, 3);
  Session s(10, 3);
  Outbox box;
  EXPECT_TRUE(box.empty());
  for (int m = 0; m < 3; ++m) box.append(s, 0, 0);
  ASSERT_EQ(box.pending_bytes(), 30u);
  std::vector<std::byte> handed(box.pending_data(), box.pending_data() + 4);
  box.consume(4);
  EXPECT_EQ(box.pending_bytes(), 26u);
  std::vector<std::byte> taken{std::byte{1}};  // old contents are dropped
  const size_t at = box.take(taken);
  EXPECT_TRUE(box.empty());
  EXPECT_EQ(box.pending_bytes(), 0u);
  handed.insert(handed.end(), taken.begin() + static_cast<ptrdiff_t>(at), taken.end());
  EXPECT_EQ(handed, expected);
  box.append(s, 0, 0);
  box.consume(10);  // all of it: the outbox starts over
  EXPECT_TRUE(box.empty());
}

// Compaction drops only what the kernel took, and only past the threshold.
TEST(Outbox, CompactKeepsThePendingBytes) {
  Session s(10, 4);
  Outbox box;
  for (int m = 0; m < 2; ++m) box.append(s, 0, 0);
  box.consume(15);
  const std::vector<std::byte> pending(box.pending_data(), box.pending_data() + 5);
  box.compact(16);  // under the threshold: nothing moves
  EXPECT_EQ(box.pending_bytes(), 5u);
  box.compact(15);
  ASSERT_EQ(box.pending_bytes(), 5u);
  EXPECT_EQ(std::vector<std::byte>(box.pending_data(), box.pending_data() + 5), pending);
  std::vector<std::byte> taken;
  EXPECT_EQ(box.take(taken), 0u);  // the sent bytes are gone
  EXPECT_EQ(taken, pending);
}

}  // namespace
}  // namespace ub::load
