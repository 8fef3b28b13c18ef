// The "dns" engine's parts that need no DNS: the /etc/hosts table (glibc's files rules),
// numeric names (glibc's digits-and-dots rule), nsswitch/host.conf reading, the DNS
// answer reader (glibc's canonical name, aliases and first PTR), the c-ares status map,
// the token bucket, and the engine itself on numeric, /etc/hosts and service queries.
// The engine is pointed at 127.0.0.1:1 (nothing listens there) and is checked to open no
// socket at all, so nothing here can reach a real resolver.

#include <ares.h>
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "resolve/digits_dots.h"
#include "resolve/dns_answer.h"
#include "resolve/dns_engine.h"
#include "resolve/dns_errors.h"
#include "resolve/errors.h"
#include "resolve/host_sources.h"
#include "resolve/hosts.h"
#include "resolve/resolver.h"
#include "resolve/token_bucket.h"

namespace ub::resolve {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Addresses = std::vector<std::string>;

// ---- HostsTable ----

constexpr const char* kHosts =
    "# comment\n"
    "127.0.0.1\tlocalhost\n"
    "127.0.1.1 vm.example vm   # trailing comment\n"
    "::1 localhost ip6-localhost ip6-loopback\n"
    "::ffff:10.0.0.9 mapped.example\n"
    "2001:db8::7 six.example SixAlias\n"
    "10.1.1.1 multi.example m1\n"
    "10.1.1.2 multi.example m2\n"
    "10.1.1.3 other.example multi.example\n"
    "not-an-address bogus.example\n"
    "10.9.9.9\n";

TEST(HostsTable, FirstLineNameAndAliasesCaseInsensitive) {
  const auto t = HostsTable::parse(kHosts, false);
  auto a = t.by_name("VM", AF_INET);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->name, "vm.example");
  EXPECT_THAT(a->aliases, ElementsAre("vm"));
  EXPECT_EQ(a->addresses, Addresses{"127.0.1.1"});
  a = t.by_name("sixalias", AF_INET6);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->addresses, Addresses{"2001:db8::7"});
  EXPECT_FALSE(t.by_name("sixalias", AF_INET));  // an IPv6 line does not count for AF_INET
  EXPECT_FALSE(t.by_name("vm", AF_INET6));
  EXPECT_FALSE(t.by_name("bogus.example", AF_INET));  // bad address: line ignored
  EXPECT_FALSE(t.by_name("nothing", AF_INET));
}

TEST(HostsTable, Ipv6LoopbackAndMappedCountAsIpv4) {
  const auto t = HostsTable::parse(kHosts, false);
  auto a = t.by_name("ip6-loopback", AF_INET);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->addresses, Addresses{"127.0.0.1"});
  EXPECT_EQ(t.by_name("mapped.example", AF_INET)->addresses, Addresses{"10.0.0.9"});
  EXPECT_EQ(t.by_name("mapped.example", AF_INET6)->addresses, Addresses{"::ffff:10.0.0.9"});
}

TEST(HostsTable, MultiOnCollectsEveryLineAsGlibcDoes) {
  const auto multi = HostsTable::parse(kHosts, true);
  auto a = multi.by_name("multi.example", AF_INET);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->name, "multi.example");
  EXPECT_EQ(a->addresses, (Addresses{"10.1.1.1", "10.1.1.2", "10.1.1.3"}));
  // Later lines' aliases, and their canonical name when it differs from the first's.
  EXPECT_THAT(a->aliases, ElementsAre("m1", "m2", "multi.example", "other.example"));
  // glibc's quirk: "::1" is 127.0.0.1 for AF_INET, so localhost's address comes twice.
  a = multi.by_name("localhost", AF_INET);
  EXPECT_EQ(a->addresses, (Addresses{"127.0.0.1", "127.0.0.1"}));
  EXPECT_THAT(a->aliases, ElementsAre("ip6-localhost", "ip6-loopback"));
  const auto single = HostsTable::parse(kHosts, false);
  EXPECT_EQ(single.by_name("multi.example", AF_INET)->addresses, Addresses{"10.1.1.1"});
}

