// uring::BufferPool: a provided buffer goes back to the kernel's ring exactly when nothing
// needs its bytes any more: whole buffers when sent; incrementally consumed ones when the
// kernel moved past them and every piece was sent; zero-copy sends after their
// notification. A recorder stands in for the kernel's ring, so no io_uring is needed.

#include "uring/buffer_pool.h"

#include <gtest/gtest.h>

#include <vector>

namespace {

struct RecordingRing {
  std::vector<unsigned> recycled;
  void recycle(unsigned id) { recycled.push_back(id); }
};

using Pool = ub::uring::BufferPool<RecordingRing>;
using Ids = std::vector<unsigned>;
constexpr uint32_t kSize = 4096;

TEST(BufferPool, WholeBufferReturnsWhenSent) {
  RecordingRing ring;
  Pool pool(ring, 4, kSize, /*incremental=*/false, /*zero_copy=*/false);
  EXPECT_EQ(pool.free(), 4u);
  pool.take(2);
  EXPECT_EQ(pool.free(), 3u);
  EXPECT_TRUE(ring.recycled.empty());
  pool.release(2);
  EXPECT_EQ(ring.recycled, Ids{2});
  EXPECT_EQ(pool.free(), 4u);
}

TEST(BufferPool, EmptyReceiveGivesTheBufferStraightBack) {
  RecordingRing ring;
  Pool pool(ring, 4, kSize, false, false);
  pool.put_back_unused(1);
  EXPECT_EQ(ring.recycled, Ids{1});
  EXPECT_EQ(pool.free(), 4u);
}

TEST(BufferPool, ExhaustionAndRecovery) {
  RecordingRing ring;
  Pool pool(ring, 4, kSize, false, false);
  for (uint16_t id = 0; id < 4; ++id) pool.take(id);
  EXPECT_EQ(pool.free(), 0u);  // receives now end with ENOBUFS
  pool.release(3);
  EXPECT_EQ(pool.free(), 1u);
  pool.release(0);
  EXPECT_EQ(ring.recycled, (Ids{3, 0}));
  EXPECT_EQ(pool.free(), 2u);
}

TEST(BufferPool, IncrementalPiecesFollowEachOther) {
  RecordingRing ring;
  Pool pool(ring, 4, kSize, /*incremental=*/true, false);
  EXPECT_EQ(pool.take_piece(1, 100, /*kernel_keeps=*/true), 0u);
  EXPECT_EQ(pool.take_piece(1, 50, true), 100u);
  EXPECT_EQ(pool.take_piece(1, 10, true), 150u);
  // The kernel still fills it: it counts as free, and no piece sent can return it.
  EXPECT_EQ(pool.free(), 4u);
  pool.release(1);
  pool.release(1);
  pool.release(1);
  EXPECT_TRUE(ring.recycled.empty());
}

TEST(BufferPool, IncrementalBufferReturnsWhenKernelDoneAndEveryPieceSent) {
  RecordingRing ring;
  Pool pool(ring, 4, kSize, true, false);
  EXPECT_EQ(pool.take_piece(0, 1000, true), 0u);
  EXPECT_EQ(pool.take_piece(0, 3096, /*kernel_keeps=*/false), 1000u);  // the kernel moved on
  EXPECT_EQ(pool.free(), 3u);
  pool.release(0);  // one piece of two sent
  EXPECT_TRUE(ring.recycled.empty());
  pool.release(0);
  EXPECT_EQ(ring.recycled, Ids{0});
  EXPECT_EQ(pool.free(), 4u);
  // Back in the ring, the next fill starts at the beginning again.
  EXPECT_EQ(pool.take_piece(0, 7, true), 0u);
}

TEST(BufferPool, IncrementalPiecesSentBeforeTheKernelIsDone) {
  RecordingRing ring;
  Pool pool(ring, 2, kSize, true, false);
  pool.take_piece(1, 10, true);
  pool.release(1);  // sent while the kernel still fills the buffer: stays
  EXPECT_TRUE(ring.recycled.empty());
  EXPECT_EQ(pool.take_piece(1, 20, false), 10u);
  pool.release(1);
  EXPECT_EQ(ring.recycled, Ids{1});
}

TEST(BufferPool, ZeroCopyHoldOutlastsTheRelease) {
  RecordingRing ring;
  Pool pool(ring, 4, kSize, false, /*zero_copy=*/true);
  pool.take(3);
  pool.add_zc_hold(3);
  pool.release(3);  // sent as far as the connection knows; the kernel still reads it
  EXPECT_TRUE(ring.recycled.empty());
  EXPECT_EQ(pool.free(), 3u);
  pool.drop_zc_hold(3);  // the notification
  EXPECT_EQ(ring.recycled, Ids{3});
  EXPECT_EQ(pool.free(), 4u);
}

TEST(BufferPool, ZeroCopyNotificationBeforeTheRelease) {
  RecordingRing ring;
  Pool pool(ring, 4, kSize, false, true);
  pool.take(2);
  pool.add_zc_hold(2);
  pool.drop_zc_hold(2);  // notified while the connection still holds bytes of it
  EXPECT_TRUE(ring.recycled.empty());
  pool.release(2);
  EXPECT_EQ(ring.recycled, Ids{2});
}

TEST(BufferPool, TwoZeroCopyHoldsBothCount) {
  RecordingRing ring;
  Pool pool(ring, 4, kSize, true, true);
  pool.take_piece(0, 10, false);
  pool.add_zc_hold(0);
  pool.add_zc_hold(0);
  pool.release(0);
  pool.drop_zc_hold(0);
  EXPECT_TRUE(ring.recycled.empty());
  pool.drop_zc_hold(0);
  EXPECT_EQ(ring.recycled, Ids{0});
}

}  // namespace
