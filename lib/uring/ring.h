#pragma once
// io_uring set-up shared by the io_uring server back end and the io_uring client engine:
// a ring with the best task-running mode this kernel accepts, and a provided-buffer ring
// hand-rolled for liburing 2.3 (which lacks io_uring_setup_buf_ring).

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>

namespace ub::uring {

// Owns an io_uring. Set-up tries SINGLE_ISSUER|DEFER_TASKRUN (completions run only when
// this thread waits: no IPIs, batched task work; Linux 6.1), then COOP_TASKRUN (5.19),
// then no flags, falling back on -EINVAL as liburing's examples do.
class Ring {
 public:
  Ring() = default;
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring();

  // `cq_entries` 0: the kernel default (twice `entries`).
  std::error_code init(unsigned entries, unsigned cq_entries = 0);
  io_uring* get() { return &ring_; }
  bool ready() const { return ready_; }
  unsigned setup_flags() const { return setup_flags_; }  // the flags that won
  std::string setup_flags_text() const;                  // "SINGLE_ISSUER|DEFER_TASKRUN"
  bool ring_fd_registered() const { return ring_fd_registered_; }

  // An SQE, submitting what is queued first if the SQ is full.
  io_uring_sqe* sqe();

 private:
  io_uring ring_{};
  bool ready_ = false;
  bool ring_fd_registered_ = false;
  unsigned setup_flags_ = 0;
};

// A provided-buffer ring: `count` buffers of `size` bytes under buffer group `group_id`.
// The kernel picks a buffer per receive; the owner hands each back with recycle() after
// use and publishes the returns with commit().
class BufferRing {
 public:
  BufferRing() = default;
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;
  ~BufferRing();

  // `count` must be a power of two (at most 32768).
  std::error_code init(Ring& ring, uint16_t group_id, unsigned count, size_t size);
  std::byte* buffer(unsigned id) { return storage_ + static_cast<size_t>(id) * size_; }
  size_t buffer_size() const { return size_; }
  unsigned count() const { return count_; }
  uint16_t group_id() const { return group_id_; }

  void recycle(unsigned id) {
    io_uring_buf_ring_add(ring_, buffer(id), static_cast<unsigned>(size_),
                          static_cast<unsigned short>(id), mask_, pending_++);
  }
  void commit() {
    if (pending_ == 0) return;
    io_uring_buf_ring_advance(ring_, pending_);
    pending_ = 0;
  }

 private:
  Ring* owner_ = nullptr;
  io_uring_buf_ring* ring_ = nullptr;
  size_t ring_bytes_ = 0;
  std::byte* storage_ = nullptr;
  size_t storage_bytes_ = 0;
  size_t size_ = 0;
  unsigned count_ = 0;
  int mask_ = 0;
  int pending_ = 0;
  uint16_t group_id_ = 0;
};

}  // namespace ub::uring
