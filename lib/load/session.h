#pragma once
// One client connection's protocol state, independent of the I/O engine: what to send
// next, which timings are outstanding, and byte-for-byte verification of the echo.
//
// Message m of a connection is the connection's random pattern with its first 8 bytes
// XORed with m, so a corrupted, truncated, reordered, duplicated or misrouted echo shows
// up as a mismatch at a known offset.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

namespace ub::load {

struct Timing {
  int64_t scheduled_ns;  // when the message was due (open loop) or sent (closed loop)
  int64_t sent_ns;       // when it was handed to the engine
};

class Session {
 public:
  Session(size_t message_size, uint64_t seed) : pattern_(message_size) {
    std::mt19937_64 rng(seed);
    for (auto& b : pattern_) b = static_cast<std::byte>(rng());
    timings_.resize(8);
  }

  size_t message_size() const { return pattern_.size(); }
  uint64_t in_flight() const { return sent_messages_ - completed_messages_; }
  uint64_t sent_messages() const { return sent_messages_; }
  const Timing& oldest() const { return timings_[head_ & (timings_.size() - 1)]; }

  // Appends the next message to `out`, remembering its timing (unless `track` is false:
  // stream mode has no per-message latency).
  void append_message(std::vector<std::byte>& out, int64_t scheduled_ns, int64_t now_ns,
                      bool track = true) {
    const size_t at = out.size();
    out.insert(out.end(), pattern_.begin(), pattern_.end());
    const uint64_t seq = sent_messages_++;
    for (size_t j = 0; j < kSeqBytes && j < pattern_.size(); ++j) {
      out[at + j] ^= static_cast<std::byte>(seq >> (8 * j));
    }
    if (!track) return;
    if (sent_messages_ - completed_messages_ > timings_.size()) grow_timings();
    timings_[(sent_messages_ - 1) & (timings_.size() - 1)] = {scheduled_ns, now_ns};
  }

  // Checks echoed bytes against what was sent. Calls on_complete(timing) for each message
  // that is now whole (timing is meaningful only for tracked messages). Returns false on
  // a mismatch or on bytes that were never sent; `mismatch_at` then holds the stream offset.
  template <typename OnComplete>
  bool consume(const std::byte* data, size_t n, bool tracked, OnComplete&& on_complete) {
    const size_t size = pattern_.size();
    while (n > 0) {
      if (completed_messages_ >= sent_messages_) {
        mismatch_at_ = received_bytes_;
        return false;  // an echo of something never sent
      }
      const size_t offset = received_bytes_ % size;
      const size_t take = std::min(n, size - offset);
      if (!matches(data, offset, take, completed_messages_)) return false;
      data += take;
      n -= take;
      received_bytes_ += take;
      if (offset + take == size) {
        const Timing t = tracked ? timings_[head_ & (timings_.size() - 1)] : Timing{};
        ++completed_messages_;
        if (tracked) ++head_;
        on_complete(t);
      }
    }
    return true;
  }

  uint64_t received_bytes() const { return received_bytes_; }
  // Bytes handed to append_message whose echo has not arrived (whole or in part).
  uint64_t unechoed_bytes() const { return sent_messages_ * pattern_.size() - received_bytes_; }
  uint64_t mismatch_at() const { return mismatch_at_; }

 private:
  static constexpr size_t kSeqBytes = 8;

  bool matches(const std::byte* data, size_t offset, size_t n, uint64_t seq) {
    size_t k = 0;
    for (; offset + k < kSeqBytes && k < n; ++k) {
      const auto expected = pattern_[offset + k] ^ static_cast<std::byte>(seq >> (8 * (offset + k)));
      if (data[k] != expected) {
        mismatch_at_ = received_bytes_ + k;
        return false;
      }
    }
    if (k < n && std::memcmp(data + k, pattern_.data() + offset + k, n - k) != 0) {
      for (size_t i = k; i < n; ++i) {
        if (data[i] != pattern_[offset + i]) {
          mismatch_at_ = received_bytes_ + i;
          break;
        }
      }
      return false;
    }
    return true;
  }

  void grow_timings() {
    std::vector<Timing> bigger(timings_.size() * 2);
    for (uint64_t s = head_; s < head_ + timings_.size(); ++s) {
      bigger[s & (bigger.size() - 1)] = timings_[s & (timings_.size() - 1)];
    }
    timings_.swap(bigger);
  }

  std::vector<std::byte> pattern_;
  std::vector<Timing> timings_;  // ring indexed by message number, power-of-two size
  uint64_t head_ = 0;            // oldest outstanding tracked message
  uint64_t sent_messages_ = 0;
  uint64_t completed_messages_ = 0;
  uint64_t received_bytes_ = 0;
  uint64_t mismatch_at_ = 0;
};

}  // namespace ub::load
