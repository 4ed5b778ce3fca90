#include "common/ids.h"

#include <openssl/rand.h>

#include <stdexcept>

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

std::string NewUuid() {
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("no randomness for an id");
    b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4
    b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
    static const char kHex[] = "0123456789abcdef";
    std::string id;
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) id += '-';
        id += kHex[b[i] >> 4];
        id += kHex[b[i] & 15];
    }
    return id;
}

}  // namespace streambed
