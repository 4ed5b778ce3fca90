// GET /api/app/ (STREAM-PROTOCOL.md §4.7) and POST /api/sync/ (§4.7, issue 10).

#include "common/clock.h"
#include "common/errors.h"
#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/handlers/support.h"
#include "fcgi-app/store/channels.h"

namespace streambed {

namespace {
void WriteUploadConfig(JsonWriter& w, std::string_view key) {
    PutKey(w, key);
    w.StartObject();
    for (const char* list : {"allowed_file_extensions", "blocked_file_extensions", "allowed_mime_types",
                             "blocked_mime_types"}) {
        PutKey(w, list);
        w.StartArray();
        w.EndArray();
    }
    // Uploads are not served yet: the upload-file capability is withheld, and the limit says so.
    PutInt(w, "size_limit", 0);
    w.EndObject();
}
}  // namespace

// GET /api/app/
Reply HandleGetApp(Call& call) {
    LoadActor(call, call.Query("user_id"), false);
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "app");
    w.StartObject();
    PutString(w, "name", "streambed");
    WriteUploadConfig(w, "file_upload_config");
    WriteUploadConfig(w, "image_upload_config");
    w.EndObject();
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

namespace {
constexpr int kMaxSyncEvents = 1000;
}  // namespace

// POST /api/sync/ {"channel_cids": [...], "last_sync_at"?, "since_seq"?: {"<cid>": n}}
// The events of each readable channel after `last_sync_at` or after the given sequence numbers, in
// order. Channels the caller may not read are listed in inaccessible_cids.
Reply HandleSync(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    Actor actor = LoadActor(call, NamedUser(body), true);
    const JsonValue* cids = json::OptArray(body, "channel_cids", "channel_cids");
    if (cids == nullptr || cids->Empty()) throw BadRequest("channel_cids is required", "channel_cids");
    if (cids->Size() > 100) throw BadRequest("at most 100 channel_cids", "channel_cids");
    std::optional<int64_t> since_time;
    if (auto t = json::OptString(body, "last_sync_at", "last_sync_at")) {
        since_time = ParseTimestamp(*t);
        if (!since_time) throw BadRequest("last_sync_at must be an RFC 3339 time", "last_sync_at");
    }
    const JsonValue* since_seq = json::OptObject(body, "since_seq", "since_seq");
    if (!since_time && since_seq == nullptr) throw BadRequest("last_sync_at or since_seq is required", "last_sync_at");

    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "events");
    w.StartArray();
    std::vector<std::string> inaccessible;
    int budget = kMaxSyncEvents;
    bool truncated = false;
    for (const auto& v : cids->GetArray()) {
        if (!v.IsString()) throw BadRequest("channel_cids must list cids", "channel_cids");
        std::string cid = v.GetString();
        OpenChannel open;
        try {
            open = OpenForActor(call, cid, actor);
        } catch (const ApiError& e) {
            if (e.http_status() != 403 && e.http_status() != 404) throw;
            inaccessible.push_back(cid);
            continue;
        }
        int64_t after = 0;
        if (since_seq != nullptr) after = json::OptInt(*since_seq, cid, "since_seq." + cid).value_or(0);
        for (const auto& event : channels::EventsSince(call.db(), open.channel.pk, after, since_time, budget + 1)) {
            if (budget == 0) {
                truncated = true;
                break;
            }
            w.RawValue(event.payload.data(), event.payload.size(), rapidjson::kObjectType);
            --budget;
        }
    }
    w.EndArray();
    PutKey(w, "inaccessible_cids");
    w.StartArray();
    for (const auto& c : inaccessible) WriteString(w, c);
    w.EndArray();
    // More events than one reply holds: the client continues from the last seq it got.
    PutBool(w, "truncated", truncated);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

}  // namespace streambed
