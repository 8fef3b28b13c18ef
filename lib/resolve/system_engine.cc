#include "resolve/system_engine.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "resolve/errors.h"
#include "resolve/url.h"

namespace ub::resolve {
namespace {

constexpr size_t kInitialBuffer = 16 * 1024;
constexpr size_t kMaxBuffer = 4 * 1024 * 1024;

// Keeps this thread's resolver socket open between queries. Re-applied before every
// lookup because glibc re-reads resolv.conf when it changes, which resets the options.
void keep_socket_open() { _res.options |= RES_STAYOPEN; }

std::string address_text(int family, const void* address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (::inet_ntop(family, address, text, sizeof(text)) == nullptr) return {};
  return text;
}

// One gethostby*_r result: the hostent's strings copied out, or its h_errno.
struct HostResult {
  bool ok = false;
  int herr = 0;
  int err = 0;  // errno, for NETDB_INTERNAL
  Answer answer;
};

HostResult from_hostent(const hostent* he) {
  HostResult r;
  r.ok = true;
  r.answer.name = he->h_name != nullptr ? he->h_name : "";
  for (char** a = he->h_aliases; a != nullptr && *a != nullptr; ++a)
    r.answer.aliases.emplace_back(*a);
  for (char** p = he->h_addr_list; p != nullptr && *p != nullptr; ++p) {
    r.answer.addresses.push_back(address_text(he->h_addrtype, *p));
  }
  return r;
}

// Calls a gethostby*_r function, growing this thread's buffer on ERANGE.
template <typename Call>
HostResult call_hostent(Call&& call) {
  thread_local std::vector<char> buffer(kInitialBuffer);
  for (;;) {
    hostent he{};
    hostent* result = nullptr;
    int herr = 0;
    errno = 0;
    const int rc = call(&he, buffer.data(), buffer.size(), &result, &herr);
    if (rc == ERANGE && buffer.size() < kMaxBuffer) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (rc == 0 && result != nullptr) return from_hostent(result);
    HostResult r;
    r.herr = herr != 0 ? herr : HOST_NOT_FOUND;
    r.err = rc != 0 ? rc : errno;
    return r;
  }
}

HostResult host_by_name(const std::string& name, int family) {
  keep_socket_open();
  return call_hostent([&](hostent* he, char* buf, size_t len, hostent** res, int* herr) {
    return ::gethostbyname2_r(name.c_str(), family, he, buf, len, res, herr);
  });
}

HostResult host_by_addr(const void* addr, socklen_t len, int family) {
  keep_socket_open();
  return call_hostent([&](hostent* he, char* buf, size_t size, hostent** res, int* herr) {
    return ::gethostbyaddr_r(addr, len, family, he, buf, size, res, herr);
  });
}

std::error_code gai_style(const HostResult& r) {
  if (r.herr == NETDB_INTERNAL) errno = r.err;
  return herrno_as_gai_error(r.herr);
}

std::error_code herr_style(const HostResult& r) {
  if (r.herr == NETDB_INTERNAL) errno = r.err;
  return herrno_error(r.herr);
}

// A numeric IPv4 or IPv6 address (inet_pton, strict), as gethostbyaddr wants it.
struct NumericAddress {
  int family = 0;
  in6_addr bytes{};  // large enough for either family
  socklen_t len = 0;
};

std::optional<NumericAddress> parse_numeric(const std::string& text) {
  NumericAddress a;
  if (::inet_pton(AF_INET, text.c_str(), &a.bytes) == 1) {
    a.family = AF_INET;
    a.len = sizeof(in_addr);
    return a;
  }
  if (::inet_pton(AF_INET6, text.c_str(), &a.bytes) == 1) {
    a.family = AF_INET6;
    a.len = sizeof(in6_addr);
    return a;
  }
  return std::nullopt;
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

// Python's setipaddr(name, AF_UNSPEC): a numeric address as is, else getaddrinfo's first.
std::optional<NumericAddress> address_of(const std::string& name) {
  if (auto numeric = parse_numeric(name)) return numeric;
  keep_socket_open();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;  // one entry per address, as Python asks
  addrinfo* res = nullptr;
  if (::getaddrinfo(name.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) {
    return std::nullopt;
  }
  NumericAddress a;
  a.family = res->ai_family;
  if (res->ai_family == AF_INET) {
    std::memcpy(&a.bytes, &reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr, sizeof(in_addr));
    a.len = sizeof(in_addr);
  } else {
    std::memcpy(&a.bytes, &reinterpret_cast<sockaddr_in6*>(res->ai_addr)->sin6_addr,
                sizeof(in6_addr));
    a.len = sizeof(in6_addr);
  }
  ::freeaddrinfo(res);
  return a;
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

Answer service_answer(const ServiceEntry& e) {
  Answer a;
  a.name = e.name;
  a.aliases = e.aliases;
  a.port = e.port;
  a.proto = e.proto;
  return a;
}

Answer service_answer(const servent& s) {
  Answer a;
  a.name = s.s_name;
  for (char** p = s.s_aliases; p != nullptr && *p != nullptr; ++p) a.aliases.emplace_back(*p);
  a.port = ntohs(static_cast<uint16_t>(s.s_port));
  a.proto = s.s_proto;
  return a;
}

template <typename Call>
std::optional<Answer> call_servent(Call&& call) {
  std::vector<char> buffer(4096);
  for (;;) {
    servent se{};
    servent* result = nullptr;
    const int rc = call(&se, buffer.data(), buffer.size(), &result);
    if (rc == ERANGE && buffer.size() < kMaxBuffer) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (rc == 0 && result != nullptr) return service_answer(*result);
    return std::nullopt;
  }
}

}  // namespace

void SystemEngine::thread_init() {
  ::res_init();
  keep_socket_open();
}

Outcome SystemEngine::resolve(const Query& query) {
  switch (query.kind) {
    case Kind::kHostname: {
      Answer a;
      a.name = machine_hostname();
      if (a.name.empty()) return failure({errno, std::system_category()});
      return success(std::move(a));
    }
    case Kind::kLookup:
      return lookup(query.text);
    case Kind::kLookupEx:
      return lookup_ex(query.text);
    case Kind::kFqdn:
      return fqdn(query.text);
    case Kind::kReverse:
      return reverse(query.text);
    case Kind::kServicePort:
      return service_port(query.text, query.proto);
    case Kind::kServiceName:
      return service_name(query.port, query.proto);
    case Kind::kSchemePort:
      return service_port(url_scheme(query.text), query.proto);
  }
  return failure(make_error_code(Error::kBadQuery));
}

Outcome SystemEngine::lookup(const std::string& name) {
  // getaddrinfo("") fails with EAI_NONAME; gethostbyname2_r("") with NO_RECOVERY.
  if (name.empty()) return failure(make_error_code(Error::kNoName));
  HostResult v4 = host_by_name(name, AF_INET);
  if (!v4.ok) return failure(gai_style(v4));
  if (v4.answer.addresses.empty()) return failure(make_error_code(Error::kNoData));
  Answer a;
  a.addresses.push_back(std::move(v4.answer.addresses.front()));
  return success(std::move(a));
}

Outcome SystemEngine::lookup_ex(const std::string& name) {
  if (name.empty()) return failure(make_error_code(Error::kNoName));
  HostResult v4 = host_by_name(name, AF_INET);
  HostResult v6 = host_by_name(name, AF_INET6);
  if (!v4.ok && !v6.ok) {
    // Both failed: the name exists (NO_DATA) beats "no such name", which beats the rest.
    int herr = v4.herr;
    if (v4.herr != v6.herr) {
      if (v4.herr == NO_DATA || v6.herr == NO_DATA) {
        herr = NO_DATA;
      } else if (v4.herr == HOST_NOT_FOUND || v6.herr == HOST_NOT_FOUND) {
        herr = HOST_NOT_FOUND;
      }
    }
    HostResult merged = herr == v4.herr ? v4 : v6;
    merged.herr = herr;
    return failure(gai_style(merged));
  }
  Answer a = v4.ok ? std::move(v4.answer) : std::move(v6.answer);
  if (v4.ok && v6.ok) {
    for (auto& address : v6.answer.addresses) a.addresses.push_back(std::move(address));
  }
  return success(std::move(a));
}

Outcome SystemEngine::fqdn(const std::string& text) {
  std::string name = strip(text);
  if (name.empty() || name == "0.0.0.0" || name == "::") name = machine_hostname();
  Answer a;
  a.name = name;
  const auto address = address_of(name);
  if (!address) return success(std::move(a));
  HostResult r = host_by_addr(&address->bytes, address->len, address->family);
  if (!r.ok) return success(std::move(a));
  // The first of the official name and its aliases that contains a dot, else the name.
  a.name = r.answer.name;
  if (a.name.find('.') == std::string::npos) {
    for (const auto& alias : r.answer.aliases) {
      if (alias.find('.') != std::string::npos) {
        a.name = alias;
        break;
      }
    }
  }
  return success(std::move(a));
}

Outcome SystemEngine::reverse(const std::string& text) {
  const auto address = parse_numeric(text);
  if (!address) return failure(make_error_code(Error::kBadAddress));
  HostResult r = host_by_addr(&address->bytes, address->len, address->family);
  if (!r.ok) return failure(herr_style(r));
  return success(std::move(r.answer));
}

const ServiceTable* SystemEngine::services() {
  std::call_once(services_once_, [this] {
    if (!services_answered_by_files()) return;
    auto table = ServiceTable::load();
    if (table) services_ = std::move(*table);
  });
  return services_ ? &*services_ : nullptr;
}

Outcome SystemEngine::service_port(const std::string& name, const std::string& proto) {
  if (const ServiceTable* table = services()) {
    const ServiceEntry* e = table->by_name(name, proto);
    if (e == nullptr) return failure(make_error_code(Error::kServiceNotFound));
    return success(service_answer(*e));
  }
  auto answer = call_servent([&](servent* se, char* buf, size_t len, servent** res) {
    return ::getservbyname_r(name.c_str(), proto.empty() ? nullptr : proto.c_str(), se, buf, len,
                             res);
  });
  if (!answer) return failure(make_error_code(Error::kServiceNotFound));
  return success(std::move(*answer));
}

Outcome SystemEngine::service_name(int port, const std::string& proto) {
  if (port < 0 || port > 0xffff) return failure(make_error_code(Error::kBadQuery));
  if (const ServiceTable* table = services()) {
    const ServiceEntry* e = table->by_port(port, proto);
    if (e == nullptr) return failure(make_error_code(Error::kPortNotFound));
    return success(service_answer(*e));
  }
  auto answer = call_servent([&](servent* se, char* buf, size_t len, servent** res) {
    return ::getservbyport_r(static_cast<int>(htons(static_cast<uint16_t>(port))),
                             proto.empty() ? nullptr : proto.c_str(), se, buf, len, res);
  });
  if (!answer) return failure(make_error_code(Error::kPortNotFound));
  return success(std::move(*answer));
}

}  // namespace ub::resolve
