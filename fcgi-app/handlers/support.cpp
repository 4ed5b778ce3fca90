#include "fcgi-app/handlers/support.h"

#include <charconv>

#include "common/clock.h"
#include "common/errors.h"
#include "common/ids.h"

namespace streambed {

namespace {
const PgStatement kEnsureUser{"user_ensure",
                              "INSERT INTO users (id) VALUES ($1) ON CONFLICT (id) DO NOTHING"};
}

bool Actor::banned() const {
    return user.banned && (!user.ban_expires || *user.ban_expires > NowMicros());
}

std::optional<std::string_view> NamedUser(const JsonValue& body) {
    if (auto id = json::OptString(body, "user_id", "user_id")) return id;
    if (const JsonValue* user = json::OptObject(body, "user", "user")) return json::OptString(*user, "id", "user.id");
    return std::nullopt;
}

namespace {
// Who the caller acts as, before anything is read: `id` is the user to read, empty when the
// actor needs no user row (a server token naming nobody, an anonymous visitor).
struct Acting {
    Actor actor;
    std::string id;
};

Acting ResolveActor(const Caller& caller, std::optional<std::string_view> named, bool required) {
    Acting out;
    Actor& actor = out.actor;
    actor.server = caller.server;
    actor.anonymous = caller.anonymous;
    if (caller.server) {
        if (!named || named->empty()) {
            if (required) throw BadRequest("user_id is required with a server token", "user_id");
            actor.acting = false;
            actor.user.role = "admin";
            return out;
        }
        out.id = std::string(*named);
    } else if (caller.anonymous) {
        // Routes that need an acting user are writes, and anonymous visitors only read: that is
        // a refusal (403, code 17), not bad input.
        if (required) throw Forbidden("anonymous users can only read");
        actor.user.id = "";
        actor.user.role = "anonymous";
        actor.acting = false;
        return out;
    } else {
        out.id = caller.user_id;
    }
    if (!IsValidUserId(out.id)) throw BadRequest("user id has characters outside [A-Za-z0-9@_.!-]", "user_id");
    return out;
}

// The actor once its user row was read (`found`: none when the user is new).
Actor FinishActor(Call& call, Acting acting, std::vector<UserRow> found) {
    const Caller& caller = call.caller();
    std::optional<UserRow> user;
    if (!found.empty()) user = std::move(found.front());
    if (!user) {
        call.db().Run(kEnsureUser, PgParams().Add(acting.id));
        user = users::Find(call.db(), acting.id);
        if (!user) throw Unavailable("could not create the user, retry");
    }
    if (!caller.server && caller.token_issued_at && user->revoke_tokens_issued_before &&
        *caller.token_issued_at * 1000000 < *user->revoke_tokens_issued_before) {
        throw Unauthorized(code::kTokenBeforeRevocation, "token was issued before the user's tokens were revoked");
    }
    if (user->deactivated_at && !caller.server) throw Forbidden("the user is deactivated");
    acting.actor.user = std::move(*user);
    return std::move(acting.actor);
}
}  // namespace

Actor LoadActor(Call& call, std::optional<std::string_view> named, bool required) {
    Acting acting = ResolveActor(call.caller(), named, required);
    if (acting.id.empty()) return std::move(acting.actor);
    std::vector<UserRow> found;
    PgBatch batch(call.db());
    users::FindMany(batch, {acting.id}, found);
    batch.Run();
    return FinishActor(call, std::move(acting), std::move(found));
}

ActorWithView LoadActorWithView(Call& call, std::optional<std::string_view> named, bool required,
                                const std::string& cid) {
    Acting acting = ResolveActor(call.caller(), named, required);
    auto parsed = ParseCid(cid);
    if (!parsed) throw BadRequest("cid must be <type>:<id>", "cid");
    ActorWithView out;
    std::vector<UserRow> found;
    PgBatch batch(call.db());
    if (!acting.id.empty()) users::FindMany(batch, {acting.id}, found);
    // The acting user's id, or "" for an actor with none (no membership can match it).
    channels::FindView(batch, cid, acting.id, out.view);
    batch.Run();
    // The actor's refusals (a revoked token, a deactivated user) come first, as with LoadActor.
    out.actor = acting.id.empty() ? std::move(acting.actor) : FinishActor(call, std::move(acting), std::move(found));
    if (channels::FindType(call.db(), parsed->type) == nullptr)
        throw NotFound("channel type " + parsed->type + " does not exist");
    return out;
}

ActingOnMessage LoadActorOnMessage(Call& call, std::optional<std::string_view> named, bool required,
                                   const std::string& message_id) {
    Acting acting = ResolveActor(call.caller(), named, required);
    std::vector<UserRow> found;
    std::vector<MessageRow> message;
    std::optional<channels::ChannelView> view;
    PgBatch batch(call.db());
    if (!acting.id.empty()) users::FindMany(batch, {acting.id}, found);
    messages::FindMany(batch, {message_id}, message);
    // The acting user's id, or "" for an actor with none (no membership can match it).
    channels::FindViewOfMessage(batch, message_id, acting.id, view);
    batch.Run();
    // The actor's refusals (a revoked token, a deactivated user) come first, as with LoadActor.
    Actor actor = acting.id.empty() ? std::move(acting.actor) : FinishActor(call, std::move(acting), std::move(found));
    if (message.empty() || !view) throw NotFound("message " + message_id + " does not exist");
    OpenChannel open = StandingIn(call, std::move(*view), actor);
    return ActingOnMessage{std::move(actor), MessageAccess{std::move(message.front()), std::move(open)}};
}

ActingIn LoadActorIn(Call& call, std::optional<std::string_view> named, bool required, std::string_view type,
                     std::string_view id) {
    std::string cid = std::string(type) + ":" + std::string(id);
    auto [actor, view] = LoadActorWithView(call, named, required, cid);
    if (!view) throw NotFound("channel " + cid + " does not exist");
    OpenChannel open = StandingIn(call, std::move(*view), actor);
    return ActingIn{std::move(actor), std::move(open)};
}

Actor LoadOwner(Call& call, std::optional<std::string_view> named) {
    const Caller& caller = call.caller();
    if (caller.anonymous) throw Forbidden("anonymous users have no devices or subscriptions");
    if (!caller.server && named && !named->empty() && *named != caller.user_id)
        throw Forbidden("a user token acts only for its own user");
    return LoadActor(call, named, true);
}

OpenChannel StandingIn(Call& call, channels::ChannelView view, const Actor& actor) {
    OpenChannel out;
    out.type = channels::FindType(call.db(), view.channel.type);
    if (out.type == nullptr) throw NotFound("channel type " + view.channel.type + " does not exist");
    out.channel = std::move(view.channel);
    out.membership = std::move(view.membership);
    // The actor's standing: a server token has admin rights even when it names the user it acts
    // for (STREAM-PROTOCOL.md §1.1); the gateway's internal calls act strictly as the user (they
    // clear `server`, see internal.cpp).
    Caller as;
    as.server = actor.server;
    as.anonymous = actor.anonymous;
    out.standing = StandingOf(as, actor.user.role, actor.banned() || view.banned,
                              out.membership ? &*out.membership : nullptr);
    out.caps = Capabilities(*out.type, out.channel, out.standing);
    if (!CanRead(*out.type, out.standing)) {
        throw ApiError(403, code::kNotAllowed,
                       out.standing.banned ? "you are banned from this channel" : "you are not a member of this channel");
    }
    return out;
}

OpenChannel OpenForActor(Call& call, std::string_view cid, const Actor& actor) {
    auto parsed = ParseCid(cid);
    if (!parsed) throw BadRequest("cid must be <type>:<id>", "cid");
    if (channels::FindType(call.db(), parsed->type) == nullptr)
        throw NotFound("channel type " + parsed->type + " does not exist");
    auto view = channels::FindView(call.db(), cid, actor.id());
    if (!view) throw NotFound("channel " + std::string(cid) + " does not exist");
    return StandingIn(call, std::move(*view), actor);
}

OpenChannel OpenForActor(Call& call, std::string_view type, std::string_view id, const Actor& actor) {
    return OpenForActor(call, std::string(type) + ":" + std::string(id), actor);
}

std::pair<std::string, std::string> ChannelPath(const Call& call) {
    const std::string& type = call.Param("type");
    const std::string& id = call.Param("id");
    if (!IsValidChannelType(type)) throw BadRequest("channel type must match [A-Za-z0-9_-]{1,64}", "type");
    if (!IsValidChannelId(id)) throw BadRequest("channel id must match [A-Za-z0-9_!-]{1,64}", "id");
    return {type, id};
}

int QueryInt(const Call& call, std::string_view key, int fallback, int min, int max) {
    auto text = call.Query(key);
    if (!text || text->empty()) return fallback;
    char* end = nullptr;
    std::string copy(*text);
    long v = std::strtol(copy.c_str(), &end, 10);
    if (end == copy.c_str() || *end != '\0' || v < min || v > max) {
        throw BadRequest(std::string(key) + " must be a whole number between " + std::to_string(min) + " and " +
                             std::to_string(max),
                         std::string(key));
    }
    return static_cast<int>(v);
}

int BodyInt(const JsonValue& body, std::string_view key, std::string_view field, int fallback, int min, int max) {
    auto v = json::OptInt(body, key, field);
    if (!v) return fallback;
    if (*v < min || *v > max) {
        throw BadRequest(std::string(field) + " must be between " + std::to_string(min) + " and " + std::to_string(max),
                         std::string(field));
    }
    return static_cast<int>(*v);
}

rapidjson::Document QueryJson(const Call& call, std::string_view key) {
    auto text = call.Query(key);
    return ParseJsonObject(text ? *text : std::string_view{}, key);
}

Reply EmptyReply() { return Reply::Json("{}"); }

std::string JsonText(const JsonBuffer& buffer) { return std::string(buffer.GetString(), buffer.GetSize()); }

int OffsetCursor::Read(const JsonValue& body) const {
    auto next = json::OptString(body, "next", "next");
    auto prev = json::OptString(body, "prev", "prev");
    if (next && prev) throw BadRequest("give next or prev, not both", "next");
    if (!next && !prev) return 0;
    std::string_view cursor = next ? *next : *prev;
    int offset = -1;
    if (cursor.substr(0, prefix_.size()) == prefix_) {
        std::string_view digits = cursor.substr(prefix_.size());
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), offset);
        if (ec != std::errc() || end != digits.data() + digits.size()) offset = -1;
    }
    if (offset < 0 || offset > kMaxOffset)
        throw BadRequest("next and prev take cursors this server gave", next ? "next" : "prev");
    return offset;
}

void OffsetCursor::Write(JsonWriter& w, int offset, int limit, bool more) const {
    if (more && offset + limit <= kMaxOffset)
        PutString(w, "next", std::string(prefix_) + std::to_string(offset + limit));
    if (offset > 0) PutString(w, "prev", std::string(prefix_) + std::to_string(std::max(0, offset - limit)));
}

}  // namespace streambed
