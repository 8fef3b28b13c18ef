#pragma once
// DnsStream: one Resolver::stream() call on the "dns" engine. Internal to lib/resolve.
//
// The loop, on the caller's thread: take queries from the source while fewer than
// `in_flight` names are pending (and the rate limit allows their questions), start them
// (numeric, /etc/hosts and non-DNS answers finish at once), wait on the channel until an
// answer, a deadline or the rate limit is due, settle the lookups whose answers came, and
// time out those past their deadline. Deadlines are kept in start order, which is
// deadline order, so checking them costs nothing while none is due.
//
// c-ares callbacks only record what came back; everything else (next source, next stage,
// delivery to the sink) happens outside them, so a throwing sink never unwinds through C
// frames. A c-ares call that outlives its lookup (timed out, or the stream ended) keeps its
// small Op record, detached from the lookup, until c-ares calls back; when the stream ends,
// every such call is cancelled, so the channel goes back clean.

#include <ares.h>
#include <netinet/in.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "resolve/delivery.h"
#include "resolve/dns_channel.h"
#include "resolve/host_sources.h"
#include "resolve/hosts.h"
#include "resolve/options.h"
#include "resolve/system_engine.h"
#include "resolve/token_bucket.h"

namespace ub::resolve::detail {

// What every stream of a "dns" engine shares, read-only.
struct DnsConfig {
  DnsOptions options;
  std::chrono::milliseconds timeout{5000};
  HostsTable hosts;
  std::vector<HostSource> sources;
  SystemEngine local;  // hostname and services: no DNS involved
};

class DnsStream {
 public:
  using Clock = std::chrono::steady_clock;

  DnsStream(DnsConfig& config, DnsChannel& channel, const Sink& sink, const StreamOptions& options);
  ~DnsStream();  // detaches and cancels whatever is still pending (also on exceptions)
  DnsStream(const DnsStream&) = delete;
  DnsStream& operator=(const DnsStream&) = delete;

  StreamStats run(const Source& source);

 private:
  enum Question : int { kA = 0, kAaaa = 1, kPtr = 2 };
  struct Lookup;

  // One c-ares call, alive from the call until its callback.
  struct Op {
    DnsStream* stream = nullptr;
    Lookup* lookup = nullptr;  // null once the lookup no longer waits for it
    Question question = kA;
  };

  // One question of a lookup, answered by the first source (numeric, files, dns) that can.
  struct Part {
    bool wanted = false;
    bool started = false;
    bool done = false;
    bool ok = false;
    int status = ARES_ENOTFOUND;  // when done and !ok: the last source's failure
    size_t next_source = 0;
    Op* op = nullptr;  // the c-ares call in flight, if any
    Answer answer;
  };

  struct Lookup {
    size_t index = 0;  // input position; also tells reused Lookup objects apart
    Query query;
    Clock::time_point start;
    bool active = false;
    bool reverse_stage = false;  // fqdn: the forward parts are done, PTR asked
    std::string fqdn_name;       // fqdn: the name to fall back on
    int ptr_family = 0;
    in6_addr ptr_address{};
    std::array<Part, 3> parts;  // by Question
  };

  struct Due {
    Clock::time_point deadline;
    Lookup* lookup;
    size_t index;
  };

  static void on_answer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);

  void start(Query&& query, Clock::time_point now);
  void settle(Lookup& lookup);
  void advance(Lookup& lookup, Question q);
  void issue(Lookup& lookup, Question q);
  bool local_answer(Lookup& lookup, Question q);   // numeric or /etc/hosts; true if found
  std::optional<Outcome> outcome(Lookup& lookup);  // nullopt: not finished yet
  void finish(Lookup& lookup, Outcome&& outcome);
  void answered(Op& op, int status, const unsigned char* abuf, int alen);
  void drain_ready();
  void expire(Clock::time_point now);
  void detach(Lookup& lookup);

  DnsConfig& config_;
  DnsChannel& channel_;
  Delivery delivery_;
  size_t window_;
  size_t in_flight_;
  std::chrono::nanoseconds timeout_;
  TokenBucket bucket_;
  size_t issued_ = 0;
  size_t active_ = 0;
  std::vector<std::unique_ptr<Lookup>> lookups_;  // by slot; active ones and spares
  std::vector<Lookup*> spare_;
  std::deque<Due> deadlines_;                      // start order = deadline order
  std::vector<std::pair<Lookup*, size_t>> ready_;  // answered since the last settle
};

}  // namespace ub::resolve::detail
