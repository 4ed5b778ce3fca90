#pragma once
// The wire objects of getstream.io's protocol (STREAM-PROTOCOL.md §3). Each object is written by
// exactly one function here, used by REST replies and by the events alike, so the two can never
// drift apart.

#include <cstdint>

#include "common/json.h"
#include "fcgi-app/store/devices.h"
#include "fcgi-app/store/push.h"
#include "fcgi-app/store/users.h"

namespace streambed {

// UserResponse (§3.1). Custom fields are flattened at the top level.
void WriteUser(JsonWriter& w, const UserRow& user, bool online);

// Per-user counters that travel with OwnUserResponse and on several events.
struct UnreadCounts {
    int64_t total_unread_count = 0;
    int64_t unread_channels = 0;
    int64_t unread_threads = 0;
};

// OwnUserResponse (§2.2): UserResponse plus devices, mutes, channel_mutes and counters.
// `mutes_json`, `channel_mutes_json`, `devices_json` and `blocked_json` are JSON arrays.
struct OwnUserExtras {
    UnreadCounts unread;
    std::string devices_json = "[]";
    std::string mutes_json = "[]";
    std::string channel_mutes_json = "[]";
    std::string blocked_user_ids_json = "[]";
};
void WriteOwnUser(JsonWriter& w, const UserRow& user, bool online, const OwnUserExtras& extras);

// Writes the members of a stored JSON object as fields of the object being written, skipping
// names for which `reserved` returns true.
void WriteCustomFields(JsonWriter& w, std::string_view custom_json, bool (*reserved)(std::string_view));

// ---- Push (API.md §3, STREAM-PROTOCOL.md §4.5) ----

// A Web Push subscription as /api/register-subscriptions/ shows it: {"id", "endpoint", "created_at"}.
// The keys are never echoed back.
void WritePushSubscription(JsonWriter& w, const PushSubscriptionRow& subscription);

// getstream.io's Device: {"id", "push_provider", "push_provider_name"?, "user_id", "created_at",
// "disabled", "disabled_reason"?}.
void WriteDevice(JsonWriter& w, const DeviceRow& device);

}  // namespace streambed
