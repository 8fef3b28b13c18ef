// The "system" engine against the DNS sandbox's generated zone (run me through
// scripts/dns-sandbox; alone I exit 77). Every query kind is checked against the zone's
// manifest and, answer for answer, against glibc's own calls for the same input.

#include <fmt/core.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <resolv.h>
#include <unistd.h>

#include <cstdio>
#include <set>

#include "glibc_reference.h"
#include "resolve/errors.h"
#include "resolve/resolver.h"
#include "sandbox_manifest.h"

namespace ub::resolve {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAreArray;
using testing::glibc_by_addr;
using testing::glibc_by_name;
using testing::SandboxManifest;
using Clock = std::chrono::steady_clock;

SandboxManifest* manifest = nullptr;

std::unique_ptr<Resolver> make_resolver(Options options = {}) {
  auto r = Resolver::create(options);
  EXPECT_TRUE(r) << r.error().message();
  return r ? std::move(*r) : nullptr;
}

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// What lookup_ex must answer, built from two straight gethostbyname2_r calls.
std::optional<Answer> reference_ex(const std::string& name) {
  const auto v4 = glibc_by_name(name, AF_INET);
  const auto v6 = glibc_by_name(name, AF_INET6);
  if (!v4.ok && !v6.ok) return std::nullopt;
  Answer a = v4.ok ? v4.answer : v6.answer;
  if (v4.ok && v6.ok) a.addresses = concat(a.addresses, v6.answer.addresses);
  return a;
}

std::vector<std::string> some_hosts(size_t count) {
  std::vector<std::string> names(
      manifest->host_names.begin(),
      manifest->host_names.begin() +
          static_cast<ptrdiff_t>(std::min(count, manifest->host_names.size())));
  return names;
}

TEST(Sandbox, LookupFirstIPv4MatchesZoneAndGlibc) {
  auto r = make_resolver();
  const auto names = some_hosts(400);
  std::vector<Query> q;
  for (const auto& n : names) q.push_back(Query::lookup(n));
  const auto out = r->resolve(q);
  ASSERT_EQ(out.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    ASSERT_TRUE(out[i].ok()) << names[i] << ": " << out[i].error.message();
    EXPECT_EQ(out[i].answer.addresses.at(0), manifest->a.at(names[i]).at(0)) << names[i];
    EXPECT_EQ(out[i].answer.addresses.at(0),
              glibc_by_name(names[i], AF_INET).answer.addresses.at(0));
  }
}

TEST(Sandbox, LookupExEveryAddressBothFamilies) {
  auto r = make_resolver();
  const auto names = some_hosts(400);
  std::vector<Query> q;
  for (const auto& n : names) q.push_back(Query::lookup_ex(n));
  const auto out = r->resolve(q);
  size_t multi = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    ASSERT_TRUE(out[i].ok()) << names[i] << ": " << out[i].error.message();
    const Answer& a = out[i].answer;
    EXPECT_EQ(a.name, names[i]);
    EXPECT_TRUE(a.aliases.empty());
    EXPECT_EQ(a.addresses, concat(manifest->a.at(names[i]), manifest->aaaa.at(names[i])));
    EXPECT_EQ(a, reference_ex(names[i]));
    // Same addresses as getaddrinfo(AF_UNSPEC), the baseline bench_resolve compares with.
    const auto gai = testing::glibc_getaddrinfo(names[i]);
    ASSERT_TRUE(gai);
    EXPECT_EQ(std::set<std::string>(a.addresses.begin(), a.addresses.end()), *gai);
    multi += a.addresses.size() > 2;
  }
  EXPECT_GT(multi, 10u);  // the zone's several-address names were among them
}

TEST(Sandbox, AliasesAndChains) {
  auto r = make_resolver();
  std::vector<Query> q;
  std::vector<std::string> names;
  for (const auto& [alias, target] : manifest->cname) {
    names.push_back(alias);
    q.push_back(Query::lookup_ex(alias));
  }
  ASSERT_FALSE(names.empty());
  const auto out = r->resolve(q);
  for (size_t i = 0; i < names.size(); ++i) {
    ASSERT_TRUE(out[i].ok()) << names[i];
    std::string host = names[i];
    std::vector<std::string> chain;
    while (manifest->cname.count(host)) {
      chain.push_back(host);
      host = manifest->cname.at(host);
    }
    EXPECT_EQ(out[i].answer.name, host) << names[i];
    EXPECT_THAT(out[i].answer.aliases, ::testing::UnorderedElementsAreArray(chain)) << names[i];
    EXPECT_EQ(out[i].answer, reference_ex(names[i]));
  }
}

