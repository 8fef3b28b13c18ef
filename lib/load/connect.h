#pragma once
// Connect storms that succeed: thousands of connections opened before the clock starts,
// paced so the server's accept backlog never overflows, each retried on failure.

#include <chrono>
#include <string>
#include <vector>

#include "net/endpoint.h"
#include "net/unique_fd.h"

namespace ub::load {

struct ConnectOutcome {
  std::vector<net::UniqueFd> fds;  // connected, non-blocking, TCP_NODELAY
  size_t failures = 0;             // connections that failed every attempt
  std::string first_error;
};

// Opens `count` connections with at most `in_flight` handshakes outstanding at once, each
// retried up to 3 times, all within `timeout`.
ConnectOutcome connect_many(const net::Endpoint& server, size_t count,
                            std::chrono::nanoseconds timeout, size_t in_flight = 128);

}  // namespace ub::load
