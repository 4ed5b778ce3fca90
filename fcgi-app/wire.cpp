#include "fcgi-app/wire.h"

namespace streambed {

void WriteCustomFields(JsonWriter& w, std::string_view custom_json, bool (*reserved)(std::string_view)) {
    if (custom_json.size() <= 2) return;  // "{}"
    rapidjson::Document doc;
    doc.Parse(custom_json.data(), custom_json.size());
    if (doc.HasParseError() || !doc.IsObject()) return;
    for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
        std::string_view key(it->name.GetString(), it->name.GetStringLength());
        if (reserved(key)) continue;
        PutKey(w, key);
        it->value.Accept(w);
    }
}

namespace {
void WriteUserFields(JsonWriter& w, const UserRow& u, bool online) {
    PutString(w, "id", u.id);
    if (u.name) PutString(w, "name", *u.name);
    if (u.image) PutString(w, "image", *u.image);
    PutString(w, "role", u.role);
    PutBool(w, "online", online && !u.invisible);
    if (u.last_active) PutTime(w, "last_active", *u.last_active);
    PutTime(w, "created_at", u.created_at);
    PutTime(w, "updated_at", u.updated_at);
    PutBool(w, "banned", u.banned);
    PutRaw(w, "teams", u.teams_json);
    PutString(w, "language", u.language);
    if (u.deactivated_at) PutTime(w, "deactivated_at", *u.deactivated_at);
    if (u.deleted_at) PutTime(w, "deleted_at", *u.deleted_at);
    WriteCustomFields(w, u.custom_json, IsReservedUserField);
}
}  // namespace

void WriteUser(JsonWriter& w, const UserRow& user, bool online) {
    w.StartObject();
    WriteUserFields(w, user, online);
    w.EndObject();
}

void WriteOwnUser(JsonWriter& w, const UserRow& user, bool online, const OwnUserExtras& extras) {
    w.StartObject();
    WriteUserFields(w, user, online);
    PutBool(w, "invisible", user.invisible);
    PutRaw(w, "devices", extras.devices_json);
    PutRaw(w, "mutes", extras.mutes_json);
    PutRaw(w, "channel_mutes", extras.channel_mutes_json);
    PutRaw(w, "blocked_user_ids", extras.blocked_user_ids_json);
    PutInt(w, "total_unread_count", extras.unread.total_unread_count);
    PutInt(w, "unread_count", extras.unread.total_unread_count);
    PutInt(w, "unread_channels", extras.unread.unread_channels);
    PutInt(w, "unread_threads", extras.unread.unread_threads);
    w.EndObject();
}

// ---- Push ----

void WritePushSubscription(JsonWriter& w, const PushSubscriptionRow& s) {
    w.StartObject();
    PutString(w, "id", s.id);
    PutString(w, "endpoint", s.endpoint);
    PutTime(w, "created_at", s.created_at);
    w.EndObject();
}

void WriteDevice(JsonWriter& w, const DeviceRow& d) {
    w.StartObject();
    PutString(w, "id", d.id);
    PutString(w, "push_provider", d.push_provider);
    if (d.push_provider_name) PutString(w, "push_provider_name", *d.push_provider_name);
    PutString(w, "user_id", d.user_id);
    PutTime(w, "created_at", d.created_at);
    PutBool(w, "disabled", d.disabled);
    if (d.disabled_reason) PutString(w, "disabled_reason", *d.disabled_reason);
    w.EndObject();
}

}  // namespace streambed