TEST(Sandbox, OneFamilyNames) {
  auto r = make_resolver();
  const std::string v4 = "v4only0." + manifest->zone;
  const std::string v6 = "v6only0." + manifest->zone;
  const auto out = r->resolve(std::vector<Query>{Query::lookup_ex(v4), Query::lookup_ex(v6),
                                                 Query::lookup(v6), Query::lookup(v4)});
  ASSERT_TRUE(out[0].ok());
  EXPECT_EQ(out[0].answer.addresses, manifest->a.at(v4));
  ASSERT_TRUE(out[1].ok());
  EXPECT_EQ(out[1].answer.addresses, manifest->aaaa.at(v6));
  EXPECT_EQ(out[2].error, Error::kNoData);  // the name exists, without an IPv4 address
  EXPECT_EQ(out[2].error.message(), gai_strerror(EAI_NODATA));
  EXPECT_EQ(out[3].answer.addresses, manifest->a.at(v4));
}

TEST(Sandbox, NxdomainIsNoName) {
  auto r = make_resolver();
  std::vector<Query> q;
  for (const auto& n : manifest->nxdomain) {
    q.push_back(Query::lookup(n));
    q.push_back(Query::lookup_ex(n));
  }
  ASSERT_FALSE(q.empty());
  for (const auto& o : r->resolve(q)) {
    EXPECT_EQ(o.error, Error::kNoName);
    EXPECT_EQ(python_style_message(o.error), "[Errno -2] Name or service not known");
  }
  EXPECT_EQ(glibc_by_name(manifest->nxdomain[0], AF_INET).herr, HOST_NOT_FOUND);
}

TEST(Sandbox, ReverseEveryPtrAndMissingOnes) {
  auto r = make_resolver();
  std::vector<std::string> addresses;
  for (const auto& [address, names] : manifest->ptr) addresses.push_back(address);
  std::vector<std::string> unmapped;  // hosts whose addresses have no PTR
  for (const auto& name : manifest->host_names) {
    for (const auto& address : manifest->a.at(name)) {
      if (!manifest->ptr.count(address)) unmapped.push_back(address);
    }
  }
  ASSERT_FALSE(unmapped.empty());
  std::vector<Query> q;
  for (const auto& a : addresses) q.push_back(Query::reverse(a));
  for (const auto& a : unmapped) q.push_back(Query::reverse(a));
  const auto out = r->resolve(q);
  for (size_t i = 0; i < addresses.size(); ++i) {
    ASSERT_TRUE(out[i].ok()) << addresses[i] << ": " << out[i].error.message();
    const auto& names = manifest->ptr.at(addresses[i]);
    EXPECT_THAT(names, ::testing::Contains(out[i].answer.name)) << addresses[i];
    EXPECT_EQ(out[i].answer.addresses, std::vector<std::string>{addresses[i]});
    EXPECT_EQ(out[i].answer, glibc_by_addr(addresses[i]).answer) << addresses[i];
  }
  for (size_t i = addresses.size(); i < out.size(); ++i) {
    EXPECT_EQ(out[i].error, Error::kHostNotFound) << q[i].text;
    EXPECT_EQ(python_style_message(out[i].error), "[Errno 1] Unknown host");
  }
}

