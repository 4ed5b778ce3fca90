#pragma once
// Base64 in the two alphabets the protocols use: url-safe without padding (JWT, Web Push keys)
// and standard (with padding). Decoding is strict: a stray character is an error, not skipped.

#include <optional>
#include <string>
#include <string_view>

namespace streambed {

std::string Base64UrlEncode(std::string_view bytes);
// Accepts the url-safe alphabet with or without '=' padding.
std::optional<std::string> Base64UrlDecode(std::string_view text);

std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace streambed
