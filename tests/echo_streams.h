#pragma once
// Test clients for echo servers: many concurrent connections, each sending its own random
// stream in random fragments while reading the echo back and checking every byte.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "net/endpoint.h"
#include "net/unique_fd.h"

namespace ub::test {

struct StreamOptions {
  size_t payload = 64;                 // bytes each client sends
  size_t max_fragment = 1500;          // each send() writes 1..max_fragment bytes
  bool half_close = false;             // shutdown(SHUT_WR) after sending; expect EOF after echo
  uint64_t seed = 1;
  std::chrono::milliseconds deadline{20000};
};

// Runs `clients` connections concurrently (one poll() loop). Returns one line per client
// that failed (mismatch, reset, early EOF, missing EOF after half-close, deadline); empty
// when every byte of every stream came back in order.
std::vector<std::string> run_echo_streams(const net::Endpoint& server, int clients,
                                          const StreamOptions& options);

// A blocking connection with 5 s I/O timeouts, or a failed assertion.
net::UniqueFd connect_or_fail(const net::Endpoint& server);

// Sends `message` and reads it back; "" on success, otherwise what went wrong.
std::string echo_once(int fd, const std::string& message);

// Waits up to `timeout` for the peer to close: true on EOF or reset, false if data arrived
// or nothing happened.
bool peer_closes(int fd, std::chrono::milliseconds timeout);

// Entries in /proc/self/task and /proc/self/fd: what "no thread or fd left behind" counts.
size_t count_threads();
size_t count_open_fds();

}  // namespace ub::test