TEST(HostsTable, ByAddressFirstMatchingLine) {
  const auto t = HostsTable::parse(kHosts, true);
  in_addr v4{};
  inet_pton(AF_INET, "127.0.0.1", &v4);
  auto a = t.by_address(AF_INET, &v4);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->name, "localhost");
  EXPECT_THAT(a->aliases, IsEmpty());
  EXPECT_EQ(a->addresses, Addresses{"127.0.0.1"});
  in6_addr v6{};
  inet_pton(AF_INET6, "::1", &v6);
  a = t.by_address(AF_INET6, &v6);
  ASSERT_TRUE(a);
  EXPECT_THAT(a->aliases, ElementsAre("ip6-localhost", "ip6-loopback"));
  inet_pton(AF_INET, "10.0.0.9", &v4);
  EXPECT_EQ(t.by_address(AF_INET, &v4)->name, "mapped.example");
  inet_pton(AF_INET, "10.2.2.2", &v4);
  EXPECT_FALSE(t.by_address(AF_INET, &v4));
}

TEST(HostsTable, MissingFileIsEmpty) {
  auto t = HostsTable::load("/nonexistent/hosts", true);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->size(), 0u);
}

// ---- numeric names ----

TEST(DigitsDots, AsGlibc) {
  auto d = digits_dots("127.1", AF_INET);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->found);
  EXPECT_EQ(d->answer.name, "127.1");
  EXPECT_EQ(d->answer.addresses, Addresses{"127.0.0.1"});
  EXPECT_FALSE(digits_dots("127.0.0.1", AF_INET6)->found);  // digits only: never DNS
  EXPECT_FALSE(digits_dots("300.1.1.1", AF_INET)->found);
  EXPECT_FALSE(digits_dots("127.0.0.1.", AF_INET));  // trailing dot: a name to look up
  EXPECT_EQ(digits_dots("::1", AF_INET6)->answer.addresses, Addresses{"::1"});
  EXPECT_FALSE(digits_dots("::1", AF_INET)->found);
  EXPECT_FALSE(digits_dots("a:b", AF_INET)->found);
  EXPECT_FALSE(digits_dots("a:b", AF_INET6)->found);    // IPv6-ish but not an address
  EXPECT_FALSE(digits_dots("abc:def.x", AF_INET6));     // other characters: look it up
  EXPECT_FALSE(digits_dots("host1.example", AF_INET));  // not numeric at all
  EXPECT_FALSE(digits_dots("1host", AF_INET));
  EXPECT_FALSE(digits_dots("", AF_INET));
}

// ---- nsswitch.conf and host.conf ----

TEST(HostSources, OrderFromNsswitch) {
  const std::string path = ::testing::TempDir() + "/nsswitch.dns-test.conf";
  auto sources = [&](const std::string& text) {
    std::ofstream(path) << text;
    return host_sources(path);
  };
  using S = HostSource;
  EXPECT_EQ(sources("hosts: files dns\n"), (std::vector<S>{S::kFiles, S::kDns}));
  EXPECT_EQ(sources("hosts: dns [NOTFOUND=return] files\n"), (std::vector<S>{S::kDns, S::kFiles}));
  EXPECT_EQ(sources("hosts: files mdns4_minimal [NOTFOUND=return] dns myhostname\n"),
            (std::vector<S>{S::kFiles, S::kDns}));
  EXPECT_EQ(sources("passwd: files\n"), (std::vector<S>{S::kFiles, S::kDns}));
  EXPECT_EQ(host_sources("/nonexistent"), (std::vector<S>{S::kFiles, S::kDns}));
}

