// The channel routes of getstream.io's surface (STREAM-PROTOCOL.md §4.1): queryChannels, channel
// get-or-create / watch / paginate, distinct channels, stop-watching, update, partial update,
// delete, truncate, hide and show, member updates and queryMembers.

#include <openssl/sha.h>

#include <algorithm>
#include <unordered_set>

#include "common/clock.h"
#include "common/errors.h"
#include "common/ids.h"
#include "common/keys.h"
#include "fcgi-app/event.h"
#include "fcgi-app/channel_filter.h"
#include "fcgi-app/filters.h"
#include "fcgi-app/handlers/channel_state.h"
#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/handlers/membership.h"
#include "fcgi-app/handlers/support.h"
#include "fcgi-app/handlers/uploads.h"
#include "fcgi-app/outbox.h"
#include "fcgi-app/realtime.h"
#include "fcgi-app/store/channels.h"

namespace streambed {

namespace {

bool IsReservedChannelDataKey(std::string_view k) {
    return k == "id" || k == "type" || k == "cid" || k == "members" || k == "created_by" || k == "created_by_id" ||
           k == "created_at" || k == "updated_at" || k == "last_message_at" || k == "member_count" ||
           k == "config" || k == "own_capabilities" || k == "frozen" || k == "disabled" || k == "cooldown" ||
           k == "name" || k == "image" || k == "team" || k == "hidden" || k == "truncated_at" || k == "deleted_at";
}

// Custom fields of a channel `data` object, as JSON text.
std::string CustomData(const JsonValue* data) {
    rapidjson::Document custom(rapidjson::kObjectType);
    if (data != nullptr) {
        for (auto it = data->MemberBegin(); it != data->MemberEnd(); ++it) {
            std::string_view key(it->name.GetString(), it->name.GetStringLength());
            if (IsReservedChannelDataKey(key)) continue;
            custom.AddMember(JsonValue(it->name, custom.GetAllocator()), JsonValue(it->value, custom.GetAllocator()),
                             custom.GetAllocator());
        }
    }
    std::string text = ToJson(custom);
    if (text.size() > 5 * 1024) throw BadRequest("channel custom data is larger than 5 KB", "data");
    return text;
}

std::optional<std::string> BoundedString(const JsonValue& o, std::string_view key, std::string_view field, size_t max) {
    auto v = json::OptString(o, key, field);
    if (!v) return std::nullopt;
    if (v->size() > max) throw BadRequest(std::string(field) + " is longer than " + std::to_string(max), std::string(field));
    return std::string(*v);
}

// The server-generated id of a distinct channel: the same member set always maps to the same id.
std::string DistinctId(const std::vector<std::string>& sorted_members) {
    std::string joined;
    for (const auto& m : sorted_members) joined += m + ",";
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(joined.data()), joined.size(), digest);
    static const char kHex[] = "0123456789abcdef";
    std::string id = "!members-";
    for (int i = 0; i < 20; ++i) {
        id += kHex[digest[i] >> 4];
        id += kHex[digest[i] & 15];
    }
    return id;
}

// Creates the channel when it does not exist (get-or-create), with `data`'s members. The creator
// joins as owner when acting as a user. Existing channels ignore `data`, as on getstream.io.
// `existing` is the channel's view for the actor, already read (LoadActorWithView): nullopt when
// there is no such channel yet.
OpenChannel GetOrCreate(Call& call, const Actor& actor, const std::string& type, const std::string& id,
                        const JsonValue* data, std::optional<std::vector<std::string>> distinct_members,
                        std::optional<channels::ChannelView> existing) {
    std::string cid = type + ":" + id;
    const ChannelTypeRow* type_row = channels::FindType(call.db(), type);
    if (type_row == nullptr) throw NotFound("channel type " + type + " does not exist");
    if (existing) return StandingIn(call, std::move(*existing), actor);
    if (distinct_members) {
        if (auto same_members = channels::FindDistinct(call.db(), type, *distinct_members)) {
            return StandingIn(call, *channels::FindViewByPk(call.db(), same_members->pk, actor.id()), actor);
        }
    }
    if (actor.anonymous) throw Forbidden("anonymous users cannot create channels");
    if (actor.banned()) throw Forbidden("banned users cannot create channels");

    channels::NewChannel fresh;
    fresh.type = type;
    fresh.id = id;
    std::vector<MemberSpec> specs;
    if (data != nullptr) {
        fresh.name = BoundedString(*data, "name", "data.name", 500);
        fresh.image = BoundedString(*data, "image", "data.image", 2000);
        fresh.team = BoundedString(*data, "team", "data.team", 200);
        fresh.custom_json = CustomData(data);
        specs = ParseMemberList(json::OptArray(*data, "members", "data.members"), "data.members");
    }
    if (actor.acting) {
        fresh.created_by = actor.id();
        auto self = std::find_if(specs.begin(), specs.end(), [&](const MemberSpec& s) { return s.user_id == actor.id(); });
        if (self != specs.end()) {
            self->channel_role = "owner";
        } else if (!actor.server) {
            // A user who creates a channel is in it: otherwise they could not even read it.
            specs.push_back(MemberSpec{actor.id(), "owner"});
        }
    }
    fresh.distinct_members = std::move(distinct_members);
    std::vector<std::string> ids;
    for (const auto& s : specs) ids.push_back(s.user_id);
    RequireUsersExist(call, ids, "data.members");

    Outbox outbox;
    PgTransaction tx(call.db());
    auto [row, created] = channels::Create(call.db(), fresh);
    if (created) {
        OpenChannel opened;
        opened.channel = row;
        opened.type = type_row;
        AddMembers(call, opened, specs, false, false, actor, outbox);
        outbox.Persist(call.db());
    }
    tx.Commit();
    outbox.Flush(call.redis());
    auto view = channels::FindViewByPk(call.db(), row.pk, actor.id());
    if (!view) throw NotFound("channel " + cid + " was deleted");
    return StandingIn(call, std::move(*view), actor);
}

// The reply of a channel query: watch first, then read the state (realtime.h says why).
Reply ChannelQueryReply(Call& call, const Actor& actor, OpenChannel open, const JsonValue& body) {
    bool watch = json::OptBool(body, "watch", "watch").value_or(false);
    bool presence = json::OptBool(body, "presence", "presence").value_or(false);
    bool state = json::OptBool(body, "state", "state").value_or(true);
    if (watch) WatchForCaller(call, actor, {open.channel.cid});

    StateOptions options;
    const JsonValue* messages = json::OptObject(body, "messages", "messages");
    // Without messages.limit the client counts on up to 100 messages (STREAM-PROTOCOL.md §6).
    options.paging = Paging::FromJson(messages, 100, 300);
    if (const JsonValue* m = json::OptObject(body, "members", "members")) {
        options.member_limit = BodyInt(*m, "limit", "members.limit", 100, 0, 300);
        options.member_offset = BodyInt(*m, "offset", "members.offset", 0, 0, 100000);
    }
    if (const JsonValue* w = json::OptObject(body, "watchers", "watchers"))
        options.watcher_limit = BodyInt(*w, "limit", "watchers.limit", 25, 0, 300);
    if (!state) {
        options.paging->limit = 0;
        options.member_limit = 0;
    }
    // A watcher with presence follows the first 100 members' presence.
    if (presence && watch) options.presence_members = 100;
    ChannelStates states;
    states.Load(call, actor, {std::move(open)}, options);
    if (presence && watch) FollowPresence(call, actor, states.presence_ids());
    JsonBuffer buf;
    JsonWriter w(buf);
    states.Write(w, 0);
    return Reply::Json(JsonText(buf));
}

std::optional<std::string_view> CreatorNamed(const JsonValue* data) {
    if (data == nullptr) return std::nullopt;
    if (auto id = json::OptString(*data, "created_by_id", "data.created_by_id")) return id;
    if (const JsonValue* by = json::OptObject(*data, "created_by", "data.created_by"))
        return json::OptString(*by, "id", "data.created_by.id");
    return std::nullopt;
}

}  // namespace