TEST(Sandbox, HostsFileEntries) {
  auto r = make_resolver();
  const std::string z = manifest->zone;
  const auto out = r->resolve(
      std::vector<Query>{Query::lookup_ex("hostsalias"), Query::lookup_ex("hosts-multi." + z),
                         Query::reverse("127.0.2.1"), Query::lookup_ex("hosts-v6." + z),
                         Query::lookup("localhost"), Query::reverse("::1")});
  ASSERT_TRUE(out[0].ok());
  EXPECT_EQ(out[0].answer.name, "hosts-only." + z);
  EXPECT_THAT(out[0].answer.aliases, ElementsAreArray({"hostsalias", "hostsalias2"}));
  EXPECT_EQ(out[0].answer.addresses, std::vector<std::string>{"127.0.2.1"});
  EXPECT_EQ(out[1].answer.addresses, (std::vector<std::string>{"127.0.2.2", "127.0.2.3"}));
  EXPECT_EQ(out[2].answer.name, "hosts-only." + z);
  EXPECT_EQ(out[3].answer.addresses, std::vector<std::string>{"2001:db8:ffff::1"});
  EXPECT_EQ(out[4].answer.addresses, std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(out[5].answer.name, "localhost");
  for (const char* name : {"hostsalias", "localhost"}) {
    EXPECT_EQ(r->resolve_one(Query::lookup_ex(name)).answer, reference_ex(name)) << name;
  }
}

TEST(Sandbox, BadInputMatchesGlibc) {
  auto r = make_resolver();
  const std::vector<std::string> names = {std::string(300, 'a'), "a..b", "-x." + manifest->zone,
                                          std::string(64, 'b') + "." + manifest->zone};
  for (const auto& n : names) {
    const Outcome o = r->resolve_one(Query::lookup(n));
    const auto ref = glibc_by_name(n, AF_INET);
    EXPECT_FALSE(o.ok()) << n;
    EXPECT_FALSE(ref.ok) << n;
    EXPECT_EQ(o.error, herrno_as_gai_error(ref.herr)) << n;
    EXPECT_EQ(r->resolve_one(Query::lookup_ex(n)).error, Error::kNoName) << n;
  }
  EXPECT_EQ(r->resolve_one(Query::lookup("")).error, Error::kNoName);
  for (const char* bad : {"", "1.2.3", "::g", "127.0.0.1.", "300.1.1.1", "host1.ub.test"}) {
    EXPECT_EQ(r->resolve_one(Query::reverse(bad)).error, Error::kBadAddress) << bad;
  }
}

TEST(Sandbox, FqdnFollowsPythonRules) {
  auto r = make_resolver();
  const std::string z = manifest->zone;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  const auto nx = manifest->nxdomain.at(0);
  const auto out =
      r->resolve(std::vector<Query>{Query::fqdn("host5." + z), Query::fqdn("hostsalias"),
                                    Query::fqdn(""), Query::fqdn(" 0.0.0.0 "), Query::fqdn(nx),
                                    Query::fqdn("127.16.0.7"), Query::fqdn("alias3." + z)});
  EXPECT_EQ(out[0].answer.name, "host5." + z);
  EXPECT_EQ(out[1].answer.name, "hosts-only." + z);
  EXPECT_EQ(out[2].answer.name, std::string(host) + "." + z);  // the sandbox hosts file
  EXPECT_EQ(out[3].answer.name, std::string(host) + "." + z);
  EXPECT_EQ(out[4].answer.name, nx);  // nothing found: the name itself, never an error
  EXPECT_EQ(out[5].answer.name, "host7." + z);
  EXPECT_EQ(out[6].answer.name, "host3." + z);
  // And exactly what Python's socket.getfqdn says, when /usr/bin/python3 is there.
  if (access("/usr/bin/python3", X_OK) != 0) return;
  std::string cmd =
      "/usr/bin/python3 -c 'import socket,sys\nfor n in sys.argv[1:]: print(socket.getfqdn(n))'";
  std::vector<std::string> inputs = {"host5." + z, "hostsalias", "",
                                     nx,           "127.16.0.7", "alias3." + z,
                                     "localhost",  "127.0.2.1",  "2001:db8::5"};
  for (const auto& n : inputs) cmd += " '" + n + "'";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char line[512];
  for (const auto& n : inputs) {
    ASSERT_NE(fgets(line, sizeof line, p), nullptr);
    std::string want(line);
    want.pop_back();
    EXPECT_EQ(r->resolve_one(Query::fqdn(n)).answer.name, want) << "getfqdn('" << n << "')";
  }
  EXPECT_EQ(pclose(p), 0);
}

// How long glibc takes to give up on a server that never answers, at the least: the
// sandbox's resolv.conf timeout x attempts (timeout:1 attempts:2, tests/resolve/meson.build).
std::chrono::seconds glibc_gives_up() {
  ::res_init();
  return std::chrono::seconds(_res.retrans * _res.retry);
}

// Dead names answer at their deadline, and the rest do not wait behind them, where glibc
// alone would hold each for glibc_gives_up() or longer. The bounds are what failure looks
// like, not how fast it should be.
TEST(Sandbox, DeadNamesTimeOutWithoutHoldingBackTheRest) {
  ASSERT_FALSE(manifest->dead.empty()) << "run the sandbox with --dead N";
  const auto timeout = milliseconds(800);
  const auto glibc = glibc_gives_up();
  ASSERT_GT(glibc, timeout) << "the sandbox's resolv.conf must outlast the deadline";
  auto r = make_resolver({.threads = 4, .timeout = timeout});
  std::vector<Query> q;
  for (const auto& d : manifest->dead) q.push_back(Query::lookup_ex(d));  // first: worst case
  for (const auto& n : some_hosts(200)) q.push_back(Query::lookup(n));
  size_t next = 0;
  const auto start = Clock::now();
  std::vector<Clock::duration> when(q.size());
  std::vector<Outcome> out(q.size());
  r->stream(
      [&]() -> std::optional<Query> {
        if (next == q.size()) return std::nullopt;
        return q[next++];
      },
      [&](size_t i, Outcome&& o) {
        when[i] = Clock::now() - start;
        out[i] = std::move(o);
      },
      {.ordered = false});
  for (size_t i = 0; i < manifest->dead.size(); ++i) {
    EXPECT_EQ(out[i].error, Error::kTimedOut) << q[i].text;
    EXPECT_GE(out[i].latency, timeout);
    EXPECT_LT(out[i].latency, glibc) << q[i].text << " waited for glibc to give up";
  }
  for (size_t i = manifest->dead.size(); i < q.size(); ++i) {
    ASSERT_TRUE(out[i].ok()) << q[i].text << ": " << out[i].error.message();
    EXPECT_LT(when[i], glibc) << q[i].text << " waited for the dead names";
  }
  // glibc itself would have blocked for resolv.conf's timeout x attempts.
  EXPECT_GE(r->pool_stats().replacements, manifest->dead.size());
}

TEST(Sandbox, SlowNamesAnswerWithinTheirDeadline) {
  ASSERT_FALSE(manifest->slow.empty()) << "run the sandbox with --slow N";
  auto r = make_resolver({.threads = 4, .timeout = milliseconds(3000)});
  std::vector<Query> q;
  for (const auto& s : manifest->slow) q.push_back(Query::lookup(s));
  for (const auto& n : some_hosts(50)) q.push_back(Query::lookup(n));
  const auto out = r->resolve(q);
  for (size_t i = 0; i < q.size(); ++i) {
    ASSERT_TRUE(out[i].ok()) << q[i].text << ": " << out[i].error.message();
    EXPECT_EQ(out[i].answer.addresses.at(0), manifest->a.at(q[i].text).at(0));
  }
  for (size_t i = 0; i < manifest->slow.size(); ++i) {
    EXPECT_GE(out[i].latency, milliseconds(250)) << q[i].text;  // the proxy's delay
  }
  // And with a deadline shorter than the delay, they time out.
  auto hurried = make_resolver({.threads = 2, .timeout = milliseconds(100)});
  EXPECT_EQ(hurried->resolve_one(Query::lookup(manifest->slow.at(0))).error, Error::kTimedOut);
}

}  // namespace
}  // namespace ub::resolve

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  auto loaded = ub::resolve::testing::SandboxManifest::load();
  if (!loaded) {
    std::fprintf(stderr,
                 "SKIP: not inside scripts/dns-sandbox (UB_DNS_SANDBOX_DIR unset); this test "
                 "resolves names and must never ask the machine's own resolver\n");
    return 77;
  }
  ub::resolve::manifest = &*loaded;
  return RUN_ALL_TESTS();
}
