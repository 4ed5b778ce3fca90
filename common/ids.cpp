#include "common/ids.h"

namespace streambed {

namespace {
bool IsWordChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}
}  // namespace

bool IsValidChannelType(std::string_view type) {
    if (type.empty() || type.size() > 64) return false;
    for (char c : type) {
        if (!IsWordChar(c)) return false;
    }
    return true;
}

bool IsValidChannelId(std::string_view id) {
    if (id.empty() || id.size() > 64) return false;
    for (char c : id) {
        if (!IsWordChar(c) && c != '!') return false;
    }
    return true;
}

std::optional<Cid> ParseCid(std::string_view cid) {
    size_t colon = cid.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    std::string_view type = cid.substr(0, colon);
    std::string_view id = cid.substr(colon + 1);
    if (!IsValidChannelType(type) || !IsValidChannelId(id)) return std::nullopt;
    return Cid{std::string(type), std::string(id)};
}

}  // namespace streambed
