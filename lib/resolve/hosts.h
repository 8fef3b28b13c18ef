#pragma once
// HostsTable: /etc/hosts parsed once, answering gethostbyname2/gethostbyaddr questions with
// glibc 2.36's "files" semantics, so the "dns" engine need not re-read the file per query
// (c-ares does, for every lookup, unless told not to) and still answers /etc/hosts names
// exactly as glibc does. The semantics copied (nss_files/files-hosts.c):
//  - a name matches a line's canonical name or any alias, case-insensitively;
//  - for AF_INET, a line with an IPv4-mapped IPv6 address counts as that IPv4 address and
//    "::1" as 127.0.0.1; other IPv6 lines are skipped; for AF_INET6 only IPv6 lines count;
//  - the first matching line gives the canonical name and aliases; with host.conf's
//    "multi on" every later matching line adds its address (duplicates kept), its aliases,
//    and its canonical name as an alias when that differs from the first;
//  - by address: the first line (read in the address's family) with that address.

#include <netinet/in.h>

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "resolve/query.h"

namespace ub::resolve {

class HostsTable {
 public:
  static HostsTable parse(std::string_view text, bool multi);
  // A missing file is an empty table (glibc then finds nothing either).
  static Result<HostsTable> load(const std::string& path, bool multi);

  // nullopt when no line matches (glibc: NSS_STATUS_NOTFOUND, go on to the next source).
  std::optional<Answer> by_name(std::string_view name, int family) const;
  // `address`: 4 bytes (AF_INET) or 16 (AF_INET6).
  std::optional<Answer> by_address(int family, const void* address) const;

  size_t size() const { return lines_.size(); }

 private:
  struct Line {
    int family = 0;    // of the address as written
    in6_addr bytes{};  // IPv4 in the first 4 bytes
    std::string name;  // canonical
    std::vector<std::string> aliases;
    // The address as glibc's parser reads it for an AF_INET / AF_INET6 lookup ("" when
    // the line does not count for that family).
    std::string as_v4, as_v6;
    in_addr v4{};  // as_v4's bytes
  };

  std::vector<Line> lines_;
  // Lower-cased canonical names and aliases -> their lines, in file order (no per-query
  // scan of the file's lines: an ad-blocking hosts file has 100,000s of them).
  std::unordered_map<std::string, std::vector<uint32_t>> by_name_;
  bool multi_ = false;
};

}  // namespace ub::resolve