// POST /api/channels/{type}/{id}/query/
Reply HandleChannelQuery(Call& call) {
    auto [type, id] = ChannelPath(call);
    auto body = ParseJsonObject(call.request().body);
    const JsonValue* data = json::OptObject(body, "data", "data");
    auto [actor, view] = LoadActorWithView(call, CreatorNamed(data) ? CreatorNamed(data) : NamedUser(body), false,
                                           type + ":" + id);
    OpenChannel open = GetOrCreate(call, actor, type, id, data, std::nullopt, std::move(view));
    return ChannelQueryReply(call, actor, std::move(open), body);
}

// POST /api/channels/{type}/query/: the distinct channel of exactly these members.
Reply HandleDistinctChannelQuery(Call& call) {
    const std::string& type = call.Param("type");
    if (!IsValidChannelType(type)) throw BadRequest("channel type must match [A-Za-z0-9_-]{1,64}", "type");
    auto body = ParseJsonObject(call.request().body);
    const JsonValue* data = json::OptObject(body, "data", "data");
    Actor actor = LoadActor(call, CreatorNamed(data) ? CreatorNamed(data) : NamedUser(body), false);
    auto specs = ParseMemberList(data ? json::OptArray(*data, "members", "data.members") : nullptr, "data.members");
    if (specs.empty()) throw BadRequest("a channel without an id needs data.members", "data.members");
    std::vector<std::string> ids;
    for (const auto& s : specs) ids.push_back(s.user_id);
    if (actor.acting && !actor.server && std::find(ids.begin(), ids.end(), actor.id()) == ids.end())
        ids.push_back(actor.id());
    std::sort(ids.begin(), ids.end());
    std::string distinct_id = DistinctId(ids);
    auto existing = channels::FindView(call.db(), type + ":" + distinct_id, actor.id());
    OpenChannel open = GetOrCreate(call, actor, type, distinct_id, data, ids, std::move(existing));
    return ChannelQueryReply(call, actor, std::move(open), body);
}

