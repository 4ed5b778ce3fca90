// POST/GET /api/editing-audit-state/ (API.md §4): who is typing or editing in a room, and the text
// they edit together, merged by operational transformation (common/ot.h). The document lives in
// Redis (keys.h, common/editing_scripts.h) so that any worker on any host can take the next call;
// the decisions are in common/editing.h; docs/ot.md "The server side" has the whole design.

#include <algorithm>
#include <tuple>

#include "common/clock.h"
#include "common/editing.h"
#include "common/editing_scripts.h"
#include "common/errors.h"
#include "common/ids.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/ot.h"
#include "fcgi-app/event.h"
#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/handlers/send.h"
#include "fcgi-app/handlers/support.h"
#include "fcgi-app/outbox.h"
#include "fcgi-app/store/messages.h"

namespace streambed {

namespace {

// Commits that lose the compare-and-set race read again; each round at least one contender wins,
// so this bounds a call's wait under a burst of that many concurrent editors of one document.
constexpr int kMaxAttempts = 64;
// Versions and cursor positions stay exact in JavaScript numbers.
constexpr int64_t kMaxVersion = int64_t{1} << 53;

std::string ReadCid(std::optional<std::string_view> cid) {
    if (!cid || cid->empty()) throw BadRequest("cid is required", "cid");
    if (!ParseCid(*cid)) throw BadRequest("cid must be <type>:<id>", "cid");
    return std::string(*cid);
}

// "" (or absent) is the room's shared composer.
std::string ReadMessageId(std::optional<std::string_view> id) {
    if (!id) return {};
    if (id->size() > 255) throw BadRequest("message_id must be at most 255 characters", "message_id");
    if (!ot::Utf16Length(*id)) throw BadRequest("message_id is not valid UTF-8", "message_id");
    return std::string(*id);
}

std::optional<ot::Cursor> ReadCursor(const JsonValue& body) {
    const JsonValue* c = json::OptObject(body, "cursor", "cursor");
    if (c == nullptr) return std::nullopt;
    auto position = [&](std::string_view key) {
        std::string field = "cursor." + std::string(key);
        auto v = json::OptInt(*c, key, field);
        if (!v) throw BadRequest(field + " is required", "cursor");
        if (*v < 0 || *v > ot::kMaxCount)
            throw BadRequest(field + " must be between 0 and " + std::to_string(ot::kMaxCount), "cursor");
        return *v;
    };
    return ot::Cursor{position("anchor"), position("head")};
}

// The document a call is about, once the caller may see (and, for POST, edit) it.
struct Target {
    Actor actor;
    OpenChannel open;
    std::string message_id;
    std::string initial_text;  // what a new document starts with: the message's text, or ""
};

Target OpenTarget(Call& call, std::optional<std::string_view> named, const std::string& cid,
                  const std::string& message_id, bool edit) {
    Target t{LoadActor(call, named, true), {}, message_id, {}};
    t.open = OpenForActor(call, cid, t.actor);
    if (edit) RequireCapability(t.open.caps, "send-message");
    if (message_id.empty()) return t;
    auto message = messages::Find(call.db(), message_id);
    if (!message) throw NotFound("message " + message_id + " does not exist");
    if (message->channel_pk != t.open.channel.pk) throw Forbidden("message " + message_id + " is not in " + cid);
    if (edit) {
        if (message->type == "deleted") throw Forbidden("a deleted message cannot be edited");
        RequireCapability(t.open.caps, message->user_id == t.actor.id() ? "update-own-message" : "update-any-message");
    }
    t.initial_text = message->text;
    return t;
}

// One read of a document (kLoadScript).
struct Snapshot {
    int64_t rev = 0;
    int64_t version = 0;
    std::optional<std::string> text;  // nullopt: no document yet
    int64_t kept = 0;
    std::vector<std::string> later;  // ops (JSON) after the base version
    std::vector<std::pair<std::string, std::string>> participants;
};

Snapshot Load(RedisClient& redis, const std::string& cid, const std::string& message_id, int64_t base_version) {
    auto reply = redis.Eval(editing::kLoadScript,
                            {keys::EditingDoc(cid, message_id), keys::EditingLog(cid, message_id),
                             keys::EditingParticipants(cid, message_id)},
                            {std::to_string(base_version)});
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 6) throw RedisError("unexpected editing snapshot");
    Snapshot s;
    s.rev = ReplyInteger(reply->element[0]);
    s.version = ReplyInteger(reply->element[1]);
    s.text = ReplyString(reply->element[2]);
    s.kept = ReplyInteger(reply->element[3]);
    s.later = ReplyStrings(reply->element[4]);
    auto flat = ReplyStrings(reply->element[5]);
    for (size_t i = 0; i + 1 < flat.size(); i += 2) s.participants.emplace_back(flat[i], flat[i + 1]);
    return s;
}

ot::TextOperation StoredOp(const std::string& json) {
    auto doc = ParseJsonObject("{\"ops\":" + json + "}", "stored op");
    // Accepted once already: the limits on what a client may send do not apply to what it became.
    ot::ParseOptions options;
    options.max_insert_bytes = SIZE_MAX;
    options.max_components = SIZE_MAX;
    return ot::Parse(doc["ops"], options);
}

void PutCursor(JsonWriter& w, std::string_view key, const std::optional<ot::Cursor>& cursor) {
    PutKey(w, key);
    if (!cursor) {
        w.Null();
        return;
    }
    w.StartObject();
    PutInt(w, "anchor", cursor->anchor);
    PutInt(w, "head", cursor->head);
    w.EndObject();
}

std::string UserJson(const UserDirectory& users, const std::string& user_id) {
    JsonBuffer buf;
    JsonWriter w(buf);
    WriteUserById(w, users, user_id);
    return JsonText(buf);
}

}  // namespace

