// Reaction routes (STREAM-PROTOCOL.md §4.3).

#include <utility>

#include "common/clock.h"
#include "common/errors.h"
#include "fcgi-app/event.h"
#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/handlers/support.h"
#include "fcgi-app/outbox.h"
#include "fcgi-app/store/channels.h"
#include "fcgi-app/store/messages.h"

namespace streambed {

namespace {

bool IsValidReactionType(std::string_view type) {
    if (type.empty() || type.size() > 64) return false;
    for (char c : type) {
        bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '+';
        if (!ok) return false;
    }
    return true;
}

// reaction.new / .updated / .deleted with the full updated message, logged in the transaction of
// the change (`tx`, which holds the message's row: two reactions to one message log their events
// in the order of their changes, each with the message as its change left it), then committed
// and published; and the REST reply {"message", "reaction"} (the UI applies response.message
// wholesale).
Reply ReactionChange(Call& call, PgTransaction& tx, const Actor& actor, const MessageAccess& t,
                     const MessageRow& updated, const ReactionRow& reaction, const std::string& type) {
    MessageContext ctx;
    ctx.users.Put(actor.user, true);
    ctx.Load(call.db(), call.redis(), {&updated}, actor.id());
    Event e(type, t.channel.channel.cid, NowMicros());
    e.User(ctx.users, actor.id());
    PutKey(e.w(), "message");
    ctx.WithoutCallersOwn([&] { WriteMessage(e.w(), updated, ctx); });
    PutKey(e.w(), "reaction");
    WriteReaction(e.w(), reaction, ctx.users);
    e.SeqFromStore();
    Outbox outbox;
    outbox.LogAndCommit(tx, t.channel.channel.pk, t.channel.channel.cid, {{type, e.Done()}});
    outbox.Flush(call.redis());

    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "message");
    WriteMessage(w, updated, ctx);
    PutKey(w, "reaction");
    WriteReaction(w, reaction, ctx.users);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

}  // namespace

// POST /api/messages/{id}/reaction/
Reply HandleSendReaction(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    const JsonValue* r = json::OptObject(body, "reaction", "reaction");
    if (r == nullptr) throw BadRequest("reaction is required", "reaction");
    auto [actor, t] = LoadActorOnMessage(call, NamedUser(*r) ? NamedUser(*r) : NamedUser(body), true, call.Param("id"));
    RequireCapability(t.channel.caps, "send-reaction");
    std::string type(json::RequireString(*r, "type", "reaction.type"));
    if (!IsValidReactionType(type)) throw BadRequest("reaction.type must match [A-Za-z0-9_+-]{1,64}", "reaction.type");
    int score = BodyInt(*r, "score", "reaction.score", 1, 1, 1000);
    bool enforce_unique = json::OptBool(body, "enforce_unique", "enforce_unique").value_or(false);
    rapidjson::Document custom(rapidjson::kObjectType);
    for (auto it = r->MemberBegin(); it != r->MemberEnd(); ++it) {
        std::string_view k = it->name.GetString();
        if (k == "type" || k == "score" || k == "user" || k == "user_id" || k == "message_id" || k == "created_at" ||
            k == "updated_at")
            continue;
        custom.AddMember(JsonValue(it->name, custom.GetAllocator()), JsonValue(it->value, custom.GetAllocator()),
                         custom.GetAllocator());
    }
    std::string custom_json = ToJson(custom);
    if (custom_json.size() > 1024) throw BadRequest("reaction custom data is larger than 1 KB", "reaction");
    if (t.message.type == "deleted") throw BadRequest("cannot react to a deleted message", "id");

    // The reaction and the message's groups in one round trip, with the transaction's BEGIN.
    reactions::Upserted up;
    MessageRow updated;
    PgTransaction tx(call.db());
    PgBatch change(call.db());
    reactions::Upsert(change, t.message.pk, actor.id(), type, score, custom_json, enforce_unique, up);
    reactions::RefreshGroups(change, t.message.pk, updated);
    change.Run();
    return ReactionChange(call, tx, actor, t, updated, up.reaction,
                          enforce_unique && up.replaced ? "reaction.updated" : "reaction.new");
}

// DELETE /api/messages/{id}/reaction/{type}/
Reply HandleDeleteReaction(Call& call) {
    auto [actor, t] = LoadActorOnMessage(call, call.Query("user_id"), true, call.Param("id"));
    const std::string& type = call.Param("type");
    std::optional<ReactionRow> removed;
    MessageRow updated;
    PgTransaction tx(call.db());
    PgBatch change(call.db());
    reactions::Remove(change, t.message.pk, actor.id(), type, removed);
    reactions::RefreshGroups(change, t.message.pk, updated);
    change.Run();
    if (!removed) throw NotFound("you have no " + type + " reaction on this message");  // rolls back
    return ReactionChange(call, tx, actor, t, updated, *removed, "reaction.deleted");
}

namespace {
Reply ReactionList(Call& call, const Actor& actor, const MessageAccess& t, const std::optional<std::string>& type,
                   const std::optional<std::string>& user_id, int limit, int offset, bool with_next) {
    // One more than asked tells whether another page exists.
    auto rows = reactions::List(call.db(), t.message.pk, type, user_id, limit + 1, offset);
    bool more = static_cast<int>(rows.size()) > limit;
    if (more) rows.pop_back();
    UserDirectory users;
    for (const auto& r : rows) users.Want(r.user_id);
    users.Load(call.db(), call.redis());
    (void)actor;
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "reactions");
    w.StartArray();
    for (const auto& r : rows) WriteReaction(w, r, users);
    w.EndArray();
    // The reaction list loops while `next` is set: only when another page exists.
    if (with_next && more) PutString(w, "next", std::to_string(offset + limit));
    w.EndObject();
    return Reply::Json(JsonText(buf));
}
}  // namespace