// POST /api/channels/
Reply HandleQueryChannels(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    Actor actor = LoadActor(call, NamedUser(body), false);
    int limit = BodyInt(body, "limit", "limit", 10, 0, 30);
    int offset = BodyInt(body, "offset", "offset", 0, 0, 10000);
    int message_limit = BodyInt(body, "message_limit", "message_limit", 25, 0, 300);
    int member_limit = BodyInt(body, "member_limit", "member_limit", 100, 0, 300);
    bool watch = json::OptBool(body, "watch", "watch").value_or(false);
    bool presence = json::OptBool(body, "presence", "presence").value_or(false);
    bool state = json::OptBool(body, "state", "state").value_or(true);

    PgParams params;
    params.Add(actor.id());  // $1
    FilterCompiler filter(params);
    AddChannelFilterFields(filter);
    const JsonValue* filter_json = json::OptObject(body, "filter_conditions", "filter_conditions");
    std::string where = filter.Compile(filter_json);

    SortCompiler sort;
    AddChannelSortFields(sort);
    std::string order = sort.Compile(json::OptArray(body, "sort", "sort"),
                                     "greatest(c.last_message_at, c.created_at) DESC NULLS LAST", "c.pk DESC");

    std::string visible = ChannelVisibleSql(actor.admin());
    // Hidden channels stay out unless the filter asks about them.
    std::string hidden = filter.Mentions("hidden") ? "TRUE" : "NOT coalesce(me.hidden, false)";
    params.Add(limit);
    std::string limit_param = "$" + std::to_string(params.values().size());
    params.Add(offset);
    std::string offset_param = "$" + std::to_string(params.values().size());
    std::string page = "SELECT c.pk FROM channels c JOIN channel_types ct ON ct.name = c.type "
                       SB_JOIN_OWN_MEMBER("me", "$1")
                       "WHERE " + visible + " AND " + hidden + " AND " + where +
                       " ORDER BY " + order + " LIMIT " + limit_param + " OFFSET " + offset_param;

    std::vector<OpenChannel> opened;
    std::vector<std::string> cids;
    // The page and every channel's view (membership, ban) in one statement.
    for (auto& view : channels::FindViewsSelected(call.db(), page, params)) {
        std::string cid = view.channel.cid;
        try {
            opened.push_back(StandingIn(call, std::move(view), actor));
            cids.push_back(cid);
        } catch (const ApiError&) {
            // The filter's visibility rule and the actor's standing disagree: left out, not a 403.
        }
    }
    if (watch) WatchForCaller(call, actor, cids);

    StateOptions options;
    options.message_limit = state ? message_limit : 0;
    options.member_limit = state ? member_limit : 0;
    if (presence && watch) options.presence_members = 100;  // as for one channel
    ChannelStates states;
    states.Load(call, actor, std::move(opened), options);
    if (presence && watch) FollowPresence(call, actor, states.presence_ids());

    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "channels");
    w.StartArray();
    for (size_t i = 0; i < states.size(); ++i) states.Write(w, i);
    w.EndArray();
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// POST /api/channels/{type}/{id}/stop-watching/
Reply HandleStopWatching(Call& call) {
    auto [type, id] = ChannelPath(call);
    Actor actor = LoadActor(call, std::nullopt, false);
    std::string cid = type + ":" + id;
    auto connection_id = call.Query("connection_id");
    if (connection_id && !connection_id->empty() && !actor.id().empty()) {
        UnwatchOutcome out = UnwatchChannels(call.redis(), std::string(*connection_id), actor.id(), {cid});
        Outbox outbox;
        UserDirectory users;
        users.Put(actor.user, true);
        for (const auto& [stopped_cid, count] : out.announce_stop) {
            Event e("user.watching.stop", stopped_cid, NowMicros());
            e.User(users, actor.id());
            PutInt(e.w(), "watcher_count", count);
            outbox.Publish(keys::ChannelTopic(stopped_cid), e.Done());
        }
        outbox.Flush(call.redis());
    }
    return EmptyReply();
}