TEST(HostSources, MultiFromHostConf) {
  if (std::getenv("RESOLV_MULTI") != nullptr) GTEST_SKIP() << "RESOLV_MULTI set";
  const std::string path = ::testing::TempDir() + "/host.dns-test.conf";
  std::ofstream(path) << "# x\nmulti on\n";
  EXPECT_TRUE(hosts_multi(path));
  std::ofstream(path) << "order hosts,bind\nmulti off\n";
  EXPECT_FALSE(hosts_multi(path));
  EXPECT_FALSE(hosts_multi("/nonexistent"));
}

// ---- DNS answers ----

// Builds DNS response packets by hand (names as labels; `ptr(offset)` compresses).
class Packet {
 public:
  Packet(const std::string& qname, int qtype, int answers) {
    bytes_ = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, static_cast<uint8_t>(answers), 0, 0, 0, 0};
    question_at_ = name(qname);
    u16(qtype);
    u16(1);
  }
  int question_at() const { return question_at_; }
  // Appends a name; returns its offset.
  int name(const std::string& n) {
    const int at = static_cast<int>(bytes_.size());
    size_t start = 0;
    while (start < n.size()) {
      size_t dot = n.find('.', start);
      if (dot == std::string::npos) dot = n.size();
      bytes_.push_back(static_cast<uint8_t>(dot - start));
      bytes_.insert(bytes_.end(), n.begin() + static_cast<ptrdiff_t>(start),
                    n.begin() + static_cast<ptrdiff_t>(dot));
      start = dot + 1;
    }
    bytes_.push_back(0);
    return at;
  }
  void pointer(int offset) {
    bytes_.push_back(static_cast<uint8_t>(0xc0 | (offset >> 8)));
    bytes_.push_back(static_cast<uint8_t>(offset & 0xff));
  }
  void u16(int v) {
    bytes_.push_back(static_cast<uint8_t>(v >> 8));
    bytes_.push_back(static_cast<uint8_t>(v & 0xff));
  }
  // An RR whose owner is at `owner` (a pointer) with raw rdata.
  void rr(int owner, int type, const std::vector<uint8_t>& rdata, int klass = 1) {
    pointer(owner);
    u16(type);
    u16(klass);
    u16(0);
    u16(300);
    u16(static_cast<int>(rdata.size()));
    bytes_.insert(bytes_.end(), rdata.begin(), rdata.end());
  }
  // An RR whose rdata is a name (CNAME, PTR); returns the offset of that name.
  int rr_name(int owner, int type, const std::string& target) {
    pointer(owner);
    u16(type);
    u16(1);
    u16(0);
    u16(300);
    const size_t len_at = bytes_.size();
    u16(0);
    const int at = name(target);
    const size_t len = bytes_.size() - len_at - 2;
    bytes_[len_at] = static_cast<uint8_t>(len >> 8);
    bytes_[len_at + 1] = static_cast<uint8_t>(len & 0xff);
    return at;
  }
  const unsigned char* data() const { return bytes_.data(); }
  int size() const { return static_cast<int>(bytes_.size()); }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
  int question_at_ = 0;
};

std::vector<uint8_t> v4(const char* text) {
  std::vector<uint8_t> b(4);
  inet_pton(AF_INET, text, b.data());
  return b;
}

TEST(DnsAnswer, CnameChainGivesGlibcsNameAndAliases) {
  Packet p("Chain0.example", 1, 5);
  const int alias = p.rr_name(p.question_at(), 5, "alias0.example");
  const int host = p.rr_name(alias, 5, "host0.example");
  p.rr(host, 1, v4("10.0.0.1"));
  p.rr(p.question_at(), 1, v4("10.9.9.9"));  // owner is not the name sought any more
  p.rr(host, 1, v4("10.0.0.2"));
  Answer a;
  ASSERT_EQ(detail::parse_address_answer(p.data(), p.size(), 1, &a), ARES_SUCCESS);
  EXPECT_EQ(a.name, "host0.example");
  EXPECT_THAT(a.aliases, ElementsAre("Chain0.example", "alias0.example"));
  EXPECT_EQ(a.addresses, (Addresses{"10.0.0.1", "10.0.0.2"}));
}

