// Message routes (STREAM-PROTOCOL.md §4.2): send, get, get many, edit, partial update (pin),
// delete, and thread replies.

#include <limits>
#include <unordered_set>
#include <utility>

#include "common/clock.h"
#include "common/errors.h"
#include "common/keys.h"
#include "fcgi-app/event.h"
#include "fcgi-app/handlers/channel_state.h"
#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/handlers/send.h"
#include "fcgi-app/handlers/support.h"
#include "fcgi-app/handlers/uploads.h"
#include "fcgi-app/link_preview.h"
#include "fcgi-app/outbox.h"
#include "fcgi-app/store/channels.h"
#include "fcgi-app/store/messages.h"

namespace streambed {

namespace {

// {"message"} from what `ctx` loaded for it, the caller's own reactions included.
Reply MessageReply(const MessageRow& message, const MessageContext& ctx) {
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "message");
    WriteMessage(w, message, ctx);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// {"messages"}, with what they refer to loaded for the caller.
Reply MessagesReply(Call& call, const Actor& actor, const std::vector<MessageRow>& rows) {
    std::vector<const MessageRow*> refs;
    for (const auto& r : rows) refs.push_back(&r);
    MessageContext ctx;
    ctx.Load(call.db(), call.redis(), refs, actor.id());
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "messages");
    w.StartArray();
    for (const auto& r : rows) WriteMessage(w, r, ctx);
    w.EndArray();
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

Reply MessageReply(Call& call, const Actor& actor, const MessageRow& message) {
    MessageContext ctx;
    ctx.Load(call.db(), call.redis(), {&message}, actor.id());
    return MessageReply(message, ctx);
}

// message.updated (or .deleted) for watchers, from what `ctx` loaded for the message, without the
// caller's own reactions (the event goes to everyone); the store's token where the seq goes
// (Outbox::LogAndCommit puts it there).
Outbox::Logged MessageEvent(const std::string& type, const OpenChannel& open, const MessageRow& message,
                            const Actor& actor, MessageContext& ctx, bool hard_delete = false) {
    Event e(type, open.channel.cid, NowMicros());
    ctx.WithoutCallersOwn([&] {
        if (actor.acting) e.User(ctx.users, actor.id());
        PutKey(e.w(), "message");
        WriteMessage(e.w(), message, ctx);
    });
    if (type == "message.deleted") PutBool(e.w(), "hard_delete", hard_delete);
    e.SeqFromStore();
    return Outbox::Logged{type, e.Done()};
}

// The same, reading what the message refers to first (a delete's two events: the message's and
// its parent's).
Outbox::Logged MessageEvent(Call& call, const std::string& type, const OpenChannel& open, const MessageRow& message,
                            const Actor& actor, bool hard_delete = false) {
    MessageContext ctx;
    if (actor.acting) ctx.users.Put(actor.user, true);
    ctx.Load(call.db(), call.redis(), {&message}, "");
    return MessageEvent(type, open, message, actor, ctx, hard_delete);
}

// The end of an update made in `tx` (it holds the message's row): message.updated logged with the
// COMMIT in one round trip, and published. What the event was written from, for a reply.
MessageContext CommitUpdateEvent(Call& call, PgTransaction& tx, const OpenChannel& open, const MessageRow& updated,
                                 const Actor& actor) {
    MessageContext ctx;
    if (actor.acting) ctx.users.Put(actor.user, true);
    ctx.Load(call.db(), call.redis(), {&updated}, actor.id());
    Outbox outbox;
    outbox.LogAndCommit(tx, open.channel.pk, open.channel.cid,
                        {MessageEvent("message.updated", open, updated, actor, ctx)});
    outbox.Flush(call.redis());
    return ctx;
}

// The same, answered with the message.
Reply CommitMessageUpdate(Call& call, PgTransaction& tx, const OpenChannel& open, const MessageRow& updated,
                          const Actor& actor) {
    return MessageReply(updated, CommitUpdateEvent(call, tx, open, updated, actor));
}

std::string CustomOf(const JsonValue& m) {
    rapidjson::Document custom(rapidjson::kObjectType);
    for (auto it = m.MemberBegin(); it != m.MemberEnd(); ++it) {
        std::string_view key(it->name.GetString(), it->name.GetStringLength());
        if (IsReservedMessageField(key)) continue;
        custom.AddMember(JsonValue(it->name, custom.GetAllocator()), JsonValue(it->value, custom.GetAllocator()),
                         custom.GetAllocator());
    }
    std::string text = ToJson(custom);
    if (text.size() > 5 * 1024) throw BadRequest("message custom data is larger than 5 KB", "message");
    return text;
}

void RequireEditRights(const MessageAccess& a, const Actor& actor) {
    RequireCapability(a.channel.caps, a.message.user_id == actor.id() ? "update-own-message" : "update-any-message");
    if (a.message.type == "deleted") throw BadRequest("a deleted message cannot be edited", "id");
}

bool SkipEnrichUrl(const JsonValue& body) {
    return json::OptBool(body, "skip_enrich_url", "skip_enrich_url").value_or(false);
}

// Fields an edit or a `set` may change, read from `m`; read-only keys are ignored, not refused.
// A new text brings the message's link preview up to date unless the request says skip_enrich_url.
void ApplyEditable(Call& call, const MessageAccess& a, const JsonValue& m, std::string_view prefix,
                   messages::Edit& edit, const Actor& actor, bool skip_enrich_url) {
    auto field = [&](std::string_view k) { return std::string(prefix) + std::string(k); };
    if (auto text = json::OptString(m, "text", field("text"))) {
        size_t max_length = static_cast<size_t>(std::min(a.channel.type->max_message_length, call.config().max_message_length));
        if (CountCharacters(*text) > max_length)
            throw ApiError(400, code::kMessageTooLong, "message is too long", field("text"));
        edit.text = std::string(*text);
        edit.html = RenderHtml(*text);
    }
    if (const JsonValue* att = json::OptArray(m, "attachments", field("attachments")))
        edit.attachments_json = CheckedAttachments(*att, field("attachments"));
    if (edit.text && a.channel.type->url_enrichment && !skip_enrich_url) {
        if (auto refreshed =
                RefreshLinkPreview(call, *edit.text, edit.attachments_json.value_or(a.message.attachments_json),
                                   LinkPreviewRefresh::kDropStale))
            edit.attachments_json = std::move(*refreshed);
    }
    if (const JsonValue* mentions = json::OptArray(m, "mentioned_users", field("mentioned_users"))) {
        std::vector<std::string> ids;
        for (const auto& v : mentions->GetArray()) {
            if (v.IsString()) ids.emplace_back(v.GetString());
            else if (v.IsObject() && v.HasMember("id") && v["id"].IsString()) ids.emplace_back(v["id"].GetString());
        }
        if (ids.size() > 100) throw BadRequest("at most 100 mentioned users", field("mentioned_users"));
        edit.mentioned_users = ids;
    }
    if (json::Find(m, "quoted_message_id")) {
        auto q = json::OptString(m, "quoted_message_id", field("quoted_message_id"));
        if (q && !q->empty()) {
            auto quoted = messages::Find(call.db(), *q);
            if (!quoted || quoted->channel_pk != a.message.channel_pk)
                throw BadRequest("quoted message is not in this channel", field("quoted_message_id"));
            edit.quoted_message_id = std::optional<std::string>(std::string(*q));
        } else {
            edit.quoted_message_id = std::optional<std::string>();
        }
    }
    edit.silent = json::OptBool(m, "silent", field("silent"));
    if (auto pinned = json::OptBool(m, "pinned", field("pinned")); pinned && *pinned != a.message.pinned) {
        RequireCapability(a.channel.caps, "pin-message");
        edit.pinned = pinned;
        edit.pinned_by = actor.acting ? actor.id() : a.message.user_id;
    }
    if (json::Find(m, "pin_expires")) {
        auto text = json::OptString(m, "pin_expires", field("pin_expires"));
        if (text) {
            auto t = ParseTimestamp(*text);
            if (!t) throw BadRequest("pin_expires must be an RFC 3339 time", field("pin_expires"));
            edit.pin_expires = std::optional<int64_t>(*t);
        } else {
            edit.pin_expires = std::optional<int64_t>();
        }
    }
}

// One side of a pinned-messages page from its payload: a message id (`id_key`, `id_or_equal_key`)
// or a time (`time_key`, `time_or_equal_key`), at most one of the four. `upper`: the bound is
// the page's end (before), else its start (after). A time bound compares by time alone: its pk is
// past every pk on the side it leaves out.
std::optional<messages::PinBound> PinBoundFrom(Call& call, const OpenChannel& open, const JsonValue& payload,
                                               const char* id_key, const char* id_or_equal_key, const char* time_key,
                                               const char* time_or_equal_key, bool upper) {
    std::optional<messages::PinBound> bound;
    auto take = [&](const char* key, messages::PinBound b) {
        if (bound)
            throw BadRequest("at most one of " + std::string(id_key) + ", " + id_or_equal_key + ", " + time_key +
                                 " or " + time_or_equal_key,
                             key);
        bound = b;
    };
    for (const char* key : {id_key, id_or_equal_key}) {
        auto id = json::OptString(payload, key, key);
        if (!id) continue;
        auto m = messages::Find(call.db(), *id);
        if (!m || m->channel_pk != open.channel.pk || !m->pinned || !m->pinned_at)
            throw BadRequest(std::string(key) + " must be a pinned message of this channel", key);
        take(key, {*m->pinned_at, m->pk, std::string_view(key) == id_or_equal_key});
    }
    for (const char* key : {time_key, time_or_equal_key}) {
        auto text = json::OptString(payload, key, key);
        if (!text) continue;
        auto at = ParseTimestamp(*text);
        if (!at) throw BadRequest(std::string(key) + " must be an RFC 3339 time", key);
        bool or_equal = std::string_view(key) == time_or_equal_key;
        // before T: (pinned_at, pk) < (T, 0); before or at T: < (T, max). after T: > (T, max); at or after: > (T, 0).
        int64_t pk = (upper == or_equal) ? std::numeric_limits<int64_t>::max() : 0;
        take(key, {*at, pk, false});
    }
    return bound;
}

}  // namespace

// POST /api/channels/{type}/{id}/message/
Reply HandleSendMessage(Call& call) {
    auto [type, id] = ChannelPath(call);
    auto body = ParseJsonObject(call.request().body);
    const JsonValue* message = json::OptObject(body, "message", "message");
    if (message == nullptr) throw BadRequest("message is required", "message");
    auto [actor, open] = LoadActorIn(call, NamedUser(*message) ? NamedUser(*message) : NamedUser(body), true, type, id);
    SendOptions options;
    options.skip_push = json::OptBool(body, "skip_push", "skip_push").value_or(false);
    options.keep_channel_hidden = json::OptBool(body, "keep_channel_hidden", "keep_channel_hidden").value_or(false);
    options.skip_enrich_url = SkipEnrichUrl(body);
    SentMessage sent = SendMessage(call, actor, open, *message, options);
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "message");
    WriteMessage(w, sent.message, sent.context);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// GET /api/messages/{id}/
Reply HandleGetMessage(Call& call) {
    auto [actor, a] = LoadActorOnMessage(call, call.Query("user_id"), false, call.Param("id"));
    return MessageReply(call, actor, a.message);
}

// GET /api/channels/{type}/{id}/pinned_messages/?payload={"limit", "id_lt" | "id_lte" |
// "pinned_at_before" | "pinned_at_before_or_equal", "id_gt" | "id_gte" | "pinned_at_after" |
// "pinned_at_after_or_equal", "sort": [{"field": "pinned_at", "direction"}]}: the channel's pins in
// force, the newest pin first unless sorted ascending (stream-chat's getPinnedMessages).
Reply HandleGetPinnedMessages(Call& call) {
    auto [type, id] = ChannelPath(call);
    auto payload = QueryJson(call, "payload");
    auto named = NamedUser(payload);
    auto [actor, open] = LoadActorIn(call, named ? named : call.Query("user_id"), false, type, id);
    int limit = BodyInt(payload, "limit", "limit", 10, 1, 300);
    for (const char* key : {"id_around", "pinned_at_around"}) {
        if (payload.HasMember(key))
            throw BadRequest(std::string(key) + " is not supported: page with the _lt/_gt bounds", key);
    }
    BodyInt(payload, "offset", "offset", 0, 0, 0);  // pages go by the bounds, not by offsets
    bool ascending = false;
    if (const JsonValue* sort = json::OptArray(payload, "sort", "sort")) {
        if (sort->Size() > 1) throw BadRequest("pinned messages sort on pinned_at alone", "sort");
        for (const auto& item : sort->GetArray()) {
            if (!item.IsObject() || json::RequireString(item, "field", "sort.field") != "pinned_at")
                throw BadRequest("pinned messages sort on pinned_at alone", "sort");
            auto direction = json::OptInt(item, "direction", "sort.direction").value_or(-1);
            if (direction != 1 && direction != -1) throw BadRequest("sort.direction must be 1 or -1", "sort.direction");
            ascending = direction == 1;
        }
    }
    auto before =
        PinBoundFrom(call, open, payload, "id_lt", "id_lte", "pinned_at_before", "pinned_at_before_or_equal", true);
    auto after =
        PinBoundFrom(call, open, payload, "id_gt", "id_gte", "pinned_at_after", "pinned_at_after_or_equal", false);
    auto rows = messages::PinnedPage(call.db(), open.channel.pk, VisibleAfter(open.channel, open.membership), after,
                                     before, ascending, limit);
    return MessagesReply(call, actor, rows);
}

// GET /api/channels/{type}/{id}/messages/?ids=a,b
Reply HandleGetManyMessages(Call& call) {
    auto [type, id] = ChannelPath(call);
    auto [actor, open] = LoadActorIn(call, call.Query("user_id"), false, type, id);
    std::vector<std::string> ids;
    std::string_view list = call.Query("ids").value_or("");
    while (!list.empty()) {
        size_t comma = list.find(',');
        if (!list.substr(0, comma).empty()) ids.emplace_back(list.substr(0, comma));
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    if (ids.empty()) throw BadRequest("ids is required", "ids");
    if (ids.size() > 100) throw BadRequest("at most 100 ids", "ids");
    auto rows = messages::FindInChannel(call.db(), open.channel.pk, ids);
    return MessagesReply(call, actor, rows);
}

// POST /api/messages/{id}/: edit. The SDK sends the whole local message back; keys the server
// manages are ignored (STREAM-PROTOCOL.md §9, item 16).
Reply HandleUpdateMessage(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    const JsonValue* m = json::OptObject(body, "message", "message");
    if (m == nullptr) throw BadRequest("message is required", "message");
    auto [actor, a] =
        LoadActorOnMessage(call, NamedUser(*m) ? NamedUser(*m) : NamedUser(body), false, call.Param("id"));
    RequireEditRights(a, actor);
    messages::Edit edit;
    ApplyEditable(call, a, *m, "message.", edit, actor, SkipEnrichUrl(body));
    edit.custom_json = CustomOf(*m);  // an edit replaces the custom fields
    PgTransaction tx(call.db());
    MessageRow updated = messages::Update(call.db(), a.message.pk, edit);
    return CommitMessageUpdate(call, tx, a.channel, updated, actor);
}

// PUT /api/messages/{id}/: {"set": {...}, "unset": [...]}; the message list's pin action.
Reply HandlePartialUpdateMessage(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    auto [actor, a] = LoadActorOnMessage(call, NamedUser(body), false, call.Param("id"));
    const JsonValue* set = json::OptObject(body, "set", "set");
    const JsonValue* unset = json::OptArray(body, "unset", "unset");
    messages::Edit edit;
    bool only_pin = true;
    if (set != nullptr) {
        for (auto it = set->MemberBegin(); it != set->MemberEnd(); ++it) {
            std::string_view k = it->name.GetString();
            if (k != "pinned" && k != "pin_expires" && k != "pinned_at") only_pin = false;
        }
        ApplyEditable(call, a, *set, "set.", edit, actor, SkipEnrichUrl(body));
        edit.custom_set_json = CustomOf(*set);
    }
    if (unset != nullptr) {
        for (const auto& k : unset->GetArray()) {
            if (!k.IsString()) throw BadRequest("unset must list field names", "unset");
            std::string_view key = k.GetString();
            if (key == "pinned") {
                RequireCapability(a.channel.caps, "pin-message");
                edit.pinned = false;
            } else if (key == "pin_expires") {
                edit.pin_expires = std::optional<int64_t>();
            } else {
                only_pin = false;
                if (!IsReservedMessageField(key)) edit.custom_unset.emplace_back(key);
            }
        }
    }
    // Pinning someone else's message needs pin-message only; anything else is an edit.
    if (!only_pin) RequireEditRights(a, actor);
    if (a.message.type == "deleted") throw BadRequest("a deleted message cannot be changed", "id");
    PgTransaction tx(call.db());
    MessageRow updated = messages::Update(call.db(), a.message.pk, edit);
    return CommitMessageUpdate(call, tx, a.channel, updated, actor);
}

// DELETE /api/messages/{id}/?hard=true
Reply HandleDeleteMessage(Call& call) {
    auto [actor, a] = LoadActorOnMessage(
        call, call.Query("deleted_by") ? call.Query("deleted_by") : call.Query("user_id"), false, call.Param("id"));
    bool hard = call.Query("hard").value_or("") == "true" || call.Query("hard").value_or("") == "1";
    if (call.Query("delete_for_me").value_or("") == "true")
        throw BadRequest("delete_for_me is not supported; delete the message for everyone", "delete_for_me");
    RequireCapability(a.channel.caps, a.message.user_id == actor.id() ? "delete-own-message" : "delete-any-message");
    // Deleting a deleted message again changes nothing: no new deleted_at, no second event, and
    // the parent's deleted_reply_count is not counted twice.
    bool was_deleted = a.message.type == "deleted";
    if (was_deleted && !hard) return MessageReply(call, actor, a.message);
    Outbox outbox;
    MessageRow deleted;
    std::vector<UploadRow> files;
    {
        PgTransaction tx(call.db());
        // The message's own uploads go with it (docs/uploads.md), soft delete or hard.
        files = ForgetMessageUploads(call, a.message);
        deleted = was_deleted ? a.message : messages::SoftDelete(call.db(), a.message.pk);
        std::vector<Outbox::Logged> events{MessageEvent(call, "message.deleted", a.channel, deleted, actor, hard)};
        if (a.message.parent_id) {
            if (auto parent = messages::RemoveReply(call.db(), *a.message.parent_id, hard, was_deleted))
                events.push_back(MessageEvent(call, "message.updated", a.channel, *parent, actor));
        }
        if (hard) messages::HardDelete(call.db(), a.message.pk);
        outbox.LogAndCommit(tx, a.channel.channel.pk, a.channel.channel.cid, events);
    }
    RemoveUploadFiles(call, files);
    outbox.Flush(call.redis());
    MessageContext ctx;
    ctx.Load(call.db(), call.redis(), {&deleted}, actor.id());
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "message");
    WriteMessage(w, deleted, ctx);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// PUT /api/users/live_locations/ {"message_id", "latitude"?, "longitude"?, "end_at"?,
// "created_by_device_id"?}: the author's device moves a live location on (or ends it, with end_at
// now); the channel hears message.updated. The reply is the location (SharedLocationResponse).
Reply HandleUpdateLiveLocation(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    std::string message_id(json::RequireString(body, "message_id", "message_id"));
    auto [actor, a] = LoadActorOnMessage(call, NamedUser(body), true, message_id);
    if (a.message.user_id != actor.id()) throw Forbidden("only the author of a location shares it");
    rapidjson::Document current;
    if (a.message.shared_location_json) current.Parse(a.message.shared_location_json->c_str());
    auto end_at = current.IsObject() ? json::OptString(current, "end_at", "end_at") : std::nullopt;
    if (!end_at || a.message.type == "deleted") throw BadRequest("the message has no live location", "message_id");
    if (ParseTimestamp(*end_at).value_or(0) <= NowMicros())
        throw BadRequest("the live location has ended", "message_id");
    std::string location = StoredLocation(body, &current, true, "location");
    PgTransaction tx(call.db());
    MessageRow updated = messages::UpdateSharedLocation(call.db(), a.message.pk, location);
    CommitUpdateEvent(call, tx, a.channel, updated, actor);
    JsonBuffer buf;
    JsonWriter w(buf);
    WriteSharedLocation(w, updated);
    return Reply::Json(JsonText(buf));
}

// GET /api/users/live_locations/: the caller's live locations still running, for the SDK's
// LiveLocationManager to keep updating after a reload.
Reply HandleGetLiveLocations(Call& call) {
    Actor actor = LoadActor(call, call.Query("user_id"), true);
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "active_live_locations");
    w.StartArray();
    for (const auto& m : messages::LiveLocations(call.db(), actor.id(), 100)) WriteSharedLocation(w, m);
    w.EndArray();
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// GET /api/messages/{parent_id}/replies/?limit=25&id_lt=...
Reply HandleGetReplies(Call& call) {
    auto [actor, a] = LoadActorOnMessage(call, call.Query("user_id"), false, call.Param("id"));
    Paging paging = Paging::FromQuery(call, 25, 300);
    auto rows = PageOfThread(call, a.message, paging);
    return MessagesReply(call, actor, rows);
}

}  // namespace streambed
