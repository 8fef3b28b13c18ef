#include "resolve/dns_stream.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "resolve/digits_dots.h"
#include "resolve/dns_answer.h"
#include "resolve/dns_errors.h"
#include "resolve/errors.h"

namespace ub::resolve::detail {
namespace {

// Longest single wait: a safety net, every real wake-up (deadline, rate, c-ares timer) is
// sooner.
constexpr auto kMaxWait = std::chrono::seconds(1);
// Starts in a row that share one clock reading (a batch starts within microseconds).
constexpr size_t kClockEvery = 32;

std::string address_text(int family, const void* bytes) {
  char text[INET6_ADDRSTRLEN] = {};
  if (::inet_ntop(family, bytes, text, sizeof text) == nullptr) return {};
  return text;
}

std::string strip(const std::string& text) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  const auto first = std::find_if(text.begin(), text.end(), not_space);
  const auto last = std::find_if(text.rbegin(), text.rend(), not_space).base();
  return first < last ? std::string(first, last) : std::string();
}

std::string machine_hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0) return {};
  return name;
}

// A numeric IPv4 or IPv6 address, strictly (inet_pton), as gethostbyaddr wants it.
bool parse_numeric(const std::string& text, int* family, in6_addr* bytes) {
  if (::inet_pton(AF_INET, text.c_str(), bytes) == 1) {
    *family = AF_INET;
    return true;
  }
  if (::inet_pton(AF_INET6, text.c_str(), bytes) == 1) {
    *family = AF_INET6;
    return true;
  }
  return false;
}

// DNS questions a query sends when nothing answers it locally (what --rate counts).
double questions(const Query& q) {
  switch (q.kind) {
    case Kind::kLookup:
    case Kind::kReverse:
      return 1;
    case Kind::kLookupEx:
      return 2;
    case Kind::kFqdn:
      return 3;
    default:
      return 0;
  }
}

Outcome failure(std::error_code error) {
  Outcome o;
  o.error = error;
  return o;
}

Outcome success(Answer answer) {
  Outcome o;
  o.answer = std::move(answer);
  return o;
}

}  // namespace

DnsStream::DnsStream(DnsConfig& config, DnsChannel& channel, const Sink& sink,
                     const StreamOptions& options)
    : config_(config),
      channel_(channel),
      delivery_(sink, options.ordered),
      window_(std::max<size_t>(1, options.window)),
      in_flight_(static_cast<size_t>(std::max(1, config.options.in_flight))),
      timeout_(config.timeout),
      // Bursts of 10 ms worth of questions, and at least one name's (3).
      bucket_(config.options.rate, std::max(3.0, config.options.rate / 100), Clock::now()) {}

DnsStream::~DnsStream() {
  for (auto& l : lookups_) {
    if (l->active) detach(*l);
  }
  channel_.cancel();  // detached calls end now; their Op records are freed
}

StreamStats DnsStream::run(const Source& source) {
  bool source_done = false;
  std::optional<Query> next;
  size_t started = 0;
  for (;;) {
    auto now = Clock::now();
    expire(now);
    auto wake = Clock::time_point::max();
    while (!source_done && active_ < in_flight_ && issued_ - delivery_.delivered() < window_) {
      if (!next) {
        next = source();
        if (!next) {
          source_done = true;
          break;
        }
      }
      const double cost = questions(*next);
      if (!bucket_.take(cost, now)) {
        wake = bucket_.ready_at(cost, now);
        break;
      }
      start(std::move(*next), now);
      next.reset();
      if (++started % kClockEvery == 0) now = Clock::now();
    }
    if (source_done && active_ == 0) break;
    // Entries of lookups answered in time are dropped here, so the wake-up is a live one.
    while (!deadlines_.empty() && (!deadlines_.front().lookup->active ||
                                   deadlines_.front().lookup->index != deadlines_.front().index)) {
      deadlines_.pop_front();
    }
    if (!deadlines_.empty()) wake = std::min(wake, deadlines_.front().deadline);
    channel_.poll(std::min(wake, now + kMaxWait));
    drain_ready();
  }
  return delivery_.stats();
}

