// lib/resolve without DNS: the error category, the services cache against glibc's own
// getservby*_r, URL schemes, and the Resolver's ordering, windowing and deadlines on a
// scripted engine. The only names looked up for real are numeric or "localhost" (which
// every /etc/hosts has), through calls that stop at /etc/hosts.

#include <fmt/core.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <netinet/in.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "cli/resolve_format.h"
#include "fake_engine.h"
#include "resolve/errors.h"
#include "resolve/resolver.h"
#include "resolve/services.h"
#include "resolve/url.h"

namespace ub::resolve {
namespace {

using std::chrono::milliseconds;
using testing::FakeEngine;

// ---- errors ----

TEST(ErrorCategory, EaiCodesCarryGaiStrerror) {
  const std::error_code e = gai_error(EAI_NONAME);
  EXPECT_EQ(&e.category(), &resolve_category());
  EXPECT_EQ(e.value(), EAI_NONAME);
  EXPECT_EQ(e.message(), gai_strerror(EAI_NONAME));
  EXPECT_EQ(gai_error(EAI_AGAIN).message(), gai_strerror(EAI_AGAIN));
  EXPECT_EQ(python_style_message(e), std::string("[Errno -2] ") + gai_strerror(EAI_NONAME));
  EXPECT_FALSE(gai_error(0));
}

TEST(ErrorCategory, HerrnoCodesAreNotErrnos) {
  const std::error_code e = herrno_error(HOST_NOT_FOUND);
  EXPECT_EQ(e.message(),
            hstrerror(HOST_NOT_FOUND));  // "Unknown host", not "Operation not permitted"
  EXPECT_NE(e, std::error_code(HOST_NOT_FOUND, std::system_category()));
  EXPECT_NE(e.message(), std::error_code(EPERM, std::system_category()).message());
  EXPECT_EQ(herrno_error(TRY_AGAIN).message(), hstrerror(TRY_AGAIN));
  EXPECT_EQ(python_style_message(e), "[Errno 1] Unknown host");
}

TEST(ErrorCategory, SystemCodesReadErrno) {
  errno = ECONNREFUSED;
  const std::error_code e = gai_error(EAI_SYSTEM);
  EXPECT_EQ(e, std::error_code(ECONNREFUSED, std::system_category()));
  errno = EMFILE;
  EXPECT_EQ(herrno_error(NETDB_INTERNAL), std::error_code(EMFILE, std::system_category()));
}

TEST(ErrorCategory, HerrnoMapsToWhatGetaddrinfoReports) {
  EXPECT_EQ(herrno_as_gai_error(HOST_NOT_FOUND), Error::kNoName);
  EXPECT_EQ(herrno_as_gai_error(TRY_AGAIN), Error::kAgain);
  EXPECT_EQ(herrno_as_gai_error(NO_DATA), Error::kNoData);
  EXPECT_EQ(herrno_as_gai_error(NO_RECOVERY), Error::kFail);
}

TEST(ErrorCategory, OwnCodes) {
  const std::error_code timeout = make_error_code(Error::kTimedOut);
  EXPECT_EQ(timeout.message(), "timed out");
  EXPECT_EQ(timeout, std::errc::timed_out);  // portable condition
  EXPECT_EQ(python_style_message(timeout), "timed out");
  EXPECT_EQ(make_error_code(Error::kServiceNotFound).message(), "service/proto not found");
  EXPECT_EQ(make_error_code(Error::kPortNotFound).message(), "port/proto not found");
  EXPECT_STREQ(resolve_category().name(), "resolve");
}

// ---- services ----

std::optional<Answer> glibc_by_name(const std::string& name, const char* proto) {
  servent se{};
  servent* res = nullptr;
  char buf[4096];
  if (getservbyname_r(name.c_str(), proto, &se, buf, sizeof buf, &res) != 0 || !res) return {};
  Answer a;
  a.name = res->s_name;
  for (char** p = res->s_aliases; *p; ++p) a.aliases.emplace_back(*p);
  a.port = ntohs(static_cast<uint16_t>(res->s_port));
  a.proto = res->s_proto;
  return a;
}

std::optional<Answer> glibc_by_port(int port, const char* proto) {
  servent se{};
  servent* res = nullptr;
  char buf[4096];
  if (getservbyport_r(htons(static_cast<uint16_t>(port)), proto, &se, buf, sizeof buf, &res) != 0 ||
      !res) {
    return {};
  }
  Answer a;
  a.name = res->s_name;
  for (char** p = res->s_aliases; *p; ++p) a.aliases.emplace_back(*p);
  a.port = ntohs(static_cast<uint16_t>(res->s_port));
  a.proto = res->s_proto;
  return a;
}

std::optional<Answer> cached(const ServiceEntry* e) {
  if (e == nullptr) return {};
  Answer a;
  a.name = e->name;
  a.aliases = e->aliases;
  a.port = e->port;
  a.proto = e->proto;
  return a;
}

class Services : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!services_answered_by_files()) {
      GTEST_SKIP() << "nsswitch.conf sends services past /etc/services; nothing to compare";
    }
    auto loaded = ServiceTable::load();
    if (!loaded) GTEST_SKIP() << "no /etc/services: " << loaded.error().message();
    table_ = std::move(*loaded);
  }
  ServiceTable table_;
};