TEST(DnsAnswer, OtherTypesAndClassesSkipped) {
  Packet p("host.example", 28, 3);
  p.rr(p.question_at(), 1, v4("10.0.0.1"));  // A in an AAAA answer
  std::vector<uint8_t> six(16, 0);
  six[0] = 0x20;
  six[1] = 0x01;
  six[15] = 7;
  p.rr(p.question_at(), 28, six, 3);  // class CH
  p.rr(p.question_at(), 28, six);
  Answer a;
  ASSERT_EQ(detail::parse_address_answer(p.data(), p.size(), 28, &a), ARES_SUCCESS);
  EXPECT_EQ(a.name, "host.example");
  EXPECT_EQ(a.addresses, Addresses{"2001::7"});
}

TEST(DnsAnswer, NoDataAndMalformed) {
  Packet only_cname("a.example", 1, 1);
  only_cname.rr_name(only_cname.question_at(), 5, "b.example");
  Answer a;
  EXPECT_EQ(detail::parse_address_answer(only_cname.data(), only_cname.size(), 1, &a),
            ARES_ENODATA);
  Packet truncated("a.example", 1, 1);
  truncated.rr(truncated.question_at(), 1, v4("10.0.0.1"));
  EXPECT_EQ(detail::parse_address_answer(truncated.data(), truncated.size() - 2, 1, &a),
            ARES_EBADRESP);
  Packet loop("a.example", 1, 1);
  loop.pointer(loop.size());  // a name that points at itself
  EXPECT_EQ(detail::parse_address_answer(loop.data(), loop.size(), 1, &a), ARES_EBADRESP);
  EXPECT_EQ(detail::parse_address_answer(loop.data(), 5, 1, &a), ARES_EBADRESP);
  EXPECT_EQ(detail::parse_address_answer(nullptr, 0, 1, &a), ARES_EBADRESP);
}

TEST(DnsAnswer, FirstPtrNameOnly) {
  Packet p("1.0.0.10.in-addr.arpa", 12, 2);
  p.rr_name(p.question_at(), 12, "first.example");
  p.rr_name(p.question_at(), 12, "second.example");
  std::string name;
  ASSERT_EQ(detail::parse_ptr_answer(p.data(), p.size(), &name), ARES_SUCCESS);
  EXPECT_EQ(name, "first.example");
  Packet via_cname("1.0.0.10.in-addr.arpa", 12, 2);
  const int target = via_cname.rr_name(via_cname.question_at(), 5, "1.0/24.0.0.10.in-addr.arpa");
  via_cname.rr_name(target, 12, "classless.example");
  ASSERT_EQ(detail::parse_ptr_answer(via_cname.data(), via_cname.size(), &name), ARES_SUCCESS);
  EXPECT_EQ(name, "classless.example");
  Packet none("1.0.0.10.in-addr.arpa", 12, 0);
  EXPECT_EQ(detail::parse_ptr_answer(none.data(), none.size(), &name), ARES_ENODATA);
}

