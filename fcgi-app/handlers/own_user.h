#pragma once
// OwnUserResponse (STREAM-PROTOCOL.md §2.2) for the connect handshake and the moderation replies:
// the user with devices, mutes, channel mutes, blocked users and unread counters.

#include <string>

#include "fcgi-app/call.h"
#include "fcgi-app/store/users.h"

namespace streambed {

void WriteOwnUserFor(JsonWriter& w, Call& call, const UserRow& user, bool online);
std::string OwnUserJson(Call& call, const UserRow& user, bool online);

}  // namespace streambed