namespace {

// The reply of channel updates: {"channel", "members", "message"?}.
Reply ChannelUpdateReply(Call& call, const Actor& actor, const std::string& cid) {
    auto view = channels::FindView(call.db(), cid, actor.id());
    if (!view) throw NotFound("channel " + cid + " does not exist");
    OpenChannel open;
    try {
        open = StandingIn(call, *view, actor);
    } catch (const ApiError& e) {
        // A member who has just left (or rejected an invite) can no longer read a members-only
        // channel, yet its own update succeeded: it gets the reply, with no capabilities.
        if (e.http_status() != 403 || view->membership) throw;
        open.type = channels::FindType(call.db(), view->channel.type);
        open.channel = std::move(view->channel);
    }
    members::MemberQuery q;
    auto rows = members::List(call.db(), open.channel.pk, q);
    UserDirectory users;
    for (const auto& m : rows) users.Want(m.user_id);
    if (open.channel.created_by) users.Want(*open.channel.created_by);
    users.Load(call.db(), call.redis());
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "channel");
    bool hidden = open.membership && open.membership->hidden;
    WriteChannel(w, open.channel, *open.type, users, &open.caps, &hidden);
    PutKey(w, "members");
    w.StartArray();
    for (const auto& m : rows) WriteMember(w, m, users);
    w.EndArray();
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

std::vector<std::string> IdsOf(const std::vector<MemberSpec>& specs) {
    std::vector<std::string> ids;
    for (const auto& s : specs) ids.push_back(s.user_id);
    return ids;
}

}  // namespace

