#pragma once
// DnsChannel: one c-ares channel driven by an epoll set of our own. Internal to the "dns"
// engine. c-ares 1.18 tells us which sockets to watch through ARES_OPT_SOCK_STATE_CB;
// poll() waits on them and hands each ready one to ares_process_fd, which reads every
// datagram queued on it and runs the callbacks, on the calling thread.
//
// Set-up, and why:
//  - our own socket functions (dns_sockets.h): UDP sends and receives batched with
//    sendmmsg/recvmmsg, a system call per batch instead of per datagram;
//  - lookups "b": c-ares never opens /etc/hosts (it would per query); the engine answers
//    hosts names from its own HostsTable first;
//  - ARES_FLAG_STAYOPEN: 1.18 closes every socket whenever no query is pending, so a
//    lull, or one query at a time, would cost a socket, setsockopt and connect each time;
//  - large SO_RCVBUF/SO_SNDBUF (4 MiB by default; forced past net.core.rmem_max when we
//    may): a burst of thousands of answers to one UDP socket overflows the default
//    ~208 KiB, and each drop costs a retry timeout;
//  - no EDNS and no ARES_FLAG_IGNTC: an answer over 512 bytes comes back truncated and
//    c-ares asks again over TCP (as glibc's stub resolver does);
//  - ares_timeout() walks every pending query (O(n) in 1.18), so it is not called per
//    wake-up: c-ares's timers are run at the time it last gave, or sooner, never later
//    (no query can time out earlier than a shortest try after the last activity).

#include <ares.h>

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "net/unique_fd.h"
#include "resolve/dns_sockets.h"

namespace ub::resolve::detail {

struct DnsChannelConfig {
  int tries = 2;
  std::chrono::milliseconds try_timeout{1000};       // first try; each round doubles it
  std::vector<std::string> servers;                  // empty: resolv.conf's
  const std::vector<std::string>* search = nullptr;  // null: resolv.conf's
  int ndots = -1;                                    // < 0: resolv.conf's
  int socket_buffer = 4 << 20;
};

class DnsChannel {
 public:
  using Clock = std::chrono::steady_clock;

  static Result<std::unique_ptr<DnsChannel>> create(const DnsChannelConfig& config);
  ~DnsChannel();  // ares_destroy: pending callbacks run with ARES_EDESTRUCTION
  DnsChannel(const DnsChannel&) = delete;
  DnsChannel& operator=(const DnsChannel&) = delete;

  ares_channel get() const { return channel_; }

  // Waits until a socket is ready or `until` (whichever first; never past c-ares's own
  // next timeout), then lets c-ares read, write and run its due timers. Callbacks run here.
  void poll(Clock::time_point until);
  // A query was just sent: c-ares's next timeout may now be due sooner than we thought.
  void note_sent(Clock::time_point now);
  // Ends every pending query now (callbacks run with ARES_ECANCELLED); the channel stays
  // usable, its sockets open.
  void cancel();

  // SO_RCVBUF the kernel granted the last socket c-ares opened (0 before the first).
  int receive_buffer() const { return sockets_ ? sockets_->receive_buffer() : 0; }
  // Datagrams sent and sendmmsg calls made, since the channel was created.
  uint64_t datagrams_sent() const { return sockets_ ? sockets_->datagrams_sent() : 0; }
  uint64_t send_calls() const { return sockets_ ? sockets_->send_calls() : 0; }
  // "127.0.0.1:53,[::1]:53": the servers c-ares asks.
  std::string servers() const;

 private:
  DnsChannel() = default;
  static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable);
  void run_timers(Clock::time_point now);
  void service_buffered();

  std::unique_ptr<BatchedSockets> sockets_;  // outlives channel_ (declared first)
  ares_channel channel_ = nullptr;
  net::UniqueFd epoll_;
  std::unordered_map<int, uint32_t> watched_;  // fd -> epoll events
  Clock::duration shortest_try_{};             // lower bound of any try's timeout
  Clock::time_point timers_due_ = Clock::time_point::max();
};

}  // namespace ub::resolve::detail
