#include "fcgi-app/permissions.h"

#include <algorithm>

#include "common/errors.h"
#include "fcgi-app/call.h"

namespace streambed {

Standing StandingOf(const Caller& caller, std::string_view app_role, bool app_banned, const MemberRow* member) {
    Standing s;
    s.admin = caller.server || app_role == "admin";
    s.anonymous = caller.anonymous;
    s.app_role = caller.anonymous ? "anonymous" : std::string(app_role);
    if (member != nullptr) {
        s.member = true;
        s.channel_role = member->channel_role;
    }
    s.banned = !s.admin && (app_banned || (member != nullptr && member->banned));
    return s;
}

bool CanRead(const ChannelTypeRow& type, const Standing& s) {
    if (s.admin) return true;
    if (s.banned) return false;
    return s.member || type.public_read();
}

std::vector<std::string_view> Capabilities(const ChannelTypeRow& type, const ChannelRow& channel, const Standing& s) {
    std::vector<std::string_view> caps;
    if (!CanRead(type, s)) return caps;
    // A member writes; so does an admin. Anyone else in a public channel only reads.
    bool writer = s.admin || (s.member && !s.anonymous);
    bool moderator = s.admin || (s.member && (s.channel_role == "channel_moderator" || s.channel_role == "owner"));
    bool frozen = channel.frozen && !s.admin;
    auto add = [&caps](std::string_view c) { caps.push_back(c); };

    if (type.connect_events) add("connect-events");
    if (writer) {
        if (!frozen) {
            add("send-message");
            if (type.replies) add("send-reply");
            if (type.reactions) add("send-reaction");
            if (type.quotes) add("quote-message");
            add("send-links");
            if (type.uploads) add("upload-file");
            if (type.polls) {
                add("send-poll");
                add("cast-poll-vote");
            }
        }
        if (type.read_events) add("read-events");
        if (type.typing_events) {
            add("typing-events");
            add("send-typing-events");
        }
        add("update-own-message");
        add("delete-own-message");
        add("flag-message");
        if (type.mutes) add("mute-channel");
        add("pin-message");
        if (s.member) add("leave-channel");
        if (type.search) add("search-messages");
        if (type.polls) add("query-poll-votes");
        if (type.custom_events) add("send-custom-events");
    }
    if (moderator) {
        add("update-any-message");
        add("delete-any-message");
        add("ban-channel-members");
        add("update-channel");
        add("update-channel-members");
        add("delete-channel");
        add("freeze-channel");
        add("set-channel-cooldown");
        add("skip-slow-mode");
    }
    return caps;
}

bool HasCapability(const std::vector<std::string_view>& caps, std::string_view capability) {
    return std::find(caps.begin(), caps.end(), capability) != caps.end();
}

void RequireCapability(const std::vector<std::string_view>& caps, std::string_view capability) {
    if (!HasCapability(caps, capability))
        throw Forbidden("you are not allowed to do this in this channel (missing capability " +
                        std::string(capability) + ")");
}

}  // namespace streambed