TEST(DnsAnswer, ReverseNames) {
  in_addr a{};
  inet_pton(AF_INET, "127.16.0.5", &a);
  EXPECT_EQ(detail::reverse_name(AF_INET, &a), "5.0.16.127.in-addr.arpa");
  in6_addr b{};
  inet_pton(AF_INET6, "2001:db8::5", &b);
  EXPECT_EQ(detail::reverse_name(AF_INET6, &b),
            "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

// ---- c-ares statuses ----

TEST(DnsErrors, MapOntoWhatGlibcReports) {
  EXPECT_EQ(ares_lookup_error(ARES_ENOTFOUND), Error::kNoName);
  EXPECT_EQ(ares_lookup_error(ARES_EBADNAME), Error::kNoName);
  EXPECT_EQ(ares_lookup_error(ARES_ENODATA), Error::kNoData);
  EXPECT_EQ(ares_lookup_error(ARES_ESERVFAIL), Error::kAgain);
  EXPECT_EQ(ares_lookup_error(ARES_EREFUSED), Error::kAgain);
  EXPECT_EQ(ares_lookup_error(ARES_ECONNREFUSED), Error::kAgain);
  EXPECT_EQ(ares_lookup_error(ARES_EFORMERR), Error::kFail);
  EXPECT_EQ(ares_lookup_error(ARES_ETIMEOUT), Error::kTimedOut);
  EXPECT_EQ(ares_lookup_error(ARES_ENOMEM), Error::kMemory);
  EXPECT_EQ(ares_lookup_error(ARES_ECANCELLED), Error::kShutdown);
  EXPECT_FALSE(ares_lookup_error(ARES_SUCCESS));
  EXPECT_EQ(ares_reverse_error(ARES_ENOTFOUND), Error::kHostNotFound);
  EXPECT_EQ(python_style_message(ares_reverse_error(ARES_ENOTFOUND)), "[Errno 1] Unknown host");
  EXPECT_EQ(ares_reverse_error(ARES_ENODATA), Error::kHostNoData);
  EXPECT_EQ(ares_reverse_error(ARES_ESERVFAIL), Error::kTryAgain);
  EXPECT_EQ(ares_status_name(ARES_ENOTFOUND), ares_strerror(ARES_ENOTFOUND));
}

// ---- token bucket ----

TEST(TokenBucket, RateAndBurst) {
  using Clock = detail::TokenBucket::Clock;
  const auto t0 = Clock::now();
  detail::TokenBucket b(1000, 10, t0);  // 1000/s, bursts of 10
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(b.take(1, t0));
  EXPECT_FALSE(b.take(1, t0));
  EXPECT_EQ(b.ready_at(2, t0) - t0, std::chrono::milliseconds(2));
  EXPECT_TRUE(b.take(2, t0 + std::chrono::milliseconds(2)));
  EXPECT_TRUE(b.take(50, t0 + std::chrono::seconds(1)));  // more than a burst: once full
  EXPECT_FALSE(b.take(1, t0 + std::chrono::seconds(1)));  // ... and paid back after
  detail::TokenBucket unlimited(0, 1, t0);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(unlimited.take(3, t0));
}

// ---- the engine, without DNS ----

class DnsEngineLocal : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir();
    std::ofstream(dir_ + "/hosts.dns-engine") << kHosts;
    std::ofstream(dir_ + "/nsswitch.dns-engine") << "hosts: files dns\n";
    std::ofstream(dir_ + "/host.conf.dns-engine") << "multi on\n";
  }
  Options options() const {
    Options o;
    o.engine = "dns";
    o.dns.servers = {"127.0.0.1:1"};  // nothing listens: a leak could never reach DNS
    o.dns.hosts_path = dir_ + "/hosts.dns-engine";
    o.dns.nsswitch_path = dir_ + "/nsswitch.dns-engine";
    o.dns.host_conf_path = dir_ + "/host.conf.dns-engine";
    return o;
  }
  std::string dir_;
};

