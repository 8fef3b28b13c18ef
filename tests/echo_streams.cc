#include "echo_streams.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "net/socket.h"

namespace ub::test {
namespace {

struct Stream {
  net::UniqueFd fd;
  std::vector<std::byte> data;
  size_t sent = 0;
  size_t received = 0;
  bool write_shut = false;
  bool done = false;
  std::mt19937_64 rng;
};

size_t count_dir(const char* path) {
  DIR* dir = ::opendir(path);
  if (dir == nullptr) return 0;
  size_t n = 0;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n - (std::strcmp(path, "/proc/self/fd") == 0 ? 1 : 0);  // the DIR's own fd
}

}  // namespace

std::vector<std::string> run_echo_streams(const net::Endpoint& server, int clients,
                                          const StreamOptions& options) {
  std::vector<std::string> failures;
  std::vector<Stream> streams(static_cast<size_t>(clients));
  for (size_t i = 0; i < streams.size(); ++i) {
    auto& s = streams[i];
    s.rng.seed(options.seed * 1000003 + i);
    s.data.resize(options.payload);
    for (auto& b : s.data) b = static_cast<std::byte>(s.rng());
    auto fd = net::create_connection(server, std::chrono::seconds(5));
    if (!fd) {
      failures.push_back("client " + std::to_string(i) + ": connect: " + fd.error().message());
      s.done = true;
      continue;
    }
    (void)net::set_nonblocking(fd->get());
    s.fd = std::move(*fd);
  }

  const auto deadline = std::chrono::steady_clock::now() + options.deadline;
  std::vector<std::byte> buffer(256 * 1024);
  std::vector<pollfd> pfds;
  std::vector<size_t> index;
  for (;;) {
    pfds.clear();
    index.clear();
    for (size_t i = 0; i < streams.size(); ++i) {
      auto& s = streams[i];
      if (s.done) continue;
      short events = POLLIN;
      if (s.sent < s.data.size()) events |= POLLOUT;
      pfds.push_back({s.fd.get(), events, 0});
      index.push_back(i);
    }
    if (pfds.empty()) break;
    if (std::chrono::steady_clock::now() > deadline) {
      for (size_t i : index) {
        failures.push_back("client " + std::to_string(i) + ": deadline passed with " +
                           std::to_string(streams[i].received) + " of " +
                           std::to_string(options.payload) + " bytes echoed");
      }
      break;
    }
    if (::poll(pfds.data(), pfds.size(), 100) < 0 && errno != EINTR) break;

    for (size_t k = 0; k < pfds.size(); ++k) {
      auto& s = streams[index[k]];
      const std::string who = "client " + std::to_string(index[k]) + ": ";
      auto fail = [&](const std::string& why) {
        failures.push_back(who + why);
        s.done = true;
        s.fd.reset();
      };
      if ((pfds[k].revents & POLLOUT) && s.sent < s.data.size()) {
        const size_t fragment = 1 + s.rng() % options.max_fragment;
        const size_t n = std::min(fragment, s.data.size() - s.sent);
        const ssize_t w = ::send(s.fd.get(), s.data.data() + s.sent, n, MSG_NOSIGNAL);
        if (w > 0) {
          s.sent += static_cast<size_t>(w);
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
          fail(std::string("send: ") + std::strerror(errno));
          continue;
        }
        if (s.sent == s.data.size() && options.half_close && !s.write_shut) {
          ::shutdown(s.fd.get(), SHUT_WR);
          s.write_shut = true;
        }
      }
      if (pfds[k].revents & (POLLIN | POLLHUP | POLLERR)) {
        const ssize_t r = ::recv(s.fd.get(), buffer.data(), buffer.size(), 0);
        if (r < 0) {
          if (errno != EAGAIN && errno != EINTR) fail(std::string("recv: ") + std::strerror(errno));
          continue;
        }
        if (r == 0) {
          if (s.received == s.data.size() && options.half_close) {
            s.done = true;
            s.fd.reset();
          } else {
            fail("early EOF after " + std::to_string(s.received) + " bytes");
          }
          continue;
        }
        const auto got = static_cast<size_t>(r);
        if (s.received + got > s.data.size()) {
          fail("server sent more bytes than the client did");
          continue;
        }
        if (std::memcmp(buffer.data(), s.data.data() + s.received, got) != 0) {
          fail("mismatch in bytes " + std::to_string(s.received) + ".." +
               std::to_string(s.received + got));
          continue;
        }
        s.received += got;
        if (s.received == s.data.size() && !options.half_close) {
          s.done = true;
          s.fd.reset();
        }
      }
    }
  }
  return failures;
}

net::UniqueFd connect_or_fail(const net::Endpoint& server) {
  auto fd = net::create_connection(server, std::chrono::seconds(5));
  EXPECT_TRUE(fd.ok()) << "connect to " << server.to_string() << ": " << fd.error().message();
  if (!fd) return {};
  EXPECT_FALSE(net::set_io_timeout(fd->get(), std::chrono::seconds(5)));
  return std::move(*fd);
}

std::string echo_once(int fd, const std::string& message) {
  if (auto ec = net::send_all(fd, std::as_bytes(std::span(message)))) return "send: " + ec.message();
  std::string echoed;
  char buffer[4096];
  while (echoed.size() < message.size()) {
    const ssize_t r = ::recv(fd, buffer, sizeof(buffer), 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return std::string("recv: ") + std::strerror(errno);
    if (r == 0) return "EOF after " + std::to_string(echoed.size()) + " bytes";
    echoed.append(buffer, static_cast<size_t>(r));
  }
  return echoed == message ? "" : "echo differs from what was sent";
}

bool peer_closes(int fd, std::chrono::milliseconds timeout) {
  pollfd pfd{fd, POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char byte;
  const ssize_t r = ::recv(fd, &byte, 1, MSG_DONTWAIT);
  return r == 0 || (r < 0 && (errno == ECONNRESET || errno == EPIPE));
}

size_t count_threads() { return count_dir("/proc/self/task"); }
size_t count_open_fds() { return count_dir("/proc/self/fd"); }

}  // namespace ub::test
