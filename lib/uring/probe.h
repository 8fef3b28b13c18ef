#pragma once
// What this kernel's io_uring offers, probed once per process: whether a ring can be set up
// at all (and if not, why: EPERM, ENOSYS, kernel.io_uring_disabled), which set-up flags won,
// and which of the techniques the io_uring echo back end and the io_uring client engine use
// actually work here. One probe for both, so they agree on what this machine offers. Built
// only with liburing (UB_HAVE_URING).

#include <string>

namespace ub::uring {

struct UringFeatures {
  bool ring_ok = false;
  std::string ring_error;        // set when !ring_ok: "io_uring_setup: Operation not permitted"
  int io_uring_disabled = -1;    // kernel.io_uring_disabled (0, 1, 2), -1: no such sysctl
  std::string kernel;            // uname -r
  std::string setup_flags;       // the set-up flags that won: "SINGLE_ISSUER|DEFER_TASKRUN"
  unsigned features = 0;         // io_uring_params.features
  bool registered_ring_fd = false;  // 5.18
  bool multishot_accept = false;    // 5.19, checked by accepting a loopback connection
  bool multishot_recv = false;      // 6.0, checked on a socket pair
  bool recv_limit = false;          // 6.17, a multishot recv's total byte cap, checked likewise
  bool buffer_rings = false;        // 5.19, a provided-buffer ring registered
  bool bundles = false;             // 6.10, IORING_FEAT_RECVSEND_BUNDLE
  bool min_wait = false;            // 6.12, IORING_FEAT_MIN_TIMEOUT: batched waits
  bool incremental_buffers = false; // 6.12, IOU_PBUF_RING_INC, checked by two receives
  bool zc_send = false;             // 6.0, IORING_OP_SEND_ZC in the opcode probe
  bool fixed_files = false;         // a sparse direct-descriptor table registered
  bool sqpoll_unprivileged = false; // 5.11, IORING_FEAT_SQPOLL_NONFIXED

  // "" when the io_uring echo back end can run here, else why not.
  std::string backend_unavailable_reason() const;
};

// Probed on first call (a few milliseconds: one small ring, a socket pair, one loopback
// connection), then cached. Thread-safe.
const UringFeatures& probe_uring();

// One line: "io_uring on 6.18.44: SINGLE_ISSUER|DEFER_TASKRUN, registered ring fd, ...".
std::string to_string(const UringFeatures& features);

}  // namespace ub::uring
