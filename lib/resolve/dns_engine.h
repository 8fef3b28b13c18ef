#pragma once
// The "dns" engine: thousands of lookups in flight from one thread, on a c-ares channel
// (Debian's c-ares 1.18) driven by our own epoll loop (dns_channel.h, dns_stream.h).
//
// A thread pool over glibc tops out at threads / round-trip time and pays ~25 syscalls a
// name; here a name costs its questions' send and receive and little else, and a name
// that is never answered holds one of `in_flight` slots until its deadline, not a thread.
//
// What each query kind does (the same answers as the "system" engine, see below):
//   lookup      A                      lookup_ex   A and AAAA, both sent at once
//   reverse     PTR                    fqdn        A+AAAA, then PTR of the first address
//   hostname, service_port, service_name, scheme_port: no DNS; answered at once by the
//               system engine's code (gethostname, the cached /etc/services table)
// For each address family a name is first tried as a numeric address (glibc's
// digits-and-dots rule, digits_dots.h), then through the sources nsswitch.conf's hosts
// line lists, in its order: "files" is our HostsTable (/etc/hosts read once, glibc's
// semantics, hosts.h), "dns" is c-ares (search list and ndots from resolv.conf or options).
//
// Tuning (see dns_channel.h, dns_sockets.h): UDP datagrams go out and come in by the
// batch (sendmmsg/recvmmsg), c-ares never reads /etc/hosts, nothing sorts addresses (no
// RFC 6724 connect() probes), sockets get 4 MiB buffers, TCP takes over truncated
// answers, and answers are read as glibc reads them (dns_answer.h). Each question is sent up to
// `tries` times; the first try waits timeout / (2^tries - 1) (c-ares doubles it each round), so the
// tries span the name's deadline; the deadline itself is enforced by the loop, to the microsecond,
// whatever c-ares is doing.
//
// Measured in the DNS sandbox (10,000 names, A+AAAA, 2 vCPUs, 256 in flight): 8.5-10 µs
// of client CPU per name, and NSD, at ~4.4 µs a question, saturates its core first.
//
// Differences from "system", by design (README.md, resolve section):
//  - fqdn: the PTR of the first IPv4 address (else IPv6); getaddrinfo would sort them by
//    RFC 6724 first; the results differ only for hosts whose addresses' PTRs differ;
//  - nsswitch sources other than files and dns (myhostname, mdns, resolve, ...) are
//    not consulted, and /etc/hosts edits made while the engine lives are not seen;
//  - a name one of whose families timed out and the other failed reports kTimedOut.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "resolve/dns_channel.h"
#include "resolve/engine.h"

namespace ub::resolve {
namespace detail {
struct DnsConfig;
}

// A server as DnsOptions::servers takes it: a numeric IPv4 or IPv6 address, optionally
// with a port: "127.0.0.1", "127.0.0.1:5300", "::1", "[::1]:53".
bool valid_dns_server(std::string_view server);

class DnsEngine : public StreamEngine {
 public:
  // Reads /etc/hosts, nsswitch.conf and host.conf, and sets up one channel (so a bad
  // --server or an unreadable resolv.conf fails here, not per query).
  static Result<std::shared_ptr<DnsEngine>> create(const DnsOptions& options,
                                                   std::chrono::milliseconds timeout);
  ~DnsEngine() override;

  std::string_view name() const override { return "dns"; }
  StreamStats stream(const Source& source, const Sink& sink, const StreamOptions& options) override;

  // For reports: the servers asked ("127.0.0.1:53"), the SO_RCVBUF the kernel granted
  // (0 before the first query), the first try's timeout.
  const std::string& servers() const { return servers_; }
  int receive_buffer() const;
  std::chrono::milliseconds try_timeout() const { return channel_config_.try_timeout; }

 private:
  DnsEngine() = default;
  Result<std::unique_ptr<detail::DnsChannel>> take_channel();
  void give_back(std::unique_ptr<detail::DnsChannel> channel);

  std::unique_ptr<detail::DnsConfig> config_;
  detail::DnsChannelConfig channel_config_;
  std::string servers_;
  // Channels no stream is using; each stream takes one, so streams run side by side.
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<detail::DnsChannel>> idle_;
};

}  // namespace ub::resolve
