#include "resolve/services.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace ub::resolve {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// Splits a line (comment already removed) into whitespace-separated fields.
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

std::string key(std::string_view a, std::string_view proto) {
  std::string k;
  k.reserve(a.size() + 1 + proto.size());
  k.append(a).append("/").append(proto);
  return k;
}

}  // namespace

ServiceTable ServiceTable::parse(std::string_view text) {
  ServiceTable table;
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
    if (f.size() < 2) continue;
    // "port/proto": glibc reads the port with strtoul(..., 0) and needs a '/' right after.
    const std::string port_proto(f[1]);
    char* endp = nullptr;
    errno = 0;
    const unsigned long port = std::strtoul(port_proto.c_str(), &endp, 0);
    if (endp == port_proto.c_str() || *endp != '/') continue;
    while (*endp == '/') ++endp;
    if (*endp == '\0') continue;
    ServiceEntry entry;
    entry.name = std::string(f[0]);
    entry.port = static_cast<int>(port & 0xffff);  // htons() keeps the low 16 bits
    entry.proto = endp;
    for (size_t i = 2; i < f.size(); ++i) entry.aliases.emplace_back(f[i]);
    table.entries_.push_back(std::move(entry));
    table.index(static_cast<uint32_t>(table.entries_.size() - 1));
  }
  return table;
}

void ServiceTable::index(uint32_t position) {
  const ServiceEntry& e = entries_[position];
  auto add_name = [&](const std::string& name) {
    by_name_.try_emplace(key(name, e.proto), position);  // first line wins
    by_name_.try_emplace(key(name, ""), position);
  };
  add_name(e.name);
  for (const auto& alias : e.aliases) add_name(alias);
  const std::string port = std::to_string(e.port);
  by_port_.try_emplace(key(port, e.proto), position);
  by_port_.try_emplace(key(port, ""), position);
}

Result<ServiceTable> ServiceTable::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return errno_code(errno != 0 ? errno : ENOENT);
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str());
}

const ServiceEntry* ServiceTable::by_name(std::string_view name, std::string_view proto) const {
  // A '/' in the name or proto could forge another key; glibc would find nothing.
  if (name.find('/') != std::string_view::npos || proto.find('/') != std::string_view::npos) {
    return nullptr;
  }
  const auto it = by_name_.find(key(name, proto));
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

const ServiceEntry* ServiceTable::by_port(int port, std::string_view proto) const {
  if (port < 0 || port > 0xffff || proto.find('/') != std::string_view::npos) return nullptr;
  const auto it = by_port_.find(key(std::to_string(port), proto));
  return it == by_port_.end() ? nullptr : &entries_[it->second];
}

bool services_answered_by_files(const std::string& path, const std::string& db_path) {
  std::ifstream in(path);
  if (!in) return true;  // no nsswitch.conf: glibc's default for services is "files"
  std::string line;
  while (std::getline(in, line)) {
    if (const size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    const auto f = fields(line);
    if (f.empty() || f[0] != "services:") continue;
    bool in_action = false;
    for (size_t i = 1; i < f.size(); ++i) {
      std::string_view word = f[i];
      // Actions like "[NOTFOUND=return]" may be split over several fields.
      if (in_action || word.front() == '[') {
        in_action = word.back() != ']';
        continue;
      }
      if (word == "files") continue;
      if (word == "db") {
        struct stat st {};
        if (::stat(db_path.c_str(), &st) != 0) continue;  // nss_db: UNAVAIL, glibc goes on
      }
      return false;
    }
  }
  return true;
}

}  // namespace ub::resolve
