#pragma once
// echo::ServerStats as JSON, in one place: ServerRunner's process mode sends them across the
// fork this way. Every field, thread roles included; a field added to ServerStats fails the
// build here until it is encoded.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "echo/backend.h"

namespace ub::bench {

nlohmann::ordered_json stats_to_json(const echo::ServerStats& stats);
// nullopt when `j` is not what stats_to_json() writes.
std::optional<echo::ServerStats> stats_from_json(const nlohmann::ordered_json& j);

// The same as text, one line.
std::string encode_stats(const echo::ServerStats& stats);
std::optional<echo::ServerStats> decode_stats(std::string_view text);

}  // namespace ub::bench
