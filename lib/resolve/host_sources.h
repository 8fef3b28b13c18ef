#pragma once
// Where glibc looks up host names, read from the files glibc reads, so the "dns" engine
// keeps its precedence: the "hosts:" line of nsswitch.conf (which of "files" and "dns"
// come, in what order) and host.conf's "multi" (every /etc/hosts line for a name, or the
// first). Other NSS sources (myhostname, mdns, resolve, ...) cannot be emulated and are
// skipped; so are "[STATUS=action]" items (the defaults, go on unless found, apply).

#include <string>
#include <vector>

namespace ub::resolve {

enum class HostSource { kFiles, kDns };

// In the order the hosts line lists them. Without nsswitch.conf or a hosts line:
// files, then dns (Debian's default line; glibc's built-in "dns files" is rarely met).
std::vector<HostSource> host_sources(const std::string& nsswitch_path = "/etc/nsswitch.conf");

// host.conf "multi on|off" (glibc's default: off); RESOLV_MULTI in the environment wins.
bool hosts_multi(const std::string& host_conf_path = "/etc/host.conf");

}  // namespace ub::resolve