TEST_F(DnsEngineLocal, NumericHostsAndServicesSendNothing) {
  if (std::getenv("RESOLV_MULTI") != nullptr) GTEST_SKIP() << "RESOLV_MULTI set";
  auto resolver = Resolver::create(options());
  ASSERT_TRUE(resolver) << resolver.error().message();
  Resolver& r = **resolver;
  EXPECT_EQ(r.engine_name(), "dns");
  // Every family each query asks about is answered by the file (or is numeric).
  const std::vector<Query> q = {Query::lookup("127.0.0.1"),
                                Query::lookup_ex("localhost"),
                                Query::lookup("vm"),
                                Query::lookup_ex("::1"),
                                Query::lookup("300.1.1.1"),
                                Query::lookup(""),
                                Query::reverse("127.0.1.1"),
                                Query::reverse("::1"),
                                Query::reverse("not-an-address"),
                                Query::fqdn("mapped.example"),
                                Query::fqdn("127.0.1.1"),
                                Query::service_port("http"),
                                Query::service_name(443, "tcp"),
                                Query::scheme_port("imaps://mail.example.com"),
                                Query::hostname(),
                                Query::lookup_ex("ip6-localhost")};
  const auto out = r.resolve(q);
  ASSERT_EQ(out.size(), q.size());
  EXPECT_EQ(out[0].answer.addresses, Addresses{"127.0.0.1"});
  EXPECT_EQ(out[1].answer.addresses, (Addresses{"127.0.0.1", "127.0.0.1", "::1"}));
  EXPECT_EQ(out[2].answer.addresses, Addresses{"127.0.1.1"});
  EXPECT_EQ(out[3].answer.addresses, Addresses{"::1"});
  EXPECT_EQ(out[4].error, Error::kNoName);
  EXPECT_EQ(out[5].error, Error::kNoName);
  EXPECT_EQ(out[6].answer.name, "vm.example");
  EXPECT_EQ(out[7].answer.name, "localhost");
  EXPECT_EQ(out[8].error, Error::kBadAddress);
  EXPECT_EQ(out[9].answer.name, "mapped.example");
  EXPECT_EQ(out[10].answer.name, "vm.example");
  EXPECT_EQ(out[11].answer.port, 80);
  EXPECT_EQ(out[12].answer.name, "https");
  EXPECT_EQ(out[13].answer.port, 993);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  EXPECT_EQ(out[14].answer.name, host);
  EXPECT_EQ(out[15].answer.name, "localhost");
  EXPECT_EQ(out[15].answer.addresses, (Addresses{"127.0.0.1", "::1"}));  // the ::1 line only
  for (const auto& o : out) EXPECT_GT(o.latency.count(), 0);
  EXPECT_EQ(r.pool_stats().spawned, 0u);  // no worker threads
  // And not one DNS question: c-ares never opened a socket.
  auto* engine = dynamic_cast<DnsEngine*>(&r.engine());
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(engine->receive_buffer(), 0);
  EXPECT_EQ(engine->servers(), "127.0.0.1:1");
}

TEST_F(DnsEngineLocal, RejectsBadOptions) {
  auto bad = [&](auto change) {
    Options o = options();
    change(o);
    return !Resolver::create(o);
  };
  EXPECT_TRUE(bad([](Options& o) { o.dns.in_flight = 0; }));
  EXPECT_TRUE(bad([](Options& o) { o.dns.tries = 0; }));
  EXPECT_TRUE(bad([](Options& o) { o.dns.rate = -1; }));
  EXPECT_TRUE(bad([](Options& o) { o.dns.servers = {"dns.example"}; }));
  EXPECT_TRUE(bad([](Options& o) { o.dns.servers = {"127.0.0.1:70000"}; }));
  EXPECT_TRUE(bad([](Options& o) { o.dns.ndots = 99; }));
  EXPECT_TRUE(bad([](Options& o) { o.engine = "nope"; }));
  EXPECT_FALSE(bad([](Options& o) { o.dns.servers = {"127.0.0.1", "[::1]:53", "::1"}; }));
}

TEST(DnsServers, Syntax) {
  for (const char* ok : {"127.0.0.1", "127.0.0.1:53", "::1", "[::1]:5300", "[2001:db8::1]"}) {
    EXPECT_TRUE(valid_dns_server(ok)) << ok;
  }
  for (const char* bad : {"", "localhost", "127.0.0.1:", "127.0.0.1:0", "[::1", "[::1]:x",
                          "1.2.3.4:99999", "[127.0.0.1]:53", "::1:53:"}) {
    EXPECT_FALSE(valid_dns_server(bad)) << bad;
  }
}

}  // namespace
}  // namespace ub::resolve
