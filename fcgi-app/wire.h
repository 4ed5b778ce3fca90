#pragma once
// The wire objects of getstream.io's protocol (STREAM-PROTOCOL.md §3). Each object is written by
// exactly one function here, used by REST replies and by the events alike, so the two can never
// drift apart.

#include <cstdint>
#include <functional>

#include <string_view>
#include <vector>

#include "common/json.h"
#include "fcgi-app/drafts.h"
#include "fcgi-app/hydrate.h"
#include "fcgi-app/model.h"
#include "fcgi-app/store/devices.h"
#include "fcgi-app/store/push.h"
#include "fcgi-app/store/threads.h"
#include "fcgi-app/store/users.h"

namespace streambed {

// UserResponse (§3.1). Custom fields are flattened at the top level. privacy_settings only when
// the user set some, or with `with_privacy` (user.updated: the user's own client keeps the last
// settings it was told of until told otherwise, so clearing them must say so).
void WriteUser(JsonWriter& w, const UserRow& user, bool online, bool with_privacy = false);

// Per-user counters that travel with OwnUserResponse and on several events.
struct UnreadCounts {
    int64_t total_unread_count = 0;
    int64_t unread_channels = 0;
    int64_t unread_threads = 0;
};

// OwnUserResponse (§2.2): UserResponse plus devices, mutes, channel_mutes and counters.
// `mutes_json`, `channel_mutes_json`, `devices_json` and `blocked_json` are JSON arrays.
struct OwnUserExtras {
    UnreadCounts unread;
    std::string devices_json = "[]";
    std::string mutes_json = "[]";
    std::string channel_mutes_json = "[]";
    std::string blocked_user_ids_json = "[]";
};
void WriteOwnUser(JsonWriter& w, const UserRow& user, bool online, const OwnUserExtras& extras);

// A user by id from the directory; a user missing from it (deleted) is written as {"id": id}.
void WriteUserById(JsonWriter& w, const UserDirectory& users, const std::string& user_id);

// ChannelConfig (§3.2): the type's flags plus its name and times.
void WriteChannelConfig(JsonWriter& w, const ChannelTypeRow& type);

// ChannelResponse (§3.2). `caps` is written as own_capabilities unless null (events that replace
// the client's copy wholesale must omit it, so the client keeps its own). `hidden` likewise.
// `members`, when given, go in the channel object (a thread's channel: the SDK takes them from
// there, as the channel states of queries carry them beside it).
void WriteChannel(JsonWriter& w, const ChannelRow& channel, const ChannelTypeRow& type, const UserDirectory& users,
                  const std::vector<std::string_view>* caps, const bool* hidden,
                  const std::vector<const MemberRow*>* members = nullptr);

// ChannelMemberResponse (§3.3).
void WriteMember(JsonWriter& w, const MemberRow& member, const UserDirectory& users);
// ReadResponse (§3.4).
void WriteRead(JsonWriter& w, const MemberRow& member, const UserDirectory& users);
// ReactionResponse (§3.6).
void WriteReaction(JsonWriter& w, const ReactionRow& reaction, const UserDirectory& users);
// MessageResponse (§3.5), with quoted message, reactions and users from the context.
void WriteMessage(JsonWriter& w, const MessageRow& message, const MessageContext& context);

// getstream.io's SharedLocationResponse of a message that has one (m.shared_location_json).
void WriteSharedLocation(JsonWriter& w, const MessageRow& message);

// getstream.io's ReminderResponseData: the reminder's own fields, then whatever `extra` writes
// (the routes add the message and the user; message.reminder has neither).
void WriteReminder(JsonWriter& w, const reminders::ReminderRow& reminder, const std::function<void()>& extra = {});

// getstream.io's PollResponse: settings, options, tallies and the latest votes and answers (their
// users left out in an anonymous poll), with `own` as the reader's own_votes (none: an empty list,
// as in events, which go to every watcher).
void WritePoll(JsonWriter& w, const polls::PollRow& poll, const UserDirectory& users,
               const std::vector<polls::VoteRow>* own);
// PollVoteResponse; `with_user` false leaves out who cast it.
void WritePollVote(JsonWriter& w, const polls::VoteRow& vote, const UserDirectory& users, bool with_user);
// PollOptionResponse (the option routes).
void WritePollOption(JsonWriter& w, const polls::PollRow& poll, const polls::OptionRow& option);
// Keys of a poll or an option that custom data cannot take.
bool IsReservedPollField(std::string_view key);

// ChannelAPIResponse (§3.7): one channel's state for the caller.
struct ChannelState {
    const ChannelRow* channel = nullptr;
    const ChannelTypeRow* type = nullptr;
    std::vector<std::string_view> caps;
    std::vector<const MessageRow*> messages;  // ascending
    std::vector<const MemberRow*> members;
    const MemberRow* membership = nullptr;
    std::vector<const MemberRow*> reads;
    std::vector<std::string> watchers;  // user ids
    int64_t watcher_count = 0;
    std::vector<const MessageRow*> pinned;
    std::string draft_json;  // DraftResponse, or empty
};
void WriteChannelState(JsonWriter& w, const ChannelState& state, const MessageContext& context);

// ThreadResponse (getstream.io's thread list): the thread, its parent message, its newest replies
// (ascending), its first participants and their read state, and the channel as the caller sees it
// (`caps`). `caller`'s read state is always shown; the others' only when their privacy settings
// keep read receipts on, as in a channel's `read`.
struct ThreadView {
    const threads::ThreadRow* thread = nullptr;
    const MessageRow* parent = nullptr;
    const ChannelRow* channel = nullptr;
    const ChannelTypeRow* type = nullptr;
    const std::vector<std::string_view>* caps = nullptr;
    std::vector<const MemberRow*> members;  // the channel's first members
    std::vector<const MessageRow*> replies;
    std::vector<const threads::ParticipantRow*> participants;
    std::string caller;
    const Draft* draft = nullptr;  // the caller's draft of the thread
};
void WriteThread(JsonWriter& w, const ThreadView& view, const MessageContext& context);
// The `thread` of thread.updated: the thread's own fields without the objects it refers to (the
// SDK takes title, times and custom data from it).
void WriteThreadSummary(JsonWriter& w, const threads::ThreadRow& thread, const MessageRow& parent);
// Field names a thread's custom data may not use: the ThreadResponse's own.
bool IsReservedThreadField(std::string_view key);
// A message's own field names: never custom data, neither stored (send, edit) nor written.
bool IsReservedMessageField(std::string_view key);

// Writes the members of a stored JSON object as fields of the object being written, skipping
// names for which `reserved` returns true.
void WriteCustomFields(JsonWriter& w, std::string_view custom_json, bool (*reserved)(std::string_view));

// ---- Push (API.md §3, STREAM-PROTOCOL.md §4.5) ----

// A Web Push subscription as /api/register-subscriptions/ shows it: {"id", "endpoint", "created_at"}.
// The keys are never echoed back.
void WritePushSubscription(JsonWriter& w, const PushSubscriptionRow& subscription);

// getstream.io's Device: {"id", "push_provider", "push_provider_name"?, "user_id", "created_at",
// "disabled", "disabled_reason"?}.
void WriteDevice(JsonWriter& w, const DeviceRow& device);

}  // namespace streambed
