// GET /api/app/ (STREAM-PROTOCOL.md §4.7) and POST /api/sync/ (§4.7, issue 10).

#include "common/clock.h"
#include "common/errors.h"
#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/handlers/support.h"
#include "fcgi-app/store/channels.h"
#include "fcgi-app/upload_policy.h"

namespace streambed {

namespace {
// What the UI kit checks before it uploads (STREAM-PROTOCOL.md §4.7); the upload routes enforce
// the same lists, and check the content besides (upload_policy.h).
void WriteUploadConfig(JsonWriter& w, std::string_view key, const UploadLists& lists, int64_t size_limit) {
    PutKey(w, key);
    w.StartObject();
    auto list = [&w](std::string_view name, const std::vector<std::string_view>& items) {
        PutKey(w, name);
        w.StartArray();
        for (auto item : items) WriteString(w, item);
        w.EndArray();
    };
    list("allowed_file_extensions", lists.allowed_file_extensions);
    list("blocked_file_extensions", lists.blocked_file_extensions);
    list("allowed_mime_types", lists.allowed_mime_types);
    list("blocked_mime_types", lists.blocked_mime_types);
    PutInt(w, "size_limit", size_limit);
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
    WriteUploadConfig(w, "file_upload_config", FileUploadLists(), call.config().upload_max_bytes);
    WriteUploadConfig(w, "image_upload_config", ImageUploadLists(), call.config().upload_max_bytes);
    w.EndObject();
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

namespace {
// $1 channel pks, $2 the seq after which each starts, $3 after time (micros or NULL), $4 limit.
// One time order across channels (getstream.io's /sync is chronological); seq orders within one.
// Channels interleave in time order, but each channel's events stay in seq order: concurrent sends
// can commit a later seq with an earlier created_at, and ordering by created_at alone then cut a
// truncated page below events it had skipped, which the client's "continue from the last seq"
// never fetched (tests/contracts/delivery.test.mjs, a long log). The sort key is the latest
// created_at up to each seq of its channel, so it never decreases along a channel's seqs.
const PgStatement kEventsSince{"sync_events_since",
                               "SELECT x.payload FROM (SELECT e.payload, e.channel_pk, e.seq, "
                               "max(e.created_at) OVER (PARTITION BY e.channel_pk ORDER BY e.seq) AS at "
                               "FROM unnest($1::bigint[], $2::bigint[]) AS t(pk, after) "
                               "JOIN channel_events e ON e.channel_pk = t.pk AND e.seq > t.after "
                               "WHERE ($3::bigint IS NULL OR e.created_at > sb_time($3))) x "
                               "ORDER BY x.at, x.channel_pk, x.seq LIMIT $4"};
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
    std::vector<std::string> pks, afters;
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
        pks.push_back(std::to_string(open.channel.pk));
        afters.push_back(std::to_string(after));
    }
    bool truncated = false;
    if (!pks.empty()) {
        PgResult r = call.db().Run(kEventsSince,
                                   PgParams().AddArray(pks).AddArray(afters).Add(since_time).Add(kMaxSyncEvents + 1));
        truncated = r.rows() > kMaxSyncEvents;
        for (int i = 0; i < r.rows() && i < kMaxSyncEvents; ++i) {
            std::string_view payload = r.Str(i, 0);
            w.RawValue(payload.data(), payload.size(), rapidjson::kObjectType);
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
