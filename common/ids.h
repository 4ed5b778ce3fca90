#pragma once
// Identifier rules shared by every route (API.md "Conventions"; STREAM-PROTOCOL.md §0).

#include <optional>
#include <string>
#include <string_view>

namespace streambed {

// Channel type: [A-Za-z0-9_-]{1,64}.
bool IsValidChannelType(std::string_view type);
// Channel id: [A-Za-z0-9_!-]{1,64}.
bool IsValidChannelId(std::string_view id);

struct Cid {
    std::string type;
    std::string id;
    std::string str() const { return type + ":" + id; }
};
// "type:id" with both parts valid; nullopt otherwise.
std::optional<Cid> ParseCid(std::string_view cid);

// A random (version 4) UUID, as getstream.io ids its messages, polls, options and votes.
std::string NewUuid();

}  // namespace streambed
