#pragma once
// TCP socket helpers shared by the servers, the clients and the load generator.
// Every function reports failure as a std::error_code (system category); none prints.

#include <chrono>
#include <cstddef>
#include <span>
#include <system_error>

#include "common/result.h"
#include "net/endpoint.h"
#include "net/unique_fd.h"

namespace ub::net {

// A listening TCP socket bound to `endpoint` (SO_REUSEADDR always; SO_REUSEPORT when
// asked, so several reactors can each own one). IPv6 sockets are V6ONLY.
Result<UniqueFd> listen_tcp(const Endpoint& endpoint, int backlog, bool reuse_port = false);

// Python's socket.create_connection: a connected, blocking TCP socket, or an error once
// `timeout` has passed without the connection being established (ETIMEDOUT).
Result<UniqueFd> create_connection(const Endpoint& endpoint, std::chrono::milliseconds timeout);

// The address a socket is bound to (port 0 binds read back as the kernel's choice).
Result<Endpoint> local_endpoint(int fd);

// Whether a connection waits in a listening socket's accept queue. Needs no descriptor (a
// process out of them can still ask); an error counts as yes, so callers retry.
bool connection_waiting(int listener);

std::error_code set_nonblocking(int fd, bool nonblocking = true);
std::error_code set_nodelay(int fd, bool on = true);
// Receive/send timeouts for blocking sockets (SO_RCVTIMEO / SO_SNDTIMEO); 0 disables.
std::error_code set_io_timeout(int fd, std::chrono::milliseconds timeout);

// Writes all of `data` on a blocking socket, retrying short writes and EINTR (Python's
// sendall). MSG_NOSIGNAL: a vanished peer gives EPIPE, never SIGPIPE.
std::error_code send_all(int fd, std::span<const std::byte> data);

// Raises the soft RLIMIT_NOFILE to the hard limit, and the hard limit itself to `wanted`
// where the process may (root); returns the new soft limit, which may be below `wanted`.
Result<size_t> raise_fd_limit(size_t wanted = 0);

}  // namespace ub::net
