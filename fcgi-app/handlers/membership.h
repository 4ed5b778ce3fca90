#pragma once
// Membership changes shared by channel creation, updates and the member routes: adding and
// removing members with their events (member.added/removed to watchers, notification.* to the
// users concerned), and the watch side of channel queries (user.watching.start).

#include <string>
#include <vector>

#include "fcgi-app/call.h"
#include "fcgi-app/handlers/support.h"
#include "fcgi-app/outbox.h"

namespace streambed {

struct MemberSpec {
    std::string user_id;
    std::string channel_role = "channel_member";
};
// ["alice", {"user_id": "bob", "channel_role": "channel_moderator"}, ...]: ids validated, at most 100.
std::vector<MemberSpec> ParseMemberList(const JsonValue* list, std::string_view field);
// 400 naming the users that do not exist (getstream.io refuses unknown members too).
void RequireUsersExist(Call& call, const std::vector<std::string>& user_ids, std::string_view field);

// Adds members inside the caller's transaction and queues their events. Returns the new rows.
std::vector<MemberRow> AddMembers(Call& call, const OpenChannel& channel, const std::vector<MemberSpec>& specs,
                                  bool hide_history, bool invited, const Actor& actor, Outbox& outbox);
// Removes members inside the caller's transaction and queues their events.
std::vector<std::string> RemoveMembers(Call& call, const OpenChannel& channel, const std::vector<std::string>& user_ids,
                                       const Actor& actor, Outbox& outbox);

// channel.updated (or channel.truncated) to watchers: the complete channel, without the per-user
// own_capabilities and hidden (the client keeps its own copies of those).
void QueueChannelEvent(Call& call, const std::string& type, const ChannelRow& channel, const ChannelTypeRow& channel_type,
                       const Actor& actor, Outbox& outbox);

// Makes the caller's socket (query connection_id) watch `channels`, and announces new watchers.
void WatchForCaller(Call& call, const Actor& actor, const std::vector<std::string>& cids);
// Subscribes the caller's socket to these users' presence (presence: true).
void FollowPresence(Call& call, const Actor& actor, const std::vector<std::string>& user_ids);

}  // namespace streambed