TEST_F(Services, EveryNameAndAliasMatchesGetservbyname) {
  ASSERT_GT(table_.entries().size(), 50u);
  std::set<std::string> names = {"nosuchservice", "", "HTTP", "http/tcp"};
  for (const auto& e : table_.entries()) {
    names.insert(e.name);
    names.insert(e.aliases.begin(), e.aliases.end());
  }
  size_t compared = 0;
  for (const auto& name : names) {
    for (const char* proto : {static_cast<const char*>(nullptr), "tcp", "udp", "sctp", "ddp"}) {
      EXPECT_EQ(cached(table_.by_name(name, proto ? proto : "")), glibc_by_name(name, proto))
          << name << "/" << (proto ? proto : "(any)");
      ++compared;
    }
  }
  EXPECT_GT(compared, 500u);
}

TEST_F(Services, EveryPortMatchesGetservbyport) {
  for (int port = 0; port <= 65535; port += (port < 12000 ? 1 : 97)) {
    for (const char* proto : {static_cast<const char*>(nullptr), "tcp", "udp"}) {
      ASSERT_EQ(cached(table_.by_port(port, proto ? proto : "")), glibc_by_port(port, proto))
          << port << "/" << (proto ? proto : "(any)");
    }
  }
}

TEST_F(Services, SeedSchemes) {
  const std::pair<const char*, int> seed[] = {{"http", 80},   {"https", 443}, {"ftp", 21},
                                              {"gopher", 70}, {"smtp", 25},   {"imap", 143},
                                              {"imaps", 993}, {"pop3", 110},  {"pop3s", 995}};
  for (const auto& [scheme, port] : seed) {
    const ServiceEntry* e = table_.by_name(scheme, "");
    ASSERT_NE(e, nullptr) << scheme;
    EXPECT_EQ(e->port, port) << scheme;
  }
}

TEST(ServiceTable, ParsesLikeGlibcFiles) {
  const auto t = ServiceTable::parse(
      "# comment\n"
      "web 80/tcp www http-alt # trailing comment\n"
      "web 80/udp\n"
      "dup 81/tcp\n"
      "dup 82/tcp\n"
      "octal 010/tcp\n"
      "hex 0x10/udp\n"
      "broken 83\n"
      "noproto 84/\n"
      "\tspaced\t85/tcp\talias\r\n"
      "justname\n");
  ASSERT_NE(t.by_name("www", ""), nullptr);
  EXPECT_EQ(t.by_name("www", "")->name, "web");
  EXPECT_EQ(t.by_name("web", "udp")->proto, "udp");
  EXPECT_EQ(t.by_name("web", "sctp"), nullptr);
  EXPECT_EQ(t.by_name("dup", "")->port, 81);  // first line wins
  EXPECT_EQ(t.by_port(82, "tcp")->name, "dup");
  EXPECT_EQ(t.by_name("octal", "")->port, 8);  // strtoul base 0, as glibc
  EXPECT_EQ(t.by_name("hex", "")->port, 16);
  EXPECT_EQ(t.by_name("broken", ""), nullptr);
  EXPECT_EQ(t.by_name("noproto", ""), nullptr);
  EXPECT_EQ(t.by_name("alias", "tcp")->name, "spaced");
  EXPECT_EQ(t.by_name("web/tcp", ""), nullptr);
  EXPECT_EQ(t.by_port(70000, ""), nullptr);
}

