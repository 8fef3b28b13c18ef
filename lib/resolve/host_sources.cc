#include "resolve/host_sources.h"

#include <strings.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace ub::resolve {
namespace {

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::string strip_comment(std::string line) {
  if (const size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
  return line;
}

bool is_on(const std::string& word) {
  return ::strcasecmp(word.c_str(), "on") == 0 || ::strcasecmp(word.c_str(), "yes") == 0;
}

}  // namespace

std::vector<HostSource> host_sources(const std::string& nsswitch_path) {
  const std::vector<HostSource> fallback = {HostSource::kFiles, HostSource::kDns};
  std::ifstream in(nsswitch_path);
  if (!in) return fallback;
  std::string line;
  while (std::getline(in, line)) {
    const auto w = words(strip_comment(line));
    if (w.empty() || w[0] != "hosts:") continue;
    std::vector<HostSource> out;
    bool in_action = false;
    for (size_t i = 1; i < w.size(); ++i) {
      const std::string& word = w[i];
      if (in_action || word.front() == '[') {
        in_action = word.back() != ']';
        continue;
      }
      if (word == "files") out.push_back(HostSource::kFiles);
      if (word == "dns") out.push_back(HostSource::kDns);
    }
    return out;
  }
  return fallback;
}

bool hosts_multi(const std::string& host_conf_path) {
  if (const char* env = std::getenv("RESOLV_MULTI")) return is_on(env);
  std::ifstream in(host_conf_path);
  bool multi = false;
  std::string line;
  while (std::getline(in, line)) {
    const auto w = words(strip_comment(line));
    if (w.size() >= 2 && w[0] == "multi") multi = is_on(w[1]);
  }
  return multi;
}

}  // namespace ub::resolve
