#pragma once
// getstream.io's push devices (sql/010_push.sql, STREAM-PROTOCOL.md §4.5): mobile push tokens
// registered for a user. Stored and listed so the SDK's device calls work; streambed itself
// delivers Web Push only.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fcgi-app/store/pg.h"

namespace streambed {

struct DeviceRow {
    std::string id;  // the push token
    std::string push_provider;
    std::optional<std::string> push_provider_name;
    std::string user_id;
    int64_t created_at = 0;
    bool disabled = false;
    std::optional<std::string> disabled_reason;
};

// getstream.io: "Each chat user has a limit of 25 unique devices. Once this limit is reached, the
// oldest device will be removed and replaced by the new device."
constexpr int kMaxDevicesPerUser = 25;

bool IsPushProvider(std::string_view provider);  // firebase, apn, huawei, xiaomi

namespace devices {

// Registers the token for the user (moving it from another user if it was theirs, as a phone
// changes hands), re-enables it, and trims the user's list. Runs in the caller's transaction.
void Upsert(Pg& db, std::string_view id, std::string_view push_provider,
            const std::optional<std::string>& push_provider_name, std::string_view user_id);

// Fills `into` when `batch` runs; `into` must outlive the Run.
void ListForUser(PgBatch& batch, std::string_view user_id, std::vector<DeviceRow>& into);
std::vector<DeviceRow> ListForUser(Pg& db, std::string_view user_id);

// Returns how many rows went (0 when the user has no such device).
int DeleteForUser(Pg& db, std::string_view id, std::string_view user_id);

}  // namespace devices
}  // namespace streambed