TEST(ServiceTable, NsswitchSources) {
  const std::string dir = ::testing::TempDir();
  auto check = [&](const std::string& text) {
    const std::string path = dir + "/nsswitch.test.conf";
    std::ofstream(path) << text;
    return services_answered_by_files(path, dir + "/no-such-services.db");
  };
  EXPECT_TRUE(check("hosts: files dns\nservices: db files\n"));
  EXPECT_TRUE(check("services:   files [NOTFOUND=return]\n"));
  EXPECT_TRUE(check("hosts: files\n"));  // no services line: glibc's default is files
  EXPECT_FALSE(check("services: files sss\n"));
  EXPECT_FALSE(check("services: nis\n"));
  std::ofstream(dir + "/services.db") << "x";
  EXPECT_FALSE(services_answered_by_files(dir + "/nsswitch.test.conf", dir + "/services.db"));
}

TEST(Url, SchemeAsUrllibFindsIt) {
  EXPECT_EQ(url_scheme("http://www.python.org"), "http");
  EXPECT_EQ(url_scheme("HTTPS://x/"), "https");
  EXPECT_EQ(url_scheme("pop3s://pop.example.com"), "pop3s");
  EXPECT_EQ(url_scheme("svn+ssh://h/"), "svn+ssh");
  EXPECT_EQ(url_scheme("example.com"), "");
  EXPECT_EQ(url_scheme("1http://x"), "");
  EXPECT_EQ(url_scheme(":foo"), "");
  EXPECT_EQ(url_scheme("a b://x"), "");
}

// ---- system engine, /etc/hosts and numeric only ----