// POST /api/editing-audit-state/
// {"cid", "state": "typing"|"editing"|"idle", "message_id"?, "base_version"?, "ops"?, "cursor"?}
Reply HandleEditingState(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    // Everything that can be checked without the document, before any lookup.
    std::string cid = ReadCid(json::OptString(body, "cid", "cid"));
    auto state = editing::ParseState(json::RequireString(body, "state", "state"));
    if (!state) throw BadRequest("state must be typing, editing or idle", "state");
    std::string message_id = ReadMessageId(json::OptString(body, "message_id", "message_id"));
    // Range first, as a number: a huge double is not converted to an integer.
    if (auto n = json::OptNumber(body, "base_version", "base_version"); n && (*n < 0 || *n > double(kMaxVersion)))
        throw BadRequest("base_version must be between 0 and " + std::to_string(kMaxVersion), "base_version");
    auto base_version = json::OptInt(body, "base_version", "base_version");
    const JsonValue* ops_json = json::Find(body, "ops");
    if (ops_json != nullptr && ops_json->IsNull()) ops_json = nullptr;
    std::optional<ot::TextOperation> op;
    if (ops_json != nullptr) {
        op = ot::Parse(*ops_json);
        if (!base_version) throw BadRequest("base_version is required with ops", "base_version");
    }
    auto cursor = ReadCursor(body);

    Target target = OpenTarget(call, NamedUser(body), cid, message_id, true);
    const Actor& actor = target.actor;
    UserDirectory users;
    users.Put(actor.user, true);
    const size_t max_length =
        static_cast<size_t>(std::min(target.open.type->max_message_length, call.config().max_message_length));

    editing::Outcome outcome;
    int64_t version = -1;
    int64_t now = 0;
    for (int attempt = 0; attempt < kMaxAttempts && version < 0; ++attempt) {
        Snapshot s = Load(call.redis(), cid, message_id, base_version.value_or(-1));
        std::string text = s.text ? std::move(*s.text) : target.initial_text;
        int64_t base = base_version.value_or(s.version);
        editing::CheckBase(base, s.version, s.kept);
        std::vector<ot::TextOperation> later;
        later.reserve(s.later.size());
        for (const auto& json : s.later) later.push_back(StoredOp(json));
        std::optional<ot::TextOperation> mine = op;
        if (mine && later.empty()) {
            // Read again against the document, so that a mismatch names the element at fault.
            ot::ParseOptions options;
            options.document = text;
            mine = ot::Parse(*ops_json, options);
        }
        outcome = editing::CatchUp(text, later, std::move(mine), cursor);
        if (outcome.op && CountCharacters(outcome.text) > max_length) {
            throw ApiError(400, code::kMessageTooLong,
                           "ops: the result would be " + std::to_string(CountCharacters(outcome.text)) +
                               " characters, over this channel's limit of " + std::to_string(max_length),
                           "ops");
        }

        now = NowMicros();
        std::vector<std::string> args{std::to_string(s.rev),
                                      outcome.text,
                                      outcome.op ? outcome.op->ToJsonString() : std::string(),
                                      std::to_string(keys::kEditingHistory),
                                      std::to_string(keys::kEditingTtl),
                                      editing::IdleMember(cid, message_id, actor.id()),
                                      std::to_string(now / 1000 + int64_t{call.config().editing_idle_timeout} * 1000)};
        editing::Participant me{actor.id(), UserJson(users, actor.id()), *state, outcome.cursor, now};
        std::vector<std::pair<std::string, std::string>> others;
        for (const auto& [user_id, json] : s.participants) {
            auto p = editing::ParseParticipant(json);
            if (!p) continue;
            if (user_id == actor.id()) {
                // Without a new cursor, the caller's last one follows its own edit.
                if (!cursor) {
                    me.cursor =
                        p->cursor && outcome.op ? editing::MoveCursor(*p->cursor, *outcome.op, true) : p->cursor;
                }
                continue;
            }
            if (!outcome.op || !p->cursor) continue;
            auto moved = editing::MoveCursor(*p->cursor, *outcome.op);
            if (moved == p->cursor) continue;
            p->cursor = moved;
            others.emplace_back(user_id, editing::ToJson(*p));
        }
        args.push_back(actor.id());
        args.push_back(editing::ToJson(me));
        for (auto& [user_id, json] : others) {
            args.push_back(user_id);
            args.push_back(std::move(json));
        }
        auto reply = call.redis().Eval(editing::kCommitScript,
                                       {keys::EditingDoc(cid, message_id), keys::EditingLog(cid, message_id),
                                        keys::EditingParticipants(cid, message_id), keys::kEditingIdle},
                                       args);
        version = ReplyInteger(reply.get());
        if (version < 0) Log(LogLevel::kDebug, "editing.lost_race").Str("cid", cid).Int("attempt", attempt + 1);
    }
    if (version < 0) throw Unavailable("the document is changing too fast; retry");

    // The broadcasts: editing.state to every socket watching the room (both surfaces, the caller's
    // own included: clients recognise themselves by user.id), then getstream.io's typing events.
    Event e("editing.state", cid, now);
    e.User(users, actor.id());
    PutString(e.w(), "state", editing::StateName(*state));
    PutOptString(e.w(), "message_id", message_id.empty() ? std::nullopt : std::optional<std::string>(message_id));
    PutInt(e.w(), "version", version);
    PutKey(e.w(), "ops");
    if (outcome.op) {
        outcome.op->ToJson(e.w());
    } else {
        e.w().Null();
    }
    PutCursor(e.w(), "cursor", outcome.cursor);
    Outbox outbox;
    outbox.Publish(keys::ChannelTopic(cid), e.Done());
    // typing.start on every typing call (getstream.io clients repeat it while typing and forget a
    // typist after a few silent seconds), typing.stop on idle; both only where the channel type has
    // typing events, and not for a user who turned typing indicators off (privacy_settings). No
    // parent_id: a message being edited is not a thread being replied to.
    if (*state != editing::State::kEditing && HasCapability(target.open.caps, "send-typing-events") &&
        actor.user.typing_indicators) {
        Event t(*state == editing::State::kTyping ? "typing.start" : "typing.stop", cid, now);
        t.User(users, actor.id());
        outbox.Publish(keys::ChannelTopic(cid), t.Done());
    }
    outbox.Flush(call.redis());

    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutInt(w, "version", version);
    PutKey(w, "ops");
    if (outcome.op) {
        outcome.op->ToJson(w);
    } else {
        w.Null();
    }
    PutCursor(w, "cursor", outcome.cursor);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// GET /api/editing-audit-state/?cid=&message_id= : the document and who is in it, for a resync.
Reply HandleGetEditingState(Call& call) {
    std::string cid = ReadCid(call.Query("cid"));
    auto raw_id = call.Query("message_id");
    std::string message_id = ReadMessageId(raw_id && !raw_id->empty() ? raw_id : std::nullopt);
    Target target = OpenTarget(call, call.Query("user_id"), cid, message_id, false);
    Snapshot s = Load(call.redis(), cid, message_id, -1);
    // Participants silent longer than the idle timeout are left out here even before the idle
    // sweep removes them, so a resync never shows a departed user.
    int64_t cutoff = NowMicros() - int64_t{call.config().editing_idle_timeout} * 1000000;
    std::vector<editing::Participant> participants;
    for (const auto& [user_id, json] : s.participants) {
        auto p = editing::ParseParticipant(json);
        if (p && p->updated_at > cutoff) participants.push_back(std::move(*p));
    }
    std::sort(participants.begin(), participants.end(), [](const auto& a, const auto& b) {
        return std::tie(a.updated_at, a.user_id) < std::tie(b.updated_at, b.user_id);
    });
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutInt(w, "version", s.version);
    PutString(w, "text", s.text ? *s.text : target.initial_text);
    PutKey(w, "participants");
    w.StartArray();
    for (const auto& p : participants) {
        w.StartObject();
        PutRaw(w, "user", p.user_json);
        PutString(w, "state", editing::StateName(p.state));
        PutCursor(w, "cursor", p.cursor);
        PutTime(w, "updated_at", p.updated_at);
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

}  // namespace streambed
