#include "fcgi-app/handlers/membership.h"

#include <algorithm>
#include <unordered_set>

#include "common/clock.h"
#include "common/errors.h"
#include "common/keys.h"
#include "fcgi-app/event.h"
#include "fcgi-app/realtime.h"
#include "fcgi-app/store/channels.h"

namespace streambed {

namespace {
const PgStatement kExistingUsers{"users_existing", "SELECT id FROM users WHERE id = ANY($1::text[])"};

bool ValidChannelRole(std::string_view role) {
    return role == "channel_member" || role == "channel_moderator" || role == "owner";
}
}  // namespace

std::vector<MemberSpec> ParseMemberList(const JsonValue* list, std::string_view field) {
    std::vector<MemberSpec> out;
    if (list == nullptr || list->IsNull()) return out;
    if (!list->IsArray()) throw BadRequest(std::string(field) + " must be a list of user ids", std::string(field));
    if (list->Size() > 100) throw BadRequest(std::string(field) + " lists at most 100 users", std::string(field));
    std::unordered_set<std::string> seen;
    for (const auto& item : list->GetArray()) {
        MemberSpec spec;
        if (item.IsString()) {
            spec.user_id = item.GetString();
        } else if (item.IsObject()) {
            spec.user_id = std::string(json::RequireString(item, "user_id", std::string(field) + ".user_id"));
            if (auto role = json::OptString(item, "channel_role", std::string(field) + ".channel_role")) {
                if (!ValidChannelRole(*role))
                    throw BadRequest("channel_role must be channel_member, channel_moderator or owner", std::string(field));
                spec.channel_role = std::string(*role);
            }
        } else {
            throw BadRequest(std::string(field) + " must be a list of user ids", std::string(field));
        }
        if (!IsValidUserId(spec.user_id)) throw BadRequest(std::string(field) + " has an invalid user id", std::string(field));
        if (seen.insert(spec.user_id).second) out.push_back(std::move(spec));
    }
    return out;
}

void RequireUsersExist(Call& call, const std::vector<std::string>& user_ids, std::string_view field) {
    if (user_ids.empty()) return;
    PgResult r = call.db().Run(kExistingUsers, PgParams().AddArray(user_ids));
    std::unordered_set<std::string> found;
    for (int i = 0; i < r.rows(); ++i) found.emplace(r.Str(i, 0));
    std::string missing;
    for (const auto& id : user_ids) {
        if (found.count(id) == 0) missing += (missing.empty() ? "" : ", ") + id;
    }
    if (!missing.empty())
        throw BadRequest("the following users are specified in " + std::string(field) + " but don't exist: " + missing,
                         std::string(field));
}

std::vector<MemberRow> AddMembers(Call& call, const OpenChannel& open, const std::vector<MemberSpec>& specs,
                                  bool hide_history, bool invited, const Actor& actor, Outbox& outbox) {
    std::vector<MemberRow> added;
    // One insert per role: roles are few, members many.
    std::vector<std::string> roles;
    for (const auto& s : specs) {
        if (std::find(roles.begin(), roles.end(), s.channel_role) == roles.end()) roles.push_back(s.channel_role);
    }
    for (const auto& role : roles) {
        std::vector<std::string> ids;
        for (const auto& s : specs) {
            if (s.channel_role == role) ids.push_back(s.user_id);
        }
        auto rows = members::Add(call.db(), open.channel.pk, ids, role, hide_history, invited);
        added.insert(added.end(), rows.begin(), rows.end());
    }
    if (added.empty()) return added;

    auto channel = channels::Find(call.db(), open.channel.cid);  // fresh member_count
    UserDirectory users;
    for (const auto& m : added) users.Want(m.user_id);
    users.Want(actor.id());
    if (channel && channel->created_by) users.Want(*channel->created_by);
    users.Load(call.db(), call.redis());
    int64_t seq = channels::ReserveEventSeq(call.db(), open.channel.pk, static_cast<int>(added.size()));
    int64_t now = NowMicros();
    for (const auto& m : added) {
        Event e("member.added", open.channel.cid, now);
        if (actor.acting) e.User(users, actor.id());
        PutKey(e.w(), "member");
        WriteMember(e.w(), m, users);
        e.Seq(seq);
        outbox.Channel(open.channel.pk, open.channel.cid, seq++, "member.added", e.Done());

        // The added user's channel list inserts the channel from this event, with their own rights.
        Event n("notification.added_to_channel", open.channel.cid, now);
        if (actor.acting) n.User(users, actor.id());
        PutKey(n.w(), "channel");
        Standing standing;
        standing.member = true;
        standing.channel_role = m.channel_role;
        if (const UserRow* u = users.Find(m.user_id)) standing.admin = u->role == "admin";
        auto caps = Capabilities(*open.type, channel ? *channel : open.channel, standing);
        WriteChannel(n.w(), channel ? *channel : open.channel, *open.type, users, &caps, nullptr);
        PutKey(n.w(), "member");
        WriteMember(n.w(), m, users);
        outbox.Publish(keys::UserTopic(m.user_id), n.Done());
    }
    return added;
}

std::vector<std::string> RemoveMembers(Call& call, const OpenChannel& open, const std::vector<std::string>& user_ids,
                                       const Actor& actor, Outbox& outbox) {
    auto removed = members::Remove(call.db(), open.channel.pk, user_ids);
    if (removed.empty()) return removed;
    UserDirectory users;
    users.Want(removed);
    users.Want(actor.id());
    users.Load(call.db(), call.redis());
    int64_t seq = channels::ReserveEventSeq(call.db(), open.channel.pk, static_cast<int>(removed.size()));
    int64_t now = NowMicros();
    for (const auto& id : removed) {
        // The client keys member.removed off event.user: the user who left, not who removed them.
        Event e("member.removed", open.channel.cid, now);
        e.User(users, id);
        PutKey(e.w(), "member");
        e.w().StartObject();
        PutString(e.w(), "user_id", id);
        PutKey(e.w(), "user");
        WriteUserById(e.w(), users, id);
        e.w().EndObject();
        e.Seq(seq);
        outbox.Channel(open.channel.pk, open.channel.cid, seq++, "member.removed", e.Done());

        Event n("notification.removed_from_channel", open.channel.cid, now);
        n.User(users, id);
        PutKey(n.w(), "channel");
        n.w().StartObject();
        PutString(n.w(), "cid", open.channel.cid);
        PutString(n.w(), "id", open.channel.id);
        PutString(n.w(), "type", open.channel.type);
        n.w().EndObject();
        outbox.Publish(keys::UserTopic(id), n.Done());
    }
    return removed;
}

void QueueChannelEvent(Call& call, const std::string& type, const ChannelRow& channel, const ChannelTypeRow& channel_type,
                       const Actor& actor, Outbox& outbox) {
    UserDirectory users;
    users.Want(actor.id());
    if (channel.created_by) users.Want(*channel.created_by);
    users.Load(call.db(), call.redis());
    int64_t seq = channels::ReserveEventSeq(call.db(), channel.pk, 1);
    Event e(type, channel.cid, NowMicros());
    if (actor.acting) e.User(users, actor.id());
    PutKey(e.w(), "channel");
    WriteChannel(e.w(), channel, channel_type, users, nullptr, nullptr);
    e.Seq(seq);
    outbox.Channel(channel.pk, channel.cid, seq, type, e.Done());
}

void WatchForCaller(Call& call, const Actor& actor, const std::vector<std::string>& cids) {
    auto connection_id = call.Query("connection_id");
    if (!connection_id || connection_id->empty() || cids.empty() || actor.id().empty()) return;
    WatchOutcome watched = WatchChannels(call.redis(), std::string(*connection_id), actor.id(), cids, {});
    if (watched.announce_start.empty()) return;
    UserDirectory users;
    users.Put(actor.user, true);
    Outbox outbox;
    int64_t now = NowMicros();
    for (const auto& cid : watched.announce_start) {
        Event e("user.watching.start", cid, now);
        e.User(users, actor.id());
        PutInt(e.w(), "watcher_count", watched.watcher_counts[cid]);
        outbox.Publish(keys::ChannelTopic(cid), e.Done());
    }
    outbox.Flush(call.redis());
}

void FollowPresence(Call& call, const Actor& actor, const std::vector<std::string>& user_ids) {
    auto connection_id = call.Query("connection_id");
    if (!connection_id || connection_id->empty() || user_ids.empty() || actor.id().empty()) return;
    WatchChannels(call.redis(), std::string(*connection_id), actor.id(), {}, user_ids);
}

}  // namespace streambed
