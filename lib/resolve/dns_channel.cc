#include "resolve/dns_channel.h"

#include <arpa/inet.h>
#include <fmt/core.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

namespace ub::resolve::detail {
namespace {

constexpr int kMaxEvents = 16;
// Later c-ares versions scale each try's timeout by a random 9/16..16/16 (1.18.1 does
// not): assuming they might, a try sent now expires no sooner than this fraction of it.
constexpr int kJitterNum = 9;
constexpr int kJitterDen = 16;

std::error_code ares_init_error(int status) {
  switch (status) {
    case ARES_ENOMEM:
      return std::make_error_code(std::errc::not_enough_memory);
    case ARES_EBADSTR:
    case ARES_EFORMERR:
      return std::make_error_code(std::errc::invalid_argument);
    case ARES_EFILE:
      return std::make_error_code(std::errc::no_such_file_or_directory);
    default:
      return std::make_error_code(std::errc::io_error);
  }
}

// ares_set_servers_ports_csv wants "IP", "IP:PORT" or "[IPv6]:PORT", comma-separated.
std::string servers_csv(const std::vector<std::string>& servers) {
  std::string csv;
  for (const auto& s : servers) {
    if (!csv.empty()) csv += ',';
    csv += s;
  }
  return csv;
}

constexpr int kMaxServiceRounds = 64;  // bounded: each round consumes buffered datagrams

}  // namespace

Result<std::unique_ptr<DnsChannel>> DnsChannel::create(const DnsChannelConfig& config) {
  static std::once_flag library_once;
  static int library_status = ARES_SUCCESS;
  std::call_once(library_once, [] { library_status = ::ares_library_init(ARES_LIB_INIT_ALL); });
  if (library_status != ARES_SUCCESS) return ares_init_error(library_status);
  if (config.tries < 1 || config.try_timeout.count() < 1 || config.socket_buffer < 0) {
    return std::make_error_code(std::errc::invalid_argument);
  }

  std::unique_ptr<DnsChannel> ch(new DnsChannel());
  ch->epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!ch->epoll_) return errno_code(errno);
  ch->sockets_ = std::make_unique<BatchedSockets>(config.socket_buffer);
  ch->shortest_try_ =
      std::chrono::duration_cast<Clock::duration>(config.try_timeout) * kJitterNum / kJitterDen;

  ares_options o{};
  int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS |
             ARES_OPT_SOCK_STATE_CB;
  o.flags = ARES_FLAG_STAYOPEN;
  o.timeout = static_cast<int>(config.try_timeout.count());
  o.tries = config.tries;
  char lookups[] = "b";
  o.lookups = lookups;
  o.sock_state_cb = &DnsChannel::on_socket_state;
  o.sock_state_cb_data = ch.get();
  if (config.ndots >= 0) {
    mask |= ARES_OPT_NDOTS;
    o.ndots = config.ndots;
  }
  std::vector<char*> domains;
  if (config.search != nullptr) {
    mask |= ARES_OPT_DOMAINS;
    for (const auto& d : *config.search) domains.push_back(const_cast<char*>(d.c_str()));
    o.domains = domains.data();
    o.ndomains = static_cast<int>(domains.size());
  }
  if (const int status = ::ares_init_options(&ch->channel_, &o, mask); status != ARES_SUCCESS) {
    ch->channel_ = nullptr;
    return ares_init_error(status);
  }
  ::ares_set_socket_functions(ch->channel_, BatchedSockets::functions(), ch->sockets_.get());
  if (!config.servers.empty()) {
    const std::string csv = servers_csv(config.servers);
    if (::ares_set_servers_ports_csv(ch->channel_, csv.c_str()) != ARES_SUCCESS) {
      return std::make_error_code(std::errc::invalid_argument);
    }
  }
  return ch;
}

DnsChannel::~DnsChannel() {
  if (channel_ != nullptr) ::ares_destroy(channel_);
}

void DnsChannel::on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
  auto* self = static_cast<DnsChannel*>(data);
  const uint32_t events = (readable ? EPOLLIN : 0u) | (writable ? EPOLLOUT : 0u);
  const auto it = self->watched_.find(fd);
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (events == 0) {
    if (it == self->watched_.end()) return;
    ::epoll_ctl(self->epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    self->watched_.erase(it);
  } else if (it == self->watched_.end()) {
    ::epoll_ctl(self->epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
    self->watched_.emplace(fd, events);
  } else if (it->second != events) {
    ::epoll_ctl(self->epoll_.get(), EPOLL_CTL_MOD, fd, &ev);
    it->second = events;
  }
}

void DnsChannel::note_sent(Clock::time_point now) {
  timers_due_ = std::min(timers_due_, now + shortest_try_);
}

void DnsChannel::run_timers(Clock::time_point now) {
  ::ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  timeval max{3600, 0};
  timeval buf{};
  const timeval* next = ::ares_timeout(channel_, &max, &buf);
  const auto wait = std::chrono::seconds(next->tv_sec) + std::chrono::microseconds(next->tv_usec);
  timers_due_ = now + std::min<Clock::duration>(wait, shortest_try_);
}

void DnsChannel::cancel() {
  ::ares_cancel(channel_);
  sockets_->drop_queued();
}

// Datagrams already taken from the kernel, or errors kept, are invisible to epoll.
void DnsChannel::service_buffered() {
  for (int round = 0; round < kMaxServiceRounds; ++round) {
    const std::vector<int> fds = sockets_->need_service();
    if (fds.empty()) return;
    for (int fd : fds) ::ares_process_fd(channel_, fd, ARES_SOCKET_BAD);
  }
}

void DnsChannel::poll(Clock::time_point until) {
  if (sockets_->flush()) service_buffered();
  auto now = Clock::now();
  until = std::min(until, timers_due_);
  timespec wait{};
  if (until > now) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(until - now).count();
    wait.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    wait.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  }
  epoll_event events[kMaxEvents];
  const int n = ::epoll_pwait2(epoll_.get(), events, kMaxEvents, &wait, nullptr);
  for (int i = 0; i < n; ++i) {
    const uint32_t e = events[i].events;
    const int fd = events[i].data.fd;
    const bool read = (e & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0;
    const bool write = (e & EPOLLOUT) != 0;
    ::ares_process_fd(channel_, read ? fd : ARES_SOCKET_BAD, write ? fd : ARES_SOCKET_BAD);
  }
  if (n > 0) service_buffered();
  now = Clock::now();
  if (n > 0) note_sent(now);  // answers may have triggered retries (SERVFAIL, truncation)
  if (now >= timers_due_) run_timers(now);
}

std::string DnsChannel::servers() const {
  ares_addr_port_node* list = nullptr;
  if (::ares_get_servers_ports(channel_, &list) != ARES_SUCCESS) return {};
  std::string out;
  for (auto* s = list; s != nullptr; s = s->next) {
    char text[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(s->family, &s->addr, text, sizeof text);
    const int port = s->udp_port != 0 ? s->udp_port : 53;
    const char* sep = out.empty() ? "" : ",";
    out += s->family == AF_INET6 ? fmt::format("{}[{}]:{}", sep, text, port)
                                 : fmt::format("{}{}:{}", sep, text, port);
  }
  ::ares_free_data(list);
  return out;
}

}  // namespace ub::resolve::detail
