// The route table: every path streambed-api serves, its access rule, and its handler.
// Paths carry their trailing slash; nginx redirects requests that lack it (API.md).

#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/router.h"

namespace streambed {

namespace {
Router BuildRoutes() {
    constexpr Access kStream = Access::kStream;
    constexpr Access kRoom = Access::kRoom;
    Router r;
    // --- Operations
    r.Add("GET", "/api/health/", Access::kPublic, HandleHealth);
    r.Add("GET", "/api/hi/", Access::kPublic, HandleHi);

    // --- getstream.io's surface (STREAM-PROTOCOL.md §4)
    r.Add("GET", "/api/app/", kStream, HandleGetApp);
    r.Add("POST", "/api/sync/", kStream, HandleSync);
    // Channels
    r.Add("POST", "/api/channels/", kStream, HandleQueryChannels);
    r.Add("POST", "/api/channels/read/", kStream, HandleMarkAllRead);
    r.Add("POST", "/api/channels/delivered/", kStream, HandleMarkDelivered);
    r.Add("POST", "/api/channels/{type}/query/", kStream, HandleDistinctChannelQuery);
    r.Add("POST", "/api/channels/{type}/{id}/query/", kStream, HandleChannelQuery);
    r.Add("POST", "/api/channels/{type}/{id}/stop-watching/", kStream, HandleStopWatching);
    r.Add("POST", "/api/channels/{type}/{id}/", kStream, HandleUpdateChannel);
    r.Add("PATCH", "/api/channels/{type}/{id}/", kStream, HandlePartialUpdateChannel);
    r.Add("DELETE", "/api/channels/{type}/{id}/", kStream, HandleDeleteChannel);
    r.Add("POST", "/api/channels/{type}/{id}/truncate/", kStream, HandleTruncateChannel);
    r.Add("POST", "/api/channels/{type}/{id}/hide/", kStream, HandleHideChannel);
    r.Add("POST", "/api/channels/{type}/{id}/show/", kStream, HandleShowChannel);
    r.Add("PATCH", "/api/channels/{type}/{id}/member/{user_id}/", kStream, HandleUpdateMember);
    r.Add("PATCH", "/api/channels/{type}/{id}/member/", kStream, HandleUpdateMember);
    r.Add("GET", "/api/members/", kStream, HandleQueryMembers);
    // Channel types (server tokens only)
    r.Add("GET", "/api/channeltypes/", kStream, HandleListChannelTypes);
    r.Add("POST", "/api/channeltypes/", kStream, HandleCreateChannelType);
    r.Add("GET", "/api/channeltypes/{name}/", kStream, HandleGetChannelType);
    r.Add("PUT", "/api/channeltypes/{name}/", kStream, HandleUpdateChannelType);
    // Messages
    r.Add("POST", "/api/channels/{type}/{id}/message/", kStream, HandleSendMessage);
    r.Add("GET", "/api/channels/{type}/{id}/messages/", kStream, HandleGetManyMessages);
    r.Add("GET", "/api/channels/{type}/{id}/pinned_messages/", kStream, HandleGetPinnedMessages);
    r.Add("GET", "/api/search/", kStream, HandleSearch);
    r.Add("GET", "/api/og/", kStream, HandleGetLinkPreview);
    r.Add("GET", "/api/messages/{id}/", kStream, HandleGetMessage);
    r.Add("POST", "/api/messages/{id}/", kStream, HandleUpdateMessage);
    r.Add("PUT", "/api/messages/{id}/", kStream, HandlePartialUpdateMessage);
    r.Add("DELETE", "/api/messages/{id}/", kStream, HandleDeleteMessage);
    r.Add("GET", "/api/messages/{id}/replies/", kStream, HandleGetReplies);
    // Reminders ("Remind me", "Save for later"): the caller's own
    r.Add("POST", "/api/messages/{id}/reminders/", kStream, HandleCreateReminder);
    r.Add("PATCH", "/api/messages/{id}/reminders/", kStream, HandleUpdateReminder);
    r.Add("DELETE", "/api/messages/{id}/reminders/", kStream, HandleDeleteReminder);
    r.Add("POST", "/api/reminders/query/", kStream, HandleQueryReminders);
    // Polls: created by a user, sent in a message, voted on in its channel
    r.Add("POST", "/api/polls/", kStream, HandleCreatePoll);
    r.Add("PUT", "/api/polls/", kStream, HandleUpdatePoll);
    r.Add("POST", "/api/polls/query/", kStream, HandleQueryPolls);
    r.Add("GET", "/api/polls/{id}/", kStream, HandleGetPoll);
    r.Add("PATCH", "/api/polls/{id}/", kStream, HandlePartialUpdatePoll);
    r.Add("DELETE", "/api/polls/{id}/", kStream, HandleDeletePoll);
    r.Add("POST", "/api/polls/{id}/options/", kStream, HandleCreatePollOption);
    r.Add("PUT", "/api/polls/{id}/options/", kStream, HandleUpdatePollOption);
    r.Add("GET", "/api/polls/{id}/options/{option_id}/", kStream, HandleGetPollOption);
    r.Add("DELETE", "/api/polls/{id}/options/{option_id}/", kStream, HandleDeletePollOption);
    r.Add("POST", "/api/polls/{id}/votes/", kStream, HandleQueryPollVotes);
    r.Add("POST", "/api/messages/{id}/polls/{poll_id}/vote/", kStream, HandleCastPollVote);
    r.Add("DELETE", "/api/messages/{id}/polls/{poll_id}/vote/{vote_id}/", kStream, HandleRemovePollVote);
    // Live locations: the author's device keeps its shared location moving
    r.Add("GET", "/api/users/live_locations/", kStream, HandleGetLiveLocations);
    r.Add("PUT", "/api/users/live_locations/", kStream, HandleUpdateLiveLocation);
    r.Add("POST", "/api/threads/", kStream, HandleQueryThreads);
    r.Add("GET", "/api/threads/{id}/", kStream, HandleGetThread);
    r.Add("PATCH", "/api/threads/{id}/", kStream, HandleUpdateThread);
    // Uploads (docs/uploads.md): the only routes whose bodies go to disk, not memory
    r.Add("POST", "/api/channels/{type}/{id}/image/", kStream, HandleUploadImage, BodyKind::kUpload);
    r.Add("POST", "/api/channels/{type}/{id}/file/", kStream, HandleUploadFile, BodyKind::kUpload);
    r.Add("DELETE", "/api/channels/{type}/{id}/image/", kStream, HandleDeleteImage);
    r.Add("DELETE", "/api/channels/{type}/{id}/file/", kStream, HandleDeleteFile);
    // Reactions
    r.Add("POST", "/api/messages/{id}/reaction/", kStream, HandleSendReaction);
    r.Add("DELETE", "/api/messages/{id}/reaction/{type}/", kStream, HandleDeleteReaction);
    r.Add("POST", "/api/messages/{id}/reactions/", kStream, HandleQueryReactions);
    r.Add("GET", "/api/messages/{id}/reactions/", kStream, HandleGetReactions);
    // Read state and events
    r.Add("POST", "/api/channels/{type}/{id}/read/", kStream, HandleMarkRead);
    r.Add("POST", "/api/channels/{type}/{id}/unread/", kStream, HandleMarkUnread);
    r.Add("POST", "/api/channels/{type}/{id}/event/", kStream, HandleSendEvent);
    r.Add("GET", "/api/unread/", kStream, HandleGetUnread);
    // Users
    r.Add("GET", "/api/users/", kStream, HandleQueryUsers);
    r.Add("POST", "/api/users/", kStream, HandleUpsertUsers);
    r.Add("PATCH", "/api/users/", kStream, HandlePartialUpdateUsers);
    r.Add("POST", "/api/guest/", kStream, HandleCreateGuest);
    // Moderation
    r.Add("POST", "/api/moderation/mute/", kStream, HandleMuteUser);
    r.Add("POST", "/api/moderation/unmute/", kStream, HandleUnmuteUser);
    r.Add("POST", "/api/moderation/mute/channel/", kStream, HandleMuteChannel);
    r.Add("POST", "/api/moderation/unmute/channel/", kStream, HandleUnmuteChannel);
    r.Add("POST", "/api/users/block/", kStream, HandleBlockUser);
    r.Add("POST", "/api/users/unblock/", kStream, HandleUnblockUser);
    r.Add("GET", "/api/users/block/", kStream, HandleGetBlocks);
    r.Add("POST", "/api/moderation/flag/", kStream, HandleFlag);
    r.Add("GET", "/api/moderation/flags/message/", kStream, HandleQueryMessageFlags);
    r.Add("GET", "/api/query_banned_users/", kStream, HandleQueryBannedUsers);
    r.Add("POST", "/api/moderation/ban/", kStream, HandleBan);
    r.Add("DELETE", "/api/moderation/ban/", kStream, HandleUnban);
    // Drafts
    r.Add("POST", "/api/channels/{type}/{id}/draft/", kStream, HandleSaveDraft);
    r.Add("GET", "/api/channels/{type}/{id}/draft/", kStream, HandleGetDraft);
    r.Add("DELETE", "/api/channels/{type}/{id}/draft/", kStream, HandleDeleteDraft);
    r.Add("POST", "/api/drafts/query/", kStream, HandleQueryDrafts);
    // Devices (push tokens of mobile apps; stored and listed)
    r.Add("POST", "/api/devices/", kStream, HandleAddDevice);
    r.Add("GET", "/api/devices/", kStream, HandleListDevices);
    r.Add("DELETE", "/api/devices/", kStream, HandleRemoveDevice);

    // --- The room surfaces (API.md); every /rooms/ route is also served under /api/rooms/
    r.Add("GET", "/api/ws-auth/", kRoom, HandleWsAuth);
    r.Add("GET", "/api/connection-id/", kRoom, HandleConnectionId);
    r.Add("GET", "/api/register-subscriptions/", kRoom, HandleListPushSubscriptions);
    r.Add("POST", "/api/register-subscriptions/", kRoom, HandleRegisterPushSubscription);
    r.Add("DELETE", "/api/register-subscriptions/", kRoom, HandleDeletePushSubscription);
    r.Add("POST", "/api/editing-audit-state/", kRoom, HandleEditingState);
    r.Add("GET", "/api/editing-audit-state/", kRoom, HandleGetEditingState);
    for (const char* prefix : {"/rooms/", "/api/rooms/"}) {
        std::string p(prefix);
        r.Add("GET", p + "{cid}/config/", kRoom, HandleRoomConfig);
        r.Add("GET", p + "{cid}/messages/", kRoom, HandleRoomMessages);
        r.Add("GET", p + "{cid}/members/", kRoom, HandleRoomMembers);
        r.Add("POST", p + "{cid}/draft/", kRoom, HandleRoomSaveDraft);
        r.Add("GET", p + "{cid}/draft/", kRoom, HandleRoomGetDraft);
        r.Add("DELETE", p + "{cid}/draft/", kRoom, HandleRoomDeleteDraft);
    }

    // --- Gateway to worker
    r.Add("POST", "/internal/connect/", Access::kInternal, HandleInternalConnect);
    r.Add("POST", "/internal/rooms/{cid}/messages/", Access::kInternal, HandleInternalRoomSend);
    r.Add("POST", "/internal/rooms/{cid}/typing/", Access::kInternal, HandleInternalRoomTyping);
    r.Add("POST", "/internal/rooms/{cid}/events/", Access::kInternal, HandleInternalRoomEvents);
    return r;
}
}  // namespace

const Router& AllRoutes() {
    static const Router routes = BuildRoutes();
    return routes;
}

}  // namespace streambed
