#include "echo/listener_group.h"

#include <sched.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "net/socket.h"

namespace ub::echo {
namespace {

std::error_code check_port_free(const net::Endpoint& endpoint) {
  net::UniqueFd probe(::socket(endpoint.family(), SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP));
  if (!probe) return errno_code(errno);
  const int one = 1;
  ::setsockopt(probe.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (endpoint.family() == AF_INET6) {
    ::setsockopt(probe.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  if (::bind(probe.get(), endpoint.sockaddr_ptr(), endpoint.sockaddr_len()) != 0) {
    return errno_code(errno);
  }
  return {};
}

}  // namespace

int usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) {
    return CPU_COUNT(&set);
  }
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

Result<ListenerGroup> open_listener_group(const ServerConfig& config, int count) {
  if (config.listen.port() != 0) {
    if (auto ec = check_port_free(config.listen)) return ec;
  }
  ListenerGroup group;
  group.endpoint = config.listen;
  for (int i = 0; i < count; ++i) {
    auto listener = net::listen_tcp(group.endpoint, config.backlog, /*reuse_port=*/true);
    if (!listener) return listener.error();
    if (auto ec = net::set_nodelay(listener->get())) return ec;
    if (i == 0) {
      auto bound = net::local_endpoint(listener->get());
      if (!bound) return bound.error();
      group.endpoint = *bound;  // port 0: the rest join the port the kernel picked
    }
    group.listeners.push_back(std::move(*listener));
  }
  return group;
}

}  // namespace ub::echo