TEST(SystemEngine, NumericAndLocalhostNeedNoDns) {
  auto resolver = Resolver::create({.threads = 2});
  ASSERT_TRUE(resolver) << resolver.error().message();
  const std::vector<Query> queries = {Query::lookup("127.0.0.1"),
                                      Query::lookup("localhost"),
                                      Query::reverse("not-an-address"),
                                      Query::reverse(""),
                                      Query::service_port("http"),
                                      Query::service_name(443, "tcp"),
                                      Query::scheme_port("imaps://mail.example.com"),
                                      Query::service_port("no-such-service"),
                                      Query::service_name(70000),
                                      Query::hostname()};
  const auto out = (*resolver)->resolve(queries);
  ASSERT_EQ(out.size(), queries.size());
  EXPECT_EQ(out[0].answer.addresses, std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(out[1].answer.addresses, std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(out[2].error, Error::kBadAddress);
  EXPECT_EQ(out[3].error, Error::kBadAddress);
  EXPECT_EQ(out[4].answer.port, 80);
  EXPECT_EQ(out[5].answer.name, "https");
  EXPECT_EQ(out[6].answer.port, 993);
  EXPECT_EQ(out[7].error, Error::kServiceNotFound);
  EXPECT_EQ(out[8].error, Error::kBadQuery);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  EXPECT_EQ(out[9].answer.name, host);
  for (const auto& o : out) EXPECT_GT(o.latency.count(), 0);
}

// ---- the Resolver on a scripted engine ----

struct Fixture {
  std::shared_ptr<FakeEngine> engine = std::make_shared<FakeEngine>();
  std::unique_ptr<Resolver> resolver;
  explicit Fixture(Options options) {
    auto r = Resolver::create(engine, options);
    if (r) resolver = std::move(*r);
  }
  ~Fixture() { engine->release(); }
};

TEST(Resolver, BatchKeepsInputOrder) {
  Fixture f({.threads = 8});
  ASSERT_TRUE(f.resolver);
  std::vector<Query> queries;
  for (int i = 0; i < 500; ++i) {
    // Uneven work so completions come back out of order.
    queries.push_back(
        Query::lookup(i % 7 == 0 ? fmt::format("sleep:{}", i % 5) : fmt::format("n{}", i)));
  }
  const auto out = f.resolver->resolve(queries);
  ASSERT_EQ(out.size(), queries.size());
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_TRUE(out[i].ok()) << i;
    EXPECT_EQ(out[i].answer.name, queries[i].text) << i;
  }
  EXPECT_TRUE(f.resolver->resolve({}).empty());
}

TEST(Resolver, ErrorsAndExceptionsArePerQuery) {
  Fixture f({.threads = 2});
  ASSERT_TRUE(f.resolver);
  const std::vector<Query> q = {Query::lookup("a"), Query::lookup("fail"), Query::lookup("throw"),
                                Query::lookup("b")};
  const auto out = f.resolver->resolve(q);
  EXPECT_TRUE(out[0].ok());
  EXPECT_EQ(out[1].error, Error::kHostNotFound);
  EXPECT_EQ(out[2].error, Error::kFail);
  EXPECT_TRUE(out[3].ok());
}

TEST(Resolver, RejectsBadOptions) {
  EXPECT_FALSE(Resolver::create({.threads = 0}));
  EXPECT_FALSE(Resolver::create({.timeout = milliseconds(0)}));
  Options unknown;
  unknown.engine = "nosuch";
  EXPECT_EQ(Resolver::create(unknown).error(), std::errc::invalid_argument);
}

TEST(Resolver, StreamOrderedAndBounded) {
  Fixture f({.threads = 4});
  ASSERT_TRUE(f.resolver);
  constexpr size_t kCount = 3000;
  constexpr size_t kWindow = 32;
  size_t pulled = 0;
  size_t delivered = 0;
  size_t worst_ahead = 0;
  const auto stats = f.resolver->stream(
      [&]() -> std::optional<Query> {
        if (pulled == kCount) return std::nullopt;
        worst_ahead = std::max(worst_ahead, pulled - delivered);
        return Query::lookup(pulled++ % 10 == 0 ? "sleep:1" : "x");
      },
      [&](size_t index, Outcome&& o) {
        EXPECT_EQ(index, delivered);
        EXPECT_TRUE(o.ok());
        ++delivered;
      },
      {.window = kWindow, .ordered = true});
  EXPECT_EQ(delivered, kCount);
  EXPECT_EQ(stats.queries, kCount);
  EXPECT_EQ(stats.failed, 0u);
  EXPECT_LT(worst_ahead, kWindow);  // never more than the window taken from the source
}

TEST(Resolver, StreamUnorderedDeliversEachOnce) {
  Fixture f({.threads = 4});
  ASSERT_TRUE(f.resolver);
  size_t pulled = 0;
  std::vector<int> seen(1000, 0);
  f.resolver->stream(
      [&]() -> std::optional<Query> {
        if (pulled == seen.size()) return std::nullopt;
        return Query::lookup(pulled++ % 3 == 0 ? "sleep:2" : "x");
      },
      [&](size_t index, Outcome&&) { ++seen.at(index); }, {.window = 64, .ordered = false});
  for (size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], 1) << i;
}

TEST(Resolver, SinkExceptionPropagatesAndResolverStaysUsable) {
  Fixture f({.threads = 2});
  ASSERT_TRUE(f.resolver);
  size_t pulled = 0;
  EXPECT_THROW(f.resolver->stream(
                   [&]() -> std::optional<Query> {
                     if (pulled == 100) return std::nullopt;
                     ++pulled;
                     return Query::lookup("sleep:1");
                   },
                   [&](size_t, Outcome&&) { throw std::runtime_error("sink"); }),
               std::runtime_error);
  const auto out = f.resolver->resolve(std::vector<Query>{Query::lookup("again")});
  EXPECT_EQ(out[0].answer.name, "again");
}

