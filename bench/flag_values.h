#pragma once
// Parsers for flag values shared by the bench tools: durations ("5s", "200ms", "0.2s"),
// lists ("1,10,100") and CPU sets ("0", "0-1", "0,2"). Each returns an error message or "".

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace ub::bench {

std::string parse_duration(const std::string& text, std::chrono::nanoseconds& out);
std::string parse_size_list(const std::string& text, std::vector<uint64_t>& out);
std::string parse_cpu_list(const std::string& text, std::vector<int>& out);

}  // namespace ub::bench
