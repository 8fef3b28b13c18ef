#include "echo/fd_reserve.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "common/result.h"
#include "net/socket.h"

namespace ub::echo {

std::error_code FdReserve::open() { return ensure() ? std::error_code{} : errno_code(errno); }

bool FdReserve::ensure() {
  if (!fd_) fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  return static_cast<bool>(fd_);
}

FdReserve::Shed FdReserve::shed_one(int listener) {
  if (!ensure()) return net::connection_waiting(listener) ? Shed::kStuck : Shed::kQueueEmpty;
  fd_.reset();
  const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  const int err = errno;
  if (fd >= 0) ::close(fd);
  ensure();  // may fail if another thread took the descriptor; the next call retries
  if (fd >= 0) return Shed::kOne;
  if (err == EINTR || err == ECONNABORTED) return Shed::kRetry;
  if (err == EAGAIN || err == EWOULDBLOCK) return Shed::kQueueEmpty;
  return Shed::kStuck;
}

}  // namespace ub::echo
