#include "resolve/dns_answer.h"

#include <ares.h>
#include <arpa/inet.h>

#include <cstdint>
#include <cstdio>
#include <cstring>

namespace ub::resolve::detail {
namespace {

constexpr int kHeaderSize = 12;
constexpr int kRrFixedSize = 10;  // type, class, ttl, rdlength
constexpr int kMaxPointers = 64;  // compression pointers followed per name (loop guard)
constexpr size_t kMaxNameText = 1024;
constexpr int kClassIn = 1;
constexpr int kTypeCname = 5;
constexpr int kTypePtr = 12;

int u16(const unsigned char* p) { return (p[0] << 8) | p[1]; }

// Appends one label byte as ns_name_ntop prints it: specials escaped, others as \DDD.
void append_label_char(std::string* out, unsigned char c) {
  switch (c) {
    case '"':
    case '.':
    case ';':
    case '\\':
    case '(':
    case ')':
    case '@':
    case '$':
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
      return;
    default:
      if (c > 0x20 && c < 0x7f) {
        out->push_back(static_cast<char>(c));
      } else {
        char esc[5];
        std::snprintf(esc, sizeof esc, "\\%03u", c);
        out->append(esc);
      }
  }
}

// Reads the (possibly compressed) name at `pos` into `out`; returns the offset just past
// the name where it is written (not where pointers lead), or -1 if malformed.
int read_name(const unsigned char* pkt, int len, int pos, std::string* out) {
  out->clear();
  int end = -1;
  int pointers = 0;
  for (;;) {
    if (pos >= len) return -1;
    const unsigned char c = pkt[pos];
    if ((c & 0xc0) == 0xc0) {
      if (pos + 1 >= len || ++pointers > kMaxPointers) return -1;
      if (end < 0) end = pos + 2;
      pos = ((c & 0x3f) << 8) | pkt[pos + 1];
      continue;
    }
    if ((c & 0xc0) != 0) return -1;  // obsolete label types
    if (c == 0) {
      if (end < 0) end = pos + 1;
      return end;
    }
    if (pos + 1 + c > len) return -1;
    if (!out->empty()) out->push_back('.');
    for (int i = 0; i < c; ++i) append_label_char(out, pkt[pos + 1 + i]);
    if (out->size() > kMaxNameText) return -1;
    pos += 1 + c;
  }
}

// inet_ntop formats IPv4 with sprintf, a tenth of a name's CPU here; this is the same text.
void append_ipv4(std::string* out, const unsigned char* b) {
  char text[16];
  char* p = text;
  for (int i = 0; i < 4; ++i) {
    unsigned v = b[i];
    if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
    if (v >= 10) *p++ = static_cast<char>('0' + v / 10 % 10);
    *p++ = static_cast<char>('0' + v % 10);
    if (i < 3) *p++ = '.';
  }
  out->assign(text, p);
}

bool same_name(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

struct Record {
  std::string owner;
  int type = 0;
  int klass = 0;
  int rdata = 0;  // offset
  int rdlength = 0;
};

// Walks the answer section. `visit(record)` returns false to stop early.
template <typename Visit>
int walk_answers(const unsigned char* pkt, int len, std::string* question, Visit&& visit) {
  if (pkt == nullptr || len < kHeaderSize) return ARES_EBADRESP;
  const int qdcount = u16(pkt + 4);
  const int ancount = u16(pkt + 6);
  if (qdcount < 1) return ARES_EBADRESP;
  int pos = kHeaderSize;
  std::string name;
  for (int i = 0; i < qdcount; ++i) {
    pos = read_name(pkt, len, pos, i == 0 ? question : &name);
    if (pos < 0 || pos + 4 > len) return ARES_EBADRESP;
    pos += 4;
  }
  Record rr;
  for (int i = 0; i < ancount; ++i) {
    pos = read_name(pkt, len, pos, &rr.owner);
    if (pos < 0 || pos + kRrFixedSize > len) return ARES_EBADRESP;
    rr.type = u16(pkt + pos);
    rr.klass = u16(pkt + pos + 2);
    rr.rdlength = u16(pkt + pos + 8);
    rr.rdata = pos + kRrFixedSize;
    if (rr.rdata + rr.rdlength > len) return ARES_EBADRESP;
    pos = rr.rdata + rr.rdlength;
    if (rr.klass != kClassIn) continue;
    if (!visit(rr)) break;
  }
  return ARES_SUCCESS;
}

}  // namespace

int parse_address_answer(const unsigned char* packet, int length, int qtype, Answer* out) {
  *out = Answer{};
  const int family = qtype == 1 ? AF_INET : AF_INET6;
  const int size = family == AF_INET ? 4 : 16;
  std::string expected;
  std::string target;
  bool bad = false;
  const int status = walk_answers(packet, length, &expected, [&](const Record& rr) {
    if (rr.type == kTypeCname) {
      if (!same_name(rr.owner, expected)) return true;
      if (read_name(packet, length, rr.rdata, &target) < 0) {
        bad = true;
        return false;
      }
      out->aliases.push_back(rr.owner);
      expected.swap(target);
      return true;
    }
    if (rr.type != qtype || rr.rdlength != size || !same_name(rr.owner, expected)) return true;
    std::string& text = out->addresses.emplace_back();
    if (family == AF_INET) {
      append_ipv4(&text, packet + rr.rdata);
    } else {
      char buf[INET6_ADDRSTRLEN] = {};
      ::inet_ntop(AF_INET6, packet + rr.rdata, buf, sizeof buf);
      text = buf;
    }
    if (out->name.empty()) out->name = rr.owner;
    return true;
  });
  if (status != ARES_SUCCESS) return status;
  if (bad) return ARES_EBADRESP;
  return out->addresses.empty() ? ARES_ENODATA : ARES_SUCCESS;
}

int parse_ptr_answer(const unsigned char* packet, int length, std::string* name) {
  name->clear();
  std::string expected;
  std::string target;
  bool bad = false;
  bool found = false;
  const int status = walk_answers(packet, length, &expected, [&](const Record& rr) {
    if (!same_name(rr.owner, expected)) return true;
    if (rr.type != kTypeCname && rr.type != kTypePtr) return true;
    if (read_name(packet, length, rr.rdata, &target) < 0) {
      bad = true;
      return false;
    }
    if (rr.type == kTypeCname) {
      expected.swap(target);
      return true;
    }
    name->swap(target);
    found = true;
    return false;  // glibc reports the first PTR name only
  });
  if (status != ARES_SUCCESS) return status;
  if (bad) return ARES_EBADRESP;
  return found ? ARES_SUCCESS : ARES_ENODATA;
}

std::string reverse_name(int family, const void* address) {
  const auto* b = static_cast<const unsigned char*>(address);
  std::string out;
  if (family == AF_INET) {
    for (int i = 3; i >= 0; --i) out += std::to_string(b[i]) + ".";
    return out + "in-addr.arpa";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(72);
  for (int i = 15; i >= 0; --i) {
    out.push_back(kHex[b[i] & 0xf]);
    out.push_back('.');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back('.');
  }
  return out + "ip6.arpa";
}

}  // namespace ub::resolve::detail
