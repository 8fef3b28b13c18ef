#include "net/socket.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>

#include <cerrno>

namespace ub::net {
namespace {

std::error_code last_error() { return errno_code(errno); }

std::error_code set_int_option(int fd, int level, int name, int value) {
  if (::setsockopt(fd, level, name, &value, sizeof(value)) != 0) return last_error();
  return {};
}

}  // namespace

Result<UniqueFd> listen_tcp(const Endpoint& endpoint, int backlog, bool reuse_port) {
  UniqueFd fd(::socket(endpoint.family(), SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP));
  if (!fd) return last_error();
  if (auto ec = set_int_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1)) return ec;
  if (reuse_port) {
    if (auto ec = set_int_option(fd.get(), SOL_SOCKET, SO_REUSEPORT, 1)) return ec;
  }
  if (endpoint.family() == AF_INET6) {
    if (auto ec = set_int_option(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, 1)) return ec;
  }
  if (::bind(fd.get(), endpoint.sockaddr_ptr(), endpoint.sockaddr_len()) != 0) return last_error();
  if (::listen(fd.get(), backlog) != 0) return last_error();
  return fd;
}

Result<UniqueFd> create_connection(const Endpoint& endpoint, std::chrono::milliseconds timeout) {
  UniqueFd fd(::socket(endpoint.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_TCP));
  if (!fd) return last_error();
  if (::connect(fd.get(), endpoint.sockaddr_ptr(), endpoint.sockaddr_len()) != 0) {
    if (errno != EINPROGRESS) return last_error();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      // Rounded up: truncated, a 1 ms timeout is 0 ms left before the first poll() and
      // fails even a connection that would complete in microseconds.
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return errno_code(ETIMEDOUT);
      pollfd pfd{fd.get(), POLLOUT, 0};
      const int n = ::poll(&pfd, 1, static_cast<int>(left.count()));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return last_error();
      if (n == 0) return errno_code(ETIMEDOUT);
      break;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) return last_error();
    if (err != 0) return errno_code(err);
  }
  if (auto ec = set_nonblocking(fd.get(), false)) return ec;
  return fd;
}

Result<Endpoint> local_endpoint(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return last_error();
  return Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&addr), len);
}

bool connection_waiting(int listener) {
  pollfd p{listener, POLLIN, 0};
  return ::poll(&p, 1, 0) != 0;
}

std::error_code set_nonblocking(int fd, bool nonblocking) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return last_error();
  const int wanted = nonblocking ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (wanted != flags && ::fcntl(fd, F_SETFL, wanted) != 0) return last_error();
  return {};
}

std::error_code set_nodelay(int fd, bool on) {
  return set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0);
}

std::error_code set_io_timeout(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) return last_error();
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) return last_error();
  return {};
}

std::error_code send_all(int fd, std::span<const std::byte> data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    data = data.subspan(static_cast<size_t>(n));
  }
  return {};
}

Result<size_t> raise_fd_limit(size_t wanted) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return last_error();
  if (wanted > limit.rlim_max) {
    const rlimit bigger{static_cast<rlim_t>(wanted), static_cast<rlim_t>(wanted)};
    if (::setrlimit(RLIMIT_NOFILE, &bigger) == 0) return wanted;  // privileged: done
  }
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) return last_error();
  }
  return static_cast<size_t>(limit.rlim_cur);
}

}  // namespace ub::net
