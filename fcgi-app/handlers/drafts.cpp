// Drafts on both surfaces: getstream.io's /channels/{type}/{id}/draft/ and /drafts/query/
// (STREAM-PROTOCOL.md §4.6), and the room surface's /rooms/<cid>/draft/ (API.md §5). One store.

#include "common/clock.h"
#include "common/errors.h"
#include "common/keys.h"
#include "fcgi-app/drafts.h"
#include "fcgi-app/event.h"
#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/handlers/send.h"
#include "fcgi-app/handlers/support.h"
#include "fcgi-app/outbox.h"

namespace streambed {

namespace {

constexpr size_t kMaxDraftBytes = 16 * 1024;

std::optional<std::string> ParentParam(const Call& call) {
    auto p = call.Query("parent_id");
    if (!p || p->empty() || *p == "null") return std::nullopt;
    if (p->size() > 255) throw BadRequest("parent_id is too long", "parent_id");
    return std::string(*p);
}

void AnnounceDraft(Call& call, const Actor& actor, const std::string& type, const Draft& draft) {
    Event e(type, draft.cid, NowMicros());
    PutKey(e.w(), "draft");
    drafts::WriteStreamDraft(e.w(), draft);
    Outbox outbox;
    outbox.Publish(keys::UserTopic(actor.id()), e.Done());
    outbox.Flush(call.redis());
}

Draft SaveChecked(Call& call, const Actor& actor, const OpenChannel& open, const std::optional<std::string>& parent_id,
                  const std::string& text, const std::string& message_json) {
    size_t max_length = static_cast<size_t>(std::min(open.type->max_message_length, call.config().max_message_length));
    if (CountCharacters(text) > max_length) throw ApiError(400, code::kMessageTooLong, "draft text is too long", "text");
    if (message_json.size() > kMaxDraftBytes) throw BadRequest("the draft is larger than 16 KB", "message");
    return drafts::Save(call.redis(), actor.id(), open.channel.cid, parent_id, text, message_json);
}

}  // namespace

// POST /api/channels/{type}/{id}/draft/ {"message": {...}}
Reply HandleSaveDraft(Call& call) {
    auto [type, id] = ChannelPath(call);
    auto body = ParseJsonObject(call.request().body);
    const JsonValue* message = json::OptObject(body, "message", "message");
    if (message == nullptr) throw BadRequest("message is required", "message");
    auto [actor, open] = LoadActorIn(call, NamedUser(body), true, type, id);
    RequireCapability(open.caps, "send-message");
    std::optional<std::string> parent;
    if (auto p = json::OptString(*message, "parent_id", "message.parent_id"); p && !p->empty()) parent = std::string(*p);
    std::string text(json::OptString(*message, "text", "message.text").value_or(""));
    Draft draft = SaveChecked(call, actor, open, parent, text, ToJson(*message));
    AnnounceDraft(call, actor, "draft.updated", draft);
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "draft");
    drafts::WriteStreamDraft(w, draft);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// GET /api/channels/{type}/{id}/draft/?parent_id=: 200 without "draft" when there is none (the UI
// kit logs an error for any error status here).
Reply HandleGetDraft(Call& call) {
    auto [type, id] = ChannelPath(call);
    auto [actor, open] = LoadActorIn(call, call.Query("user_id"), true, type, id);
    auto draft = drafts::Load(call.redis(), actor.id(), open.channel.cid, ParentParam(call));
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    if (draft) {
        PutKey(w, "draft");
        drafts::WriteStreamDraft(w, *draft);
    }
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// DELETE /api/channels/{type}/{id}/draft/?parent_id=
Reply HandleDeleteDraft(Call& call) {
    auto [type, id] = ChannelPath(call);
    auto [actor, open] = LoadActorIn(call, call.Query("user_id"), true, type, id);
    auto parent = ParentParam(call);
    if (drafts::Delete(call.redis(), actor.id(), open.channel.cid, parent)) {
        Draft gone;
        gone.cid = open.channel.cid;
        gone.parent_id = parent;
        AnnounceDraft(call, actor, "draft.deleted", gone);
    }
    return EmptyReply();
}

// POST /api/drafts/query/ {"filter"?, "limit"?}
Reply HandleQueryDrafts(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    Actor actor = LoadActor(call, NamedUser(body), true);
    int limit = BodyInt(body, "limit", "limit", 25, 1, 100);
    std::optional<std::string> cid;
    if (const JsonValue* f = json::OptObject(body, "filter", "filter")) {
        if (const JsonValue* c = json::Find(*f, "channel_cid")) {
            const JsonValue* v = c->IsObject() && c->HasMember("$eq") ? &(*c)["$eq"] : c;
            if (!v->IsString()) throw BadRequest("filter.channel_cid must be a string", "filter");
            cid = v->GetString();
        }
    }
    auto all = drafts::LoadAll(call.redis(), actor.id(), 500);
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "drafts");
    w.StartArray();
    int n = 0;
    for (const auto& d : all) {
        if (cid && d.cid != *cid) continue;
        if (n++ >= limit) break;
        drafts::WriteStreamDraft(w, d);
    }
    w.EndArray();
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// POST /api/rooms/{cid}/draft/ {"text", "parent_id"?}
Reply HandleRoomSaveDraft(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    Actor actor = LoadActor(call, std::nullopt, true);
    OpenChannel open = OpenForActor(call, call.Param("cid"), actor);
    RequireCapability(open.caps, "send-message");
    std::string text(json::RequireString(body, "text", "text"));
    std::optional<std::string> parent;
    if (auto p = json::OptString(body, "parent_id", "parent_id"); p && !p->empty()) parent = std::string(*p);
    // Stored in getstream.io's draft shape, so the SDK's draft routes read it too.
    JsonBuffer mbuf;
    JsonWriter mw(mbuf);
    mw.StartObject();
    PutString(mw, "text", text);
    PutOptString(mw, "parent_id", parent);
    mw.EndObject();
    Draft draft = SaveChecked(call, actor, open, parent, text, JsonText(mbuf));
    AnnounceDraft(call, actor, "draft.updated", draft);
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "draft");
    drafts::WriteRoomDraft(w, draft);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// GET /api/rooms/{cid}/draft/?parent_id=: 404 when there is none (API.md §5).
Reply HandleRoomGetDraft(Call& call) {
    Actor actor = LoadActor(call, std::nullopt, true);
    OpenChannel open = OpenForActor(call, call.Param("cid"), actor);
    auto draft = drafts::Load(call.redis(), actor.id(), open.channel.cid, ParentParam(call));
    if (!draft) throw NotFound("no draft in " + open.channel.cid);
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "draft");
    drafts::WriteRoomDraft(w, *draft);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// DELETE /api/rooms/{cid}/draft/?parent_id=
Reply HandleRoomDeleteDraft(Call& call) {
    Actor actor = LoadActor(call, std::nullopt, true);
    OpenChannel open = OpenForActor(call, call.Param("cid"), actor);
    auto parent = ParentParam(call);
    if (drafts::Delete(call.redis(), actor.id(), open.channel.cid, parent)) {
        Draft gone;
        gone.cid = open.channel.cid;
        gone.parent_id = parent;
        AnnounceDraft(call, actor, "draft.deleted", gone);
    }
    return EmptyReply();
}

}  // namespace streambed
