#pragma once
// The io_uring back end's per-connection state: the requests a completion can belong to
// (user_data points at one of these Op objects, never at packed bits) and the queue of
// received bytes waiting to be echoed, as pieces of provided buffers.

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace ub::echo::uring_echo {

inline constexpr unsigned kMaxIov = 8;                 // buffers gathered into one sendmsg
inline constexpr size_t kMaxPiecesHeld = 4 * kMaxIov;  // unsent pieces one connection may hold

enum class OpKind : uint8_t { kAccept, kAcceptRetry, kWake, kRecv, kSend, kZcSend };

struct Connection;

struct Op {
  OpKind kind;
  Connection* conn = nullptr;
};

// A zero-copy send: its result CQE and its notification CQE both carry this op. The buffer
// may be reused only after the notification.
struct ZcOp : Op {
  uint16_t bid = 0;
};

// Unsent bytes [begin, end) of provided buffer `bid`.
struct Chunk {
  uint16_t bid;
  uint32_t begin;
  uint32_t end;
};

// FIFO of chunks: a few inline slots (a busy echo connection rarely holds more than one
// buffer), spilling to the heap when a slow reader queues more.
class ChunkQueue {
 public:
  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }
  Chunk& operator[](size_t i) { return data()[(head_ + i) & (capacity_ - 1)]; }
  Chunk& front() { return (*this)[0]; }
  void pop_front() {
    head_ = (head_ + 1) & (capacity_ - 1);
    --count_;
  }
  void push_back(const Chunk& c) {
    if (count_ == capacity_) grow();
    (*this)[count_++] = c;
  }

 private:
  static constexpr size_t kInline = 4;
  Chunk* data() { return heap_ ? heap_.get() : inline_; }
  void grow() {
    auto bigger = std::make_unique<Chunk[]>(capacity_ * 2);
    for (size_t i = 0; i < count_; ++i) bigger[i] = (*this)[i];
    heap_ = std::move(bigger);
    head_ = 0;
    capacity_ *= 2;
  }
  Chunk inline_[kInline];
  std::unique_ptr<Chunk[]> heap_;
  size_t capacity_ = kInline;
  size_t head_ = 0;
  size_t count_ = 0;
};

struct Connection {
  explicit Connection(int descriptor) : fd(descriptor) {}
  Op recv_op{OpKind::kRecv, this};
  Op send_op{OpKind::kSend, this};
  int fd;            // socket descriptor, or the direct-descriptor slot
  size_t slot = 0;   // in the ring's list of connections
  ChunkQueue queue;  // received, not yet sent
  size_t held = 0;   // bytes in queue
  ZcOp* zc_in_flight = nullptr;
  uint8_t ops = 0;  // requests whose final CQE is still due (recv, send)
  bool recv_armed = false;
  bool send_busy = false;
  bool cancel_sent = false;  // the armed recv is being cancelled (over budget or closing)
  bool starved = false;      // recv ended with ENOBUFS: waits for buffers
  bool peer_done = false;    // EOF read: close once everything is sent
  bool closing = false;
  msghdr msg{};
  iovec iov[kMaxIov];
};

}  // namespace ub::echo::uring_echo
