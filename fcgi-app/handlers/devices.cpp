// getstream.io's /devices routes (STREAM-PROTOCOL.md §4.5): the SDK's addDevice, getDevices and
// removeDevice. A server token acts for the `user_id` in the body or the query.

#include "fcgi-app/store/devices.h"
#include "common/errors.h"
#include "common/json.h"
#include "fcgi-app/handlers/support.h"
#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/store/push.h"
#include "fcgi-app/wire.h"

namespace streambed {

namespace {

// Push tokens are printable ASCII (FCM: [A-Za-z0-9_:-], APNs: hex); anything else is a mistake.
void CheckDeviceId(std::string_view id) {
    if (id.empty()) throw BadRequest("id is required", "id");
    if (id.size() > 1024) throw BadRequest("id is longer than 1024 characters", "id");
    for (char c : id) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f) throw BadRequest("id must be printable ASCII without spaces", "id");
    }
}

}  // namespace

// POST {"id", "push_provider", "push_provider_name"?, "user_id"?} → 200 {}
Reply HandleAddDevice(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    std::string user_id = LoadOwner(call, json::OptString(body, "user_id", "user_id")).id();
    std::string_view id = json::RequireString(body, "id", "id");
    CheckDeviceId(id);
    std::string_view provider = json::RequireString(body, "push_provider", "push_provider");
    if (!IsPushProvider(provider))
        throw BadRequest("push_provider must be one of firebase, apn, huawei, xiaomi", "push_provider");
    std::optional<std::string> provider_name;
    if (auto name = json::OptString(body, "push_provider_name", "push_provider_name")) {
        if (name->size() > 255)
            throw BadRequest("push_provider_name is longer than 255 characters", "push_provider_name");
        if (!name->empty()) provider_name = std::string(*name);
    }

    PgTransaction tx(call.db());
    devices::Upsert(call.db(), id, provider, provider_name, user_id);
    tx.Commit();
    return Reply::Json("{}");
}

// GET (?user_id= with a server token) → 200 {"devices": [...]}
Reply HandleListDevices(Call& call) {
    std::string user_id = LoadOwner(call, call.Query("user_id")).id();
    auto rows = devices::ListForUser(call.db(), user_id);
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "devices");
    w.StartArray();
    for (const auto& d : rows) WriteDevice(w, d);
    w.EndArray();
    w.EndObject();
    return Reply::Json(std::string(buf.GetString(), buf.GetSize()));
}

// DELETE ?id=<token> (&user_id= with a server token) → 200 {}; 404 when the user has no such device.
Reply HandleRemoveDevice(Call& call) {
    std::string user_id = LoadOwner(call, call.Query("user_id")).id();
    auto id = call.Query("id");
    if (!id) throw BadRequest("id is required", "id");
    CheckDeviceId(*id);
    if (devices::DeleteForUser(call.db(), *id, user_id) == 0)
        throw NotFound("device " + std::string(*id) + " not found");
    return Reply::Json("{}");
}

}  // namespace streambed
