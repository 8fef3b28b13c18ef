#pragma once
// Bookkeeping of open connections that every event loop needs: the config.max_connections
// cap shared by all loops of a back end, and a loop's own list of connections.

#include <atomic>
#include <cstddef>
#include <utility>
#include <vector>

namespace ub::echo {

// The max_connections cap over every loop of a back end: one atomic count, touched at accept
// and close only (never per echo). max 0: no cap, and no count kept.
class ConnectionCap {
 public:
  ConnectionCap(size_t max, std::atomic<size_t>& open_total) : max_(max), open_(open_total) {}

  // A slot for one more connection, or false when the cap is reached (the caller closes it).
  bool try_take() {
    if (max_ == 0) return true;
    if (open_.fetch_add(1, std::memory_order_relaxed) < max_) return true;
    open_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  // The slot of a connection that try_take() let in and that is now closed.
  void give_back() {
    if (max_ != 0) open_.fetch_sub(1, std::memory_order_relaxed);
  }

 private:
  const size_t max_;
  std::atomic<size_t>& open_;
};

// Removes list[slot] in O(1): the last element takes its place and learns its new slot.
// Elements are pointers (raw or owning) to objects with a `size_t slot` member.
template <typename Pointer>
void swap_remove(std::vector<Pointer>& list, size_t slot) {
  if (slot != list.size() - 1) {
    list[slot] = std::move(list.back());
    list[slot]->slot = slot;
  }
  list.pop_back();
}

}  // namespace ub::echo
