#include "load/connect.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "load/worker.h"
#include "net/socket.h"

namespace ub::load {
namespace {

constexpr int kAttempts = 3;

struct Pending {
  net::UniqueFd fd;
  int attempts = 0;
};

}  // namespace

ConnectOutcome connect_many(const net::Endpoint& server, size_t count,
                            std::chrono::nanoseconds timeout, size_t in_flight) {
  ConnectOutcome out;
  out.fds.reserve(count);
  const int64_t deadline = now_ns() + timeout.count();
  std::vector<Pending> pending;
  size_t fresh = count;      // connections not tried yet
  std::vector<int> retries;  // attempt numbers of connections to try again

  auto failed_attempt = [&](int attempt, int err) {
    if (out.first_error.empty()) out.first_error = std::strerror(err);
    if (attempt < kAttempts) {
      retries.push_back(attempt + 1);
    } else {
      ++out.failures;
    }
  };

  while ((fresh > 0 || !retries.empty() || !pending.empty()) && now_ns() < deadline) {
    while (pending.size() < in_flight && (fresh > 0 || !retries.empty())) {
      int attempt = 1;
      if (!retries.empty()) {
        attempt = retries.back();
        retries.pop_back();
      } else {
        --fresh;
      }
      net::UniqueFd fd(::socket(server.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      if (!fd || (::connect(fd.get(), server.sockaddr_ptr(), server.sockaddr_len()) != 0 &&
                  errno != EINPROGRESS)) {
        failed_attempt(attempt, errno);
        continue;
      }
      pending.push_back({std::move(fd), attempt});
    }
    std::vector<pollfd> pfds;
    pfds.reserve(pending.size());
    for (const auto& p : pending) pfds.push_back({p.fd.get(), POLLOUT, 0});
    if (::poll(pfds.data(), pfds.size(), 100) < 0 && errno != EINTR) break;
    std::vector<Pending> still;
    for (size_t k = 0; k < pending.size(); ++k) {
      if (pfds[k].revents == 0) {
        still.push_back(std::move(pending[k]));
        continue;
      }
      int err = 0;
      socklen_t len = sizeof(err);
      ::getsockopt(pending[k].fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0) {
        (void)net::set_nodelay(pending[k].fd.get());
        out.fds.push_back(std::move(pending[k].fd));
      } else {
        failed_attempt(pending[k].attempts, err);
      }
    }
    pending.swap(still);
  }
  const size_t unfinished = fresh + retries.size() + pending.size();
  out.failures += unfinished;
  if (unfinished > 0 && out.first_error.empty()) out.first_error = "connect timed out";
  return out;
}

}  // namespace ub::load
