#pragma once
// io_uring set-up shared by the io_uring server back end and the io_uring client engine:
// a ring with the best task-running mode this kernel accepts, and a provided-buffer ring
// hand-rolled for liburing 2.3 (which lacks io_uring_setup_buf_ring).

#include <liburing.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

namespace ub::uring {

// uapi constants newer than liburing 2.3's headers. Use them only where the kernel says it
// has them: the io_uring_params.features bits after set-up (probe_uring() records them).
inline constexpr unsigned kRecvSendBundle = 1U << 4;       // IORING_RECVSEND_BUNDLE, 6.10
inline constexpr unsigned kFeatRecvSendBundle = 1U << 14;  // IORING_FEAT_RECVSEND_BUNDLE, 6.10
inline constexpr unsigned kFeatMinTimeout = 1U << 15;      // IORING_FEAT_MIN_TIMEOUT, 6.12
inline constexpr uint16_t kPbufRingInc = 2;                 // IOU_PBUF_RING_INC, 6.12
inline constexpr unsigned kCqeBufMore = 1U << 4;            // IORING_CQE_F_BUF_MORE, 6.12

// A multishot IORING_OP_RECV's total byte cap (6.17): sqe->optlen, which shares its place
// with file_index in liburing 2.3's struct. The receive ends (no IORING_CQE_F_MORE) once it
// has taken that many bytes; older kernels reject a nonzero value with -EINVAL.
inline void set_recv_multishot_limit(io_uring_sqe* sqe, uint32_t bytes) { sqe->file_index = bytes; }

// How to set a ring up. The defaults are what Ring::init(entries, cq_entries) does.
struct RingSetup {
  unsigned entries = 64;
  unsigned cq_entries = 0;       // 0: the kernel default (twice `entries`)
  bool defer_taskrun = true;     // try SINGLE_ISSUER|DEFER_TASKRUN first
  bool register_ring_fd = true;  // io_uring_register_ring_fd (5.18)
  bool sqpoll = false;           // a kernel thread polls the SQ (no DEFER/COOP_TASKRUN with it)
  unsigned sq_thread_idle_ms = 0;
};

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
  std::error_code init(const RingSetup& setup);
  io_uring* get() { return &ring_; }
  bool ready() const { return ready_; }
  unsigned setup_flags() const { return setup_flags_; }  // the flags that won
  std::string setup_flags_text() const;                  // "SINGLE_ISSUER|DEFER_TASKRUN"
  unsigned features() const { return features_; }        // io_uring_params.features
  bool ring_fd_registered() const { return ring_fd_registered_; }

  // An SQE, submitting what is queued first if the SQ is full (with SQPOLL, waiting for
  // the kernel's thread to take entries). Null only if a submit without SQPOLL failed.
  io_uring_sqe* sqe();

  // Submits everything queued and waits in the same io_uring_enter until `wait_nr`
  // completions are ready. `min_wait` (kernel 6.12, kFeatMinTimeout; else ignored): once it
  // has passed, any completion at all ends the wait, so a batch never holds a lone
  // completion longer than that. `timeout` (zero: none) bounds the whole wait. Returns what
  // io_uring_enter returns (-ETIME on timeout, -EINTR: retry).
  int submit_and_wait(unsigned wait_nr, std::chrono::microseconds min_wait,
                      std::chrono::nanoseconds timeout);

 private:
  io_uring ring_{};
  bool ready_ = false;
  bool ring_fd_registered_ = false;
  unsigned setup_flags_ = 0;
  unsigned features_ = 0;
};

// A provided-buffer ring: `count` buffers of `size` bytes under buffer group `group_id`.
// The kernel picks a buffer per receive; the owner hands each back with recycle() after
// use and publishes the returns with commit(). With `track_order`, the ring remembers which
// buffer sits at which ring slot: a bundle receive reports only its first buffer and takes
// the following ones in ring order (position_of(), piece_at()). With `incremental` (6.12,
// IOU_PBUF_RING_INC) a receive takes only the bytes it fills from the buffer at the head:
// the next receive continues in the same buffer, and a completion flagged kCqeBufMore says
// the kernel is not done with that buffer yet.
class BufferRing {
 public:
  BufferRing() = default;
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;
  ~BufferRing();

  // `count` must be a power of two (at most 32768).
  std::error_code init(Ring& ring, uint16_t group_id, unsigned count, size_t size,
                       bool track_order = false, bool incremental = false);
  std::byte* buffer(unsigned id) { return storage_ + static_cast<size_t>(id) * size_; }
  size_t buffer_size() const { return size_; }
  unsigned count() const { return count_; }
  uint16_t group_id() const { return group_id_; }

  void recycle(unsigned id) {
    if (!log_.empty()) log_recycle(id);
    io_uring_buf_ring_add(ring_, buffer(id), static_cast<unsigned>(size_),
                          static_cast<unsigned short>(id), mask_, pending_++);
    ++written_;
  }

  // A bundle receive takes buffers in ring order from its first one, each filled to the
  // length of its ring entry. That is not always buffer_size(): a receive capped by its
  // length trims the entry in place, and the entry stays trimmed if that receive then found
  // nothing to read. (track_order only.)
  struct Piece {
    unsigned id;
    size_t length;
  };
  // The ring position buffer `id` was last added at. Read it before recycling `id` again.
  uint32_t position_of(unsigned id) const { return pos_of_[id]; }
  // The buffer at ring position `pos` and the length the kernel gave it.
  Piece piece_at(uint32_t pos) const {
    if (written_ - pos <= count_) {  // the ring slot still holds this position's entry
      const io_uring_buf& e = ring_->bufs[pos & static_cast<unsigned>(mask_)];
      return {e.bid, e.len};
    }
    const Logged& l = log_[pos & (log_.size() - 1)];
    return {l.id, l.length};
  }
  void commit() {
    if (pending_ == 0) return;
    io_uring_buf_ring_advance(ring_, pending_);
    pending_ = 0;
  }

 private:
  std::error_code map_storage();

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
  // track_order: completions do not always arrive in the order the kernel took buffers
  // (a request's last completion is posted after the multishot ones of its batch), so by
  // the time a bundle's completion is read its ring slots may hold newer entries. Each
  // entry is logged by position before its slot is reused; 2 x count positions are kept,
  // more than one io_uring_enter can take.
  struct Logged {
    uint16_t id;
    uint32_t length;
  };
  void log_recycle(unsigned id) {
    const size_t log_mask = log_.size() - 1;
    // The entry this slot held, count positions back, was taken: its length is final.
    // (During init() that entry is garbage, logged at a position nobody asks about.)
    log_[(written_ - count_) & log_mask].length =
        ring_->bufs[written_ & static_cast<unsigned>(mask_)].len;
    log_[written_ & log_mask] = {static_cast<uint16_t>(id), static_cast<uint32_t>(size_)};
    pos_of_[id] = written_;
  }
  uint32_t written_ = 0;          // ring positions filled so far
  std::vector<uint32_t> pos_of_;  // track_order: buffer id -> position it was added at
  std::vector<Logged> log_;       // track_order: position -> entry, 2 x count positions
};

}  // namespace ub::uring
