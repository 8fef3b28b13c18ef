// echo_client: the seed's echo client. Connects (create_connection), sends a message,
// reads the echo back in recv(16)-sized chunks printing each one as the seed does, and
// verifies it byte for byte. After the last round it shuts down its sending side and
// requires the server's EOF with nothing before it, so a duplicated or extra echo cannot
// pass. --timeout bounds the connect, each whole echo (one deadline, however the server
// spreads its bytes) and the wait for the close. Exit 0 when every echo matched; 1 on
// mismatch, unexpected bytes, reset, early EOF or timeout; 2 on bad usage.

#include <fmt/core.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "cli/cli.h"
#include "cli/python_repr.h"
#include "net/socket.h"

namespace {

constexpr const char* kTool = "echo_client";

// The host as the user typed it ("localhost", "::1"), for the seed's "connecting to" line.
std::string typed_host(const std::string& address) {
  auto host = address.substr(0, address.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host;
}

// The next round's message: `text`, the same every round as the seed sends it; or, with
// --size, the next `size` bytes of `rng`, so that with random payloads each round differs
// and a stale or duplicated echo fails at once instead of passing for the next one.
void next_message(std::vector<std::byte>& message, const std::string& text, size_t size,
                  std::mt19937_64& rng) {
  if (size == 0) {
    message.clear();
    for (char c : text) message.push_back(static_cast<std::byte>(c));
    return;
  }
  message.resize(size);
  for (auto& b : message) b = static_cast<std::byte>(rng());
}

// Waits until `fd` is readable or `deadline` passes: poll() for what is left of one timeout,
// so a server that trickles bytes cannot stretch the wait (SO_RCVTIMEO restarts with every
// recv). Returns 1 readable, 0 timed out, -1 failed (errno set).
int wait_readable(int fd, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return 0;
    pollfd pfd{fd, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), INT_MAX)));
    if (ready < 0 && errno == EINTR) continue;
    return ready < 0 ? -1 : ready > 0 ? 1 : 0;
  }
}

// One round trip: send `message` (from a helper thread, so a message larger than the socket
// buffers cannot deadlock against the echo) and read it back, all of it within `timeout`
// (one deadline for the whole echo). Returns an error text, or "".
std::string round_trip(int fd, const std::vector<std::byte>& message, size_t chunk, bool quiet,
                       std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::error_code send_error;
  std::thread sender([&] { send_error = ub::net::send_all(fd, message); });
  std::vector<std::byte> buffer(chunk);
  size_t received = 0;
  std::string failure;
  while (received < message.size()) {
    const int ready = wait_readable(fd, deadline);
    if (ready == 0) {
      failure = fmt::format("timed out: {} of {} bytes echoed within --timeout={:g} s", received,
                            message.size(), std::chrono::duration<double>(timeout).count());
      break;
    }
    if (ready < 0) {
      failure = fmt::format("poll failed after {} of {} bytes: {}", received, message.size(),
                            std::strerror(errno));
      break;
    }
    // Never past this echo: bytes beyond it are the server's extra, and are left for the
    // next round or for expect_eof() to report as such.
    const ssize_t n =
        ::recv(fd, buffer.data(), std::min(buffer.size(), message.size() - received), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      failure = (errno == EAGAIN || errno == EWOULDBLOCK)
                    ? fmt::format("timed out after {} of {} bytes", received, message.size())
                    : fmt::format("receive failed after {} of {} bytes: {}", received,
                                  message.size(), std::strerror(errno));
      break;
    }
    if (n == 0) {
      failure = fmt::format("server closed the connection after {} of {} bytes", received,
                            message.size());
      break;
    }
    const std::span<const std::byte> got(buffer.data(), static_cast<size_t>(n));
    if (!quiet) fmt::print("received {}\n", ub::cli::python_bytes_repr(got));
    const auto mismatch =
        std::mismatch(got.begin(), got.end(), message.begin() + static_cast<ptrdiff_t>(received));
    if (mismatch.first != got.end()) {
      failure = fmt::format("echo mismatch at byte {}",
                            received + static_cast<size_t>(mismatch.first - got.begin()));
      break;
    }
    received += got.size();
  }
  if (!failure.empty()) ::shutdown(fd, SHUT_RDWR);  // unblocks the sender
  sender.join();
  if (failure.empty() && send_error) failure = "send failed: " + send_error.message();
  return failure;
}