// POST /api/channels/{type}/{id}/: full update and member management.
Reply HandleUpdateChannel(Call& call) {
    auto [type, id] = ChannelPath(call);
    auto body = ParseJsonObject(call.request().body);
    auto [actor, open] = LoadActorIn(call, NamedUser(body), false, type, id);
    const JsonValue* data = json::OptObject(body, "data", "data");
    auto add = ParseMemberList(json::OptArray(body, "add_members", "add_members"), "add_members");
    auto invites = ParseMemberList(json::OptArray(body, "invites", "invites"), "invites");
    auto remove = ParseMemberList(json::OptArray(body, "remove_members", "remove_members"), "remove_members");
    auto promote = ParseMemberList(json::OptArray(body, "add_moderators", "add_moderators"), "add_moderators");
    auto demote = ParseMemberList(json::OptArray(body, "demote_moderators", "demote_moderators"), "demote_moderators");
    bool accept = json::OptBool(body, "accept_invite", "accept_invite").value_or(false);
    bool reject = json::OptBool(body, "reject_invite", "reject_invite").value_or(false);
    bool hide_history = json::OptBool(body, "hide_history", "hide_history").value_or(false);

    if (data != nullptr) RequireCapability(open.caps, "update-channel");
    // The SDK's enableSlowMode() / disableSlowMode() send {"cooldown": n} next to data, not in it.
    std::optional<int> slow_mode;
    if (auto c = json::OptInt(body, "cooldown", "cooldown")) {
        RequireCapability(open.caps, "set-channel-cooldown");
        if (*c < 0 || *c > 120) throw BadRequest("cooldown must be 0 to 120 seconds", "cooldown");
        slow_mode = static_cast<int>(*c);
    }
    if (!add.empty() || !invites.empty() || !promote.empty() || !demote.empty())
        RequireCapability(open.caps, "update-channel-members");
    // Leaving is removing oneself: that needs leave-channel, removing others update-channel-members.
    for (const auto& r : remove) {
        RequireCapability(open.caps, r.user_id == actor.id() ? "leave-channel" : "update-channel-members");
    }
    if ((accept || reject) && (!open.membership || !open.membership->invited))
        throw BadRequest("there is no pending invite for you in this channel", "accept_invite");
    RequireUsersExist(call, IdsOf(add), "add_members");
    RequireUsersExist(call, IdsOf(invites), "invites");

    Outbox outbox;
    PgTransaction tx(call.db());
    bool channel_changed = false;
    ChannelRow channel = open.channel;
    if (data != nullptr) {
        channels::ChannelChange change;
        change.replace_custom = true;
        change.custom_set_json = CustomData(data);
        change.name = BoundedString(*data, "name", "data.name", 500);
        change.image = BoundedString(*data, "image", "data.image", 2000);
        if (json::Find(*data, "team")) change.team = BoundedString(*data, "team", "data.team", 200);
        if (auto frozen = json::OptBool(*data, "frozen", "data.frozen")) {
            RequireCapability(open.caps, "freeze-channel");
            change.frozen = frozen;
        }
        if (auto cooldown = json::OptInt(*data, "cooldown", "data.cooldown")) {
            RequireCapability(open.caps, "set-channel-cooldown");
            if (*cooldown < 0 || *cooldown > 120) throw BadRequest("cooldown must be 0 to 120 seconds", "data.cooldown");
            change.cooldown = static_cast<int>(*cooldown);
        }
        channel = channels::Update(call.db(), open.channel.pk, change);
        channel_changed = true;
    }
    if (slow_mode) {
        channels::ChannelChange change;
        change.cooldown = slow_mode;
        channel = channels::Update(call.db(), open.channel.pk, change);
        channel_changed = true;
    }
    AddMembers(call, open, add, hide_history, false, actor, outbox);
    AddMembers(call, open, invites, hide_history, true, actor, outbox);
    RemoveMembers(call, open, IdsOf(remove), actor, outbox);
    std::vector<MemberRow> changed;
    for (const auto& p : promote) {
        if (auto m = members::SetRole(call.db(), open.channel.pk, p.user_id, "channel_moderator")) changed.push_back(*m);
    }
    for (const auto& d : demote) {
        if (auto m = members::SetRole(call.db(), open.channel.pk, d.user_id, "channel_member")) changed.push_back(*m);
    }
    if (accept || reject) {
        members::MemberChange c;
        c.invite_accepted = accept;
        if (auto m = members::Update(call.db(), open.channel.pk, actor.id(), c)) changed.push_back(*m);
        if (reject) RemoveMembers(call, open, {actor.id()}, actor, outbox);
    }
    if (!changed.empty()) {
        UserDirectory users;
        for (const auto& m : changed) users.Want(m.user_id);
        users.Want(actor.id());
        users.Load(call.db(), call.redis());
        int64_t seq = channels::ReserveEventSeq(call.db(), open.channel.pk, static_cast<int>(changed.size()));
        for (const auto& m : changed) {
            Event e("member.updated", open.channel.cid, NowMicros());
            if (actor.acting) e.User(users, actor.id());
            PutKey(e.w(), "member");
            WriteMember(e.w(), m, users);
            e.Seq(seq);
            outbox.Channel(open.channel.pk, open.channel.cid, seq++, "member.updated", e.Done());
        }
    }
    if (!add.empty() || !invites.empty() || !remove.empty()) {
        channel = *channels::Find(call.db(), open.channel.cid);
        channel_changed = true;
    }
    if (channel_changed) QueueChannelEvent(call, "channel.updated", channel, *open.type, actor, outbox);
    outbox.Persist(call.db());
    tx.Commit();
    outbox.Flush(call.redis());
    if (!add.empty() || !invites.empty() || !remove.empty() || reject) ForgetMembers(call.redis(), open.channel.cid);
    return ChannelUpdateReply(call, actor, open.channel.cid);
}

