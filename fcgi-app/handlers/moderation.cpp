// Mutes, blocks, flags and bans (STREAM-PROTOCOL.md §4.7).

#include "fcgi-app/store/moderation.h"
#include <map>

#include "common/clock.h"
#include "common/errors.h"
#include "common/ids.h"
#include "common/keys.h"
#include "fcgi-app/event.h"
#include "fcgi-app/filters.h"
#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/handlers/own_user.h"
#include "fcgi-app/handlers/support.h"
#include "fcgi-app/outbox.h"
#include "fcgi-app/store/channels.h"
#include "fcgi-app/store/messages.h"
#include "fcgi-app/wire.h"

namespace streambed {

namespace {

std::vector<std::string> TargetIds(const JsonValue& body, std::string_view single, std::string_view many) {
    std::vector<std::string> out;
    if (auto one = json::OptString(body, single, single)) out.emplace_back(*one);
    if (const JsonValue* list = json::OptArray(body, many, many)) {
        if (list->Size() > 100) throw BadRequest(std::string(many) + " lists at most 100 values", std::string(many));
        for (const auto& v : list->GetArray()) {
            if (!v.IsString()) throw BadRequest(std::string(many) + " must list strings", std::string(many));
            out.emplace_back(v.GetString());
        }
    }
    if (out.empty()) throw BadRequest(std::string(single) + " is required", std::string(single));
    return out;
}

// notification.mutes_updated / channel_mutes_updated: the user's sockets get the new `me`.
void AnnounceOwnUser(Call& call, const Actor& actor, const std::string& type, const std::string& me) {
    Outbox outbox;
    Event e(type, "", NowMicros());
    PutRaw(e.w(), "me", me);
    outbox.Publish(keys::UserTopic(actor.id()), e.Done());
    outbox.Flush(call.redis());
}

void WriteMute(JsonWriter& w, const MuteRow& m, const UserDirectory& users) {
    w.StartObject();
    PutKey(w, "user");
    WriteUserById(w, users, m.user_id);
    PutKey(w, "target");
    WriteUserById(w, users, m.target);
    PutTime(w, "created_at", m.created_at);
    PutTime(w, "updated_at", m.updated_at);
    if (m.expires) PutTime(w, "expires", *m.expires);
    w.EndObject();
}

std::optional<int64_t> MinutesFromNow(const JsonValue& body, std::string_view key) {
    auto minutes = json::OptInt(body, key, key);
    if (!minutes) return std::nullopt;
    if (*minutes <= 0 || *minutes > 525600 * 10) throw BadRequest(std::string(key) + " must be 1 minute to 10 years", std::string(key));
    return NowMicros() + *minutes * 60 * 1000000;
}

// What the admin listings (flagged messages, bans) share: the query's payload, the refusal of
// everyone but admins (server tokens and the admin role), and the page.
struct AdminListing {
    rapidjson::Document payload;
    int limit = 25;
    int offset = 0;
};
AdminListing OpenAdminListing(Call& call, const char* refusal) {
    AdminListing listing;
    listing.payload = QueryJson(call, "payload");
    auto named = NamedUser(listing.payload);
    Actor actor = LoadActor(call, named ? named : call.Query("user_id"), false);
    if (!actor.admin()) throw Forbidden(refusal);
    listing.limit = BodyInt(listing.payload, "limit", "limit", 25, 1, 100);
    listing.offset = BodyInt(listing.payload, "offset", "offset", 0, 0, 10000);
    return listing;
}

}  // namespace

// POST /api/moderation/mute/ {"target_id" | "target_ids", "timeout"? (minutes)}
Reply HandleMuteUser(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    Actor actor = LoadActor(call, NamedUser(body), true);
    auto targets = TargetIds(body, "target_id", "target_ids");
    auto expires = MinutesFromNow(body, "timeout");
    std::vector<MuteRow> rows;
    UserDirectory users;
    users.Put(actor.user, true);
    // One transaction for all targets: an unknown one leaves none of them muted.
    PgTransaction tx(call.db());
    for (const auto& t : targets) {
        if (t == actor.id()) throw BadRequest("you cannot mute yourself", "target_id");
        if (!users::Find(call.db(), t)) throw NotFound("user " + t + " does not exist");
        rows.push_back(moderation::MuteUser(call.db(), actor.id(), t, expires));
        users.Want(t);
    }
    tx.Commit();
    users.Load(call.db(), call.redis());
    std::string me = OwnUserJson(call, actor.user, true);
    AnnounceOwnUser(call, actor, "notification.mutes_updated", me);
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "mute");
    WriteMute(w, rows.front(), users);
    PutKey(w, "mutes");
    w.StartArray();
    for (const auto& m : rows) WriteMute(w, m, users);
    w.EndArray();
    PutRaw(w, "own_user", me);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// POST /api/moderation/unmute/ {"target_id" | "target_ids"}
Reply HandleUnmuteUser(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    Actor actor = LoadActor(call, NamedUser(body), true);
    for (const auto& t : TargetIds(body, "target_id", "target_ids")) moderation::UnmuteUser(call.db(), actor.id(), t);
    AnnounceOwnUser(call, actor, "notification.mutes_updated", OwnUserJson(call, actor.user, true));
    return EmptyReply();
}

// POST /api/moderation/mute/channel/ {"channel_cid" | "channel_cids", "expiration"? (ms)}
Reply HandleMuteChannel(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    Actor actor = LoadActor(call, NamedUser(body), true);
    auto cids = TargetIds(body, "channel_cid", "channel_cids");
    std::optional<int64_t> expires;
    if (auto ms = json::OptInt(body, "expiration", "expiration")) {
        // Bounded like user mutes (10 years): a larger value would overflow the microsecond clock.
        if (*ms <= 0 || *ms > int64_t{525600} * 10 * 60 * 1000)
            throw BadRequest("expiration must be 1 millisecond to 10 years (milliseconds)", "expiration");
        expires = NowMicros() + *ms * 1000;
    }
    std::vector<MuteRow> rows;
    // One transaction for all channels: one the user may not mute leaves none of them muted.
    PgTransaction tx(call.db());
    for (const auto& cid : cids) {
        OpenChannel open = OpenForActor(call, cid, actor);
        RequireCapability(open.caps, "mute-channel");
        rows.push_back(moderation::MuteChannel(call.db(), actor.id(), open.channel.pk, expires));
    }
    tx.Commit();
    std::string me = OwnUserJson(call, actor.user, true);
    AnnounceOwnUser(call, actor, "notification.channel_mutes_updated", me);
    UserDirectory users;
    users.Put(actor.user, true);
    auto write_mute = [&](JsonWriter& w, const MuteRow& m) {
        w.StartObject();
        PutKey(w, "user");
        WriteUserById(w, users, m.user_id);
        PutKey(w, "channel");
        w.StartObject();
        PutString(w, "cid", m.target);
        w.EndObject();
        PutTime(w, "created_at", m.created_at);
        PutTime(w, "updated_at", m.updated_at);
        if (m.expires) PutTime(w, "expires", *m.expires);
        w.EndObject();
    };
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "channel_mute");
    write_mute(w, rows.front());
    PutKey(w, "channel_mutes");
    w.StartArray();
    for (const auto& m : rows) write_mute(w, m);
    w.EndArray();
    PutRaw(w, "own_user", me);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// POST /api/moderation/unmute/channel/ {"channel_cid" | "channel_cids"}
Reply HandleUnmuteChannel(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    Actor actor = LoadActor(call, NamedUser(body), true);
    for (const auto& cid : TargetIds(body, "channel_cid", "channel_cids")) {
        if (!ParseCid(cid)) throw BadRequest("channel_cid must be <type>:<id>", "channel_cid");
        if (auto channel = channels::Find(call.db(), cid)) moderation::UnmuteChannel(call.db(), actor.id(), channel->pk);
    }
    AnnounceOwnUser(call, actor, "notification.channel_mutes_updated", OwnUserJson(call, actor.user, true));
    return EmptyReply();
}

// POST /api/users/block/ {"blocked_user_id"}
Reply HandleBlockUser(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    Actor actor = LoadActor(call, NamedUser(body), true);
    std::string target(json::RequireString(body, "blocked_user_id", "blocked_user_id"));
    if (target == actor.id()) throw BadRequest("you cannot block yourself", "blocked_user_id");
    if (!users::Find(call.db(), target)) throw NotFound("user " + target + " does not exist");
    BlockRow b = moderation::Block(call.db(), actor.id(), target);
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutTime(w, "blocked_at", b.created_at);
    PutString(w, "blocked_by_user_id", b.user_id);
    PutString(w, "blocked_user_id", b.blocked_user_id);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// POST /api/users/unblock/ {"blocked_user_id"}
Reply HandleUnblockUser(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    Actor actor = LoadActor(call, NamedUser(body), true);
    moderation::Unblock(call.db(), actor.id(), json::RequireString(body, "blocked_user_id", "blocked_user_id"));
    return EmptyReply();
}

// GET /api/users/block/
Reply HandleGetBlocks(Call& call) {
    Actor actor = LoadActor(call, call.Query("user_id"), true);
    auto blocks = moderation::Blocks(call.db(), actor.id());
    UserDirectory users;
    users.Put(actor.user, true);
    for (const auto& b : blocks) users.Want(b.blocked_user_id);
    users.Load(call.db(), call.redis());
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "blocks");
    w.StartArray();
    for (const auto& b : blocks) {
        w.StartObject();
        PutString(w, "user_id", b.user_id);
        PutKey(w, "user");
        WriteUserById(w, users, b.user_id);
        PutString(w, "blocked_user_id", b.blocked_user_id);
        PutKey(w, "blocked_user");
        WriteUserById(w, users, b.blocked_user_id);
        PutTime(w, "created_at", b.created_at);
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// GET /api/moderation/flags/message/?payload={"filter_conditions": {"channel_cid", "user_id" (who
// flagged), "team", "is_reviewed", "created_at"}, "limit", "offset"}: flagged messages for review,
// the newest flag first. Admins only: server tokens and users with the admin role. No review
// workflow exists, so every flag is unreviewed (is_reviewed: true matches none).
Reply HandleQueryMessageFlags(Call& call) {
    AdminListing listing = OpenAdminListing(call, "only admins review flagged messages");
    const JsonValue& payload = listing.payload;
    PgParams params;
    FilterCompiler filter(params);
    filter.AddField("channel_cid", "ch.cid", FilterCompiler::Kind::kText);
    filter.AddField("user_id", "f.user_id", FilterCompiler::Kind::kText);
    filter.AddField("team", "ch.team", FilterCompiler::Kind::kText);
    filter.AddField("is_reviewed", "false", FilterCompiler::Kind::kBool);
    filter.AddField("created_at", "f.created_at", FilterCompiler::Kind::kTime);
    const JsonValue* filter_json = json::OptObject(payload, "filter_conditions", "filter_conditions");
    std::string where = filter.Compile(filter_json);
    auto flagged = moderation::MessageFlags(call.db(), where, std::move(params), listing.limit, listing.offset);

    std::vector<const MessageRow*> refs;
    MessageContext ctx;
    for (const auto& f : flagged) {
        refs.push_back(&f.message);
        ctx.users.Want(f.flag.user_id);
    }
    ctx.Load(call.db(), call.redis(), refs, "");
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "flags");
    w.StartArray();
    for (const auto& f : flagged) {
        w.StartObject();
        PutKey(w, "user");
        WriteUserById(w, ctx.users, f.flag.user_id);
        PutKey(w, "message");
        WriteMessage(w, f.message, ctx);
        PutOptString(w, "reason", f.flag.reason);
        PutBool(w, "created_by_automod", false);
        PutTime(w, "created_at", f.flag.created_at);
        PutTime(w, "updated_at", f.flag.created_at);
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// GET /api/query_banned_users/?payload={"filter_conditions": {"channel_cid", "user_id",
// "banned_by_id", "reason", "shadow", "team", "created_at"}, "sort": [{"field": "created_at"}],
// "limit", "offset", "exclude_expired_bans"}: channel bans and app-wide bans (no channel), the
// newest first. Admins only, as the app-wide bans are.
Reply HandleQueryBannedUsers(Call& call) {
    AdminListing listing = OpenAdminListing(call, "only admins list bans");
    const JsonValue& payload = listing.payload;
    PgParams params;
    FilterCompiler filter(params);
    filter.AddField("channel_cid", "bans.cid", FilterCompiler::Kind::kText);
    filter.AddField("user_id", "bans.user_id", FilterCompiler::Kind::kText);
    filter.AddField("banned_by_id", "bans.banned_by", FilterCompiler::Kind::kText);
    filter.AddField("reason", "bans.reason", FilterCompiler::Kind::kText);
    filter.AddField("shadow", "bans.shadow", FilterCompiler::Kind::kBool);
    filter.AddField("team", "bans.team", FilterCompiler::Kind::kText);
    filter.AddField("created_at", "bans.created_at", FilterCompiler::Kind::kTime);
    const JsonValue* filter_json = json::OptObject(payload, "filter_conditions", "filter_conditions");
    std::string where = filter.Compile(filter_json);
    if (json::OptBool(payload, "exclude_expired_bans", "exclude_expired_bans").value_or(false))
        where = "(" + where + ") AND (bans.expires IS NULL OR bans.expires > now())";
    SortCompiler sort;
    sort.AddField("created_at", "bans.created_at");
    std::string order = sort.Compile(json::OptArray(payload, "sort", "sort"), "bans.created_at DESC",
                                     "bans.user_id, bans.cid NULLS FIRST");
    auto bans = moderation::Bans(call.db(), where, order, std::move(params), listing.limit, listing.offset);

    // The users and the channels the bans name, in one round trip.
    UserDirectory users;
    std::map<std::string, std::optional<channels::ChannelView>> views;
    for (const auto& b : bans) {
        users.Want(b.user_id);
        if (b.banned_by) users.Want(*b.banned_by);
        if (b.cid) views[*b.cid];
    }
    PgBatch reads(call.db());
    users.Load(reads);
    for (auto& [cid, view] : views) channels::FindView(reads, cid, "", view);
    reads.Run();
    users.Settle(call.redis());
    for (const auto& [cid, view] : views) {
        if (view && view->channel.created_by) users.Want(*view->channel.created_by);
    }
    users.Load(call.db(), call.redis());

    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "bans");
    w.StartArray();
    for (const auto& b : bans) {
        w.StartObject();
        PutKey(w, "user");
        WriteUserById(w, users, b.user_id);
        if (b.banned_by) {
            PutKey(w, "banned_by");
            WriteUserById(w, users, *b.banned_by);
        }
        if (b.cid) {
            const auto& view = views[*b.cid];
            const ChannelTypeRow* type = view ? channels::FindType(call.db(), view->channel.type) : nullptr;
            if (view && type) {
                PutKey(w, "channel");
                WriteChannel(w, view->channel, *type, users, nullptr, nullptr);
            }
        }
        if (b.expires) PutTime(w, "expires", *b.expires);
        PutOptString(w, "reason", b.reason);
        PutBool(w, "shadow", b.shadow);
        PutTime(w, "created_at", b.created_at);
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// POST /api/moderation/flag/ {"target_message_id" | "target_user_id", "reason"?}
Reply HandleFlag(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    Actor actor = LoadActor(call, NamedUser(body), true);
    auto message_id = json::OptString(body, "target_message_id", "target_message_id");
    auto user_id = json::OptString(body, "target_user_id", "target_user_id");
    if (message_id.has_value() == user_id.has_value())
        throw BadRequest("give exactly one of target_message_id and target_user_id", "target_message_id");
    std::optional<std::string> reason;
    if (auto r = json::OptString(body, "reason", "reason")) {
        if (r->size() > 500) throw BadRequest("reason is longer than 500 characters", "reason");
        reason = std::string(*r);
    }
    if (message_id) {
        auto m = messages::Find(call.db(), *message_id);
        if (!m) throw NotFound("message does not exist");
        auto view = channels::FindViewByPk(call.db(), m->channel_pk, actor.id());
        if (!view) throw NotFound("message does not exist");
        OpenChannel open = StandingIn(call, std::move(*view), actor);
        RequireCapability(open.caps, "flag-message");
    } else if (!users::Find(call.db(), *user_id)) {
        throw NotFound("user does not exist");
    }
    FlagRow f = moderation::Flag(call.db(), actor.id(),
                                 message_id ? std::optional<std::string>(std::string(*message_id)) : std::nullopt,
                                 user_id ? std::optional<std::string>(std::string(*user_id)) : std::nullopt, reason);
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "flag");
    w.StartObject();
    PutString(w, "created_by_id", f.user_id);
    PutOptString(w, "target_message_id", f.target_message_id);
    PutOptString(w, "target_user_id", f.target_user_id);
    PutOptString(w, "reason", f.reason);
    PutTime(w, "created_at", f.created_at);
    PutTime(w, "updated_at", f.created_at);
    w.EndObject();
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

namespace {
// user.banned / user.unbanned to the channel's watchers.
void AnnounceBan(Call& call, const OpenChannel& open, const Actor& actor, const std::string& target, bool banned,
                 const JsonValue* body, std::optional<int64_t> expires = std::nullopt) {
    UserDirectory users;
    users.Want(target);
    users.Want(actor.id());
    users.Load(call.db(), call.redis());
    Outbox outbox;
    // The seq and its logged event in one transaction: a reserved seq never stays a gap.
    PgTransaction tx(call.db());
    int64_t seq = channels::ReserveEventSeq(call.db(), open.channel.pk, 1);
    Event e(banned ? "user.banned" : "user.unbanned", open.channel.cid, NowMicros());
    e.User(users, target);
    if (actor.acting) {
        PutKey(e.w(), "created_by");
        WriteUserById(e.w(), users, actor.id());
    }
    if (banned && body != nullptr) {
        PutBool(e.w(), "shadow", json::OptBool(*body, "shadow", "shadow").value_or(false));
        if (auto r = json::OptString(*body, "reason", "reason")) PutString(e.w(), "reason", *r);
        // A timed ban says when it ends (STREAM-PROTOCOL.md §5, user.banned).
        if (expires) PutTime(e.w(), "expiration", *expires);
    }
    e.Seq(seq);
    outbox.Channel(open.channel.pk, open.channel.cid, seq, banned ? "user.banned" : "user.unbanned", e.Done());
    outbox.Persist(call.db());
    tx.Commit();
    outbox.Flush(call.redis());
}
}  // namespace

// POST /api/moderation/ban/ {"target_user_id", "type"?, "id"?, "reason"?, "timeout"? (minutes), "shadow"?}
Reply HandleBan(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    Actor actor = LoadActor(call, json::OptString(body, "banned_by_id", "banned_by_id")
                                      ? json::OptString(body, "banned_by_id", "banned_by_id")
                                      : NamedUser(body),
                            false);
    std::string target(json::RequireString(body, "target_user_id", "target_user_id"));
    if (target == actor.id()) throw BadRequest("you cannot ban yourself", "target_user_id");
    if (!users::Find(call.db(), target)) throw NotFound("user " + target + " does not exist");
    auto expires = MinutesFromNow(body, "timeout");
    std::optional<std::string> reason;
    if (auto r = json::OptString(body, "reason", "reason")) reason = std::string(r->substr(0, 500));
    auto type = json::OptString(body, "type", "type");
    auto id = json::OptString(body, "id", "id");
    if (type && id) {
        OpenChannel open = OpenForActor(call, *type, *id, actor);
        RequireCapability(open.caps, "ban-channel-members");
        bans::Ban(call.db(), open.channel.pk, target, actor.acting ? actor.id() : std::string(), reason,
                  json::OptBool(body, "shadow", "shadow").value_or(false), expires);
        AnnounceBan(call, open, actor, target, true, &body, expires);
    } else {
        // An app-wide ban is the app's decision: admins and server tokens only.
        if (!actor.admin()) throw Forbidden("only admins ban users from the whole app");
        moderation::BanUser(call.db(), target, expires, reason,
                            actor.acting ? std::optional<std::string>(actor.id()) : std::nullopt);
    }
    return EmptyReply();
}

// DELETE /api/moderation/ban/?target_user_id=&type=&id=
Reply HandleUnban(Call& call) {
    Actor actor = LoadActor(call, call.Query("user_id"), false);
    auto target = call.Query("target_user_id");
    if (!target || target->empty()) throw BadRequest("target_user_id is required", "target_user_id");
    auto type = call.Query("type");
    auto id = call.Query("id");
    if (type && id && !type->empty() && !id->empty()) {
        OpenChannel open = OpenForActor(call, *type, *id, actor);
        RequireCapability(open.caps, "ban-channel-members");
        if (bans::Unban(call.db(), open.channel.pk, *target)) AnnounceBan(call, open, actor, std::string(*target), false, nullptr);
    } else {
        if (!actor.admin()) throw Forbidden("only admins lift app-wide bans");
        moderation::UnbanUser(call.db(), *target);
    }
    return EmptyReply();
}

}  // namespace streambed
