#pragma once
// The one UTF-8 check of the project: request bodies (common/json.cpp), decoded URL parts
// (common/url.cpp) and WebSocket text frames (ws-gateway/ws_codec.cpp) all refuse the same bytes.

#include <string_view>

namespace streambed {

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool IsValidUtf8(std::string_view text);

}  // namespace streambed
