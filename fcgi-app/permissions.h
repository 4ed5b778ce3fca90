#pragma once
// Who may do what in a channel: getstream.io's default roles and channel types, computed into the
// `own_capabilities` list the UI kit reads (STREAM-PROTOCOL.md §3.2) and enforced on every route
// from that same list, so what the UI offers and what the server allows cannot disagree.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fcgi-app/model.h"

namespace streambed {

struct Caller;

// The caller's standing in one channel.
struct Standing {
    bool admin = false;      // server token or app role "admin"
    bool anonymous = false;  // no token (stream-auth-type: anonymous)
    std::string app_role = "user";
    bool member = false;
    std::string channel_role;  // when a member
    bool banned = false;       // in this channel or app-wide
};

Standing StandingOf(const Caller& caller, std::string_view app_role, bool app_banned, const MemberRow* member);

// The capability list, in a stable order. Empty when the caller may not read the channel.
std::vector<std::string_view> Capabilities(const ChannelTypeRow& type, const ChannelRow& channel,
                                           const Standing& standing);

bool CanRead(const ChannelTypeRow& type, const Standing& standing);
bool HasCapability(const std::vector<std::string_view>& caps, std::string_view capability);
// Throws Forbidden (403, code 17) naming the capability when it is missing.
void RequireCapability(const std::vector<std::string_view>& caps, std::string_view capability);

}  // namespace streambed
