#pragma once
// What scripts/dns-sandbox put in its zone, read from $UB_DNS_SANDBOX_DIR/manifest.tsv
// (written by scripts/dns-zone-gen), so tests check answers against the zone itself.

#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace ub::resolve::testing {

struct SandboxManifest {
  std::string zone;
  std::string dir;
  std::map<std::string, std::vector<std::string>> a, aaaa, ptr;  // in zone-file order
  std::map<std::string, std::string> cname;                      // alias -> target
  std::vector<std::string> nxdomain, dead, slow, hosts_names;
  std::vector<std::string> host_names;  // hostI, I ascending

  // nullopt outside the sandbox (tests then exit 77).
  static std::optional<SandboxManifest> load() {
    const char* dir = std::getenv("UB_DNS_SANDBOX_DIR");
    const char* zone = std::getenv("UB_DNS_SANDBOX_ZONE");
    if (dir == nullptr || zone == nullptr || std::getenv("UB_DNS_SANDBOX") == nullptr) {
      return std::nullopt;
    }
    SandboxManifest m;
    m.dir = dir;
    m.zone = zone;
    std::ifstream in(m.dir + "/manifest.tsv");
    if (!in) return std::nullopt;
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string kind, name, value;
      std::getline(fields, kind, '\t');
      std::getline(fields, name, '\t');
      std::getline(fields, value, '\t');
      if (kind == "A") m.a[name].push_back(value);
      if (kind == "AAAA") m.aaaa[name].push_back(value);
      if (kind == "PTR") m.ptr[name].push_back(value);
      if (kind == "CNAME") m.cname[name] = value;
      if (kind == "NXDOMAIN") m.nxdomain.push_back(name);
      if (kind == "DEAD") m.dead.push_back(name);
      if (kind == "SLOW") m.slow.push_back(name);
      if (kind == "HOSTS") m.hosts_names.push_back(value);
    }
    std::ifstream names(m.dir + "/names.txt");
    while (std::getline(names, line)) m.host_names.push_back(line);
    return m;
  }
};

}  // namespace ub::resolve::testing
