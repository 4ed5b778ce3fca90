// Routes the gateway calls with a server token. nginx serves /internal/ to loopback (the gateway
// hosts) only; the token requirement holds regardless.

#include "common/clock.h"
#include "common/errors.h"
#include "common/json.h"
#include "common/keys.h"
#include "fcgi-app/event.h"
#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/handlers/own_user.h"
#include "fcgi-app/handlers/send.h"
#include "fcgi-app/handlers/support.h"
#include "fcgi-app/outbox.h"
#include "fcgi-app/store/channels.h"
#include "fcgi-app/store/users.h"
#include "fcgi-app/wire.h"

namespace streambed {

// POST /internal/connect/ {"user_id", "user_details"?, "anonymous"?, "token_issued_at"?, "cid"?,
// "connection_id"?}
// The database half of a WebSocket handshake: upsert the user from user_details (as
// getstream.io does on connect) and answer {"me": OwnUserResponse, "user": UserResponse}. With
// `cid` (the room socket) the user must be allowed to read that room: 403 or 404 otherwise. With
// `connection_id` (from GET /api/connection-id/) the id must be the user's and alive; the answer
// then names its Redis keys ("session_keys"), which the socket's heartbeats keep alive.
Reply HandleInternalConnect(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    std::string user_id(json::RequireString(body, "user_id", "user_id"));
    if (!IsValidUserId(user_id)) throw BadRequest("user_id has characters outside [A-Za-z0-9@_.!-]", "user_id");
    bool anonymous = json::OptBool(body, "anonymous", "anonymous").value_or(false);
    const JsonValue* details = json::OptObject(body, "user_details", "user_details");

    UserRow user;
    OwnUserReads own;
    if (anonymous) {
        // Anonymous visitors are not stored: a transient identity with read-only rights.
        user.id = user_id;
        user.role = "anonymous";
        user.created_at = user.updated_at = NowMicros();
    } else {
        // The upsert and OwnUserResponse's reads in one round trip (one implicit transaction,
        // so the reads see the user as upserted).
        PgBatch batch(call.db());
        users::UpsertOnConnect(batch, user_id, details, "user", user);
        own.Add(batch, user_id);
        batch.Run();
        auto issued_at = json::OptInt(body, "token_issued_at", "token_issued_at");
        if (user.revoke_tokens_issued_before && issued_at && *issued_at * 1000000 < *user.revoke_tokens_issued_before)
            throw Unauthorized(code::kTokenBeforeRevocation, "token was issued before the user's tokens were revoked");
        if (user.deactivated_at) throw Unauthorized(code::kAuthFailed, "the user is deactivated");
    }
    if (auto cid = json::OptString(body, "cid", "cid")) {
        Actor actor;
        actor.user = user;
        actor.anonymous = anonymous;
        OpenForActor(call, *cid, actor);  // throws 403/404
    }

    std::vector<std::string> session_keys;
    if (auto connection_id = json::OptString(body, "connection_id", "connection_id")) {
        std::string of = std::string(keys::kSessionOfPrefix) + std::string(*connection_id);
        auto session = ReplyString(call.redis().Command({"GET", of}).get());
        if (!session) throw NotFound("connection_id " + std::string(*connection_id) + " is unknown or expired; get one from /api/connection-id/");
        // The session key is keys::Session(user, session): it must be this user's.
        if (session->rfind(keys::Session(user_id, ""), 0) != 0)
            throw Forbidden("connection_id " + std::string(*connection_id) + " belongs to another user");
        session_keys = {*session, of};
    }

    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    if (!session_keys.empty()) {
        PutKey(w, "session_keys");
        w.StartArray();
        for (const auto& key : session_keys) WriteString(w, key);
        w.EndArray();
    }
    PutKey(w, "me");
    if (anonymous) {
        WriteOwnUser(w, user, true, OwnUserExtras{});
    } else {
        own.Write(w, call, user, true);
    }
    PutKey(w, "user");
    WriteUser(w, user, true);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

namespace {
// The gateway calls with a server token on behalf of a socket's user: the user's own rights apply,
// never the token's admin rights.
Actor InternalActor(Call& call, const JsonValue& body) {
    Actor actor = LoadActor(call, json::RequireString(body, "user_id", "user_id"), true);
    actor.server = false;
    return actor;
}
}  // namespace

// POST /internal/rooms/{cid}/messages/ {"user_id", "message": {"id"?, "text", "parent_id"?}}
// A room socket's message.send: the very write path of POST /api/channels/{type}/{id}/message/.
Reply HandleInternalRoomSend(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    Actor actor = InternalActor(call, body);
    OpenChannel open = OpenForActor(call, call.Param("cid"), actor);
    const JsonValue* message = json::OptObject(body, "message", "message");
    if (message == nullptr) throw BadRequest("message is required", "message");
    SentMessage sent = SendMessage(call, actor, open, *message, SendOptions{});
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "message");
    WriteMessage(w, sent.message, sent.context);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// POST /internal/rooms/{cid}/typing/ {"user_id", "type": "typing.start"|"typing.stop", "parent_id"?}
Reply HandleInternalRoomTyping(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    Actor actor = InternalActor(call, body);
    OpenChannel open = OpenForActor(call, call.Param("cid"), actor);
    std::string type(json::RequireString(body, "type", "type"));
    if (type != "typing.start" && type != "typing.stop") throw BadRequest("type must be typing.start or typing.stop", "type");
    RequireCapability(open.caps, "send-typing-events");
    UserDirectory users;
    users.Put(actor.user, true);
    Event e(type, open.channel.cid, NowMicros());
    e.User(users, actor.id());
    if (auto parent = json::OptString(body, "parent_id", "parent_id")) PutString(e.w(), "parent_id", *parent);
    // Not relayed for a user who turned typing indicators off (privacy_settings), as on the
    // Stream surface.
    if (actor.user.typing_indicators) {
        Outbox outbox;
        outbox.Publish(keys::ChannelTopic(open.channel.cid), e.Done());
        outbox.Flush(call.redis());
    }
    return EmptyReply();
}

// POST /internal/rooms/{cid}/events/ {"user_id", "since_seq"}
// The room socket's resume (docs/delivery.md): the room's persisted events after since_seq, one
// page at a time, read with the user's current rights (a user removed from the room gets 403).
// {"events": [payload, ...], "last_seq": <seq of the last event, or since_seq>, "truncated": bool}
Reply HandleInternalRoomEvents(Call& call) {
    constexpr int kPage = 200;
    auto body = ParseJsonObject(call.request().body);
    Actor actor = InternalActor(call, body);
    OpenChannel open = OpenForActor(call, call.Param("cid"), actor);
    int64_t since = json::OptInt(body, "since_seq", "since_seq").value_or(0);
    if (since < 0) throw BadRequest("since_seq must not be negative", "since_seq");
    auto events = channels::EventsSince(call.db(), open.channel.pk, since, std::nullopt, kPage + 1);
    bool truncated = events.size() > static_cast<size_t>(kPage);
    if (truncated) events.pop_back();
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "events");
    w.StartArray();
    for (const auto& e : events) w.RawValue(e.payload.data(), e.payload.size(), rapidjson::kObjectType);
    w.EndArray();
    PutInt(w, "last_seq", events.empty() ? since : events.back().seq);
    PutBool(w, "truncated", truncated);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

}  // namespace streambed
