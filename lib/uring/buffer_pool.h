#pragma once
// Who holds each provided buffer, and when it goes back to the kernel's ring.
//
// A buffer leaves the ring when a receive completes into it and returns only when nothing
// needs its bytes any more:
// - whole buffers: when the connection has sent them (release());
// - incrementally consumed buffers (IOU_PBUF_RING_INC): a buffer is shared by the pieces
//   of several receives, so it returns once the kernel has moved past it (a completion
//   without kCqeBufMore) and every piece of it was sent; the next fill starts at offset 0;
// - zero-copy sends: the kernel reads the buffer until the send's notification, so a
//   buffer released before that waits for it (add_zc_hold() / drop_zc_hold()).
// free() counts the buffers the kernel may still hand out (incremental: including the one
// being filled); at 0 receives end with ENOBUFS. Debug builds assert that a buffer is never
// in the ring and held at once.
//
// `Ring` is uring::BufferRing in the server (recycle(id) puts a buffer back), a recorder in
// the unit test.

#include <cassert>
#include <cstdint>
#include <vector>

namespace ub::uring {

template <typename Ring>
class BufferPool {
 public:
  BufferPool(Ring& ring, unsigned count, uint32_t buffer_size, bool incremental, bool zero_copy)
      : ring_(ring), buffer_size_(buffer_size), incremental_(incremental), free_(count) {
    if (incremental) {
      consumed_.assign(count, 0);
      pieces_.assign(count, 0);
      kernel_done_.assign(count, 0);
    }
    if (zero_copy) {
      zc_pending_.assign(count, 0);
      zc_orphaned_.assign(count, 0);
    }
#ifndef NDEBUG
    in_ring_.assign(count, 1);
#endif
  }

  unsigned free() const { return free_; }

  // A receive filled buffer `bid` (whole buffers, bundles): the connection holds it now.
  void take(uint16_t bid) {
    note_taken(bid);
    --free_;
  }

  // A receive that read nothing still took buffer `bid` (whole buffers): straight back.
  void put_back_unused(uint16_t bid) {
    take(bid);
    recycle(bid);
  }

  // Incremental: a receive put `len` bytes into buffer `bid` where the previous piece of it
  // ended; returns that offset. `kernel_keeps`: the completion had kCqeBufMore, the kernel
  // fills more of this buffer. Relies on completions arriving in the order the receives
  // consumed (every receive runs on the ring's thread).
  uint32_t take_piece(uint16_t bid, uint32_t len, bool kernel_keeps) {
    const uint32_t begin = consumed_[bid];
    assert(begin + len <= buffer_size_ && !kernel_done_[bid]);
    consumed_[bid] = begin + len;
    if (!kernel_keeps) {
      take(bid);
      kernel_done_[bid] = 1;
    }
    ++pieces_[bid];
    return begin;
  }

  // A zero-copy send from buffer `bid` is in flight: the buffer stays out of the ring until
  // its notification, whatever release() says meanwhile.
  void add_zc_hold(uint16_t bid) { ++zc_pending_[bid]; }
  void drop_zc_hold(uint16_t bid) {
    if (--zc_pending_[bid] == 0 && zc_orphaned_[bid]) {
      zc_orphaned_[bid] = 0;
      recycle(bid);
    }
  }

  // The connection is done with buffer `bid` (incremental: with one piece of it).
  void release(uint16_t bid) {
    if (incremental_) {
      if (--pieces_[bid] > 0 || !kernel_done_[bid]) return;
      consumed_[bid] = 0;
      kernel_done_[bid] = 0;
    }
    if (!zc_pending_.empty() && zc_pending_[bid] > 0) {
      zc_orphaned_[bid] = 1;
      return;
    }
    recycle(bid);
  }

 private:
  void recycle(uint16_t bid) {
#ifndef NDEBUG
    assert(!in_ring_[bid] && "buffer recycled twice");
    in_ring_[bid] = 1;
#endif
    ring_.recycle(bid);
    ++free_;
  }

  void note_taken([[maybe_unused]] uint16_t bid) {
#ifndef NDEBUG
    assert(in_ring_[bid] && "kernel handed out a buffer we hold");
    in_ring_[bid] = 0;
#endif
  }

  Ring& ring_;
  const uint32_t buffer_size_;
  const bool incremental_;
  unsigned free_;
  std::vector<uint32_t> consumed_;    // incremental, per buffer: bytes the kernel filled
  std::vector<uint32_t> pieces_;      // incremental, per buffer: pieces not yet sent
  std::vector<uint8_t> kernel_done_;  // incremental, per buffer: the kernel moved past it
  std::vector<uint32_t> zc_pending_;  // zero-copy, per buffer: notifications still due
  std::vector<uint8_t> zc_orphaned_;  // zero-copy, per buffer: released, waiting for those
#ifndef NDEBUG
  std::vector<uint8_t> in_ring_;  // per buffer: 1 while the kernel may hand it out
#endif
};

}  // namespace ub::uring
