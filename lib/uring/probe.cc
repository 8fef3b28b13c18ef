// The io_uring probe. Features are checked by using them where that is cheap (a multishot
// recv on a socket pair, a multishot accept of one loopback connection, a buffer ring, a
// sparse file table) and read from io_uring_params.features or the opcode probe where it is
// not. Nothing here creates a thread: an SQPOLL ring would leave a kernel thread behind for
// a while, which the tests that count threads would see, so SQPOLL is judged from the
// feature bits only.

#include "uring/probe.h"

#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <string_view>

#include "net/socket.h"
#include "uring/ring.h"

namespace ub::uring {
namespace {

using namespace std::chrono_literals;

int read_io_uring_disabled() {
  std::ifstream in("/proc/sys/kernel/io_uring_disabled");
  int value = -1;
  if (!(in >> value)) return -1;
  return value;
}

// Waits (bounded) for one completion whose user_data is `tag`; drops any others.
bool wait_for(Ring& ring, uint64_t tag, io_uring_cqe& out) {
  const auto deadline = std::chrono::steady_clock::now() + 1s;
  while (std::chrono::steady_clock::now() < deadline) {
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec ts{0, 100'000'000};
    const int rc = io_uring_submit_and_wait_timeout(ring.get(), &cqe, 1, &ts, nullptr);
    if (rc < 0 && rc != -ETIME && rc != -EINTR) return false;
    while (io_uring_peek_cqe(ring.get(), &cqe) == 0) {
      const io_uring_cqe copy = *cqe;
      io_uring_cqe_seen(ring.get(), cqe);
      if (copy.user_data == tag) {
        out = copy;
        return true;
      }
    }
  }
  return false;
}

// Arms a multishot recv (capped at `limit` bytes in total, unless 0) on a socket pair,
// sends `data` into it and waits for the first completion (false if none came). Returns
// the buffer and ends the recv if it is still running. `tag`: a user_data no other check
// uses, so a late completion of one is never taken for another's.
bool first_multishot_recv(Ring& ring, BufferRing& buffers, uint64_t tag,
                          uint32_t limit, std::string_view data, io_uring_cqe& cqe) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return false;
  net::UniqueFd a(pair[0]);
  net::UniqueFd b(pair[1]);
  io_uring_sqe* sqe = ring.sqe();
  io_uring_prep_recv_multishot(sqe, a.get(), nullptr, 0, 0);
  if (limit != 0) set_recv_multishot_limit(sqe, limit);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = buffers.group_id();
  sqe->user_data = tag;
  if (::send(b.get(), data.data(), data.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(data.size())) {
    return false;
  }
  if (!wait_for(ring, tag, cqe)) return false;
  if (cqe.flags & IORING_CQE_F_BUFFER) {
    buffers.recycle(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    buffers.commit();
  }
  if (cqe.flags & IORING_CQE_F_MORE) {
    ::shutdown(a.get(), SHUT_RDWR);  // ends the multishot recv
    io_uring_cqe last{};
    for (int i = 0; i < 4 && wait_for(ring, tag, last) && (last.flags & IORING_CQE_F_MORE); ++i) {
    }
  }
  return true;
}

bool check_multishot_recv(Ring& ring, BufferRing& buffers) {
  io_uring_cqe cqe{};
  return first_multishot_recv(ring, buffers, 1, 0, "x", cqe) && cqe.res == 1 &&
         (cqe.flags & IORING_CQE_F_MORE) && (cqe.flags & IORING_CQE_F_BUFFER);
}

// A multishot recv capped at one byte in total ends after its first receive (which may
// take more than the cap: only bundles are trimmed to it). Older kernels: -EINVAL.
bool check_recv_limit(Ring& ring, BufferRing& buffers) {
  io_uring_cqe cqe{};
  return first_multishot_recv(ring, buffers, 5, 1, "xy", cqe) && cqe.res > 0 &&
         !(cqe.flags & IORING_CQE_F_MORE);
}

// An incrementally consumed buffer ring: two one-byte receives land back to back in the
// same buffer, the kernel saying after each that it is not done with it.
bool check_incremental_buffers(Ring& ring) {
  BufferRing buffers;
  if (buffers.init(ring, 1, 1, 64, /*track_order=*/false, /*incremental=*/true)) return false;
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return false;
  net::UniqueFd a(pair[0]);
  net::UniqueFd b(pair[1]);
  bool ok = true;
  for (int round = 0; round < 2 && ok; ++round) {
    io_uring_sqe* sqe = ring.sqe();
    io_uring_prep_recv(sqe, a.get(), nullptr, 1, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = buffers.group_id();
    sqe->user_data = 4;
    const char byte = static_cast<char>('a' + round);
    io_uring_cqe cqe{};
    ok = ::send(b.get(), &byte, 1, MSG_NOSIGNAL) == 1 && wait_for(ring, 4, cqe) && cqe.res == 1 &&
         (cqe.flags & IORING_CQE_F_BUFFER) && (cqe.flags & kCqeBufMore) &&
         static_cast<char>(buffers.buffer(0)[round]) == byte;
  }
  return ok;
}

bool check_multishot_accept(Ring& ring) {
  auto listener = net::listen_tcp(net::Endpoint::loopback_v4(0), 4);
  if (!listener) return false;
  auto bound = net::local_endpoint(listener->get());
  if (!bound) return false;
  io_uring_sqe* sqe = ring.sqe();
  io_uring_prep_multishot_accept(sqe, listener->get(), nullptr, nullptr, SOCK_CLOEXEC);
  sqe->user_data = 2;
  io_uring_submit(ring.get());
  auto client = net::create_connection(*bound, 1000ms);
  if (!client) return false;
  io_uring_cqe cqe{};
  const bool got = wait_for(ring, 2, cqe);
  if (got && cqe.res >= 0) ::close(cqe.res);
  const bool ok = got && cqe.res >= 0 && (cqe.flags & IORING_CQE_F_MORE);
  if (got && (cqe.flags & IORING_CQE_F_MORE)) {
    io_uring_sqe* cancel = ring.sqe();
    io_uring_prep_cancel64(cancel, 2, 0);
    cancel->user_data = 3;
    io_uring_cqe done{};
    wait_for(ring, 2, done);
  }
  return ok;
}

UringFeatures probe() {
  UringFeatures f;
  f.io_uring_disabled = read_io_uring_disabled();
  utsname u{};
  if (::uname(&u) == 0) f.kernel = u.release;

  Ring ring;
  if (auto ec = ring.init(8, 16)) {
    f.ring_error = "io_uring_setup: " + ec.message();
    if (f.io_uring_disabled > 0) {
      f.ring_error += " (kernel.io_uring_disabled=" + std::to_string(f.io_uring_disabled) + ")";
    }
    return f;
  }
  f.ring_ok = true;
  f.setup_flags = ring.setup_flags_text();
  f.features = ring.features();
  f.registered_ring_fd = ring.ring_fd_registered();
  f.bundles = (f.features & kFeatRecvSendBundle) != 0;
  f.min_wait = (f.features & kFeatMinTimeout) != 0;
  f.sqpoll_unprivileged = (f.features & IORING_FEAT_SQPOLL_NONFIXED) != 0;
  if (io_uring_probe* p = io_uring_get_probe_ring(ring.get())) {
    f.zc_send = io_uring_opcode_supported(p, IORING_OP_SEND_ZC) != 0;
    io_uring_free_probe(p);
  }
  {
    BufferRing buffers;
    f.buffer_rings = !buffers.init(ring, 0, 4, 64);
    if (f.buffer_rings) f.multishot_recv = check_multishot_recv(ring, buffers);
    if (f.multishot_recv) f.recv_limit = check_recv_limit(ring, buffers);
  }
  f.incremental_buffers = f.buffer_rings && check_incremental_buffers(ring);
  f.multishot_accept = check_multishot_accept(ring);
  f.fixed_files = io_uring_register_files_sparse(ring.get(), 4) == 0;
  if (f.fixed_files) io_uring_unregister_files(ring.get());
  return f;
}

}  // namespace

std::string UringFeatures::backend_unavailable_reason() const {
  if (!ring_ok) return ring_error;
  if (!buffer_rings) return "no provided-buffer rings (needs Linux 5.19)";
  if (!multishot_recv) return "no multishot recv (needs Linux 6.0)";
  if (!multishot_accept) return "no multishot accept (needs Linux 5.19)";
  return "";
}

const UringFeatures& probe_uring() {
  static const UringFeatures features = probe();
  return features;
}

std::string to_string(const UringFeatures& f) {
  std::string s = "io_uring on " + (f.kernel.empty() ? std::string("?") : f.kernel) + ": ";
  if (!f.ring_ok) return s + "unavailable: " + f.ring_error;
  s += f.setup_flags;
  auto add = [&s](const char* what, bool have) { s += std::string(", ") + (have ? "" : "no ") + what; };
  add("registered ring fd", f.registered_ring_fd);
  add("multishot accept", f.multishot_accept);
  add("multishot recv", f.multishot_recv);
  add("multishot recv cap", f.recv_limit);
  add("buffer rings", f.buffer_rings);
  add("bundles", f.bundles);
  add("min-wait", f.min_wait);
  add("incremental buffers", f.incremental_buffers);
  add("zero-copy send", f.zc_send);
  add("direct descriptors", f.fixed_files);
  add("unprivileged SQPOLL", f.sqpoll_unprivileged);
  if (f.io_uring_disabled >= 0) s += ", io_uring_disabled=" + std::to_string(f.io_uring_disabled);
  return s;
}

}  // namespace ub::uring
