#include "common/events.h"

#include "common/clock.h"

namespace streambed {

void WriteEventStart(JsonWriter& w, std::string_view type, std::string_view cid, int64_t created_at) {
    PutString(w, "type", type);
    if (!cid.empty()) {
        size_t colon = cid.find(':');
        PutString(w, "cid", cid);
        PutString(w, "channel_id", colon == std::string_view::npos ? cid : cid.substr(colon + 1));
        PutString(w, "channel_type", colon == std::string_view::npos ? std::string_view{} : cid.substr(0, colon));
    }
    PutTime(w, "created_at", created_at);
}

std::optional<int64_t> EventCreatedAt(std::string_view payload) {
    constexpr std::string_view kKey = "\"created_at\":\"";
    // Only the head: a nested object's created_at (the message's) comes later.
    size_t at = payload.substr(0, 256).find(kKey);
    if (at == std::string_view::npos) return std::nullopt;
    size_t start = at + kKey.size();
    size_t end = payload.find('"', start);
    if (end == std::string_view::npos || end - start > 40) return std::nullopt;
    return ParseTimestamp(payload.substr(start, end - start));
}

std::optional<int64_t> EventSeq(std::string_view payload) {
    constexpr std::string_view kKey = ",\"seq\":";
    // Only the tail: "seq" is the last member, so a nested object cannot be mistaken for it.
    size_t from = payload.size() > 40 ? payload.size() - 40 : 0;
    size_t at = payload.rfind(kKey);
    if (at == std::string_view::npos || at < from) return std::nullopt;
    int64_t seq = 0;
    size_t i = at + kKey.size();
    size_t digits = 0;
    for (; i < payload.size() && payload[i] >= '0' && payload[i] <= '9' && digits < 18; ++i, ++digits)
        seq = seq * 10 + (payload[i] - '0');
    if (digits == 0 || i >= payload.size() || payload[i] != '}') return std::nullopt;
    return seq;
}

}  // namespace streambed
