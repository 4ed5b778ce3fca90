#include "fcgi-app/handlers/own_user.h"

#include <vector>

#include "fcgi-app/hydrate.h"
#include "fcgi-app/store/channels.h"
#include "fcgi-app/store/devices.h"
#include "fcgi-app/store/moderation.h"
#include "fcgi-app/wire.h"

namespace streambed {

void OwnUserReads::Add(PgBatch& batch, const std::string& user_id) {
    members::Unread(batch, user_id, summary_);
    moderation::UserMutes(batch, user_id, mutes_);
    moderation::ChannelMutes(batch, user_id, channel_mutes_);
    moderation::Blocks(batch, user_id, blocks_);
    devices::ListForUser(batch, user_id, devices_);
}

void WriteOwnUserFor(JsonWriter& w, Call& call, const UserRow& user, bool online) {
    OwnUserReads own;
    PgBatch reads(call.db());
    own.Add(reads, user.id);
    reads.Run();
    own.Write(w, call, user, online);
}

void OwnUserReads::Write(JsonWriter& w, Call& call, const UserRow& user, bool online) {
    OwnUserExtras extras;
    extras.unread.total_unread_count = summary_.total_unread_count;
    extras.unread.unread_channels = summary_.unread_channels;
    extras.unread.unread_threads = summary_.unread_threads();
    UserDirectory users;
    users.Put(user, online);
    for (const auto& m : mutes_) users.Want(m.target);
    users.Load(call.db(), call.redis());

    JsonBuffer buf;
    JsonWriter mw(buf);
    mw.StartArray();
    for (const auto& m : mutes_) {
        mw.StartObject();
        PutKey(mw, "user");
        WriteUserById(mw, users, m.user_id);
        PutKey(mw, "target");
        WriteUserById(mw, users, m.target);
        PutTime(mw, "created_at", m.created_at);
        PutTime(mw, "updated_at", m.updated_at);
        if (m.expires) PutTime(mw, "expires", *m.expires);
        mw.EndObject();
    }
    mw.EndArray();
    extras.mutes_json.assign(buf.GetString(), buf.GetSize());

    JsonBuffer cbuf;
    JsonWriter cw(cbuf);
    cw.StartArray();
    for (const auto& m : channel_mutes_) {
        cw.StartObject();
        PutKey(cw, "user");
        WriteUserById(cw, users, m.user_id);
        // The client matches channel mutes_ on channel.cid.
        PutKey(cw, "channel");
        cw.StartObject();
        PutString(cw, "cid", m.target);
        size_t colon = m.target.find(':');
        PutString(cw, "type", m.target.substr(0, colon));
        PutString(cw, "id", m.target.substr(colon + 1));
        cw.EndObject();
        PutTime(cw, "created_at", m.created_at);
        PutTime(cw, "updated_at", m.updated_at);
        if (m.expires) PutTime(cw, "expires", *m.expires);
        cw.EndObject();
    }
    cw.EndArray();
    extras.channel_mutes_json.assign(cbuf.GetString(), cbuf.GetSize());

    // OwnUserResponse.devices: the user's registered push devices_ (STREAM-PROTOCOL.md §4.5).
    JsonBuffer dbuf;
    JsonWriter dw(dbuf);
    dw.StartArray();
    for (const DeviceRow& d : devices_) WriteDevice(dw, d);
    dw.EndArray();
    extras.devices_json.assign(dbuf.GetString(), dbuf.GetSize());

    JsonBuffer bbuf;
    JsonWriter bw(bbuf);
    bw.StartArray();
    for (const auto& b : blocks_) WriteString(bw, b.blocked_user_id);
    bw.EndArray();
    extras.blocked_user_ids_json.assign(bbuf.GetString(), bbuf.GetSize());

    WriteOwnUser(w, user, online, extras);
}

std::string OwnUserJson(Call& call, const UserRow& user, bool online) {
    JsonBuffer buf;
    JsonWriter w(buf);
    WriteOwnUserFor(w, call, user, online);
    return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace streambed
