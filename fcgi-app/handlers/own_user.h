#pragma once
// OwnUserResponse (STREAM-PROTOCOL.md §2.2) for the connect handshake and the moderation replies:
// the user with devices, mutes, channel mutes, blocked users and unread counters.

#include <string>
#include <vector>

#include "fcgi-app/call.h"
#include "fcgi-app/store/channels.h"
#include "fcgi-app/store/devices.h"
#include "fcgi-app/store/moderation.h"
#include "fcgi-app/store/pg.h"
#include "fcgi-app/store/users.h"

namespace streambed {

// OwnUserResponse's own reads (unread totals, mutes, channel mutes, blocks, devices), added to a
// batch so that a caller can send them beside reads of its own: the connect handshake sends them
// with the user's upsert, one round trip to PostgreSQL in all.
class OwnUserReads {
public:
    void Add(PgBatch& batch, const std::string& user_id);
    // Once the batch has run.
    void Write(JsonWriter& w, Call& call, const UserRow& user, bool online);

private:
    members::UnreadSummary summary_;
    std::vector<MuteRow> mutes_;
    std::vector<MuteRow> channel_mutes_;
    std::vector<BlockRow> blocks_;
    std::vector<DeviceRow> devices_;
};

// The same for a caller with nothing to send beside them.
void WriteOwnUserFor(JsonWriter& w, Call& call, const UserRow& user, bool online);
std::string OwnUserJson(Call& call, const UserRow& user, bool online);

}  // namespace streambed