// PATCH /api/channels/{type}/{id}/: {"set": {...}, "unset": [...]}
Reply HandlePartialUpdateChannel(Call& call) {
    auto [type, id] = ChannelPath(call);
    auto body = ParseJsonObject(call.request().body);
    auto [actor, open] = LoadActorIn(call, NamedUser(body), false, type, id);
    RequireCapability(open.caps, "update-channel");
    const JsonValue* set = json::OptObject(body, "set", "set");
    const JsonValue* unset = json::OptArray(body, "unset", "unset");
    channels::ChannelChange change;
    if (set != nullptr) {
        if (json::Find(*set, "name")) change.name = BoundedString(*set, "name", "set.name", 500);
        if (json::Find(*set, "image")) change.image = BoundedString(*set, "image", "set.image", 2000);
        if (json::Find(*set, "team")) change.team = BoundedString(*set, "team", "set.team", 200);
        if (auto frozen = json::OptBool(*set, "frozen", "set.frozen")) {
            RequireCapability(open.caps, "freeze-channel");
            change.frozen = frozen;
        }
        if (auto cooldown = json::OptInt(*set, "cooldown", "set.cooldown")) {
            RequireCapability(open.caps, "set-channel-cooldown");
            if (*cooldown < 0 || *cooldown > 120) throw BadRequest("cooldown must be 0 to 120 seconds", "set.cooldown");
            change.cooldown = static_cast<int>(*cooldown);
        }
        change.custom_set_json = CustomData(set);
    }
    if (unset != nullptr) {
        for (const auto& k : unset->GetArray()) {
            if (!k.IsString()) throw BadRequest("unset must list field names", "unset");
            std::string_view key(k.GetString(), k.GetStringLength());
            if (key == "name") change.name = std::optional<std::string>();
            else if (key == "image") change.image = std::optional<std::string>();
            else if (key == "team") change.team = std::optional<std::string>();
            else if (!IsReservedChannelDataKey(key)) change.custom_unset.emplace_back(key);
        }
    }
    Outbox outbox;
    PgTransaction tx(call.db());
    ChannelRow channel = channels::Update(call.db(), open.channel.pk, change);
    QueueChannelEvent(call, "channel.updated", channel, *open.type, actor, outbox);
    outbox.Persist(call.db());
    tx.Commit();
    outbox.Flush(call.redis());
    return ChannelUpdateReply(call, actor, open.channel.cid);
}

