// resolve: the seed's host and service lookups as one bulk tool. Names come from the
// command line, -f FILE or standard input, and go through a ub::resolve::Resolver (engine
// "system": a pool of threads over glibc; "dns": c-ares with many names in flight; a
// deadline per name either way). Answers print in input order in the seed's
// formats, or as JSON lines. Exit 0 when every query was answered, 1 when some failed,
// 2 on bad usage.

#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cli/cli.h"
#include "cli/resolve_format.h"
#include "resolve/dns_engine.h"
#include "resolve/resolver.h"

namespace {

constexpr const char* kTool = "resolve";
constexpr size_t kOrderedWindow = size_t{1} << 16;  // answers held back for input order
constexpr auto kProgressAfter = std::chrono::seconds(1);
constexpr auto kProgressEvery = std::chrono::milliseconds(250);

using ub::resolve::Kind;
using ub::resolve::Query;

std::string trim(const std::string& line) {
  const size_t first = line.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const size_t last = line.find_last_not_of(" \t\r\n");
  return line.substr(first, last - first + 1);
}

std::optional<int> parse_port(const std::string& text) {
  int port = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port < 0 || port > 65535) {
    return std::nullopt;
  }
  return port;
}

// Turns one input word into a query of the chosen kind.
Query make_query(Kind kind, const std::string& text, const std::string& proto) {
  switch (kind) {
    case Kind::kServiceName: {
      Query q = Query::service_name(parse_port(text).value_or(-1), proto);
      q.text = text;
      return q;
    }
    case Kind::kServicePort:
      if (text.find("://") != std::string::npos) return Query::scheme_port(text, proto);
      return Query::service_port(text, proto);
    default:
      return Query{kind, text, 0, {}};
  }
}

// Reads inputs one at a time (a million-line file never sits in memory whole): first the
// command-line words, then the lines of the file or stdin. Blank lines and #-comments skip.
class InputSource {
 public:
  InputSource(std::vector<std::string> words, std::istream* lines)
      : words_(std::move(words)), lines_(lines) {}

  std::optional<std::string> next() {
    if (next_word_ < words_.size()) return words_[next_word_++];
    std::string line;
    while (lines_ != nullptr && std::getline(*lines_, line)) {
      line = trim(line);
      if (!line.empty() && line.front() != '#') return line;
    }
    return std::nullopt;
  }

 private:
  std::vector<std::string> words_;
  size_t next_word_ = 0;
  std::istream* lines_;
};

// "" or why `path` (nullptr: standard input) cannot be read as lines. A directory opens (an
// ifstream on one reads nothing and sets no error bit), so it is refused here, up front.
std::string cannot_read(const char* path) {
  struct stat st {};
  if ((path == nullptr ? ::fstat(STDIN_FILENO, &st) : ::stat(path, &st)) != 0) {
    return std::strerror(errno);
  }
  return S_ISDIR(st.st_mode) ? std::strerror(EISDIR) : "";
}

// "resolved 1200 of 5000 (2400/s, 3 failed)" on a terminal, rewritten in place.
class Progress {
 public:
  Progress(bool enabled, std::optional<size_t> total) : enabled_(enabled), total_(total) {}
  ~Progress() {
    if (shown_) fmt::print(stderr, "\r\033[K");
  }

