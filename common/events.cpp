#include "common/events.h"

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

}  // namespace streambed