void DnsStream::start(Query&& query, Clock::time_point now) {
  Lookup* l;
  if (!spare_.empty()) {
    l = spare_.back();
    spare_.pop_back();
    *l = Lookup{};
  } else {
    lookups_.push_back(std::make_unique<Lookup>());
    l = lookups_.back().get();
  }
  l->index = issued_++;
  l->query = std::move(query);
  l->start = now;
  l->active = true;
  ++active_;

  const std::string& name = l->query.text;
  switch (l->query.kind) {
    case Kind::kLookup:
      if (name.empty()) return finish(*l, failure(make_error_code(Error::kNoName)));
      l->parts[kA].wanted = true;
      break;
    case Kind::kLookupEx:
      if (name.empty()) return finish(*l, failure(make_error_code(Error::kNoName)));
      l->parts[kA].wanted = true;
      l->parts[kAaaa].wanted = true;
      break;
    case Kind::kReverse:
      if (!parse_numeric(name, &l->ptr_family, &l->ptr_address)) {
        return finish(*l, failure(make_error_code(Error::kBadAddress)));
      }
      l->parts[kPtr].wanted = true;
      break;
    case Kind::kFqdn: {
      // Python's getfqdn: "", "0.0.0.0" and "::" mean this machine.
      std::string n = strip(name);
      if (n.empty() || n == "0.0.0.0" || n == "::") n = machine_hostname();
      l->fqdn_name = n;
      if (parse_numeric(n, &l->ptr_family, &l->ptr_address)) {
        l->reverse_stage = true;
        l->parts[kPtr].wanted = true;
      } else {
        l->parts[kA].wanted = true;
        l->parts[kAaaa].wanted = true;
      }
      break;
    }
    default:
      return finish(*l, config_.local.resolve(l->query));
  }
  settle(*l);
  // Starts are in time order, so pushing at the back keeps the queue in deadline order.
  if (l->active) deadlines_.push_back({l->start + timeout_, l, l->index});
}

void DnsStream::settle(Lookup& l) {
  for (int q = kA; q <= kPtr; ++q) {
    if (l.parts[q].wanted) advance(l, static_cast<Question>(q));
  }
  std::optional<Outcome> out = outcome(l);
  if (!out) return;  // a c-ares call is in flight, or the fqdn's PTR stage just began
  finish(l, std::move(*out));
}

void DnsStream::advance(Lookup& l, Question q) {
  Part& p = l.parts[q];
  while (!p.done && p.op == nullptr) {
    if (!p.started) {
      p.started = true;
      if (local_answer(l, q)) continue;
    }
    if (p.next_source >= config_.sources.size()) {
      p.done = true;
      break;
    }
    switch (config_.sources[p.next_source++]) {
      case HostSource::kFiles: {
        std::optional<Answer> a;
        if (q == kPtr) {
          a = config_.hosts.by_address(l.ptr_family, &l.ptr_address);
        } else {
          a = config_.hosts.by_name(l.query.kind == Kind::kFqdn ? l.fqdn_name : l.query.text,
                                    q == kA ? AF_INET : AF_INET6);
        }
        if (a) {
          p.ok = p.done = true;
          p.answer = std::move(*a);
        } else {
          p.status = ARES_ENOTFOUND;
        }
        break;
      }
      case HostSource::kDns:
        issue(l, q);  // its callback may already have run (a bad name fails at once)
        break;
    }
  }
}

bool DnsStream::local_answer(Lookup& l, Question q) {
  if (q == kPtr) return false;
  const std::string& name = l.query.kind == Kind::kFqdn ? l.fqdn_name : l.query.text;
  auto numeric = digits_dots(name, q == kA ? AF_INET : AF_INET6);
  if (!numeric) return false;
  Part& p = l.parts[q];
  p.done = true;
  p.ok = numeric->found;
  p.status = ARES_ENOTFOUND;
  p.answer = std::move(numeric->answer);
  return true;
}

void DnsStream::issue(Lookup& l, Question q) {
  Part& p = l.parts[q];
  auto* op = new Op{this, &l, q};
  p.op = op;
  channel_.note_sent(l.start);  // earlier than now: on the safe side
  if (q == kPtr) {
    // ares_query on the reverse name, not ares_gethostbyaddr: its parser reports the last
    // PTR name, glibc the first (dns_answer.h).
    const std::string name = reverse_name(l.ptr_family, &l.ptr_address);
    ::ares_query(channel_.get(), name.c_str(), ns_c_in, ns_t_ptr, &DnsStream::on_answer, op);
  } else {
    const std::string& name = l.query.kind == Kind::kFqdn ? l.fqdn_name : l.query.text;
    ::ares_search(channel_.get(), name.c_str(), ns_c_in, q == kA ? ns_t_a : ns_t_aaaa,
                  &DnsStream::on_answer, op);
  }
}

void DnsStream::on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  auto* op = static_cast<Op*>(arg);
  if (op->lookup != nullptr) op->stream->answered(*op, status, abuf, alen);
  delete op;
}

