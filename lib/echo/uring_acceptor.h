#pragma once
// One ring's listener: (multishot) accept requests, and descriptor exhaustion handled
// without spinning. io_uring's accept allocates the descriptor before it looks at the
// queue, so at EMFILE/ENFILE re-arming at once would fail at once. The acceptor sheds what
// is queued through the reserve descriptor (each client learns at once; fd_exhausted counts
// the connections shed, not the failed accepts) and waits for the next connection with a
// one-shot poll, or kAcceptRetry when a connection waits that cannot be shed. With direct
// descriptors a full table gives ENFILE after the kernel took and dropped the connection:
// counted, accept re-armed.

#include <liburing.h>

#include <chrono>
#include <cstddef>
#include <system_error>

#include "echo/fd_reserve.h"
#include "echo/listener_group.h"
#include "echo/uring_connection.h"
#include "net/unique_fd.h"
#include "uring/ring.h"

namespace ub::echo::uring_echo {

class Acceptor {
 public:
  static constexpr std::chrono::milliseconds kAcceptRetry{50};

  Acceptor(net::UniqueFd listener, bool fixed_files, bool multishot, LoopCounters& counters)
      : listener_(std::move(listener)),
        fixed_files_(fixed_files),
        multishot_(multishot),
        counters_(counters) {}

  // Takes the reserve descriptor and queues the first accept on `ring`.
  std::error_code start(uring::Ring& ring);

  // Completions of this acceptor's requests (OpKind::kAccept / kAcceptRetry). on_accept
  // returns the accepted descriptor (or direct-descriptor slot) to serve, or -1.
  int on_accept(const io_uring_cqe& cqe, bool stopping);
  void on_retry(bool stopping);

  // Requests whose final completion is still due.
  size_t pending() const { return pending_; }
  // Stop listening: new connections are refused from here on, and the accept request ends.
  void shut_down();
  void close();

 private:
  void arm();
  bool shed_pending();
  void wait_to_accept_again(bool can_shed);
  void cancel_multishot();

  net::UniqueFd listener_;
  const bool fixed_files_;
  const bool multishot_;
  LoopCounters& counters_;
  uring::Ring* ring_ = nullptr;
  FdReserve reserve_;
  Op accept_op_{OpKind::kAccept};
  Op retry_op_{OpKind::kAcceptRetry};
  bool cancel_sent_ = false;
  __kernel_timespec retry_ts_{};
  size_t pending_ = 0;
};

}  // namespace ub::echo::uring_echo