// After the last round: half-closes and waits up to `timeout` for the server's EOF with
// nothing before it. Extra bytes (a duplicated echo, say) show only here: with --message
// every round sends the same bytes, so a copy of echo k passes for echo k+1, and what is
// left after the last round is never read by a round. Returns an error text, or "".
std::string expect_eof(int fd, size_t chunk, bool quiet, std::chrono::milliseconds timeout) {
  if (::shutdown(fd, SHUT_WR) != 0) {
    return fmt::format("shutdown failed: {}", std::strerror(errno));
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<std::byte> buffer(chunk);
  size_t extra = 0;
  const auto unexpected = [&extra] {
    return fmt::format("{} unexpected byte{} after the last echo", extra, extra == 1 ? "" : "s");
  };
  for (;;) {
    const int ready = wait_readable(fd, deadline);
    if (ready < 0) return fmt::format("poll failed: {}", std::strerror(errno));
    if (ready == 0) {
      return extra > 0 ? unexpected() + " (and no EOF)"
                       : "timed out waiting for the server to close after the last echo";
    }
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = std::strerror(errno);
      return extra > 0 ? unexpected() + ", then receive failed: " + why
                       : "receive failed after the last echo: " + why;
    }
    if (n == 0) return extra > 0 ? unexpected() : "";
    const std::span<const std::byte> got(buffer.data(), static_cast<size_t>(n));
    if (!quiet) fmt::print("received {}\n", ub::cli::python_bytes_repr(got));
    extra += got.size();
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Echo client: sends a message, reads the echo, verifies it byte for byte."};
  std::string address = "localhost:10000";
  std::string text = "This is the message.  It will be repeated.";
  size_t size = 0;
  int count = 1;
  size_t chunk = 16;
  double timeout_s = 5.0;
  uint64_t seed = 1;
  bool quiet = false;
  app.add_option("--connect", address, "server address HOST:PORT")->capture_default_str();
  app.add_option("--message", text, "message to send")->capture_default_str();
  app.add_option("--size", size, "send SIZE random bytes instead of --message")
      ->check(CLI::Range(size_t{1}, size_t{1} << 30));
  app.add_option("--count", count, "round trips on the one connection")
      ->check(CLI::Range(1, 1 << 30));
  app.add_option("--chunk", chunk, "recv() size, as the seed's recv(16)")
      ->check(CLI::Range(size_t{1}, size_t{16} << 20))
      ->capture_default_str();
  app.add_option("--timeout", timeout_s,
                 "seconds to wait for the connection, for each whole echo, and for the close")
      ->check(ub::cli::Seconds(0.001, 1e6))
      ->capture_default_str();
  app.add_option("--seed", seed, "random seed for --size")->check(ub::cli::NotNegative());
  app.add_flag("-q,--quiet", quiet, "print only the summary, not every chunk");
  if (int rc = ub::cli::parse(app, argc, argv); rc >= 0) return rc;

  auto endpoint = ub::cli::parse_endpoint(kTool, address);
  if (!endpoint) return ub::cli::kExitUsage;
  std::mt19937_64 rng(seed);
  std::vector<std::byte> message;
  next_message(message, text, size, rng);
  if (message.empty()) {
    fmt::print(stderr, "{}: empty message\n", kTool);
    return ub::cli::kExitUsage;
  }
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  signal(SIGPIPE, SIG_IGN);

  fmt::print("connecting to {} port {}\n", typed_host(address), endpoint->port());
  std::fflush(stdout);
  auto sock = ub::net::create_connection(*endpoint, timeout);
  if (!sock) {
    fmt::print(stderr, "{}: cannot connect to {}: {}\n", kTool, endpoint->to_string(),
               sock.error().message());
    return 1;
  }
  (void)ub::net::set_nodelay(sock->get());
  if (auto ec = ub::net::set_io_timeout(sock->get(), timeout)) {
    fmt::print(stderr, "{}: {}\n", kTool, ec.message());
    return 1;
  }

  std::string failure;
  for (int i = 0; i < count && failure.empty(); ++i) {
    if (i > 0) next_message(message, text, size, rng);
    if (!quiet) fmt::print("sending {}\n", ub::cli::python_bytes_repr(message));
    failure = round_trip(sock->get(), message, chunk, quiet, timeout);
  }
  if (failure.empty()) failure = expect_eof(sock->get(), chunk, quiet, timeout);
  fmt::print("closing socket\n");
  if (!failure.empty()) {
    fmt::print(stderr, "{}: {}\n", kTool, failure);
    return 1;
  }
  if (quiet) fmt::print("{} round trips of {} bytes verified\n", count, message.size());
  return 0;
}