// Runs inside a c-ares callback: records, queues the lookup for settle(), never throws.
void DnsStream::answered(Op& op, int status, const unsigned char* abuf, int alen) {
  Lookup& l = *op.lookup;
  Part& p = l.parts[op.question];
  p.op = nullptr;
  try {
    ready_.emplace_back(&l, l.index);
    if (status == ARES_SUCCESS && op.question == kPtr) {
      status = parse_ptr_answer(abuf, alen, &p.answer.name);
      if (status == ARES_SUCCESS) {
        p.answer.addresses.push_back(address_text(l.ptr_family, &l.ptr_address));
        p.ok = p.done = true;
        return;
      }
    } else if (status == ARES_SUCCESS) {
      status = parse_address_answer(abuf, alen, op.question == kA ? ns_t_a : ns_t_aaaa, &p.answer);
      if (status == ARES_SUCCESS) {
        p.ok = p.done = true;
        return;
      }
    }
    p.status = status;  // settle() goes on to the next source, if any
  } catch (...) {
    p.status = ARES_ENOMEM;
    p.done = true;
  }
}

std::optional<Outcome> DnsStream::outcome(Lookup& l) {
  for (const Part& p : l.parts) {
    if (p.wanted && !p.done) return std::nullopt;
  }
  Part& a = l.parts[kA];
  Part& aaaa = l.parts[kAaaa];
  Part& ptr = l.parts[kPtr];
  switch (l.query.kind) {
    case Kind::kLookup:
      if (!a.ok) return failure(ares_lookup_error(a.status));
      a.answer.aliases.clear();
      a.answer.name.clear();
      a.answer.addresses.resize(1);
      return success(std::move(a.answer));
    case Kind::kLookupEx: {
      if (!a.ok && !aaaa.ok) {
        // As the system engine: "exists without that family" (NO_DATA) beats "no such
        // name", which beats the rest; a family that timed out makes it a timeout.
        if (a.status == ARES_ETIMEOUT || aaaa.status == ARES_ETIMEOUT) {
          return failure(make_error_code(Error::kTimedOut));
        }
        int status = a.status;
        if (ares_to_herrno(a.status) != ares_to_herrno(aaaa.status)) {
          if (a.status == ARES_ENODATA || aaaa.status == ARES_ENODATA) {
            status = ARES_ENODATA;
          } else if (ares_to_herrno(a.status) == HOST_NOT_FOUND ||
                     ares_to_herrno(aaaa.status) == HOST_NOT_FOUND) {
            status = ARES_ENOTFOUND;
          }
        }
        return failure(ares_lookup_error(status));
      }
      Answer out = a.ok ? std::move(a.answer) : std::move(aaaa.answer);
      if (a.ok && aaaa.ok) {
        for (auto& address : aaaa.answer.addresses) out.addresses.push_back(std::move(address));
      }
      return success(std::move(out));
    }
    case Kind::kReverse:
      if (!ptr.ok) return failure(ares_reverse_error(ptr.status));
      return success(std::move(ptr.answer));
    case Kind::kFqdn: {
      Answer out;
      out.name = l.fqdn_name;
      if (!l.reverse_stage) {
        const Part* first = a.ok ? &a : aaaa.ok ? &aaaa : nullptr;
        if (first == nullptr) return success(std::move(out));  // unknown: the name itself
        const int family = first == &a ? AF_INET : AF_INET6;
        ::inet_pton(family, first->answer.addresses.front().c_str(), &l.ptr_address);
        l.ptr_family = family;
        l.reverse_stage = true;
        ptr.wanted = true;
        advance(l, kPtr);
        if (!ptr.done) return std::nullopt;
      }
      if (!ptr.ok) return success(std::move(out));
      // The first of the official name and its aliases with a dot in it, else the name.
      out.name = ptr.answer.name;
      if (out.name.find('.') == std::string::npos) {
        for (const auto& alias : ptr.answer.aliases) {
          if (alias.find('.') != std::string::npos) {
            out.name = alias;
            break;
          }
        }
      }
      return success(std::move(out));
    }
    default:
      return failure(make_error_code(Error::kBadQuery));
  }
}

void DnsStream::finish(Lookup& l, Outcome&& out) {
  out.latency = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - l.start);
  l.active = false;
  --active_;
  spare_.push_back(&l);
  const size_t index = l.index;
  delivery_.deliver(index, std::move(out));  // last: the sink may throw
}

void DnsStream::drain_ready() {
  // settle() may queue more (a failed source moves on at once); index by position.
  for (size_t i = 0; i < ready_.size(); ++i) {
    auto [l, index] = ready_[i];
    if (l->active && l->index == index) settle(*l);
  }
  ready_.clear();
}

void DnsStream::detach(Lookup& l) {
  for (Part& p : l.parts) {
    if (p.op != nullptr) {
      p.op->lookup = nullptr;
      p.op = nullptr;
    }
  }
}

void DnsStream::expire(Clock::time_point now) {
  while (!deadlines_.empty() && deadlines_.front().deadline <= now) {
    const Due due = deadlines_.front();
    deadlines_.pop_front();
    Lookup& l = *due.lookup;
    if (!l.active || l.index != due.index) continue;  // answered before its deadline
    detach(l);
    finish(l, failure(make_error_code(Error::kTimedOut)));
  }
}

}  // namespace ub::resolve::detail
