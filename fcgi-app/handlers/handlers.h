#pragma once
// Every handler of streambed-api, grouped by the file that holds it. routes.cpp maps paths to them.

#include "fcgi-app/call.h"
#include "fcgi-app/http.h"

namespace streambed {

// handlers/health.cpp
Reply HandleHealth(Call& call);
Reply HandleHi(Call& call);

// handlers/ws_auth.cpp
Reply HandleWsAuth(Call& call);

// handlers/channels.cpp
Reply HandleQueryChannels(Call& call);
Reply HandleChannelQuery(Call& call);
Reply HandleDistinctChannelQuery(Call& call);
Reply HandleStopWatching(Call& call);
Reply HandleUpdateChannel(Call& call);
Reply HandlePartialUpdateChannel(Call& call);
Reply HandleDeleteChannel(Call& call);
Reply HandleTruncateChannel(Call& call);
Reply HandleHideChannel(Call& call);
Reply HandleShowChannel(Call& call);
Reply HandleUpdateMember(Call& call);
Reply HandleQueryMembers(Call& call);

// handlers/messages.cpp
Reply HandleSendMessage(Call& call);
Reply HandleGetMessage(Call& call);
Reply HandleGetManyMessages(Call& call);
Reply HandleUpdateMessage(Call& call);
Reply HandlePartialUpdateMessage(Call& call);
Reply HandleDeleteMessage(Call& call);
Reply HandleGetReplies(Call& call);
Reply HandleGetPinnedMessages(Call& call);
Reply HandleUpdateLiveLocation(Call& call);
Reply HandleGetLiveLocations(Call& call);
Reply HandleQueryThreads(Call& call);
Reply HandleGetThread(Call& call);
Reply HandleUpdateThread(Call& call);

// handlers/uploads.cpp (docs/uploads.md)
Reply HandleUploadImage(Call& call);
Reply HandleUploadFile(Call& call);
Reply HandleDeleteImage(Call& call);
Reply HandleDeleteFile(Call& call);

// handlers/search.cpp
Reply HandleSearch(Call& call);

// handlers/link_previews.cpp
Reply HandleGetLinkPreview(Call& call);

// handlers/reminders.cpp
Reply HandleCreateReminder(Call& call);
Reply HandleUpdateReminder(Call& call);
Reply HandleDeleteReminder(Call& call);
Reply HandleQueryReminders(Call& call);

// handlers/polls.cpp
Reply HandleCreatePoll(Call& call);
Reply HandleGetPoll(Call& call);
Reply HandleUpdatePoll(Call& call);
Reply HandlePartialUpdatePoll(Call& call);
Reply HandleDeletePoll(Call& call);
Reply HandleCreatePollOption(Call& call);
Reply HandleGetPollOption(Call& call);
Reply HandleUpdatePollOption(Call& call);
Reply HandleDeletePollOption(Call& call);
Reply HandleCastPollVote(Call& call);
Reply HandleRemovePollVote(Call& call);
Reply HandleQueryPolls(Call& call);
Reply HandleQueryPollVotes(Call& call);

// handlers/reactions.cpp
Reply HandleSendReaction(Call& call);
Reply HandleDeleteReaction(Call& call);
Reply HandleQueryReactions(Call& call);
Reply HandleGetReactions(Call& call);

// handlers/reads.cpp
Reply HandleMarkRead(Call& call);
Reply HandleMarkUnread(Call& call);
Reply HandleMarkAllRead(Call& call);
Reply HandleMarkDelivered(Call& call);
Reply HandleSendEvent(Call& call);
Reply HandleGetUnread(Call& call);

// handlers/channel_types.cpp
Reply HandleListChannelTypes(Call& call);
Reply HandleGetChannelType(Call& call);
Reply HandleCreateChannelType(Call& call);
Reply HandleUpdateChannelType(Call& call);

// handlers/users.cpp
Reply HandleQueryUsers(Call& call);
Reply HandleUpsertUsers(Call& call);
Reply HandlePartialUpdateUsers(Call& call);
Reply HandleCreateGuest(Call& call);

// handlers/moderation.cpp
Reply HandleMuteUser(Call& call);
Reply HandleUnmuteUser(Call& call);
Reply HandleMuteChannel(Call& call);
Reply HandleUnmuteChannel(Call& call);
Reply HandleBlockUser(Call& call);
Reply HandleUnblockUser(Call& call);
Reply HandleGetBlocks(Call& call);
Reply HandleFlag(Call& call);
Reply HandleQueryMessageFlags(Call& call);
Reply HandleQueryBannedUsers(Call& call);
Reply HandleBan(Call& call);
Reply HandleUnban(Call& call);

// handlers/drafts.cpp
Reply HandleSaveDraft(Call& call);
Reply HandleGetDraft(Call& call);
Reply HandleDeleteDraft(Call& call);
Reply HandleQueryDrafts(Call& call);
Reply HandleRoomSaveDraft(Call& call);
Reply HandleRoomGetDraft(Call& call);
Reply HandleRoomDeleteDraft(Call& call);

// handlers/rooms.cpp
Reply HandleConnectionId(Call& call);
Reply HandleRoomConfig(Call& call);
Reply HandleRoomMessages(Call& call);
Reply HandleRoomMembers(Call& call);

// handlers/app.cpp
Reply HandleGetApp(Call& call);
Reply HandleSync(Call& call);
// handlers/push_subscriptions.cpp (API.md §3)
Reply HandleListPushSubscriptions(Call& call);
Reply HandleRegisterPushSubscription(Call& call);
Reply HandleDeletePushSubscription(Call& call);

// handlers/editing.cpp (API.md §4)
Reply HandleEditingState(Call& call);
Reply HandleGetEditingState(Call& call);

// handlers/devices.cpp (STREAM-PROTOCOL.md §4.5)
Reply HandleAddDevice(Call& call);
Reply HandleListDevices(Call& call);
Reply HandleRemoveDevice(Call& call);

// handlers/internal.cpp (the gateway's calls; never routed by nginx from outside)
Reply HandleInternalConnect(Call& call);
Reply HandleInternalRoomSend(Call& call);
Reply HandleInternalRoomTyping(Call& call);
Reply HandleInternalRoomEvents(Call& call);

}  // namespace streambed