// A query that never answers times out at its deadline, and the rest of the batch goes
// on meanwhile: every thread of the pool is blocked, yet the other answers come quickly.
// Two queries stuck in the engine (the fake holds "block" until released, at most 10 s)
// answer as timed out at their deadline, and the rest are answered by stand-in threads
// while both are still stuck: nothing waits for the engine to give up.
TEST(Resolver, DeadlineDoesNotHoldBackTheRest) {
  const auto timeout = milliseconds(400);
  Fixture f({.threads = 2, .timeout = timeout});
  ASSERT_TRUE(f.resolver);
  std::vector<Query> queries = {Query::lookup("block"), Query::lookup("block")};
  for (int i = 0; i < 200; ++i) queries.push_back(Query::lookup("sleep:1"));
  size_t next = 0;
  std::vector<int> blocked_at_answer(queries.size(), -1);
  std::vector<Outcome> out(queries.size());
  f.resolver->stream(
      [&]() -> std::optional<Query> {
        if (next == queries.size()) return std::nullopt;
        return queries[next++];
      },
      [&](size_t i, Outcome&& o) {
        blocked_at_answer[i] = f.engine->blocked();
        out[i] = std::move(o);
      },
      {.ordered = false});
  for (size_t i = 0; i < out.size(); ++i) {
    if (i < 2) {
      EXPECT_EQ(out[i].error, Error::kTimedOut);
      EXPECT_GE(out[i].latency, timeout);
    } else {
      ASSERT_TRUE(out[i].ok()) << i;
    }
    EXPECT_EQ(blocked_at_answer[i], 2) << "answer " << i << " waited for the blocked ones";
  }
  const auto stats = f.resolver->pool_stats();
  EXPECT_GE(stats.replacements, 2u);
  EXPECT_EQ(stats.stalled, 2);  // both still inside the engine
  f.engine->release();
  // Back from the engine, the stand-ins' surplus retires: the pool returns to its size.
  for (int i = 0; i < 200 && f.resolver->pool_stats().live > 2; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(f.resolver->pool_stats().live, 2);
  EXPECT_EQ(f.resolver->pool_stats().stalled, 0);
}

// 20 never-answered names in 2,000 on 8 threads: a plain pool would have all 8 threads
// stuck and the rest waiting for the engine. Ours answers everything while all 20 are
// still stuck. (What that is worth in throughput is bench_resolve's to measure.)
TEST(Resolver, DeadNamesDoNotOccupyThePool) {
  Fixture f({.threads = 8, .timeout = milliseconds(300)});
  ASSERT_TRUE(f.resolver);
  std::vector<Query> q;
  int dead = 20;
  for (int i = 0; i < 2000; ++i) {
    q.push_back(Query::lookup(i % 100 == 50 && dead-- > 0 ? "block" : "sleep:1"));
  }
  const auto out = f.resolver->resolve(q);
  EXPECT_EQ(f.engine->blocked(), 20) << "answers waited for the engine to give up";
  size_t timeouts = 0, answered = 0;
  for (const auto& o : out) {
    timeouts += o.error == Error::kTimedOut;
    answered += o.ok();
  }
  EXPECT_EQ(timeouts, 20u);
  EXPECT_EQ(answered, 1980u);
  EXPECT_GE(f.resolver->pool_stats().replacements, 20u);
}

TEST(Resolver, ConcurrentCallersShareThePool) {
  Fixture f({.threads = 4});
  ASSERT_TRUE(f.resolver);
  std::atomic<int> ok{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&, c] {
      std::vector<Query> q;
      for (int i = 0; i < 300; ++i) q.push_back(Query::lookup(fmt::format("{}:{}", c, i)));
      const auto out = f.resolver->resolve(q);
      for (size_t i = 0; i < out.size(); ++i) ok += out[i].answer.name == q[i].text;
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(ok.load(), 1200);
}

// Threads of this process named as the pool names its workers.
int pool_threads() {
  int count = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    count += std::getline(comm, name) && name == "ub-resolve";
  }
  return count;
}

// Waits (bounded) for earlier tests' abandoned workers to leave.
bool no_pool_threads_left() {
  for (int i = 0; i < 1000 && pool_threads() > 0; ++i)
    std::this_thread::sleep_for(milliseconds(10));
  return pool_threads() == 0;
}

// The pool's end joins its workers, so glibc has freed each one's resolver state before the
// process can exit (a detached worker still exiting then showed up as a leak).
TEST(Resolver, EndJoinsFinishedWorkers) {
  ASSERT_TRUE(no_pool_threads_left());
  {
    Fixture f({.threads = 8});
    ASSERT_TRUE(f.resolver);
    std::vector<Query> q;
    for (int i = 0; i < 200; ++i) q.push_back(Query::lookup(fmt::format("n{}", i)));
    EXPECT_EQ(f.resolver->resolve(q).size(), q.size());
    EXPECT_EQ(pool_threads(), 8);
  }
  EXPECT_EQ(pool_threads(), 0);
}

// A worker stuck in the engine cannot be joined in bounded time: the pool's end lets it go,
// and it leaves once the engine returns.
TEST(Resolver, EndLetsStalledWorkersGo) {
  ASSERT_TRUE(no_pool_threads_left());
  auto engine = std::make_shared<FakeEngine>();
  {
    auto r = Resolver::create(engine, {.threads = 2, .timeout = milliseconds(100)});
    ASSERT_TRUE(r);
    const std::vector<Query> q = {Query::lookup("block"), Query::lookup("a")};
    const auto out = (*r)->resolve(q);
    EXPECT_EQ(out[0].error, Error::kTimedOut);
    EXPECT_TRUE(out[1].ok());
  }
  EXPECT_EQ(engine->blocked(), 1);
  EXPECT_EQ(pool_threads(), 1);
  engine->release();
  EXPECT_TRUE(no_pool_threads_left());
}

// ---- the resolve tool's output formats (cli/resolve_format.h) ----

TEST(Format, SeedTextAndJson) {
  Outcome ok;
  ok.answer.addresses = {"66.33.211.242"};
  EXPECT_EQ(cli::format_text(Query::lookup("pymotw.com"), ok), "pymotw.com : 66.33.211.242\n");
  Outcome nx;
  nx.error = make_error_code(Error::kNoName);
  EXPECT_EQ(cli::format_text(Query::lookup("nosuchname"), nx),
            "nosuchname : [Errno -2] Name or service not known\n");
  Outcome ex;
  ex.answer.name = "dualstack.python.map.fastly.net";
  ex.answer.aliases = {"www.python.org"};
  ex.answer.addresses = {"151.101.40.223"};
  EXPECT_EQ(cli::format_text(Query::lookup_ex("www.python.org"), ex),
            "www.python.org\n  Hostname: dualstack.python.map.fastly.net\n"
            "  Aliases : ['www.python.org']\n Addresses: ['151.101.40.223']\n\n");
  Outcome port;
  port.answer.port = 443;
  EXPECT_EQ(cli::format_text(Query::service_port("https"), port), " https : 443\n");
  Outcome fq;
  fq.answer.name = "baidu";
  EXPECT_EQ(cli::format_text(Query::fqdn("baidu"), fq), "     baidu : baidu\n");
  nx.latency = std::chrono::microseconds(1500);
  EXPECT_EQ(cli::format_json(Query::lookup("a\"b"), nx),
            "{\"input\":\"a\\\"b\",\"kind\":\"lookup\",\"ok\":false,\"latency_us\":1500.0,"
            "\"error\":{\"category\":\"resolve\",\"code\":-2,\"message\":\"Name or service not "
            "known\"}}\n");
  EXPECT_EQ(cli::python_str_repr("it's"), "\"it's\"");
}

TEST(Format, JsonIsValidUtf8WhateverTheInput) {
  Outcome nx;
  nx.error = make_error_code(Error::kNoName);
  // Names read from a file can hold any bytes: not UTF-8, NUL, control characters.
  const std::string line =
      cli::format_json(Query::lookup(std::string("a\xff\xfe\0b\xc3(\x01\x80", 9)), nx);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  nlohmann::json parsed;
  ASSERT_NO_THROW(parsed = nlohmann::json::parse(line)) << line;  // strict: rejects bad UTF-8
  const std::string r = "\xef\xbf\xbd";  // U+FFFD, what each bad byte becomes
  EXPECT_EQ(parsed["input"], "a" + r + r + std::string(1, '\0') + "b" + r + "(\x01" + r);
  Outcome ex;
  ex.answer.name = "n\xff";
  ex.answer.aliases = {"\xc0\xaf"};
  ex.answer.addresses = {"127.0.0.1"};
  const std::string block = cli::format_json(Query::lookup_ex("x"), ex);
  ASSERT_NO_THROW(parsed = nlohmann::json::parse(block)) << block;
  EXPECT_EQ(block.substr(0, block.find("\"latency_us\"")),
            "{\"input\":\"x\",\"kind\":\"lookup_ex\",\"ok\":true,");
  EXPECT_THAT(block, ::testing::EndsWith(
                         ",\"name\":\"n\xef\xbf\xbd\",\"aliases\":[\"\xef\xbf\xbd\xef\xbf\xbd\"],"
                         "\"addresses\":[\"127.0.0.1\"]}\n"));
}

}  // namespace
}  // namespace ub::resolve
