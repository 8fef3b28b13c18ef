#include "echo/uring_acceptor.h"

#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "net/socket.h"

namespace ub::echo::uring_echo {
namespace {

// io_uring's accept reads RLIMIT_NOFILE when it is armed; a multishot accept keeps that
// value. One getrlimit per accepted connection keeps a later, lower limit honoured.
bool over_fd_limit(int fd) {
  rlimit limit{};
  return ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && static_cast<rlim_t>(fd) >= limit.rlim_cur;
}

}  // namespace

std::error_code Acceptor::start(uring::Ring& ring) {
  ring_ = &ring;
  if (auto ec = reserve_.open()) return ec;
  arm();
  return {};
}

void Acceptor::arm() {
  io_uring_sqe* sqe = ring_->sqe();
  const int fd = listener_.get();
  if (fixed_files_) {
    if (multishot_) {
      io_uring_prep_multishot_accept_direct(sqe, fd, nullptr, nullptr, 0);
    } else {
      io_uring_prep_accept_direct(sqe, fd, nullptr, nullptr, 0, IORING_FILE_INDEX_ALLOC);
      // liburing 2.3 stores index + 1, which wraps ALLOC to 0 ("no direct descriptor"):
      // the accept would return a plain fd that later requests take for a table slot.
      sqe->file_index = IORING_FILE_INDEX_ALLOC;
    }
  } else if (multishot_) {
    io_uring_prep_multishot_accept(sqe, fd, nullptr, nullptr, SOCK_CLOEXEC);
  } else {
    io_uring_prep_accept(sqe, fd, nullptr, nullptr, SOCK_CLOEXEC);
  }
  io_uring_sqe_set_data(sqe, &accept_op_);
  cancel_sent_ = false;
  ++pending_;
}

void Acceptor::cancel_multishot() {
  if (cancel_sent_) return;
  io_uring_sqe* sqe = ring_->sqe();
  io_uring_prep_cancel(sqe, &accept_op_, 0);
  io_uring_sqe_set_data(sqe, nullptr);
  cancel_sent_ = true;
}

int Acceptor::on_accept(const io_uring_cqe& cqe, bool stopping) {
  const bool more = cqe.flags & IORING_CQE_F_MORE;
  if (!more) --pending_;
  if (cqe.res >= 0) {
    int accepted = cqe.res;
    if (!fixed_files_ && over_fd_limit(cqe.res)) {
      // The limit was lowered since the accept was armed (the kernel checks the limit it
      // read then): shed this one and re-arm, so the kernel enforces the new limit.
      counters_.count_shed();
      ::close(cqe.res);
      accepted = -1;
      if (more) cancel_multishot();
    }
    if (!more && !stopping) arm();
    return accepted;
  }
  if (stopping) return -1;
  if (cqe.res == -EMFILE || cqe.res == -ENFILE) {
    if (fixed_files_) {
      counters_.count_shed();  // the table was full: the kernel accepted and dropped it
    } else {
      // Not counted here: this accept failed before it looked at the queue, which may be
      // empty. shed_pending() counts the connections it sheds.
      if (!more) wait_to_accept_again(shed_pending());
      return -1;
    }
  }
  if (!more) arm();
  return -1;
}

void Acceptor::on_retry(bool stopping) {
  --pending_;
  if (!stopping) arm();
}

// Out of descriptors: accepts and closes every queued connection with the reserve
// descriptor's slot. False: a connection may still wait that could not be shed (no reserve
// to give, or the accept failed), so waiting for POLLIN would wake at once.
bool Acceptor::shed_pending() {
  // io_uring's accept wants a blocking listener; this synchronous one must not block.
  (void)net::set_nonblocking(listener_.get(), true);
  auto shed = FdReserve::Shed::kRetry;
  for (int i = 0; i < 4096; ++i) {
    shed = reserve_.shed_one(listener_.get());
    if (shed == FdReserve::Shed::kOne) counters_.count_shed();
    if (shed != FdReserve::Shed::kOne && shed != FdReserve::Shed::kRetry) break;
  }
  (void)net::set_nonblocking(listener_.get(), false);
  return shed != FdReserve::Shed::kStuck || !net::connection_waiting(listener_.get());
}

void Acceptor::wait_to_accept_again(bool can_shed) {
  io_uring_sqe* sqe = ring_->sqe();
  if (can_shed) {
    io_uring_prep_poll_add(sqe, listener_.get(), POLLIN);
  } else {
    retry_ts_ = {0, std::chrono::nanoseconds(kAcceptRetry).count()};
    io_uring_prep_timeout(sqe, &retry_ts_, 0, 0);
  }
  io_uring_sqe_set_data(sqe, &retry_op_);
  ++pending_;
}

void Acceptor::shut_down() { ::shutdown(listener_.get(), SHUT_RDWR); }

void Acceptor::close() {
  listener_.reset();
  reserve_.close();
}

}  // namespace ub::echo::uring_echo