// POST /api/messages/{id}/reactions/ {"filter": {"type"?, "user_id"?}, "sort", "limit", "next"}
Reply HandleQueryReactions(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    auto [actor, t] = LoadActorOnMessage(call, NamedUser(body), false, call.Param("id"));
    std::optional<std::string> type, user_id;
    if (const JsonValue* f = json::OptObject(body, "filter", "filter")) {
        for (auto it = f->MemberBegin(); it != f->MemberEnd(); ++it) {
            std::string_view k = it->name.GetString();
            const JsonValue& v = it->value;
            const JsonValue* value = &v;
            if (v.IsObject() && v.HasMember("$eq")) value = &v["$eq"];
            if (!value->IsString()) throw BadRequest("filter." + std::string(k) + " must be a string", "filter");
            if (k == "type") type = value->GetString();
            else if (k == "user_id") user_id = value->GetString();
            else throw BadRequest("cannot filter reactions on " + std::string(k), "filter");
        }
    }
    int limit = BodyInt(body, "limit", "limit", 25, 1, 100);
    int offset = 0;
    if (auto next = json::OptString(body, "next", "next"); next && !next->empty()) {
        char* end = nullptr;
        std::string copy(*next);
        long v = std::strtol(copy.c_str(), &end, 10);
        if (*end != '\0' || v < 0 || v > 100000) throw BadRequest("next is not a cursor this server issued", "next");
        offset = static_cast<int>(v);
    }
    return ReactionList(call, actor, t, type, user_id, limit, offset, true);
}

// GET /api/messages/{id}/reactions/?limit=&offset=
Reply HandleGetReactions(Call& call) {
    auto [actor, t] = LoadActorOnMessage(call, call.Query("user_id"), false, call.Param("id"));
    return ReactionList(call, actor, t, std::nullopt, std::nullopt, QueryInt(call, "limit", 25, 1, 300),
                        QueryInt(call, "offset", 0, 0, 100000), false);
}

}  // namespace streambed
