#pragma once
// The "system" engine: glibc's own lookups on the calling (worker) thread, so
// /etc/hosts, nsswitch.conf and resolv.conf behave exactly as for any program here.
//
// Cost, measured in the DNS sandbox on a 2-vCPU VM (10,000 names, A+AAAA; client CPU per
// name; bench_resolve and strace -c): getaddrinfo(AF_UNSPEC) ~60-80 µs and ~40 syscalls,
// with or without AI_ADDRCONFIG, because with more than one address it dumps the
// interfaces over netlink and connect()s a UDP socket per address to sort them (RFC
// 3484); gethostbyname2_r for AF_INET then AF_INET6 ~65 µs, and ~35-40 µs (~24 syscalls)
// once each worker's resolver keeps its UDP socket (RES_STAYOPEN: no socket, connect and
// close per query). Same answers; 1.5-1.6x the names/s of a plain getaddrinfo pool. The
// price: A and AAAA are asked one after the other (two round trips per thread), so on a
// high-latency link give the pool more threads. So:
//   lookup      gethostbyname2_r(AF_INET)                (one A query, no sorting)
//   lookup_ex   gethostbyname2_r(AF_INET) + (AF_INET6)   (also yields the CNAME aliases)
//   reverse     gethostbyaddr_r
//   fqdn        Python's getfqdn: getaddrinfo first address, then gethostbyaddr_r
//   services    a ServiceTable parsed once, when nsswitch.conf lets glibc answer from
//               /etc/services alone; getservby*_r otherwise
// lookup_ex is gethostbyname2's semantics per family: a name that /etc/hosts lists for
// IPv4 only is still asked of DNS for IPv6 (getaddrinfo(AF_UNSPEC) would stop at the
// file), and when one family fails but the other answers, the answer is the one family.
// Errors: lookup/lookup_ex report the EAI_* code getaddrinfo would (what Python's
// gethostbyname shows); reverse reports h_errno (Python's herror).

#include <memory>
#include <mutex>
#include <optional>

#include "resolve/engine.h"
#include "resolve/services.h"

namespace ub::resolve {

class SystemEngine : public Engine {
 public:
  std::string_view name() const override { return "system"; }
  void thread_init() override;
  Outcome resolve(const Query& query) override;

 private:
  Outcome lookup(const std::string& name);
  Outcome lookup_ex(const std::string& name);
  Outcome fqdn(const std::string& name);
  Outcome reverse(const std::string& address);
  Outcome service_port(const std::string& name, const std::string& proto);
  Outcome service_name(int port, const std::string& proto);
  const ServiceTable* services();

  std::once_flag services_once_;
  std::optional<ServiceTable> services_;  // empty: ask glibc every time
};

}  // namespace ub::resolve
