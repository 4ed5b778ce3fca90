// Routes the gateway calls with a server token. nginx serves /internal/ to loopback only.

#include "common/clock.h"
#include "common/errors.h"
#include "common/json.h"
#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/store/devices.h"
#include "fcgi-app/store/users.h"
#include "fcgi-app/wire.h"

namespace streambed {

// POST /internal/connect/ {"user_id", "user_details"?, "anonymous"?, "token_issued_at"?}
// The /api/connect handshake's database half: upsert the user from user_details (as getstream.io
// does) and answer {"me": OwnUserResponse, "user": UserResponse} for the first health.check.
Reply HandleInternalConnect(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    std::string user_id(json::RequireString(body, "user_id", "user_id"));
    if (!IsValidUserId(user_id)) throw BadRequest("user_id has characters outside [A-Za-z0-9@_.!-]", "user_id");
    bool anonymous = json::OptBool(body, "anonymous", "anonymous").value_or(false);
    const JsonValue* details = json::OptObject(body, "user_details", "user_details");

    UserRow user;
    OwnUserExtras extras;
    if (anonymous) {
        // Anonymous visitors are not stored: a transient identity with read-only rights.
        user.id = user_id;
        user.role = "anonymous";
        user.created_at = user.updated_at = NowMicros();
    } else {
        user = users::UpsertOnConnect(call.db(), user_id, details, "user");
        auto issued_at = json::OptInt(body, "token_issued_at", "token_issued_at");
        if (user.revoke_tokens_issued_before && issued_at &&
            *issued_at * 1000000 < *user.revoke_tokens_issued_before) {
            throw Unauthorized(code::kTokenBeforeRevocation, "token was issued before the user's tokens were revoked");
        }
        // OwnUserResponse.devices: the user's registered push devices (STREAM-PROTOCOL.md §4.5).
        JsonBuffer devices_buf;
        JsonWriter devices_writer(devices_buf);
        devices_writer.StartArray();
        for (const DeviceRow& d : devices::ListForUser(call.db(), user.id)) WriteDevice(devices_writer, d);
        devices_writer.EndArray();
        extras.devices_json.assign(devices_buf.GetString(), devices_buf.GetSize());
    }

    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "me");
    WriteOwnUser(w, user, true, extras);
    PutKey(w, "user");
    WriteUser(w, user, true);
    w.EndObject();
    return Reply::Json(std::string(buf.GetString(), buf.GetSize()));
}

}  // namespace streambed
