#include "resolve/dns_engine.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "resolve/dns_stream.h"

namespace ub::resolve {
namespace {

constexpr int kMaxTries = 16;
constexpr int kMaxInFlight = 1 << 20;

// The first try's timeout so that `tries` tries, each twice the one before, span the
// deadline: timeout / (2^tries - 1), rounded up (so c-ares gives up at the deadline or
// just after, never before: the deadline, enforced by the stream, decides).
std::chrono::milliseconds first_try(std::chrono::milliseconds timeout, int tries) {
  const auto rounds = (int64_t{1} << tries) - 1;
  return std::chrono::milliseconds(std::max<int64_t>(1, (timeout.count() + rounds - 1) / rounds));
}

bool valid_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return false;
  int port = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    port = port * 10 + (c - '0');
  }
  return port >= 1 && port <= 65535;
}

bool valid_address(std::string_view text, int family) {
  unsigned char bytes[16];
  return ::inet_pton(family, std::string(text).c_str(), bytes) == 1;
}

}  // namespace

bool valid_dns_server(std::string_view s) {
  if (!s.empty() && s.front() == '[') {
    const size_t close = s.find(']');
    if (close == std::string_view::npos) return false;
    const std::string_view rest = s.substr(close + 1);
    return valid_address(s.substr(1, close - 1), AF_INET6) &&
           (rest.empty() || (rest.front() == ':' && valid_port(rest.substr(1))));
  }
  if (valid_address(s, AF_INET6)) return true;
  const size_t colon = s.find(':');
  if (colon == std::string_view::npos) return valid_address(s, AF_INET);
  return valid_address(s.substr(0, colon), AF_INET) && valid_port(s.substr(colon + 1));
}

Result<std::shared_ptr<DnsEngine>> DnsEngine::create(const DnsOptions& options,
                                                     std::chrono::milliseconds timeout) {
  if (options.in_flight < 1 || options.in_flight > kMaxInFlight || options.tries < 1 ||
      options.tries > kMaxTries || options.rate < 0 || !std::isfinite(options.rate) ||
      options.socket_buffer < 0 || timeout.count() <= 0 ||
      (options.ndots && (*options.ndots < 0 || *options.ndots > 15)) ||
      !std::all_of(options.servers.begin(), options.servers.end(), valid_dns_server)) {
    return std::make_error_code(std::errc::invalid_argument);
  }
  std::shared_ptr<DnsEngine> engine(new DnsEngine());
  auto config = std::make_unique<detail::DnsConfig>();
  config->options = options;
  config->timeout = timeout;
  config->sources = host_sources(options.nsswitch_path);
  auto hosts = HostsTable::load(options.hosts_path, hosts_multi(options.host_conf_path));
  if (!hosts) return hosts.error();
  config->hosts = std::move(*hosts);
  engine->config_ = std::move(config);

  detail::DnsChannelConfig& c = engine->channel_config_;
  c.tries = options.tries;
  c.try_timeout = first_try(timeout, options.tries);
  c.servers = options.servers;
  c.search = engine->config_->options.search ? &*engine->config_->options.search : nullptr;
  c.ndots = options.ndots.value_or(-1);
  c.socket_buffer = options.socket_buffer;
  auto channel = detail::DnsChannel::create(c);
  if (!channel) return channel.error();
  engine->servers_ = (*channel)->servers();
  engine->idle_.push_back(std::move(*channel));
  return engine;
}

DnsEngine::~DnsEngine() = default;

int DnsEngine::receive_buffer() const {
  std::lock_guard lock(mu_);
  int granted = 0;
  for (const auto& ch : idle_) granted = std::max(granted, ch->receive_buffer());
  return granted;
}

Result<std::unique_ptr<detail::DnsChannel>> DnsEngine::take_channel() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto ch = std::move(idle_.back());
      idle_.pop_back();
      return ch;
    }
  }
  return detail::DnsChannel::create(channel_config_);
}

void DnsEngine::give_back(std::unique_ptr<detail::DnsChannel> channel) {
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(channel));
}

StreamStats DnsEngine::stream(const Source& source, const Sink& sink,
                              const StreamOptions& options) {
  auto channel = take_channel();
  if (!channel) {
    // No channel (out of descriptors or memory): every query fails with the reason.
    detail::Delivery delivery(sink, options.ordered);
    size_t index = 0;
    while (auto query = source()) {
      Outcome out;
      out.error = channel.error();
      delivery.deliver(index++, std::move(out));
    }
    return delivery.stats();
  }
  // Back to the idle list however the stream ends (a throwing sink included); the
  // stream's destructor has cancelled whatever it left pending by then.
  struct GiveBack {
    DnsEngine* engine;
    std::unique_ptr<detail::DnsChannel>& channel;
    ~GiveBack() { engine->give_back(std::move(channel)); }
  } give_back{this, *channel};
  detail::DnsStream stream(*config_, **channel, sink, options);
  return stream.run(source);
}

}  // namespace ub::resolve
