#pragma once
// Shedding connections when the process is out of descriptors (EMFILE/ENFILE), the way
// every back end here does it: a descriptor is held in reserve (/dev/null); at EMFILE it is
// given up, one queued connection accepted and closed at once (its client learns now
// instead of waiting in the backlog), and the reserve taken back. accept fails with EMFILE
// before it looks at the queue, so an empty queue fails too: shed_one() says which it was.

#include <system_error>

#include "net/unique_fd.h"

namespace ub::echo {

class FdReserve {
 public:
  enum class Shed {
    kOne,         // a connection was accepted and closed: there may be more
    kRetry,       // the accept was interrupted or the connection aborted: try again
    kQueueEmpty,  // nothing waits: the next connection raises a new readiness edge
    kStuck,       // a connection may wait that cannot be shed (no reserve, or accept failed)
  };

  // Takes the reserve descriptor; at set-up, where failing is an error.
  std::error_code open();
  // Takes the reserve back if it was lost (another thread took the descriptor freed while
  // shedding). True if held.
  bool ensure();
  void close() { fd_.reset(); }

  // Gives up the reserve to accept and close one connection waiting on `listener`, then
  // takes the reserve back. `listener` must be non-blocking.
  Shed shed_one(int listener);

 private:
  net::UniqueFd fd_;
};

}  // namespace ub::echo
