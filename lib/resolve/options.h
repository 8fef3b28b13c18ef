#pragma once
// How a Resolver is set up (Options, with the "dns" engine's own knobs in DnsOptions) and
// the vocabulary of its streaming API (Source, Sink, StreamOptions, StreamStats), shared by
// the Resolver and the engines that run whole streams themselves.

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "resolve/query.h"

namespace ub::resolve {

// The "dns" engine (c-ares, see dns_engine.h). Empty/unset fields come from resolv.conf.
struct DnsOptions {
  int in_flight = 256;  // names being resolved at once (a name may ask two questions)
  // Times each question is sent before it fails (c-ares ARES_OPT_TRIES). The per-try
  // timeouts (doubling, as c-ares does) are sized so the tries span Options::timeout:
  // with the defaults, resends after 0.71 s and 2.1 s, the deadline at 5 s.
  int tries = 3;
  double rate = 0;                        // DNS questions sent per second, at most; 0: no limit
  std::vector<std::string> servers = {};  // "127.0.0.1", "127.0.0.1:5300", "[::1]:53"
  std::optional<std::vector<std::string>> search = std::nullopt;  // search domains
  std::optional<int> ndots = std::nullopt;
  int socket_buffer = 4 << 20;  // SO_RCVBUF/SO_SNDBUF of the channel's sockets, bytes
  std::string hosts_path = "/etc/hosts";
  std::string nsswitch_path = "/etc/nsswitch.conf";
  std::string host_conf_path = "/etc/host.conf";
};

struct Options {
  std::string engine = "system";  // "system" (glibc on a thread pool) or "dns" (c-ares)
  int threads = 16;               // "system" only: worker threads
  std::chrono::milliseconds timeout{5000};
  // A query running this long counts as stalled and its thread is replaced. 0 = adaptive:
  // ten times the recent average latency, at least `min_stall`, at most the timeout.
  std::chrono::milliseconds stall_after{0};
  std::chrono::milliseconds min_stall{20};
  int max_extra_threads = 64;  // stand-ins for stalled threads, at most this many at once
  DnsOptions dns = {};
};

struct StreamOptions {
  // Queries taken from the source but not yet given to the sink, at most. Bounds memory.
  size_t window = 4096;
  // Deliver in input order (a slow query then holds back later answers, and once `window`
  // answers wait behind it, the input too); otherwise in completion order.
  bool ordered = true;
};

struct StreamStats {
  size_t queries = 0;
  size_t failed = 0;     // outcomes with an error, timeouts included
  size_t timed_out = 0;  // Error::kTimedOut
};

using Source = std::function<std::optional<Query>()>;               // nullopt: no more queries
using Sink = std::function<void(size_t index, Outcome&& outcome)>;  // index: input position

}  // namespace ub::resolve
