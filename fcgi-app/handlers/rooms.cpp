// The room surfaces of the original task board (API.md §2, §6, §7, §8): connection ids, room
// config, message history with keyset cursors, and the member roster. Rooms are channels: the
// same rows, permissions and wire objects as getstream.io's surface.

#include <limits>

#include "common/base64.h"
#include "common/clock.h"
#include "common/errors.h"
#include "common/keys.h"
#include "fcgi-app/handlers/channel_state.h"
#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/handlers/support.h"
#include "fcgi-app/store/channels.h"
#include "fcgi-app/store/messages.h"
#include "fcgi-app/store/moderation.h"

namespace streambed {

namespace {

// Cursors are opaque to clients: base64url of "<created_at micros>.<pk>", a position in the
// (created_at, pk) order that new messages can never fall between.
std::string EncodeCursor(const MessageRow& m) {
    return Base64UrlEncode(std::to_string(m.created_at) + "." + std::to_string(m.pk));
}

messages::Bound DecodeCursor(std::string_view text, messages::Bound::Kind kind, std::string_view field) {
    auto raw = Base64UrlDecode(text);
    auto fail = [&]() -> messages::Bound { throw BadRequest(std::string(field) + " is not a cursor this server issued", std::string(field)); };
    if (!raw || raw->size() > 40) return fail();
    size_t dot = raw->find('.');
    if (dot == std::string::npos) return fail();
    char* end = nullptr;
    std::string ts = raw->substr(0, dot), pk = raw->substr(dot + 1);
    messages::Bound b;
    b.kind = kind;
    b.created_at = std::strtoll(ts.c_str(), &end, 10);
    if (ts.empty() || *end != '\0') return fail();
    b.pk = std::strtoll(pk.c_str(), &end, 10);
    if (pk.empty() || *end != '\0' || b.pk < 0) return fail();
    return b;
}

constexpr std::string_view kSessionScript = R"(
local id = redis.call('GET', KEYS[1])
if id then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  redis.call('EXPIRE', KEYS[2] .. id, ARGV[2])
  return id
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('SET', KEYS[2] .. ARGV[1], KEYS[1], 'EX', ARGV[2])
return ARGV[1])";

bool IsValidSession(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    for (char c : s) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
    }
    return true;
}

}  // namespace

