#pragma once
// Reading DNS answers the way glibc's stub resolver does (resolv/nss_dns/dns-host.c,
// getanswer_r and getanswer_ptr in glibc 2.36), so the "dns" engine reports the same
// canonical name, aliases and PTR name as the "system" engine. c-ares 1.18's own parsers
// differ: ares_parse_a_reply names a two-step CNAME chain after its middle link, and
// ares_parse_ptr_reply reports the last PTR name where glibc reports the first.
//
// The rules: start from the question's name; a CNAME whose owner is the name sought
// makes its owner an alias and its target the name sought; records of the type asked
// whose owner is the name sought are the answer (their owner is the canonical name);
// everything else (other classes, other owners) is skipped. Names compare
// case-insensitively and print as the packet spells them.

#include <string>

#include "resolve/query.h"

namespace ub::resolve::detail {

// A (qtype 1) or AAAA (28) answer: name, aliases and addresses filled, in packet order.
// Returns an ARES_* status: ARES_SUCCESS, ARES_ENODATA (no record of that type for the
// name), ARES_EBADRESP (malformed).
int parse_address_answer(const unsigned char* packet, int length, int qtype, Answer* out);

// A PTR answer: the first PTR name for the name asked.
int parse_ptr_answer(const unsigned char* packet, int length, std::string* name);

// "4.3.2.1.in-addr.arpa" / the ip6.arpa nibble name of an address (4 or 16 bytes).
std::string reverse_name(int family, const void* address);

}  // namespace ub::resolve::detail
