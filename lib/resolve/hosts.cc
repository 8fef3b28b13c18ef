#include "resolve/hosts.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ub::resolve {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    const size_t start = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string text_of(int family, const void* bytes) {
  char text[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(family, bytes, text, sizeof text);
  return text;
}

}  // namespace

HostsTable HostsTable::parse(std::string_view text, bool multi) {
  HostsTable table;
  table.multi_ = multi;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (const size_t hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    const auto f = fields(line);
    if (f.size() < 2) continue;  // glibc needs an address and a name
    Line entry;
    const std::string address(f[0]);
    if (::inet_pton(AF_INET, address.c_str(), &entry.bytes) == 1) {
      entry.family = AF_INET;
    } else if (::inet_pton(AF_INET6, address.c_str(), &entry.bytes) == 1) {
      entry.family = AF_INET6;
    } else {
      continue;  // illegal address: glibc ignores the line
    }
    entry.name = std::string(f[1]);
    for (size_t i = 2; i < f.size(); ++i) entry.aliases.emplace_back(f[i]);
    // glibc's parser, for AF_INET: an IPv4-mapped address counts as its IPv4 address,
    // "::1" as 127.0.0.1, other IPv6 lines not at all; for AF_INET6, IPv6 lines only.
    if (entry.family == AF_INET) {
      std::memcpy(&entry.v4, &entry.bytes, sizeof entry.v4);
      entry.as_v4 = text_of(AF_INET, &entry.v4);
    } else {
      entry.as_v6 = text_of(AF_INET6, &entry.bytes);
      if (IN6_IS_ADDR_V4MAPPED(&entry.bytes)) {
        std::memcpy(&entry.v4, &entry.bytes.s6_addr[12], sizeof entry.v4);
        entry.as_v4 = text_of(AF_INET, &entry.v4);
      } else if (IN6_IS_ADDR_LOOPBACK(&entry.bytes)) {
        entry.v4.s_addr = htonl(INADDR_LOOPBACK);
        entry.as_v4 = "127.0.0.1";
      }
    }
    const auto position = static_cast<uint32_t>(table.lines_.size());
    auto index = [&](const std::string& name) {
      auto& lines = table.by_name_[lower(name)];
      if (lines.empty() || lines.back() != position) lines.push_back(position);
    };
    index(entry.name);
    for (const auto& alias : entry.aliases) index(alias);
    table.lines_.push_back(std::move(entry));
  }
  return table;
}

Result<HostsTable> HostsTable::load(const std::string& path, bool multi) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return parse({}, multi);
    return errno_code(errno != 0 ? errno : EIO);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), multi);
}

std::optional<Answer> HostsTable::by_name(std::string_view name, int family) const {
  if (lines_.empty()) return std::nullopt;
  const auto found = by_name_.find(lower(name));
  if (found == by_name_.end()) return std::nullopt;
  std::optional<Answer> answer;
  for (const uint32_t position : found->second) {
    const Line& line = lines_[position];
    const std::string& address = family == AF_INET ? line.as_v4 : line.as_v6;
    if (address.empty()) continue;
    if (!answer) {
      answer.emplace();
      answer->name = line.name;
      answer->aliases = line.aliases;
      answer->addresses.push_back(address);
      if (!multi_) break;
      continue;
    }
    // multi on: every later line adds its address, aliases, and differing canonical name.
    answer->addresses.push_back(address);
    answer->aliases.insert(answer->aliases.end(), line.aliases.begin(), line.aliases.end());
    if (line.name != answer->name) answer->aliases.push_back(line.name);
  }
  return answer;
}

std::optional<Answer> HostsTable::by_address(int family, const void* address) const {
  for (const Line& line : lines_) {
    if (family == AF_INET6) {
      if (line.family != AF_INET6 || std::memcmp(&line.bytes, address, 16) != 0) continue;
    } else if (line.as_v4.empty() || std::memcmp(&line.v4, address, 4) != 0) {
      continue;
    }
    Answer a;
    a.name = line.name;
    a.aliases = line.aliases;
    a.addresses.push_back(text_of(family, address));
    return a;
  }
  return std::nullopt;
}

}  // namespace ub::resolve