// DELETE /api/channels/{type}/{id}/
Reply HandleDeleteChannel(Call& call) {
    auto [type, id] = ChannelPath(call);
    auto [actor, open] = LoadActorIn(call, call.Query("user_id"), false, type, id);
    RequireCapability(open.caps, "delete-channel");
    auto member_ids = members::UserIds(call.db(), open.channel.pk);
    UserDirectory users;
    users.Want(actor.id());
    if (open.channel.created_by) users.Want(*open.channel.created_by);
    users.Load(call.db(), call.redis());
    int64_t now = NowMicros();
    // Deleting a channel deletes its messages, members, event log and uploaded files with it.
    std::vector<UploadRow> files;
    {
        PgTransaction tx(call.db());
        files = uploads::DeleteForChannel(call.db(), open.channel.pk);
        channels::Delete(call.db(), open.channel.pk);
        tx.Commit();
    }
    RemoveUploadFiles(call, files);
    Outbox outbox;
    std::string channel_json;
    {
        JsonBuffer b;
        JsonWriter cw(b);
        WriteChannel(cw, open.channel, *open.type, users, nullptr, nullptr);
        channel_json = JsonText(b);
        channel_json.insert(channel_json.size() - 1, ",\"deleted_at\":\"" + FormatTimestamp(now) + "\"");
    }
    Event e("channel.deleted", open.channel.cid, now);
    if (actor.acting) e.User(users, actor.id());
    PutRaw(e.w(), "channel", channel_json);
    outbox.Publish(keys::ChannelTopic(open.channel.cid), e.Done());
    for (const auto& m : member_ids) {
        Event n("notification.channel_deleted", open.channel.cid, now);
        PutRaw(n.w(), "channel", channel_json);
        outbox.Publish(keys::UserTopic(m), n.Done());
    }
    outbox.Flush(call.redis());
    ForgetMembers(call.redis(), open.channel.cid);
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutRaw(w, "channel", channel_json);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// POST /api/channels/{type}/{id}/truncate/
Reply HandleTruncateChannel(Call& call) {
    auto [type, id] = ChannelPath(call);
    auto body = ParseJsonObject(call.request().body);
    auto [actor, open] = LoadActorIn(call, NamedUser(body), false, type, id);
    RequireCapability(open.caps, "update-channel");
    bool hard = json::OptBool(body, "hard_delete", "hard_delete").value_or(false);
    int64_t at = NowMicros();
    if (auto text = json::OptString(body, "truncated_at", "truncated_at")) {
        auto t = ParseTimestamp(*text);
        if (!t) throw BadRequest("truncated_at must be an RFC 3339 time", "truncated_at");
        at = std::min(*t, at);
    }
    Outbox outbox;
    PgTransaction tx(call.db());
    ChannelRow channel = channels::Truncate(call.db(), open.channel.pk, at, hard);
    QueueChannelEvent(call, "channel.truncated", channel, *open.type, actor, outbox);
    outbox.Persist(call.db());
    tx.Commit();
    outbox.Flush(call.redis());
    UserDirectory users;
    if (channel.created_by) users.Want(*channel.created_by);
    users.Load(call.db(), call.redis());
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "channel");
    WriteChannel(w, channel, *open.type, users, &open.caps, nullptr);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

namespace {
Reply SetHidden(Call& call, bool hide) {
    auto [type, id] = ChannelPath(call);
    auto body = ParseJsonObject(call.request().body);
    auto [actor, open] = LoadActorIn(call, NamedUser(body), true, type, id);
    if (!open.membership) throw BadRequest("only members can hide or show a channel", "user_id");
    bool clear = hide && json::OptBool(body, "clear_history", "clear_history").value_or(false);
    members::MemberChange change;
    change.hidden = hide;
    if (clear) change.history_cleared_at = NowMicros();
    members::Update(call.db(), open.channel.pk, actor.id(), change);
    UserDirectory users;
    users.Put(actor.user, true);
    if (open.channel.created_by) users.Want(*open.channel.created_by);
    users.Load(call.db(), call.redis());
    Event e(hide ? "channel.hidden" : "channel.visible", open.channel.cid, NowMicros());
    e.User(users, actor.id());
    PutKey(e.w(), "channel");
    WriteChannel(e.w(), open.channel, *open.type, users, nullptr, &hide);
    if (hide) PutBool(e.w(), "clear_history", clear);
    Outbox outbox;
    outbox.Publish(keys::UserTopic(actor.id()), e.Done());
    outbox.Flush(call.redis());
    return EmptyReply();
}
}  // namespace

// POST /api/channels/{type}/{id}/hide/ and /show/
Reply HandleHideChannel(Call& call) { return SetHidden(call, true); }
Reply HandleShowChannel(Call& call) { return SetHidden(call, false); }

// PATCH /api/channels/{type}/{id}/member/{user_id}/ and .../member/?user_id=: the caller's own pin
// and archive.
Reply HandleUpdateMember(Call& call) {
    auto [type, id] = ChannelPath(call);
    auto body = ParseJsonObject(call.request().body);
    // The user in the path, or (the SDK's updateMemberPartial) in the query.
    std::string user_id = call.HasParam("user_id") ? call.Param("user_id") : std::string(call.Query("user_id").value_or(""));
    if (user_id.empty()) throw BadRequest("user_id is required", "user_id");
    Actor actor = LoadActor(call, user_id, true);
    if (actor.id() != user_id && !actor.admin()) throw Forbidden("you can only change your own membership");
    OpenChannel open = OpenForActor(call, type, id, actor);
    if (!open.membership) throw NotFound("user " + user_id + " is not a member of this channel");
    members::MemberChange change;
    if (const JsonValue* set = json::OptObject(body, "set", "set")) {
        change.pinned = json::OptBool(*set, "pinned", "set.pinned");
        change.archived = json::OptBool(*set, "archived", "set.archived");
        change.notifications_muted = json::OptBool(*set, "notifications_muted", "set.notifications_muted");
    }
    if (const JsonValue* unset = json::OptArray(body, "unset", "unset")) {
        for (const auto& k : unset->GetArray()) {
            if (!k.IsString()) throw BadRequest("unset must list field names", "unset");
            std::string_view key = k.GetString();
            if (key == "pinned") change.pinned = false;
            if (key == "archived") change.archived = false;
        }
    }
    auto member = members::Update(call.db(), open.channel.pk, user_id, change);
    if (!member) throw NotFound("user " + user_id + " is not a member of this channel");
    UserDirectory users;
    users.Put(actor.user, true);
    Event e("member.updated", open.channel.cid, NowMicros());
    e.User(users, actor.id());
    PutKey(e.w(), "member");
    WriteMember(e.w(), *member, users);
    Outbox outbox;
    // Pin and archive are the member's own view of the list: their sockets only.
    outbox.Publish(keys::UserTopic(user_id), e.Done());
    outbox.Flush(call.redis());
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "channel_member");
    WriteMember(w, *member, users);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// GET /api/members/?payload={"type","id","filter_conditions","sort","limit","offset"}
Reply HandleQueryMembers(Call& call) {
    auto payload = QueryJson(call, "payload");
    Actor actor = LoadActor(call, NamedUser(payload), false);
    std::string type(json::RequireString(payload, "type", "type"));
    std::string id(json::OptString(payload, "id", "id").value_or(""));
    OpenChannel open;
    if (!id.empty()) {
        open = OpenForActor(call, type, id, actor);
    } else {
        // Distinct channels are named by their members instead.
        auto specs = ParseMemberList(json::OptArray(payload, "members", "members"), "members");
        std::vector<std::string> ids = IdsOf(specs);
        std::sort(ids.begin(), ids.end());
        auto row = channels::FindDistinct(call.db(), type, ids);
        if (!row) throw NotFound("no channel with these members");
        open = StandingIn(call, *channels::FindViewByPk(call.db(), row->pk, actor.id()), actor);
    }
    int limit = BodyInt(payload, "limit", "limit", 100, 0, 300);
    int offset = BodyInt(payload, "offset", "offset", 0, 0, 100000);

    PgParams params;
    params.Add(open.channel.pk);  // $1
    FilterCompiler filter(params);
    filter.AddField("id", "m.user_id", FilterCompiler::Kind::kText);
    filter.AddField("user_id", "m.user_id", FilterCompiler::Kind::kText);
    filter.AddField("name", "u.name", FilterCompiler::Kind::kText);
    filter.AddField("channel_role", "m.channel_role", FilterCompiler::Kind::kText);
    filter.AddField("created_at", "m.created_at", FilterCompiler::Kind::kTime);
    filter.AddField("updated_at", "m.updated_at", FilterCompiler::Kind::kTime);
    filter.AddField("invite", "CASE WHEN m.invite_accepted_at IS NOT NULL THEN 'accepted' WHEN m.invite_rejected_at "
                              "IS NOT NULL THEN 'rejected' WHEN m.invited THEN 'pending' ELSE 'member' END",
                    FilterCompiler::Kind::kText);
    filter.AddSpecial("banned", [](FilterCompiler& f, std::string_view op, const JsonValue& v) -> std::string {
        if (op != "$eq") throw BadRequest("banned supports only $eq", "filter_conditions.banned");
        return "(b.user_id IS NOT NULL AND (b.expires IS NULL OR b.expires > now())) = " +
               f.Bind(FilterCompiler::BoolValue(v, "banned") ? "true" : "false", "boolean");
    });
    const JsonValue* filter_json = json::OptObject(payload, "filter_conditions", "filter_conditions");
    std::string where = filter.Compile(filter_json);
    SortCompiler sort;
    sort.AddField("user_id", "m.user_id");
    sort.AddField("created_at", "m.created_at");
    sort.AddField("updated_at", "m.updated_at");
    sort.AddField("name", "u.name");
    std::string order = sort.Compile(json::OptArray(payload, "sort", "sort"), "m.created_at ASC", "m.user_id ASC");
    params.Add(limit);
    std::string lp = "$" + std::to_string(params.values().size());
    params.Add(offset);
    std::string op = "$" + std::to_string(params.values().size());
    std::string sql = "SELECT " SB_MEMBER_COLUMNS
                      " FROM members m JOIN users u ON u.id = m.user_id "
                      "LEFT JOIN channel_bans b ON b.channel_pk = m.channel_pk AND b.user_id = m.user_id "
                      "WHERE m.channel_pk = $1 AND " + where + " ORDER BY " + order + " LIMIT " + lp + " OFFSET " + op;
    PgResult rows = call.db().RunDynamic(sql, params);
    std::vector<MemberRow> list;
    UserDirectory users;
    for (int i = 0; i < rows.rows(); ++i) {
        if (auto m = ReadMember(rows, i, 0)) {
            users.Want(m->user_id);
            list.push_back(std::move(*m));
        }
    }
    users.Load(call.db(), call.redis());
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "members");
    w.StartArray();
    for (const auto& m : list) WriteMember(w, m, users);
    w.EndArray();
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

}  // namespace streambed
