#pragma once
// The scheme of a URL as Python's urllib.parse.urlsplit finds it, lower-cased:
// "HTTPS://x/" -> "https"; "" when the text has no scheme ("example.com", "1http://").

#include <string>
#include <string_view>

namespace ub::resolve {

std::string url_scheme(std::string_view url);

}  // namespace ub::resolve