// GET /api/connection-id/?session=<key>
Reply HandleConnectionId(Call& call) {
    Actor actor = LoadActor(call, call.Query("user_id"), true);
    auto session = call.Query("session");
    if (!session || !IsValidSession(*session)) throw BadRequest("session must match [A-Za-z0-9_-]{1,64}", "session");
    std::string candidate = std::to_string(call.app().NextSnowflake());
    auto reply = call.redis().Eval(kSessionScript, {keys::Session(actor.id(), *session), std::string(keys::kSessionOfPrefix)},
                                   {candidate, std::to_string(keys::kSessionTtl)});
    auto id = ReplyString(reply.get());
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutString(w, "connection_id", id.value_or(candidate));
    PutString(w, "session", *session);
    PutInt(w, "heartbeat_interval", keys::kSessionHeartbeat);
    PutInt(w, "expires_in", keys::kSessionTtl);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// GET /rooms/{cid}/config/
Reply HandleRoomConfig(Call& call) {
    Actor actor = LoadActor(call, std::nullopt, true);
    OpenChannel open = OpenForActor(call, call.Param("cid"), actor);
    bool muted = false;
    for (const auto& m : moderation::ChannelMutes(call.db(), actor.id())) muted = muted || m.target == open.channel.cid;
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutString(w, "cid", open.channel.cid);
    PutString(w, "type", open.channel.type);
    PutString(w, "id", open.channel.id);
    PutOptString(w, "name", open.channel.name);
    PutBool(w, "muted", muted);
    PutInt(w, "member_count", open.channel.member_count);
    PutBool(w, "frozen", open.channel.frozen);
    PutKey(w, "config");
    WriteChannelConfig(w, *open.type);
    PutKey(w, "own_capabilities");
    w.StartArray();
    for (auto c : open.caps) WriteString(w, c);
    w.EndArray();
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// GET /rooms/{cid}/messages/?limit=&before=&after=&parent_id=
Reply HandleRoomMessages(Call& call) {
    Actor actor = LoadActor(call, std::nullopt, true);
    OpenChannel open = OpenForActor(call, call.Param("cid"), actor);
    int limit = QueryInt(call, "limit", 25, 1, 300);
    auto before = call.Query("before");
    auto after = call.Query("after");
    if (before && after && !before->empty() && !after->empty())
        throw BadRequest("give before or after, not both", "before");
    messages::Bound bound = messages::Bound::Newest();
    if (before && !before->empty()) bound = DecodeCursor(*before, messages::Bound::Kind::kBefore, "before");
    if (after && !after->empty()) bound = DecodeCursor(*after, messages::Bound::Kind::kAfter, "after");
    std::vector<MessageRow> rows;
    if (auto parent_id = call.Query("parent_id"); parent_id && !parent_id->empty()) {
        auto parent = messages::Find(call.db(), *parent_id);
        if (!parent || parent->channel_pk != open.channel.pk) throw NotFound("message " + std::string(*parent_id) + " is not in this room");
        if (!after && !before) bound = messages::Bound::Newest();
        rows = messages::ThreadPage(call.db(), parent->id, bound, limit);
    } else {
        rows = RunAlone<std::vector<MessageRow>>(call.db(), [&](PgBatch& batch, auto& into) {
            messages::ChannelPage(batch, open.channel.pk, VisibleAfter(open.channel, open.membership), bound, limit, into);
        });
    }
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
    // `next` pages to older messages while a full page suggests more; `prev` polls for newer ones
    // (a page fetched with `after` keeps its cursor when nothing newer exists yet).
    bool going_newer = after && !after->empty();
    bool older_may_exist = going_newer || static_cast<int>(rows.size()) == limit;
    if (!rows.empty() && older_may_exist) {
        PutString(w, "next", EncodeCursor(rows.front()));
    } else {
        PutNull(w, "next");
    }
    if (!rows.empty()) {
        PutString(w, "prev", EncodeCursor(rows.back()));
    } else if (going_newer) {
        PutString(w, "prev", std::string(*after));
    } else {
        PutNull(w, "prev");
    }
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// GET /rooms/{cid}/members/?limit=&offset=&role=&banned=
Reply HandleRoomMembers(Call& call) {
    Actor actor = LoadActor(call, std::nullopt, true);
    OpenChannel open = OpenForActor(call, call.Param("cid"), actor);
    members::MemberQuery q;
    q.limit = QueryInt(call, "limit", 20, 1, 100);
    q.offset = QueryInt(call, "offset", 0, 0, 1000000);
    if (auto role = call.Query("role"); role && !role->empty()) {
        if (*role != "channel_member" && *role != "channel_moderator" && *role != "owner")
            throw BadRequest("role must be channel_member, channel_moderator or owner", "role");
        q.channel_role = std::string(*role);
    }
    if (auto banned = call.Query("banned"); banned && !banned->empty()) {
        if (*banned != "true" && *banned != "false") throw BadRequest("banned must be true or false", "banned");
        q.banned = *banned == "true";
    }
    auto rows = members::List(call.db(), open.channel.pk, q);
    int64_t total = members::Count(call.db(), open.channel.pk, q);
    UserDirectory users;
    for (const auto& m : rows) users.Want(m.user_id);
    users.Load(call.db(), call.redis());
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "members");
    w.StartArray();
    for (const auto& m : rows) WriteMember(w, m, users);
    w.EndArray();
    PutInt(w, "total", total);
    PutInt(w, "limit", q.limit);
    PutInt(w, "offset", q.offset);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

}  // namespace streambed
