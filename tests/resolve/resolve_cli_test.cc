// cmd/resolve as a user runs it (argv[1] is its path): exit codes 0/1/2, the seed's
// output formats (compared with what Python's socket module prints for the same
// lookups), JSON lines, -f FILE and stdin. Outside the sandbox only numeric names,
// localhost and services are used; the name lookups run when started by dns-sandbox.

#include <fmt/core.h>
#include <fmt/ranges.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string resolve_exe;

struct CliRun {
  int code = -1;
  std::string out;
  std::string err;
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string temp_path(const std::string& name) {
  return fmt::format("{}/resolve_cli_{}_{}", ::testing::TempDir(), getpid(), name);
}

// Runs `resolve ARGS` (stdin from `input` when given, else from `stdin_path`), bounded by
// timeout(1).
CliRun run(const std::vector<std::string>& args, const std::optional<std::string>& input = {},
           const std::string& stdin_path = "/dev/null") {
  const std::string in_path = temp_path("in"), out_path = temp_path("out"),
                    err_path = temp_path("err");
  std::ofstream(in_path) << input.value_or("");
  // Appended piece by piece: GCC 12's -Wrestrict misfires on "literal" + std::string&&.
  std::string cmd = "timeout 60 ";
  cmd += quote(resolve_exe);
  for (const auto& a : args) cmd.append(" ").append(quote(a));
  cmd.append(" <").append(quote(input ? in_path : stdin_path));
  cmd.append(" >").append(quote(out_path)).append(" 2>").append(quote(err_path));
  const int status = std::system(cmd.c_str());
  CliRun r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  std::remove(in_path.c_str());
  std::remove(out_path.c_str());
  std::remove(err_path.c_str());
  return r;
}

// What /usr/bin/python3 prints for `code` (with sys.argv[1:] = args); nullopt without it.
std::optional<std::string> python(const std::string& code,
                                  const std::vector<std::string>& args = {}) {
  if (access("/usr/bin/python3", X_OK) != 0) return std::nullopt;
  std::string cmd = "/usr/bin/python3 -c ";
  cmd += quote(code);
  for (const auto& a : args) cmd.append(" ").append(quote(a));
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return std::nullopt;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  if (pclose(p) != 0) return std::nullopt;
  return out;
}

size_t count_lines(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

const char* sandbox_zone() { return std::getenv("UB_DNS_SANDBOX_ZONE"); }

// ---- no DNS needed ----

TEST(Cli, NumericAndLocalhost) {
  const CliRun r = run({"127.0.0.1", "localhost"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "127.0.0.1 : 127.0.0.1\nlocalhost : 127.0.0.1\n");
  EXPECT_EQ(r.err, "");  // no progress line: stderr is not a terminal
}

TEST(Cli, SeedServicesMatchPython) {
  const std::vector<std::string> urls = {
      "http://www.python.org",         "https://www.mybank.com",  "ftp://prep.ai.mit.edu",
      "gopher://gopher.micro.umn.edu", "smtp://mail.example.com", "imap://mail.example.com",
      "imaps://mail.example.com",      "pop3://pop.example.com",  "pop3s://pop.example.com"};
  const CliRun r = run([&] {
    std::vector<std::string> a = {"--service"};
    a.insert(a.end(), urls.begin(), urls.end());
    return a;
  }());
  EXPECT_EQ(r.code, 0) << r.err;
  // The seed prints "{:>6} : {}" of the scheme; we label with the URL as given.
  const auto want = python(
      "import socket, sys\nfrom urllib.parse import urlparse\n"
      "for url in sys.argv[1:]:\n"
      "    print('{:>6} : {}'.format(url, socket.getservbyname(urlparse(url).scheme)))\n",
      urls);
  if (want) {
    EXPECT_EQ(r.out, *want);
  }
  EXPECT_THAT(r.out, ::testing::HasSubstr("https://www.mybank.com : 443\n"));
}

TEST(Cli, SeedPortsMatchPython) {
  const std::vector<std::string> ports = {"80",  "443", "21",  "70", "25",
                                          "143", "993", "110", "995"};
  std::vector<std::string> args = {"--port"};
  args.insert(args.end(), ports.begin(), ports.end());
  const CliRun r = run(args);
  EXPECT_EQ(r.code, 0) << r.err;
  const auto want = python(
      "import socket, sys\n"
      "for p in sys.argv[1:]: print('{:>6} : {}'.format(p, socket.getservbyport(int(p))))\n",
      ports);
  if (want) {
    EXPECT_EQ(r.out, *want);
  }
  EXPECT_THAT(r.out, ::testing::HasSubstr("    80 : http\n"));
}

TEST(Cli, FailuresExitOne) {
  CliRun r = run({"--service", "http", "no-such-service"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "  http : 80\nno-such-service : service/proto not found\n");
  r = run({"--reverse", "1.2.3"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "1.2.3\nERROR: illegal IP address string\n\n");
  r = run({"--port", "--proto", "tcp", "1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "     1 : tcpmux\n");
}

TEST(Cli, BadUsageExitsTwo) {
  const std::vector<std::vector<std::string>> bad = {
      {"--no-such-flag"},         {"--port", "99999"},       {"--port", "http"},
      {"--ex", "--service", "x"}, {"--hostname", "x"},       {"-f", "/nonexistent/names"},
      {"--threads", "0", "x"},    {"--timeout", "0", "x"},   {"--timeout", "soon", "x"},
      {"--engine", "bind", "x"},  {"--in-flight", "0", "x"}, {"--server", "dns.example", "x"},
      {"--tries", "0", "x"},      {"--rate", "-1", "x"},     {"--server", "127.0.0.1:99999", "x"},
      {"--timeout", "nan", "x"},  {"--rate", "nan", "x"}};
  for (const auto& args : bad) {
    const CliRun r = run(args);
    EXPECT_EQ(r.code, 2) << fmt::format("{}", fmt::join(args, " ")) << ": " << r.err;
    EXPECT_FALSE(r.err.empty());
    EXPECT_EQ(r.out, "");
  }
}

TEST(Cli, InputThatCannotBeReadExitsTwo) {
  // A directory opens like a file and reads as nothing: refused up front, not "0 names, ok".
  const std::string dir = ::testing::TempDir();
  CliRun r = run({"-f", dir});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(r.err, "resolve: cannot read '" + dir + "': Is a directory\n");
  EXPECT_EQ(r.out, "");
  r = run({"-f", "/nonexistent/names"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "resolve: cannot read '/nonexistent/names': No such file or directory\n");
  for (const auto& args : std::vector<std::vector<std::string>>{{"-f", "-"}, {}}) {
    r = run(args, std::nullopt, dir);  // standard input is the directory
    EXPECT_EQ(r.code, 2) << fmt::format("{}", fmt::join(args, " ")) << ": " << r.err;
    EXPECT_EQ(r.err, "resolve: cannot read standard input: Is a directory\n");
    EXPECT_EQ(r.out, "");
  }
  // A file without read permission (root reads it anyway, so only checked as a user).
  if (geteuid() != 0) {
    const std::string path = temp_path("unreadable");
    std::ofstream(path) << "127.0.0.1\n";
    chmod(path.c_str(), 0);
    r = run({"-f", path});
    std::remove(path.c_str());
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_EQ(r.err, "resolve: cannot read '" + path + "': Permission denied\n");
    EXPECT_EQ(r.out, "");
  }
}

TEST(Cli, FileAndStdin) {
  const std::string path = temp_path("names");
  std::ofstream(path) << "# numeric names only\n127.0.0.1\n\n  127.0.0.2  \nlocalhost\n";
  CliRun r = run({"-f", path});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "127.0.0.1 : 127.0.0.1\n127.0.0.2 : 127.0.0.2\nlocalhost : 127.0.0.1\n");
  r = run({}, slurp(path));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "127.0.0.1 : 127.0.0.1\n127.0.0.2 : 127.0.0.2\nlocalhost : 127.0.0.1\n");
  r = run({"-f", "-", "127.0.0.9"}, "127.0.0.3\n");  // arguments first, then the lines
  EXPECT_EQ(r.out, "127.0.0.9 : 127.0.0.9\n127.0.0.3 : 127.0.0.3\n");
  std::remove(path.c_str());
}

TEST(Cli, DnsEngineNumericAndServices) {
  // Nothing here needs DNS; a server nobody listens on keeps any slip away from real DNS.
  const CliRun r = run({"--engine", "dns", "--server", "127.0.0.1:1", "127.0.0.1", "::1", "1.2.3"});
  EXPECT_EQ(r.code, 1);  // "::1" has no IPv4 address, as for gethostbyname
  EXPECT_EQ(r.out,
            "127.0.0.1 : 127.0.0.1\n::1 : [Errno -2] Name or service not known\n1.2.3 : 1.2.0.3\n");
  const CliRun s = run({"--engine", "dns", "--server", "127.0.0.1:1", "--port", "80", "443"});
  EXPECT_EQ(s.code, 0) << s.err;
  EXPECT_EQ(s.out, "    80 : http\n   443 : https\n");
}

TEST(Cli, JsonLines) {
  const CliRun r = run({"--json", "--service", "http", "no-such-service"});
  EXPECT_EQ(r.code, 1);
  std::istringstream lines(r.out);
  std::string first, second;
  std::getline(lines, first);
  std::getline(lines, second);
  EXPECT_THAT(first, ::testing::MatchesRegex(
                         R"(\{"input":"http","kind":"service_port","ok":true,"latency_us":[0-9.]+,)"
                         R"("name":"http","aliases":\["www"\],"port":80,"proto":"tcp"\})"));
  EXPECT_THAT(second, ::testing::HasSubstr(R"("ok":false)"));
  EXPECT_THAT(
      second,
      ::testing::HasSubstr(
          R"("error":{"category":"resolve","code":101,"message":"service/proto not found"}})"));
}

TEST(Cli, JsonLinesAreValidWhateverTheFileHolds) {
  // -f on a binary file: bytes that are not UTF-8, NUL, control characters, and one numeric
  // name. The dns engine with a server nobody listens on: nothing leaves the machine.
  const std::string path = temp_path("binary");
  const char bytes[] = "\xff\xfe\0bin\x80\n127.0.0.1\n\xc3(x\n\x01ctl\ttab\n\xed\xa0\x80\n";
  std::ofstream(path, std::ios::binary) << std::string(bytes, sizeof bytes - 1);
  const CliRun r =
      run({"--json", "--engine", "dns", "--server", "127.0.0.1:1", "--timeout", "1", "-f", path});
  std::remove(path.c_str());
  EXPECT_EQ(r.code, 1) << r.err;  // every name but the numeric one fails
  ASSERT_EQ(count_lines(r.out), 5u) << r.out;
  std::istringstream lines(r.out);
  std::string line;
  int answered = 0;
  while (std::getline(lines, line)) {
    nlohmann::json parsed;
    ASSERT_NO_THROW(parsed = nlohmann::json::parse(line)) << line;  // strict UTF-8
    if (parsed["input"] == "127.0.0.1") {
      EXPECT_EQ(parsed["ok"], true) << line;
      EXPECT_EQ(parsed["address"], "127.0.0.1") << line;
      ++answered;
    }
  }
  EXPECT_EQ(answered, 1) << r.out;
  // And as Python reads JSON lines: decoded as strict UTF-8, then json.loads (strict).
  if (access("/usr/bin/python3", X_OK) == 0) {
    const std::string out_path = temp_path("json_out");
    std::ofstream(out_path, std::ios::binary) << r.out;
    const auto checked = python(
        "import json, sys\n"
        "lines = open(sys.argv[1], 'rb').read().splitlines()\n"
        "for line in lines: json.loads(line.decode('utf-8', 'strict'), strict=True)\n"
        "print(len(lines))\n",
        {out_path});
    std::remove(out_path.c_str());
    EXPECT_EQ(checked, std::optional<std::string>("5\n")) << r.out;
  }
}

TEST(Cli, Hostname) {
  const CliRun r = run({"--hostname"});
  EXPECT_EQ(r.code, 0);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  EXPECT_EQ(r.out, std::string(host) + "\n");
}

// ---- inside the DNS sandbox ----

class CliSandbox : public ::testing::Test {
 protected:
  void SetUp() override {
    if (sandbox_zone() == nullptr) GTEST_SKIP() << "not inside scripts/dns-sandbox";
    zone_ = sandbox_zone();
  }
  std::string n(const std::string& label) const { return label + "." + zone_; }
  std::string zone_;
};

TEST_F(CliSandbox, SeedLookupsMatchPython) {
  const std::vector<std::string> hosts = {n("host1"), n("alias2"), n("nosuchname0"), "localhost",
                                          n("v6only0")};
  const CliRun r = run(hosts);
  EXPECT_EQ(r.code, 1);  // two of them fail
  const auto want = python(
      "import socket, sys\n"
      "for host in sys.argv[1:]:\n"
      "    try:\n"
      "        print('{} : {}'.format(host, socket.gethostbyname(host)))\n"
      "    except socket.error as msg:\n"
      "        print('{} : {}'.format(host, msg))\n",
      hosts);
  if (want) {
    EXPECT_EQ(r.out, *want);
  }
  EXPECT_THAT(r.out,
              ::testing::HasSubstr(n("nosuchname0") + " : [Errno -2] Name or service not known\n"));
}

TEST_F(CliSandbox, SeedFqdnMatchesPython) {
  const std::vector<std::string> hosts = {"hostsalias", n("host4"), n("nosuchname1"), "127.16.0.9"};
  std::vector<std::string> args = {"--fqdn"};
  args.insert(args.end(), hosts.begin(), hosts.end());
  const CliRun r = run(args);
  EXPECT_EQ(r.code, 0) << r.err;
  const auto want = python(
      "import socket, sys\n"
      "for host in sys.argv[1:]: print('{:>10} : {}'.format(host, socket.getfqdn(host)))\n",
      hosts);
  if (want) {
    EXPECT_EQ(r.out, *want);
  }
}

TEST_F(CliSandbox, ExAndReverseBlocks) {
  CliRun r = run({"--ex", n("chain1")});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::StartsWith(n("chain1") + "\n  Hostname: " + n("host1") +
                                           "\n  Aliases : ['"));
  EXPECT_THAT(r.out, ::testing::HasSubstr(" Addresses: ['127.16.0.1', '2001:db8::1']\n\n"));
  r = run({"--reverse", "127.16.0.5", "2001:db8::5"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "127.16.0.5\n  Hostname: " + n("host5") +
                       "\n  Aliases : []\n Addresses: ['127.16.0.5']\n\n2001:db8::5\n  Hostname: " +
                       n("host5") + "\n  Aliases : []\n Addresses: ['2001:db8::5']\n\n");
}

TEST_F(CliSandbox, WholeZoneFromFileInOrder) {
  const std::string names = fmt::format("{}/names.txt", std::getenv("UB_DNS_SANDBOX_DIR"));
  const std::string text = slurp(names);
  CliRun r = run({"-f", names, "--threads", "8"});
  EXPECT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(count_lines(r.out), count_lines(text));
  std::istringstream in(text), out(r.out);
  std::string name, line;
  while (std::getline(in, name) && std::getline(out, line)) {
    ASSERT_EQ(line.rfind(name + " : 127.", 0), 0u) << line;
  }
  r = run({"--json", "--unordered"}, text);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(count_lines(r.out), count_lines(text));
}

TEST_F(CliSandbox, DnsEnginePrintsWhatSystemPrints) {
  const std::vector<std::vector<std::string>> modes = {
      {}, {"--ex"}, {"--fqdn"}, {"--reverse"}, {"--json", "--ex"}};
  const std::vector<std::string> names = {n("host1"),  n("alias2"),  n("chain1"),  n("nosuchname0"),
                                          "localhost", n("v6only0"), "hostsalias", n("big0")};
  const std::vector<std::string> addresses = {"127.16.0.5", "2001:db8::5", "127.16.0.24",
                                              "127.0.0.1", "127.0.2.1"};
  for (const auto& mode : modes) {
    const bool reverse = !mode.empty() && mode[0] == "--reverse";
    std::vector<std::string> args = mode;
    args.insert(args.end(), reverse ? addresses.begin() : names.begin(),
                reverse ? addresses.end() : names.end());
    std::vector<std::string> dns = {"--engine", "dns"};
    dns.insert(dns.end(), args.begin(), args.end());
    const CliRun a = run(args), b = run(dns);
    EXPECT_EQ(a.code, b.code) << fmt::format("{}", fmt::join(args, " "));
    auto strip_latency = [](std::string s) {
      const std::string key = "\"latency_us\":";
      for (size_t at; (at = s.find(key)) != std::string::npos;) {
        size_t end = at + key.size();
        while (end < s.size() &&
               (std::isdigit(static_cast<unsigned char>(s[end])) || s[end] == '.')) {
          ++end;
        }
        s.erase(at, end - at);
      }
      return s;
    };
    EXPECT_EQ(strip_latency(b.out), strip_latency(a.out))
        << fmt::format("{}", fmt::join(args, " "));
  }
}

TEST_F(CliSandbox, DnsEngineWholeZoneAndTimeout) {
  const std::string names = fmt::format("{}/names.txt", std::getenv("UB_DNS_SANDBOX_DIR"));
  const std::string text = slurp(names);
  CliRun r = run({"--engine", "dns", "--in-flight", "64", "-f", names});
  EXPECT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(count_lines(r.out), count_lines(text));
  std::istringstream in(text), out(r.out);
  std::string name, line;
  while (std::getline(in, name) && std::getline(out, line)) {
    ASSERT_EQ(line.rfind(name + " : 127.", 0), 0u) << line;
  }
  r = run({"--engine", "dns", "--timeout", "0.3", n("dead0"), n("host2")});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, n("dead0") + " : timed out\n" + n("host2") + " : 127.16.0.2\n");
}

TEST_F(CliSandbox, TimeoutIsAFailure) {
  const CliRun r = run({"--timeout", "0.3", n("dead0"), n("host2")});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, n("dead0") + " : timed out\n" + n("host2") + " : 127.16.0.2\n");
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: resolve_cli_test PATH-TO-resolve\n");
    return 2;
  }
  resolve_exe = argv[1];
  return RUN_ALL_TESTS();
}