  void update(size_t done, size_t failed) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - start_ < kProgressAfter || now - last_ < kProgressEvery) return;
    last_ = now;
    shown_ = true;
    const double secs = std::chrono::duration<double>(now - start_).count();
    const std::string of = total_ ? fmt::format(" of {}", *total_) : std::string();
    fmt::print(stderr, "\rresolved {}{} ({:.0f}/s, {} failed)\033[K", done, of,
               static_cast<double>(done) / secs, failed);
    std::fflush(stderr);
  }

 private:
  bool enabled_;
  std::optional<size_t> total_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Resolves names, addresses and services in bulk, as the seed's gethostbyname, "
      "gethostbyname_ex, getfqdn, gethostbyaddr, getservbyname and getservbyport do."};
  std::vector<std::string> words;
  std::string file;
  std::string proto;
  bool ex = false, fqdn = false, reverse = false, service = false, port = false;
  bool hostname = false, json = false, unordered = false, no_progress = false;
  ub::resolve::Options options;
  double timeout_s = 5.0;
  app.add_option("names", words, "names (or addresses, services, ports: see the modes)");
  auto* ex_flag = app.add_flag("--ex", ex, "canonical name, aliases and every IPv4/IPv6 address");
  auto* fqdn_flag = app.add_flag("--fqdn", fqdn, "fully qualified name (Python's getfqdn)");
  auto* reverse_flag = app.add_flag("--reverse", reverse, "inputs are addresses: gethostbyaddr");
  auto* service_flag =
      app.add_flag("--service", service, "inputs are service names or URLs: their port");
  auto* port_flag = app.add_flag("--port", port, "inputs are port numbers: their service name");
  auto* hostname_flag = app.add_flag("--hostname", hostname, "print this machine's host name");
  const std::vector<CLI::Option*> modes = {ex_flag,      fqdn_flag, reverse_flag,
                                           service_flag, port_flag, hostname_flag};
  for (auto* a : modes) {
    for (auto* b : modes) {
      if (a != b) a->excludes(b);
    }
  }
  app.add_option("--proto", proto, "protocol for --service/--port (tcp, udp; default any)");
  app.add_option("-f,--file", file, "read inputs from FILE, one per line ('-': stdin)");
  app.add_flag("--json", json, "write JSON lines instead of the seed's text");
  app.add_option("--engine", options.engine,
                 "system (glibc on a thread pool) or dns (c-ares, many names in flight)")
      ->check(CLI::IsMember({"system", "dns"}))
      ->capture_default_str();
  app.add_option("--threads", options.threads, "system engine: worker threads")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--timeout", timeout_s, "deadline per query, seconds")
      ->check(ub::cli::Seconds(0.001, 3600.0))
      ->capture_default_str();
  std::vector<std::string> search;
  int ndots = -1;
  app.add_option("--in-flight", options.dns.in_flight, "dns engine: names resolved at once")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  app.add_option("--tries", options.dns.tries,
                 "dns engine: times each question is sent within the deadline")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  app.add_option("--rate", options.dns.rate, "dns engine: DNS questions per second (0: no limit)")
      ->check(ub::cli::FiniteRange(0, 1e9, "questions per second"));
  app.add_option("--server", options.dns.servers,
                 "dns engine: servers (IP, IP:PORT, [IPv6]:PORT; default: resolv.conf's)")
      ->delimiter(',')
      ->allow_extra_args(false)  // one word per --server: names may follow
      ->check(CLI::Validator(
          [](std::string& s) {
            return ub::resolve::valid_dns_server(s) ? std::string()
                                                    : "not IP, IP:PORT or [IPv6]:PORT: " + s;
          },
          "SERVER"));
  app.add_option("--search", search, "dns engine: search domains (default: resolv.conf's)")
      ->delimiter(',')
      ->allow_extra_args(false);
  app.add_option("--ndots", ndots, "dns engine: dots that make a name absolute first")
      ->check(CLI::Range(0, 15));
  app.add_flag("--unordered", unordered, "print answers as they come, not in input order");
  app.add_flag("--no-progress", no_progress, "no progress line on a terminal's stderr");
  if (int rc = ub::cli::parse(app, argc, argv); rc >= 0) return rc;

  Kind kind = Kind::kLookup;
  if (ex) kind = Kind::kLookupEx;
  if (fqdn) kind = Kind::kFqdn;
  if (reverse) kind = Kind::kReverse;
  if (service) kind = Kind::kServicePort;
  if (port) kind = Kind::kServiceName;
  if (hostname) kind = Kind::kHostname;

  if (hostname && (!words.empty() || !file.empty())) {
    fmt::print(stderr, "{}: --hostname takes no names\n", kTool);
    return ub::cli::kExitUsage;
  }
  if (port) {
    for (const auto& w : words) {
      if (!parse_port(w)) {
        fmt::print(stderr, "{}: bad port '{}': must be a number from 0 to 65535\n", kTool, w);
        return ub::cli::kExitUsage;
      }
    }
  }
  std::ifstream file_stream;
  std::istream* lines = nullptr;
  if (file == "-") {
    lines = &std::cin;
  } else if (!file.empty()) {
    std::string why = cannot_read(file.c_str());
    if (why.empty()) {
      file_stream.open(file);
      if (!file_stream) why = std::strerror(errno);
    }
    if (!why.empty()) {
      fmt::print(stderr, "{}: cannot read '{}': {}\n", kTool, file, why);
      return ub::cli::kExitUsage;
    }
    lines = &file_stream;
  } else if (words.empty() && !hostname) {
    if (::isatty(STDIN_FILENO)) {
      fmt::print(stderr, "{}: no names given (arguments, -f FILE, or standard input)\n", kTool);
      return ub::cli::kExitUsage;
    }
    lines = &std::cin;
  }
  if (lines == &std::cin) {
    if (auto why = cannot_read(nullptr); !why.empty()) {
      fmt::print(stderr, "{}: cannot read standard input: {}\n", kTool, why);
      return ub::cli::kExitUsage;
    }
  }
  if (hostname) words = {""};
  const std::optional<size_t> total =
      lines == nullptr ? std::optional<size_t>(words.size()) : std::nullopt;

  options.timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  if (!search.empty()) options.dns.search = search;
  if (ndots >= 0) options.dns.ndots = ndots;
  auto resolver = ub::resolve::Resolver::create(options);
  if (!resolver) {
    fmt::print(stderr, "{}: cannot start the resolver: {}\n", kTool, resolver.error().message());
    return 1;
  }

  InputSource input(std::move(words), lines);
  // Queries are kept until printed (their text is the label); the window bounds how many.
  std::unordered_map<size_t, Query> pending;
  size_t next_index = 0;
  size_t done = 0;
  size_t failed = 0;
  Progress progress(!no_progress && ::isatty(STDERR_FILENO) != 0, total);
  ub::resolve::StreamOptions stream_options;
  stream_options.ordered = !unordered;
  stream_options.window = std::max<size_t>(unordered ? 4096 : kOrderedWindow,
                                           static_cast<size_t>(options.dns.in_flight) * 2);
  (*resolver)->stream(
      [&]() -> std::optional<Query> {
        auto text = input.next();
        if (!text) return std::nullopt;
        Query q = make_query(kind, *text, proto);
        pending.emplace(next_index++, q);
        return q;
      },
      [&](size_t index, ub::resolve::Outcome&& outcome) {
        auto node = pending.extract(index);
        const Query& q = node.mapped();
        const std::string text =
            json ? ub::cli::format_json(q, outcome) : ub::cli::format_text(q, outcome);
        std::fwrite(text.data(), 1, text.size(), stdout);
        ++done;
        if (!outcome.ok()) ++failed;
        progress.update(done, failed);
      },
      stream_options);
  std::fflush(stdout);
  return failed == 0 ? 0 : 1;
}
